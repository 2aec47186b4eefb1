"""One owner's keys inside the transaction that holds the owner's lock: every change to a key
runs here, written with `service.storage.change_sql`, and is announced to every process in the
same transaction."""

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
from service.storage.change_sql import INSERTED, UPDATABLE, change_statements
from service.storage.engines import Engine
from service.storage.lookup import find_by_secret_hash
from service.storage.notifications import (
    KEY_CHANGES_CHANNEL,
    KEY_LISTS_CHANNEL,
    KeyChangeObserver,
    change_payload,
    lists_payloads,
)
from service.storage.rows import encoded_list, event_values, stored_row
from service.storage.sql import statements

# Columns holding lists (JSON arrays).
_LIST_COLUMNS = frozenset({"workflow_ids", "allowed_addresses"})


class LockedOwner:
    """One owner's keys, inside the transaction that holds the owner's lock (see
    `KeyRepository.locked`). Every statement is filtered by owner.

    The notifications of a change are sent with the change's audit event (one statement), or,
    for a change that records no event, by `finish` before the transaction commits."""

    def __init__(
        self,
        conn: BaseDBAsyncClient,
        owner_id: str,
        token: str,
        observer: KeyChangeObserver | None,
        engine: Engine,
        keys: Sequence[StoredKey],
    ) -> None:
        self._conn = conn
        self.owner_id = owner_id
        self._token = token
        self._observer = observer
        self._engine = engine
        self._sql = statements(engine)
        self._change = change_statements(engine)
        self._announce = engine == "postgres" and observer is not None
        self._keys = tuple(keys)
        self._unsent: list[str] = []  # NOTIFY channel, payload, channel, payload, ...
        self.changed: set[str] = set()

    def _changing(self, key_id: str) -> None:
        """Every process's caches must hear of this change when it commits: PostgreSQL delivers
        a NOTIFY sent in a transaction exactly then (and never if it rolls back)."""
        if not self.changed and self._observer is not None:
            self._observer.expect(self._token)
        if not self._announce:
            self.changed.add(key_id)
            return
        if not self.changed:
            # The owner's list first: a transaction's notifications arrive in order, so every
            # process forgets the list before it acknowledges the key's change.
            for payload in lists_payloads([self.owner_id]):
                self._unsent += [KEY_LISTS_CHANNEL, payload]
        if key_id not in self.changed:
            self._unsent += [KEY_CHANGES_CHANNEL, change_payload(self._token, key_id)]
        self.changed.add(key_id)

    async def finish(self) -> None:
        """Before the transaction commits: send what a change left unsent."""
        if self._unsent:
            unsent, self._unsent = self._unsent, []
            await self._conn.execute_query(self._change.notify(len(unsent) // 2), unsent)

    async def find_secret(self, key_hashes: Sequence[str]) -> SecretMatch | None:
        """`KeyRepository.find_by_secret_hash`, inside this transaction (after the lock): what
        the owner's keys hold now, not what they held before."""
        match = await find_by_secret_hash(self._conn, self._sql, key_hashes)
        return match if match is not None and match.owner_id == self.owner_id else None

    def keys(self) -> Sequence[StoredKey]:
        """The owner's keys as they are in this transaction (read when the lock was taken, then
        kept by the changes made here), default first, then oldest first."""
        return self._keys

    async def insert(self, key: NewKey) -> StoredKey:
        self._changing(key.id)  # a new key changes its owner's list
        now = utcnow()
        row: dict[str, Any] = {
            "id": key.id,
            "owner_id": self.owner_id,
            "name": key.name,
            "name_key": key.name_key,
            "description": key.description,
            "is_default": key.is_default,
            "key_hash": key.key_hash,
            "key_ciphertext": key.key_ciphertext,
            "key_last_four": key.key_last_four,
            "created_at": now,
            "updated_at": now,
            "expires_at": key.expires_at,
            "workflow_ids": encoded_list(key.workflow_ids),
            "allowed_addresses": encoded_list(key.allowed_addresses),
        }
        try:
            await self._conn.execute_query(
                self._change.insert_key, [row[column] for column in INSERTED]
            )
        except IntegrityError:
            # The lock makes this unreachable through the use cases; the constraint still holds.
            raise NameTaken() from None
        stored = StoredKey(
            id=key.id,
            owner_id=self.owner_id,
            name=key.name,
            description=key.description,
            is_default=key.is_default,
            key_hash=key.key_hash,
            key_ciphertext=key.key_ciphertext,
            key_last_four=key.key_last_four,
            created_at=now,
            updated_at=now,
            last_used_at=None,
            rotated_at=None,
            expires_at=key.expires_at,
            workflow_ids=key.workflow_ids,
            allowed_addresses=key.allowed_addresses,
        )
        self._keys = (*self._keys, stored)  # the newest, and a default only comes first
        return stored

    async def update(self, key_id: str, **changes: Any) -> StoredKey | None:
        """Writes only what changes (the secret columns are written by rotations alone);
        returns the key as it is now, None when the owner has no such key."""
        pk = key_uuid(key_id)
        if pk is None:
            return None
        unknown = set(changes) - UPDATABLE
        if unknown:
            raise ValueError(f"not a column a change may set: {sorted(unknown)}")
        columns = (*changes, "updated_at")
        values = [
            encoded_list(value) if column in _LIST_COLUMNS else value
            for column, value in changes.items()
        ]
        try:
            # execute_query would drop the RETURNING rows of an UPDATE on PostgreSQL.
            rows = await self._conn.execute_query_dict(
                self._change.update_key(columns), [*values, utcnow(), str(pk), self.owner_id]
            )
        except IntegrityError:
            raise NameTaken() from None
        if not rows:
            return None
        self._changing(str(pk))
        updated = stored_row(rows[0])
        self._keys = tuple(updated if k.id == updated.id else k for k in self._keys)
        return updated

    async def retire_secret(
        self, key: StoredKey, *, until: datetime, now: datetime, revoked: bool = False
    ) -> None:
        """Keep a key's rotated-out secret verifying until `until` (its ciphertext too, so
        that a rotation of the service's own secrets can rewrite it), or answering REVOKED if
        it leaked; forget ones long expired."""
        await self._conn.execute_query(
            self._change.retire_secret,
            [key.key_hash, key.key_ciphertext, key.id, until, now if revoked else None],
        )
        await self._conn.execute_query(
            self._change.forget_retired, [key.id, now - RETIRED_SECRET_MEMORY]
        )

    async def revoke_retired_secret(self, key_id: str, key_hash: str, *, at: datetime) -> None:
        """A key's former secret reported leaked: it answers REVOKED from now on (its grace
        ends now)."""
        self._changing(key_id)
        changed, _ = await self._conn.execute_query(
            self._change.revoke_retired, [key_id, key_hash, at]
        )
        if not changed:
            raise LookupError("the retired secret changed under the owner's lock")

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
        """An event, written in this transaction: it commits with the change, or not at all
        (with the change's notifications, in one statement). A creation records when the key
        expires; `with_scope`, the key's scope."""
        values = event_values(
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
        unsent, self._unsent = self._unsent, []
        await self._conn.execute_query(
            self._change.insert_event(len(unsent) // 2), [*values, *unsent]
        )

    async def delete(self, key_id: str) -> None:
        pk = key_uuid(key_id)
        if pk is not None:
            self._changing(str(pk))
            await self._conn.execute_query(self._change.delete_key, [str(pk), self.owner_id])
            self._keys = tuple(k for k in self._keys if k.id != str(pk))
