"""Between rows and records: what a stored row becomes (`StoredKey`, `Event`), and the audit
event row every change writes beside itself."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson

from service.domain.audit import Actor, Event, EventKind, RevealedIn
from service.domain.records import Leak, StoredKey, UseOrigin
from service.storage.models import ApiKey, ApiKeyEvent


def stored(row: ApiKey) -> StoredKey:
    return StoredKey(
        id=str(row.id),
        owner_id=row.owner_id,
        name=row.name,
        description=row.description,
        is_default=row.is_default,
        key_hash=row.key_hash,
        key_ciphertext=bytes(row.key_ciphertext),
        key_last_four=row.key_last_four,
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        rotated_at=row.rotated_at,
        revoked_at=row.revoked_at,
        leak=_leak(row.leak_url, row.leak_source, row.leak_reported_at, row.leak_dismissed_at),
        expires_at=row.expires_at,
        last_used_from=_origin(row.last_used_at, row.last_used_address, row.last_used_user_agent),
        workflow_ids=decoded_list(row.workflow_ids),
        allowed_addresses=decoded_list(row.allowed_addresses),
    )


def _origin(
    last_used_at: datetime | str | None, address: str | None, user_agent: str | None
) -> UseOrigin | None:
    return None if last_used_at is None else UseOrigin(address, user_agent)


def _leak(
    url: str | None,
    source: str | None,
    reported_at: datetime | None,
    dismissed_at: datetime | None,
) -> Leak | None:
    return None if reported_at is None else Leak(url, source, reported_at, dismissed_at)


def event(row: ApiKeyEvent) -> Event:
    return Event(
        id=row.id,
        kind=EventKind(row.kind),
        key_id=str(row.key_id),
        key_name=row.key_name,
        changed_fields=tuple(f for f in row.changed_fields.split(",") if f),
        grace_seconds=row.grace_seconds,
        revealed_in=RevealedIn(row.revealed_in) if row.revealed_in else None,
        client_address=row.client_address,
        user_agent=row.user_agent,
        occurred_at=row.occurred_at,
        leak_url=row.leak_url,
        leak_source=row.leak_source,
        key_expires_at=row.key_expires_at,
        workflow_ids=decoded_list(row.workflow_ids),
        allowed_addresses=decoded_list(row.allowed_addresses),
    )


def event_values(
    actor: Actor,
    kind: EventKind,
    key_id: str,
    key_name: str,
    *,
    at: datetime,
    changed_fields: Sequence[str] = (),
    grace_seconds: int | None = None,
    revealed_in: RevealedIn | None = None,
    leak: Leak | None = None,
    key_expires_at: datetime | None = None,
    scope: tuple[tuple[str, ...] | None, tuple[str, ...] | None] = (None, None),
) -> list[Any]:
    """An audit event's row, in the order of `EVENT_COLUMNS`. `scope`: (workflow ids, allowed
    addresses) recorded with the event."""
    return [
        actor.owner_id,
        kind.value,
        key_id,
        key_name,
        ",".join(changed_fields),
        grace_seconds,
        revealed_in.value if revealed_in else None,
        actor.client_address,
        actor.user_agent,
        at,
        leak.url if leak else None,
        leak.source if leak else None,
        key_expires_at,
        encoded_list(scope[0]),
        encoded_list(scope[1]),
    ]


def encoded_list(values: Sequence[str] | None) -> str | None:
    """A list column's text: a JSON array (null stays null)."""
    return None if values is None else orjson.dumps(list(values)).decode()


def decoded_list(text: str | None) -> tuple[str, ...] | None:
    return None if text is None else tuple(orjson.loads(text))


def stored_row(row: Mapping[str, Any]) -> StoredKey:
    """A row of `_LIST_KEYS`; SQLite gives text for datetimes and uuids, and 0/1 for booleans."""
    return StoredKey(
        id=str(row["id"]),
        owner_id=row["owner_id"],
        name=row["name"],
        description=row["description"],
        is_default=bool(row["is_default"]),
        key_hash=row["key_hash"],
        key_ciphertext=bytes(row["key_ciphertext"]),
        key_last_four=row["key_last_four"],
        created_at=required(aware(row["created_at"])),
        updated_at=required(aware(row["updated_at"])),
        last_used_at=aware(row["last_used_at"]),
        rotated_at=aware(row["rotated_at"]),
        revoked_at=aware(row["revoked_at"]),
        leak=_leak(
            row["leak_url"],
            row["leak_source"],
            aware(row["leak_reported_at"]),
            aware(row["leak_dismissed_at"]),
        ),
        expires_at=aware(row["expires_at"]),
        last_used_from=_origin(
            row["last_used_at"], row["last_used_address"], row["last_used_user_agent"]
        ),
        workflow_ids=decoded_list(row["workflow_ids"]),
        allowed_addresses=decoded_list(row["allowed_addresses"]),
    )


def required(value: datetime | None) -> datetime:
    assert value is not None  # NOT NULL columns
    return value


def aware(value: datetime | str | None) -> datetime | None:
    """SQLite hands raw queries back their datetimes as the ISO text Tortoise stored."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)
