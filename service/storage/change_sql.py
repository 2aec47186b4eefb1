"""The SQL of a change to an owner's keys, written out: a change is a handful of statements, and
each costs what its SQL costs, with no model objects built and thrown away around it.

On PostgreSQL an audit event travels with the change's notifications in one statement. SQLite
has neither row locks nor NOTIFY: its writers are serialised by the write lock the owner's INSERT
takes, and nobody listens.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from service.storage.engines import Engine
from service.storage.sql import KEY_COLUMNS, column_names

# What a change may set on a key row (the rest is written by the tracker, or never).
UPDATABLE = frozenset(
    {
        "name",
        "name_key",
        "description",
        "key_hash",
        "key_ciphertext",
        "key_last_four",
        "rotated_at",
        "revoked_at",
        "leak_url",
        "leak_source",
        "leak_reported_at",
        "leak_dismissed_at",
        "workflow_ids",
        "allowed_addresses",
    }
)
INSERTED = (
    "id",
    "owner_id",
    "name",
    "name_key",
    "description",
    "is_default",
    "key_hash",
    "key_ciphertext",
    "key_last_four",
    "created_at",
    "updated_at",
    "expires_at",
    "workflow_ids",
    "allowed_addresses",
)
EVENT_COLUMNS = (
    "owner_id",
    "kind",
    "key_id",
    "key_name",
    "changed_fields",
    "grace_seconds",
    "revealed_in",
    "client_address",
    "user_agent",
    "occurred_at",
    "leak_url",
    "leak_source",
    "key_expires_at",
    "workflow_ids",
    "allowed_addresses",
)


@dataclass(frozen=True)
class ChangeStatements:
    engine: Engine

    def _marks(self, count: int, first: int = 1) -> list[str]:
        mark = "$" if self.engine == "postgres" else "?"
        return [f"{mark}{n}" for n in range(first, first + count)]

    @functools.cached_property
    def lock_owner(self) -> str:
        """PostgreSQL: the owner's row locked (no row when the owner has none yet). The keys are
        read by the next statement: a statement that waited for the lock still reads the rows of
        other tables as they were when it began, so it cannot read them itself. Parameter: the
        owner."""
        return 'SELECT 1 FROM "owners" WHERE "id" = $1 FOR UPDATE'

    @functools.cached_property
    def insert_owner(self) -> str:
        """Parameters: the owner, when."""
        a, b = self._marks(2)
        return (
            f'INSERT INTO "owners" ("id", "created_at") VALUES ({a}, {b})'
            ' ON CONFLICT ("id") DO NOTHING'
        )

    @functools.cached_property
    def insert_key(self) -> str:
        return (
            f'INSERT INTO "api_keys" ({column_names(INSERTED)})'
            f" VALUES ({', '.join(self._marks(len(INSERTED)))})"
        )

    @functools.cache  # noqa: B019 - one instance per engine, cached for the process's life
    def update_key(self, columns: tuple[str, ...]) -> str:
        """Parameters: the new values of `columns` in order, then the key, then the owner."""
        marks = self._marks(len(columns) + 2)
        assignments = ", ".join(f'"{c}" = {m}' for c, m in zip(columns, marks, strict=False))
        return (
            f'UPDATE "api_keys" SET {assignments}'
            f' WHERE "id" = {marks[-2]} AND "owner_id" = {marks[-1]}'
            f" RETURNING {column_names(KEY_COLUMNS)}"
        )

    @functools.cached_property
    def delete_key(self) -> str:
        a, b = self._marks(2)
        return f'DELETE FROM "api_keys" WHERE "id" = {a} AND "owner_id" = {b}'

    @functools.cached_property
    def retire_secret(self) -> str:
        """Parameters: hash, ciphertext, key, until, revoked at."""
        marks = ", ".join(self._marks(5))
        return (
            'INSERT INTO "retired_secrets"'
            ' ("key_hash", "key_ciphertext", "api_key_id", "expires_at", "revoked_at")'
            f" VALUES ({marks})"
        )

    @functools.cached_property
    def forget_retired(self) -> str:
        """Parameters: key, expired before."""
        a, b = self._marks(2)
        return f'DELETE FROM "retired_secrets" WHERE "api_key_id" = {a} AND "expires_at" < {b}'

    @functools.cached_property
    def revoke_retired(self) -> str:
        """A retired secret answers REVOKED, its grace ended. Parameters: key, hash, when."""
        a, b, c = self._marks(3)
        return (
            f'UPDATE "retired_secrets" SET "revoked_at" = {c},'
            f' "expires_at" = CASE WHEN "expires_at" > {c} THEN {c} ELSE "expires_at" END'
            f' WHERE "api_key_id" = {a} AND "key_hash" = {b}'
        )

    @functools.cache  # noqa: B019
    def insert_event(self, notifications: int = 0) -> str:
        """An audit event (parameters: `EVENT_COLUMNS`), and on PostgreSQL the change's
        `notifications` waiting to be sent, in the same statement (then channel, payload each)."""
        values = ", ".join(self._marks(len(EVENT_COLUMNS)))
        insert = f'INSERT INTO "api_key_events" ({column_names(EVENT_COLUMNS)}) VALUES ({values})'
        if not notifications:
            return insert
        return f"WITH e AS ({insert}) {self.notify(notifications, len(EVENT_COLUMNS) + 1)}"

    @functools.cache  # noqa: B019
    def notify(self, notifications: int, first: int = 1) -> str:
        """`notifications` NOTIFYs, in order (parameters: channel, payload, ...)."""
        marks = self._marks(2 * notifications, first)
        calls = ", ".join(f"pg_notify({marks[n]}, {marks[n + 1]})" for n in range(0, len(marks), 2))
        return f"SELECT {calls}"


@functools.cache
def change_statements(engine: Engine) -> ChangeStatements:
    return ChangeStatements(engine)
