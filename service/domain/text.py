"""The one policy for characters that must not be stored or shown: control characters (`Cc`,
NUL included) and lone surrogates (`Cs`, which JSON can carry as "\\ud800" but no database can
store). Names, descriptions, workflow ids, session subjects, user agents and what a
secret-scanning partner reports all go through it; where a field differs, the difference is a
parameter with its reason at the call.
"""

from __future__ import annotations

import unicodedata

_CONTROL = frozenset({"Cc", "Cs"})
# Characters that show nothing, or move what follows (bidirectional overrides, zero-width
# characters, line and paragraph separators, private and unassigned code points): kept out of
# text that is shown as a link, where they can make one address read as another.
_INVISIBLE = frozenset({"Cf", "Co", "Cn", "Zl", "Zp"})


def _refused(invisible: bool) -> frozenset[str]:
    return _CONTROL | _INVISIBLE if invisible else _CONTROL


def has_control_characters(text: str, *, allowed: str = "", invisible: bool = False) -> bool:
    """Whether `text` holds a control character other than those in `allowed` (or, with
    `invisible`, an invisible one)."""
    refused = _refused(invisible)
    return any(unicodedata.category(ch) in refused and ch not in allowed for ch in text)


def without_control_characters(text: str, *, invisible: bool = False) -> str:
    """`text` with its control characters (and, with `invisible`, invisible ones) removed."""
    refused = _refused(invisible)
    return "".join(ch for ch in text if unicodedata.category(ch) not in refused)
