"""What a key's name and description may be. Pure functions; they raise `ValidationFailed`."""

from __future__ import annotations

import unicodedata

from service.errors import ValidationFailed

NAME_MAX = 64
DESCRIPTION_MAX = 500

# Cc: control characters (NUL included). Cs: lone surrogates, which JSON can carry ("\ud800") but
# no database can store; refusing them here keeps them from surfacing as a storage error.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs"})


def _has_forbidden(text: str, allowed: frozenset[str] = frozenset()) -> bool:
    return any(
        unicodedata.category(ch) in _FORBIDDEN_CATEGORIES and ch not in allowed for ch in text
    )


def clean_name(raw: str) -> tuple[str, str]:
    """Returns the name to store and its case-insensitive uniqueness key."""
    if _has_forbidden(raw):
        raise ValidationFailed("name", "Name cannot contain control characters.")
    name = unicodedata.normalize("NFC", raw.strip())
    if not name:
        raise ValidationFailed("name", "Name cannot be empty.")
    if len(name) > NAME_MAX:
        raise ValidationFailed("name", f"Name must be at most {NAME_MAX} characters.")
    return name, name_key(name)


def name_key(name: str) -> str:
    """Names that differ only in case are the same name. Case folding grows a name at most
    threefold, so a 64-character name's key always fits its 256-character column."""
    return name.casefold()


def clean_description(raw: str | None) -> str | None:
    """An empty or blank description is no description."""
    if raw is None:
        return None
    if _has_forbidden(raw, allowed=frozenset("\n")):
        raise ValidationFailed(
            "description", "Description cannot contain control characters other than newlines."
        )
    description = unicodedata.normalize("NFC", raw.strip())
    if len(description) > DESCRIPTION_MAX:
        raise ValidationFailed(
            "description", f"Description must be at most {DESCRIPTION_MAX} characters."
        )
    return description or None
