"""What a key's name and description may be. Pure functions; they raise `ValidationFailed`."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from service.domain.errors import ValidationFailed
from service.domain.limits import DESCRIPTION_MAX, NAME_MAX
from service.domain.records import StoredKey
from service.domain.text import has_control_characters


def clean_name(raw: str) -> tuple[str, str]:
    """Returns the name to store and its case-insensitive uniqueness key."""
    if has_control_characters(raw):
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


def name_taken(keys: Iterable[StoredKey], key: str, *, except_id: str | None = None) -> bool:
    """Whether one of `keys` (but `except_id`) already has the name whose key is `key`."""
    return any(k.id != except_id and name_key(k.name) == key for k in keys)


def clean_description(raw: str | None) -> str | None:
    """An empty or blank description is no description."""
    if raw is None:
        return None
    # A description may run over several lines.
    if has_control_characters(raw, allowed="\n"):
        raise ValidationFailed(
            "description", "Description cannot contain control characters other than newlines."
        )
    description = unicodedata.normalize("NFC", raw.strip())
    if len(description) > DESCRIPTION_MAX:
        raise ValidationFailed(
            "description", f"Description must be at most {DESCRIPTION_MAX} characters."
        )
    return description or None
