"""The settings page's GraphQL documents, read from the page's own `documents.js` at run time.

The bench sends what the page sends, so a field added to the page's list is measured the day it
is added. The file is a handful of `const NAME = \\`...\\`;` template strings, some interpolating
others (`${KEY_FIELDS}`); anything else in its shape fails loudly rather than measure a guess.
"""

from __future__ import annotations

import re
from pathlib import Path

DOCUMENTS_JS = Path(__file__).resolve().parent.parent / "service" / "static" / "js" / "documents.js"
_CONSTANT = re.compile(r"(?:export\s+)?const\s+([A-Z][A-Z0-9_]*)\s*=\s*`([^`]*)`\s*;")
_INTERPOLATION = re.compile(r"\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}")


class DocumentsError(RuntimeError):
    """documents.js no longer has the shape this reader understands."""


def page_documents(
    path: Path = DOCUMENTS_JS, required: tuple[str, ...] = ("LIST_KEYS", "CREATE_KEY", "DELETE_KEY")
) -> dict[str, str]:
    """Every template-string constant of the file by name, interpolations resolved; `required`
    names must be among them."""
    try:
        source = path.read_text()
    except OSError as exc:
        raise DocumentsError(f"cannot read the page's documents at {path}: {exc}") from exc
    documents: dict[str, str] = {}
    for name, template in _CONSTANT.findall(source):
        # A constant may only use those defined above it, as in JavaScript.
        def resolve(match: re.Match[str], name: str = name) -> str:
            used = match.group(1)
            if used not in documents:
                raise DocumentsError(f"{path.name}: {name} uses ${{{used}}}, not defined above it")
            return documents[used]

        documents[name] = _INTERPOLATION.sub(resolve, template)
    for name, text in documents.items():
        if "${" in text:
            raise DocumentsError(
                f"{path.name}: {name} has an interpolation this reader cannot read"
            )
    missing = [name for name in required if name not in documents]
    if missing:
        raise DocumentsError(
            f"{path.name} has no template string {', '.join(missing)}"
            f" (found: {', '.join(documents) or 'none'})"
        )
    return documents
