"""Use cases of the settings page: list, create, update, rotate, delete an owner's keys.

No GraphQL and no HTTP here: each use case takes primitives and returns a `StoredKey`, or
raises one of `service.domain.errors`. Every change runs inside `repository.locked(owner)`, the
one transaction that holds the owner's lock, so the rules below hold however many requests
arrive at once:
- every owner has exactly one default key, created the first time they touch the service;
- an owner has at most `max_keys` keys;
- names are unique per owner, case-insensitively;
- the default key can be rotated but not deleted; no other key can be rotated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Final

from service.domain.audit import Actor, Event, EventKind, RevealedIn
from service.domain.clock import Clock, utcnow
from service.domain.errors import (
    DefaultKeyUndeletable,
    KeyExpired,
    KeyLimitReached,
    KeyRevoked,
    NameTaken,
    NotDefaultKey,
    NotFound,
    ValidationFailed,
    WorkflowNotAllowed,
)
from service.domain.ids import canonical_id, new_key_id
from service.domain.limits import (
    MAX_KEY_LIFETIME,
    MAX_ROTATION_GRACE_SECONDS,
    MAX_WORKFLOWS_LISTED,
    check_usage_days,
)
from service.domain.records import Leak, NewKey, StoredKey, WorkflowUse
from service.domain.run_commands import clean_workflow_id
from service.domain.scope import clean_addresses, clean_workflow_ids
from service.domain.validation import clean_description, clean_name, name_key, name_taken
from service.domain.vault import KeyVault
from service.domain.verdicts import Refusal, unusable
from service.storage.caches import KeyLists
from service.storage.owner import LockedOwner
from service.storage.repository import KeyRepository

DEFAULT_KEY_NAME: Final = "Default"


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


UNCHANGED: Final = _Unchanged()
"""An update argument that was not given: the field keeps its value."""


class KeyService:
    def __init__(
        self,
        repository: KeyRepository,
        vault: KeyVault,
        max_keys: int,
        clock: Clock = utcnow,
        lists: KeyLists | None = None,
    ) -> None:
        self._repo = repository
        self._vault = vault
        self.max_keys = max_keys
        self._clock = clock
        self._lists = lists

    async def usable_keys(self, actor: Actor, workflow_id: str) -> Sequence[StoredKey]:
        """The owner's keys that can run `workflow_id` now (the workflow editor's dropdown):
        not revoked, not expired, the workflow in scope; default first, as in `list_keys`."""
        workflow = clean_workflow_id(workflow_id)
        now = self._clock()
        return [
            key
            for key in await self.list_keys(actor)
            if _refusal(key, now) is None
            and (key.workflow_ids is None or workflow in key.workflow_ids)
        ]

    async def list_keys(self, actor: Actor) -> Sequence[StoredKey]:
        """The owner's keys, default first, then oldest first; creates the default on first use.
        Served from memory when this process remembers them (see `service.storage.caches`)."""
        lists = self._lists
        if lists is not None:
            remembered = lists.get(actor.owner_id)
            if remembered is not None:
                return remembered
            generation = lists.generation
        keys = await self._repo.list_keys(actor.owner_id)
        if keys:
            if lists is not None:
                lists.put(actor.owner_id, keys, generation)
            return keys
        async with self._repo.locked(actor.owner_id) as owner:
            return await self._ensure_default(owner, actor)

    async def get_key(self, actor: Actor, key_id: str) -> StoredKey | None:
        return await self._repo.get(actor.owner_id, key_id)

    async def create_key(
        self,
        actor: Actor,
        name: str,
        description: str | None,
        expires_at: datetime | None = None,
        *,
        workflow_ids: Sequence[str] | None = None,
        allowed_addresses: Sequence[str] | None = None,
    ) -> StoredKey:
        """A new key; with `expires_at` (in the future, at most 366 days ahead) it stops working
        then (it stays listed, counting toward the limit, until deleted). `workflow_ids` and
        `allowed_addresses` narrow it (None: every workflow, anywhere)."""
        clean, key = clean_name(name)
        description = clean_description(description)
        expires_at = self._expiry(expires_at)
        scope = (clean_workflow_ids(workflow_ids), clean_addresses(allowed_addresses))
        async with self._repo.locked(actor.owner_id) as owner:
            keys = await self._ensure_default(owner, actor)
            if len(keys) >= self.max_keys:
                raise KeyLimitReached(self.max_keys)
            if name_taken(keys, key):
                raise NameTaken()
            return await self._insert(
                owner,
                actor,
                clean,
                key,
                description,
                is_default=False,
                expires_at=expires_at,
                scope=scope,
            )

    def _expiry(self, expires_at: datetime | None) -> datetime | None:
        if expires_at is None:
            return None
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)  # a time without a zone is UTC
        now = self._clock()
        if expires_at <= now:
            raise ValidationFailed("expiresAt", "A key can only expire in the future.")
        if expires_at > now + MAX_KEY_LIFETIME:
            raise ValidationFailed(
                "expiresAt", f"A key can expire at most {MAX_KEY_LIFETIME.days} days from now."
            )
        return expires_at

    def check_usable(self, key: StoredKey, workflow_id: str) -> None:
        """Refuses a key where it would be handed out to run `workflow_id` (a run command) when
        it no longer works (revoked, or past its expiry) or may not run that workflow."""
        refusal = _refusal(key, self._clock())
        if refusal is Refusal.REVOKED:
            raise KeyRevoked()
        if refusal is Refusal.EXPIRED:
            raise KeyExpired()
        if key.workflow_ids is not None and workflow_id not in key.workflow_ids:
            raise WorkflowNotAllowed()

    async def update_key(
        self,
        actor: Actor,
        key_id: str,
        *,
        name: str | _Unchanged = UNCHANGED,
        description: str | None | _Unchanged = UNCHANGED,
        workflow_ids: Sequence[str] | None | _Unchanged = UNCHANGED,
        allowed_addresses: Sequence[str] | None | _Unchanged = UNCHANGED,
    ) -> StoredKey:
        """Renames, re-describes or re-scopes a key (any key, the default included); a scope of
        None lifts that restriction. Only what changes is written and recorded."""
        changes: dict[str, object] = {}
        if not isinstance(name, _Unchanged):
            changes["name"], changes["name_key"] = clean_name(name)
        if not isinstance(description, _Unchanged):
            changes["description"] = clean_description(description)
        if not isinstance(workflow_ids, _Unchanged):
            changes["workflow_ids"] = clean_workflow_ids(workflow_ids)
        if not isinstance(allowed_addresses, _Unchanged):
            changes["allowed_addresses"] = clean_addresses(allowed_addresses)
        async with self._repo.locked(actor.owner_id) as owner:
            target = _find(await self._ensure_default(owner, actor), key_id)
            changed = [
                field
                for field in _UPDATABLE
                if field in changes and changes[field] != getattr(target, field)
            ]
            if not changed:
                return target
            changes = {field: changes[field] for field in changed} | (
                {"name_key": changes["name_key"]} if "name" in changed else {}
            )
            new_name_key = changes.get("name_key")
            if isinstance(new_name_key, str) and name_taken(
                owner.keys(), new_name_key, except_id=target.id
            ):
                raise NameTaken()
            updated = await owner.update(target.id, **changes)
            assert updated is not None  # found above, under the owner's lock
            await owner.record_event(
                actor,
                EventKind.UPDATED,
                updated,
                at=self._clock(),
                changed_fields=[_CHANGED_FIELD_NAMES.get(field, field) for field in changed],
                with_scope=bool(_SCOPE_FIELDS & set(changed)),
            )
            return updated

    async def rotate_key(
        self, actor: Actor, key_id: str, *, expire_old_after_seconds: int = 0
    ) -> StoredKey:
        """Gives the default key a new secret. The old one keeps working for the grace period
        asked for (0, the default, ends it at once; at most seven days), then answers EXPIRED."""
        if not 0 <= expire_old_after_seconds <= MAX_ROTATION_GRACE_SECONDS:
            raise ValidationFailed(
                "expireOldKeyInSeconds",
                f"The old key can live on for 0 to {MAX_ROTATION_GRACE_SECONDS} seconds (7 days).",
            )
        async with self._repo.locked(actor.owner_id) as owner:
            target = _find(await self._ensure_default(owner, actor), key_id)
            if not target.is_default:
                raise NotDefaultKey()
            now = self._clock()
            rotated = await issue_new_secret(
                owner,
                self._vault,
                target,
                now=now,
                until=now + timedelta(seconds=expire_old_after_seconds),
            )
            await owner.record_event(
                actor, EventKind.ROTATED, rotated, at=now, grace_seconds=expire_old_after_seconds
            )
            return rotated

    async def dismiss_leak(self, actor: Actor, key_id: str) -> StoredKey:
        """The owner has seen the warning of this key's leak report and dismissed it: the report
        stays on the key, marked dismissed, until the report ends (a rotation) or a new one
        replaces it, which starts undismissed. Dismissing again, or a key with no report,
        changes nothing.

        Not an audit event: the trail records what happens to a key and its secrets (the report
        itself is one, LEAKED), and a dismissal changes neither; it only records that the page's
        warning was read."""
        async with self._repo.locked(actor.owner_id) as owner:
            target = _find(await self._ensure_default(owner, actor), key_id)
            if target.leak is None or target.leak.dismissed_at is not None:
                return target
            dismissed = await owner.update(target.id, leak_dismissed_at=self._clock())
            assert dismissed is not None  # found above, under the owner's lock
            return dismissed

    async def delete_key(self, actor: Actor, key_id: str) -> str:
        async with self._repo.locked(actor.owner_id) as owner:
            keys = await self._ensure_default(owner, actor)
            target = _find(keys, key_id)
            if target.is_default:
                raise DefaultKeyUndeletable()
            await owner.delete(target.id)
            await owner.record_event(actor, EventKind.DELETED, target, at=self._clock())
            return target.id

    async def usage(
        self, actor: Actor, key_ids: Sequence[str], days: int
    ) -> dict[str, list[tuple[date, int]]]:
        """Uses per UTC day of each of these keys (the caller's), oldest first, one entry per
        day of the last `days` (1 to 90), today included, days without use too."""
        today = self._check_days(days)
        first = today - timedelta(days=days - 1)
        counted = {
            (key_id, day): uses
            for key_id, day, uses in await self._repo.usage_days(actor.owner_id, key_ids, first)
        }
        span = [first + timedelta(days=n) for n in range(days)]
        return {
            key_id: [(day, counted.get((key_id, day), 0)) for day in span] for key_id in key_ids
        }

    async def used_by(
        self, actor: Actor, key_ids: Sequence[str], days: int
    ) -> dict[str, list[WorkflowUse]]:
        """The workflows that used each of these keys in the last `days` (1 to 90), most
        recently used first, at most `MAX_WORKFLOWS_LISTED` per key."""
        today = self._check_days(days)
        since = today - timedelta(days=days - 1)
        found: dict[str, list[WorkflowUse]] = {key_id: [] for key_id in key_ids}
        for use in await self._repo.workflow_uses(
            actor.owner_id, key_ids, since, limit=MAX_WORKFLOWS_LISTED
        ):
            found.setdefault(use.key_id, []).append(use)
        return found

    def _check_days(self, days: int) -> date:
        check_usage_days(days)
        return self._clock().date()

    async def reveal(self, actor: Actor, key: StoredKey, revealed_in: RevealedIn) -> str:
        """The full secret, for its owner's eyes. Every reveal is recorded; a reveal that cannot
        be recorded does not happen."""
        if key.owner_id != actor.owner_id:
            raise NotFound()
        secret = self._vault.reveal(key.key_ciphertext, owner_id=key.owner_id, key_id=key.id)
        await self._repo.record_reveal(actor, key, revealed_in, self._clock())
        return secret

    def masked(self, key: StoredKey) -> str:
        return self._vault.format.mask(key.key_last_four)

    async def events(
        self, actor: Actor, *, limit: int, before_id: int | None = None
    ) -> Sequence[Event]:
        """The caller's audit trail, newest first."""
        return await self._repo.events(actor.owner_id, limit=limit, before_id=before_id)

    async def _ensure_default(self, owner: LockedOwner, actor: Actor) -> Sequence[StoredKey]:
        keys = owner.keys()
        if keys:
            return keys
        # Keys only exist beside their default, which cannot be deleted: none means a first visit.
        name = DEFAULT_KEY_NAME
        await self._insert(owner, actor, name, name_key(name), None, is_default=True)
        return owner.keys()

    async def _insert(
        self,
        owner: LockedOwner,
        actor: Actor,
        name: str,
        key: str,
        description: str | None,
        *,
        is_default: bool,
        expires_at: datetime | None = None,
        scope: tuple[tuple[str, ...] | None, tuple[str, ...] | None] = (None, None),
    ) -> StoredKey:
        key_id = new_key_id()
        issued = self._vault.issue(owner_id=owner.owner_id, key_id=key_id)
        created = await owner.insert(
            NewKey(
                id=key_id,
                name=name,
                name_key=key,
                description=description,
                is_default=is_default,
                key_hash=issued.key_hash,
                key_ciphertext=issued.ciphertext,
                key_last_four=issued.last_four,
                expires_at=expires_at,
                workflow_ids=scope[0],
                allowed_addresses=scope[1],
            )
        )
        await owner.record_event(
            actor, EventKind.CREATED, created, at=self._clock(), with_scope=True
        )
        return created


async def issue_new_secret(
    owner: LockedOwner,
    vault: KeyVault,
    target: StoredKey,
    *,
    now: datetime,
    until: datetime,
    revoked: bool = False,
    leak: Leak | None = None,
) -> StoredKey:
    """The default key's rotation, under its owner's lock: its secret retired (verifying until
    `until`, or answering REVOKED when it leaked), a new one issued. A rotation ends a leak
    report."""
    await owner.retire_secret(target, until=until, now=now, revoked=revoked)
    issued = vault.issue(owner_id=owner.owner_id, key_id=target.id)
    rotated = await owner.update(
        target.id,
        key_hash=issued.key_hash,
        key_ciphertext=issued.ciphertext,
        key_last_four=issued.last_four,
        rotated_at=now,
        **leak_fields(leak),
    )
    assert rotated is not None  # found by the caller, under the owner's lock
    return rotated


def leak_fields(leak: Leak | None) -> dict[str, object]:
    """A key's columns that hold a leak report (all null: none)."""
    return {
        "leak_url": leak.url if leak else None,
        "leak_source": leak.source if leak else None,
        "leak_reported_at": leak.reported_at if leak else None,
        "leak_dismissed_at": leak.dismissed_at if leak else None,
    }


# What an update may change, and the names its audit event gives the changes.
_UPDATABLE = ("name", "description", "workflow_ids", "allowed_addresses")
_SCOPE_FIELDS = frozenset({"workflow_ids", "allowed_addresses"})
_CHANGED_FIELD_NAMES = {"workflow_ids": "workflowIds", "allowed_addresses": "allowedAddresses"}


def _refusal(key: StoredKey, now: datetime) -> Refusal | None:
    return unusable(revoked=key.revoked_at is not None, expires_at=key.expires_at, now=now)


def _find(keys: Sequence[StoredKey], key_id: str) -> StoredKey:
    wanted = canonical_id(key_id)
    for key in keys:
        if key.id == wanted:
            return key
    raise NotFound()
