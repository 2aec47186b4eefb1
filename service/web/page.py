"""The settings page's index.html, with this deployment's key limit in it: the page disables
"New API key" at the limit, and the API does not say what the limit is (a refusal at the limit
does). The rest of the page is static files."""

from __future__ import annotations

from pathlib import Path

from starlette.responses import HTMLResponse
from starlette.types import Receive, Scope, Send

# index.html says the default; a page served from elsewhere (another origin) keeps it.
LIMIT_META = '<meta name="apikeys-key-limit" content="{}">'


class SettingsPage:
    def __init__(self, index: Path, *, default_limit: int, max_keys: int) -> None:
        text = index.read_text()
        default = LIMIT_META.format(default_limit)
        if default not in text:
            raise ValueError(f"{index} has no {default}")
        # Rendered once: the page is the same for everyone until the next start.
        self._html = text.replace(default, LIMIT_META.format(max_keys))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await HTMLResponse(self._html)(scope, receive, send)
