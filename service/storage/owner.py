"""One owner's keys inside the transaction that holds the owner's lock: every change to a key
runs here, and is announced to every process in the same transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError

from service.domain.audit import Actor, EventKind
from service.domain.clock import utcnow
from service.domain.errors import NameTaken
from service.domain.ids import key_uuid
from service.domain.limits import RETIRED_SECRET_MEMORY
from service.domain.records import Leak, NewKey, SecretMatch, StoredKey
from service.storage.engines import Engine
from service.storage.lookup import find_by_secret_hash
from service.storage.models import ApiKey, RetiredSecret
from service.storage.notifications import KeyChangeObserver, announce_change, announce_lists
from service.storage.rows import KEY_ORDER, encoded_list, insert_event, stored
from service.storage.sql import statements

# Columns holding lists (JSON arrays).
_LIST_COLUMNS = frozenset({"workflow_ids", "allowed_addresses"})


class LockedOwner:
    """One owner's keys, inside the transaction that holds the owner's lock (see
    `KeyRepository.locked`). Every query is filtered by owner."""

    def __init__(
        self,
        conn: BaseDBAsyncClient,
        owner_id: str,
        token: str,
        observer: KeyChangeObserver | None,
        engine: Engine,
    ) -> None:
        self._conn = conn
        self.owner_id = owner_id
        self._token = token
        self._observer = observer
        self._sql = statements(engine)
        self._announce = engine == "postgres" and observer is not None
        self.changed: set[str] = set()

    async def _changing(self, key_id: str) -> None:
        """Every process's cache of verified keys must hear of this change when it commits:
        PostgreSQL delivers a NOTIFY sent in a transaction exactly then (and never if it rolls
        back)."""
        if not self.changed and self._observer is not None:
            self._observer.expect(self._token)
        self.changed.add(key_id)
        if self._announce:
            # The owner's list first: a transaction's notifications arrive in order, so every
            # process forgets the list before it acknowledges the key's change.
            if len(self.changed) == 1:
                await announce_lists(self._conn, [self.owner_id])
            await announce_change(self._conn, self._token, key_id)

    def _keys(self) -> Any:
        return ApiKey.filter(owner_id=self.owner_id).using_db(self._conn)

    async def find_secret(self, key_hashes: Sequence[str]) -> SecretMatch | None:
        """`KeyRepository.find_by_secret_hash`, inside this transaction (after the lock): what
        the owner's keys hold now, not what they held before."""
        match = await find_by_secret_hash(self._conn, self._sql, key_hashes)
        return match if match is not None and match.owner_id == self.owner_id else None

    async def keys(self) -> Sequence[StoredKey]:
        rows = await self._keys().order_by(*KEY_ORDER)
        return [stored(row) for row in rows]

    async def name_in_use(self, name_key: str, *, except_id: str | None = None) -> bool:
        query = self._keys().filter(name_key=name_key)
        if except_id is not None:
            query = query.exclude(id=except_id)
        return bool(await query.exists())

    async def insert(self, key: NewKey) -> StoredKey:
        await self._changing(key.id)  # a new key changes its owner's list
        try:
            row = await ApiKey.create(
                using_db=self._conn,
                id=key.id,
                owner_id=self.owner_id,
                name=key.name,
                name_key=key.name_key,
                description=key.description,
                is_default=key.is_default,
                key_hash=key.key_hash,
                key_ciphertext=key.key_ciphertext,
                key_last_four=key.key_last_four,
                expires_at=key.expires_at,
                workflow_ids=encoded_list(key.workflow_ids),
                allowed_addresses=encoded_list(key.allowed_addresses),
            )
        except IntegrityError:
            # The lock makes this unreachable through the use cases; the constraint still holds.
            raise NameTaken() from None
        return stored(row)

    async def update(self, key_id: str, **changes: Any) -> StoredKey | None:
        pk = key_uuid(key_id)
        if pk is None:
            return None
        row = await self._keys().get_or_none(id=pk)
        if row is None:
            return None
        await self._changing(str(pk))
        for field, value in changes.items():
            setattr(row, field, encoded_list(value) if field in _LIST_COLUMNS else value)
        row.updated_at = utcnow()
        try:
            # Only what changed: the secret columns are written by rotations alone.
            await row.save(using_db=self._conn, update_fields=[*changes, "updated_at"])
        except IntegrityError:
            raise NameTaken() from None
        return stored(row)

    async def retire_secret(
        self, key: StoredKey, *, until: datetime, now: datetime, revoked: bool = False
    ) -> None:
        """Keep a key's rotated-out secret verifying until `until` (its ciphertext too, so
        that a rotation of the service's own secrets can rewrite it), or answering REVOKED if
        it leaked; forget ones long expired."""
        key_id = key.id
        await RetiredSecret.create(
            using_db=self._conn,
            key_hash=key.key_hash,
            key_ciphertext=key.key_ciphertext,
            api_key_id=key_id,
            expires_at=until,
            revoked_at=now if revoked else None,
        )
        await (
            RetiredSecret.filter(api_key_id=key_id, expires_at__lt=now - RETIRED_SECRET_MEMORY)
            .using_db(self._conn)
            .delete()
        )

    async def revoke_retired_secret(self, key_id: str, key_hash: str, *, at: datetime) -> None:
        """A key's former secret reported leaked: it answers REVOKED from now on."""
        await self._changing(key_id)
        retired = RetiredSecret.filter(api_key_id=key_id, key_hash=key_hash).using_db(self._conn)
        if not await retired.update(revoked_at=at):
            raise LookupError("the retired secret changed under the owner's lock")
        await retired.filter(expires_at__gt=at).update(expires_at=at)  # its grace ends now

    async def record_event(
        self,
        actor: Actor,
        kind: EventKind,
        key: StoredKey,
        *,
        at: datetime,
        changed_fields: Sequence[str] = (),
        grace_seconds: int | None = None,
        leak: Leak | None = None,
        with_scope: bool = False,
    ) -> None:
        """An event, written in this transaction: it commits with the change, or not at all.
        A creation records when the key expires; `with_scope`, the key's scope."""
        await insert_event(
            self._conn,
            actor,
            kind,
            key.id,
            key.name,
            at=at,
            changed_fields=changed_fields,
            grace_seconds=grace_seconds,
            leak=leak,
            key_expires_at=key.expires_at if kind is EventKind.CREATED else None,
            scope=(key.workflow_ids, key.allowed_addresses) if with_scope else (None, None),
        )

    async def delete(self, key_id: str) -> None:
        pk = key_uuid(key_id)
        if pk is not None:
            await self._changing(str(pk))
            await self._keys().filter(id=pk).delete()
