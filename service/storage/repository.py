"""Reading an owner's keys, and the transaction every change runs in. Every query is filtered by
owner.

Ownership lives in the query (`WHERE owner_id = ? AND id = ?`), never in an `if` after it, so a
key that exists but belongs to someone else is, to the caller, exactly a key that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import date, datetime
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from service.domain.audit import Actor, Event, EventKind, RevealedIn
from service.domain.clock import utcnow
from service.domain.ids import key_uuid
from service.domain.records import SecretMatch, StoredKey, WorkflowUse
from service.storage.change_sql import change_statements
from service.storage.engines import Engine, database_errors, translated
from service.storage.lookup import find_by_secret_hash
from service.storage.models import ApiKey, ApiKeyEvent, ApiKeyUsageDay
from service.storage.notifications import KeyChangeObserver
from service.storage.owner import LockedOwner
from service.storage.rows import aware, event, event_values, required, stored, stored_row
from service.storage.sql import statements


class KeyRepository:
    def __init__(self, engine: Engine, observer: KeyChangeObserver | None = None) -> None:
        self._engine = engine
        self._sql = statements(engine)
        self._change = change_statements(engine)
        self._observer = observer

    @translated
    async def list_keys(self, owner_id: str) -> list[StoredKey]:
        """The settings page and the workflow editor ask for this constantly: written out, like
        the verification lookup, rather than built by the ORM on every call."""
        _, rows = await connections.get(self._engine).execute_query(self._sql.list_keys, [owner_id])
        return [stored_row(row) for row in rows]

    @translated
    async def get(self, owner_id: str, key_id: str) -> StoredKey | None:
        pk = key_uuid(key_id)
        if pk is None:
            return None
        row = await ApiKey.get_or_none(owner_id=owner_id, id=pk)
        return stored(row) if row else None

    @translated
    async def find_by_secret_hash(self, key_hashes: Sequence[str]) -> SecretMatch | None:
        """The key whose current or retired secret has one of these lookup hashes (a secret's
        hash under each pepper the service knows)."""
        return await find_by_secret_hash(connections.get(self._engine), self._sql, key_hashes)

    @translated
    async def usage_days(
        self, owner_id: str, key_ids: Sequence[str], since: date
    ) -> list[tuple[str, date, int]]:
        """(key id, day, uses) of the owner's keys among `key_ids`, from `since` on."""
        ids = [pk for pk in (key_uuid(k) for k in key_ids) if pk is not None]
        rows = await ApiKeyUsageDay.filter(
            api_key__owner_id=owner_id, api_key_id__in=ids, day__gte=since
        ).values_list("api_key_id", "day", "uses")
        return [(str(key_id), day, uses) for key_id, day, uses in rows]

    @translated
    async def workflow_uses(
        self, owner_id: str, key_ids: Sequence[str], since: date, *, limit: int
    ) -> list[WorkflowUse]:
        """Per key among `key_ids` (the owner's), the workflows that used it from `since` on:
        uses and latest time, the `limit` most recent per key, most recent first."""
        ids = [str(pk) for pk in (key_uuid(k) for k in key_ids) if pk is not None]
        if not ids:
            return []
        parameters: list[Any] = [owner_id, since, *ids]
        sql = self._sql.workflow_uses(len(ids), limit)
        _, rows = await connections.get(self._engine).execute_query(sql, parameters)
        return [
            WorkflowUse(
                str(row["api_key_id"]),
                row["workflow_id"],
                int(row["uses"]),
                required(aware(row["last_used_at"])),
            )
            for row in rows
        ]

    @translated
    async def record_reveal(
        self, actor: Actor, key: StoredKey, revealed_in: RevealedIn, at: datetime
    ) -> None:
        """A reveal changes nothing else, so its event is written on its own."""
        values = event_values(
            actor, EventKind.REVEALED, key.id, key.name, at=at, revealed_in=revealed_in
        )
        await connections.get(self._engine).execute_query(self._change.insert_event(), values)

    @translated
    async def events(self, owner_id: str, *, limit: int, before_id: int | None) -> list[Event]:
        """The owner's events, newest first; `before_id` is the cursor of the previous page."""
        query = ApiKeyEvent.filter(owner_id=owner_id)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        rows = await query.order_by("-id").limit(limit)
        return [event(row) for row in rows]

    @translated
    async def count_keys(self) -> int:
        """Every key stored, of every owner (for operations)."""
        return await ApiKey.all().count()

    async def _lock(self, conn: BaseDBAsyncClient, owner_id: str) -> list[StoredKey]:
        """Takes the owner's lock; returns their keys, in list order."""
        if self._engine == "sqlite":
            await conn.execute_query(self._change.insert_owner, [owner_id, utcnow()])
        elif not (await conn.execute_query(self._change.lock_owner, [owner_id]))[0]:
            # A new owner (once per owner): the row is made, then locked like any other.
            await conn.execute_query(self._change.insert_owner, [owner_id, utcnow()])
            await conn.execute_query(self._change.lock_owner, [owner_id])
        _, rows = await conn.execute_query(self._sql.list_keys, [owner_id])
        return [stored_row(row) for row in rows]

    @asynccontextmanager
    async def locked(self, owner_id: str) -> AsyncIterator[LockedOwner]:
        """One transaction holding the owner's lock: changes inside it see no concurrent change.

        PostgreSQL: the owner row is locked, and their keys read, in one statement (the row is
        created first if it is missing). SQLite has no row locks, but the INSERT that opens the
        transaction takes the database's write lock before anything is read, which serialises
        writers just the same. Once it commits, every process hears of its changes (see
        `service.storage.listener`).
        """
        token = self._observer.new_token() if self._observer is not None else uuid.uuid4().hex
        try:
            with database_errors():
                async with in_transaction(self._engine) as conn:
                    keys = await self._lock(conn, owner_id)
                    owner = LockedOwner(conn, owner_id, token, self._observer, self._engine, keys)
                    yield owner
                    await owner.finish()
        except BaseException:
            if self._observer is not None:
                self._observer.abandoned(token)
            raise
        if owner.changed and self._observer is not None:
            with database_errors():
                await self._observer.committed(owner_id, owner.changed, token)
