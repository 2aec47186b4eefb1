"""Key ids are UUIDs. Any spelling of one (upper case, braces, no hyphens) names the same key;
anything else names no key, and is answered like any other unknown id."""

from __future__ import annotations

import uuid


def key_uuid(key_id: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(key_id)
    except (ValueError, AttributeError, TypeError):
        return None


def canonical_id(key_id: str) -> str | None:
    pk = key_uuid(key_id)
    return None if pk is None else str(pk)


def new_key_id() -> str:
    return str(uuid.uuid4())
