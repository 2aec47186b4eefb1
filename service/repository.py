"""The only module that runs queries. Every query is filtered by owner.

Ownership lives in the query (`WHERE owner_id = ? AND id = ?`), never in an `if` after it, so a
key that exists but belongs to someone else is, to the caller, exactly a key that does not exist.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Collection, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

import orjson
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from service.audit import Actor, Event, EventKind, RevealedIn
from service.clock import utcnow
from service.db import Engine
from service.errors import NameTaken
from service.models import (
    ApiKey,
    ApiKeyEvent,
    ApiKeyUsageDay,
    ApiKeyWorkflowUse,
    Owner,
    RetiredSecret,
)
from service.usage import UsageBatch

# A retired secret answers EXPIRED (rather than UNKNOWN) for this long after its grace period.
RETIRED_SECRET_MEMORY = timedelta(days=30)

# Default key first, then oldest first; the id breaks ties between keys made in one instant.
_ORDER = ("-is_default", "created_at", "id")


@dataclass(frozen=True)
class UseOrigin:
    """Where a key's latest use came from."""

    client_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Leak:
    """Where a secret-scanning partner found a key in public, and when it told us."""

    url: str | None
    source: str | None
    reported_at: datetime


@dataclass(frozen=True)
class StoredKey:
    """A key as stored: never the secret, only its ciphertext and last four characters."""

    id: str
    owner_id: str
    name: str
    description: str | None
    is_default: bool
    key_hash: str
    key_ciphertext: bytes
    key_last_four: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    rotated_at: datetime | None
    revoked_at: datetime | None = None
    leak: Leak | None = None
    expires_at: datetime | None = None
    last_used_from: UseOrigin | None = None


@dataclass(frozen=True)
class SecretMatch:
    """The key a presented secret belongs to. `retired_until` is set when the secret is one
    the key had before a rotation: it verifies until then. `revoked`: reported leaked."""

    key_id: str
    owner_id: str
    name: str
    retired_until: datetime | None
    revoked: bool = False
    secret_hash: str = ""  # the stored lookup hash that matched
    expires_at: datetime | None = None  # the key's own expiry (null: never)


@dataclass(frozen=True)
class StoredSecret:
    """A secret as stored, for a rotation of the service's own secrets: a key's current one
    (`retired_until` None) or one it had before a rotation of the key."""

    key_id: str
    owner_id: str
    key_hash: str
    ciphertext: bytes | None  # None: retired before retired secrets kept theirs
    retired_until: datetime | None


@dataclass(frozen=True)
class WorkflowUse:
    """A workflow's uses of a key over some days, and the latest."""

    key_id: str
    workflow_id: str
    uses: int
    last_used_at: datetime


@dataclass(frozen=True)
class NewKey:
    id: str
    name: str
    name_key: str
    description: str | None
    is_default: bool
    key_hash: str
    key_ciphertext: bytes
    key_last_four: str
    expires_at: datetime | None = None


def _stored(row: ApiKey) -> StoredKey:
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
        leak=_leak(row.leak_url, row.leak_source, row.leak_reported_at),
        expires_at=row.expires_at,
        last_used_from=_origin(row.last_used_at, row.last_used_address, row.last_used_user_agent),
    )


def _origin(
    last_used_at: datetime | str | None, address: str | None, user_agent: str | None
) -> UseOrigin | None:
    return None if last_used_at is None else UseOrigin(address, user_agent)


def _leak(url: str | None, source: str | None, reported_at: datetime | None) -> Leak | None:
    return None if reported_at is None else Leak(url, source, reported_at)


def _event(row: ApiKeyEvent) -> Event:
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
    )


async def _insert_event(
    conn: BaseDBAsyncClient | None,
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
) -> None:
    await ApiKeyEvent.create(
        using_db=conn,
        owner_id=actor.owner_id,
        kind=kind.value,
        key_id=key_id,
        key_name=key_name,
        changed_fields=",".join(changed_fields),
        grace_seconds=grace_seconds,
        revealed_in=revealed_in.value if revealed_in else None,
        client_address=actor.client_address,
        user_agent=actor.user_agent,
        occurred_at=at,
        leak_url=leak.url if leak else None,
        leak_source=leak.source if leak else None,
        key_expires_at=key_expires_at,
    )


def _uuid(key_id: str) -> uuid.UUID | None:
    """A malformed id names no key: it is answered like any other unknown id."""
    try:
        return uuid.UUID(key_id)
    except (ValueError, AttributeError, TypeError):
        return None


def canonical_id(key_id: str) -> str | None:
    pk = _uuid(key_id)
    return None if pk is None else str(pk)


def new_key_id() -> str:
    return str(uuid.uuid4())


# The verification lookup, the hottest query of all: one round trip, written out rather than
# built by the ORM on every call. A secret is either a key's current one or a retired one, its
# hash under the current pepper or (during a rotation of the pepper) a previous one.
_FIND_BY_SECRET_HASH = """
SELECT k."id", k."owner_id", k."name", {no_time} AS "retired_until",
       k."revoked_at" AS "revoked_at", k."key_hash" AS "secret_hash", k."expires_at" AS "expires_at"
  FROM "api_keys" k WHERE k."key_hash" IN ({hashes})
UNION ALL
SELECT k."id", k."owner_id", k."name", r."expires_at", r."revoked_at", r."key_hash", k."expires_at"
  FROM "retired_secrets" r JOIN "api_keys" k ON k."id" = r."api_key_id"
 WHERE r."key_hash" IN ({hashes})
LIMIT 1
"""


def _find_by_secret_hash_sql(engine: Engine, count: int) -> str:
    marks = [f"${n}" if engine == "postgres" else f"?{n}" for n in range(1, count + 1)]
    no_time = "NULL::timestamptz" if engine == "postgres" else "NULL"
    return _FIND_BY_SECRET_HASH.format(no_time=no_time, hashes=", ".join(marks)).strip()


_LIST_KEYS = (
    'SELECT "id", "owner_id", "name", "description", "is_default", "key_hash", "key_ciphertext",'
    ' "key_last_four", "created_at", "updated_at", "last_used_at", "rotated_at", "revoked_at",'
    ' "leak_url", "leak_source", "leak_reported_at", "expires_at", "last_used_address",'
    ' "last_used_user_agent"'
    ' FROM "api_keys" WHERE "owner_id" = {p}'
    ' ORDER BY "is_default" DESC, "created_at" ASC, "id" ASC'
)


# A flush of the usage tracker (`record_usage`): one statement per table on PostgreSQL (arrays
# of the batch's rows), one per row on SQLite. "Last used" only moves forward, and the owner
# comes back so that its list can be invalidated; counts are added to; a key deleted since its
# uses were buffered is skipped (its usage went with it).
_USAGE_SQL = {
    "postgres": {
        "latest": """
UPDATE "api_keys" AS k
   SET "last_used_at" = u."at", "last_used_address" = u."address",
       "last_used_user_agent" = u."agent"
  FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[])
       AS u("id", "at", "address", "agent")
 WHERE k."id" = u."id" AND (k."last_used_at" IS NULL OR k."last_used_at" < u."at")
RETURNING k."owner_id"
""",
        "days": """
INSERT INTO "api_key_usage_days" ("api_key_id", "day", "uses")
SELECT u."id", u."day", u."uses"
  FROM unnest($1::uuid[], $2::date[], $3::int[]) AS u("id", "day", "uses")
  JOIN "api_keys" k ON k."id" = u."id"
 ORDER BY u."id", u."day"
ON CONFLICT ("api_key_id", "day")
DO UPDATE SET "uses" = "api_key_usage_days"."uses" + EXCLUDED."uses"
""",
        "workflows": """
INSERT INTO "api_key_workflow_uses" ("api_key_id", "workflow_id", "day", "uses", "last_used_at")
SELECT u."id", u."workflow", u."day", u."uses", u."at"
  FROM unnest($1::uuid[], $2::text[], $3::date[], $4::int[], $5::timestamptz[])
       AS u("id", "workflow", "day", "uses", "at")
  JOIN "api_keys" k ON k."id" = u."id"
 ORDER BY u."id", u."workflow", u."day"
ON CONFLICT ("api_key_id", "workflow_id", "day")
DO UPDATE SET "uses" = "api_key_workflow_uses"."uses" + EXCLUDED."uses",
              "last_used_at" = GREATEST("api_key_workflow_uses"."last_used_at",
                                        EXCLUDED."last_used_at")""",
    },
    "sqlite": {
        "latest": """
UPDATE "api_keys" SET "last_used_at" = ?2, "last_used_address" = ?3, "last_used_user_agent" = ?4
 WHERE "id" = ?1 AND ("last_used_at" IS NULL OR "last_used_at" < ?2)
RETURNING "owner_id"
""",
        "days": """
INSERT INTO "api_key_usage_days" ("api_key_id", "day", "uses")
SELECT ?1, ?2, ?3 WHERE EXISTS (SELECT 1 FROM "api_keys" WHERE "id" = ?1)
ON CONFLICT ("api_key_id", "day") DO UPDATE SET "uses" = "uses" + excluded."uses"
""",
        "workflows": """
INSERT INTO "api_key_workflow_uses" ("api_key_id", "workflow_id", "day", "uses", "last_used_at")
SELECT ?1, ?2, ?3, ?4, ?5 WHERE EXISTS (SELECT 1 FROM "api_keys" WHERE "id" = ?1)
ON CONFLICT ("api_key_id", "workflow_id", "day")
DO UPDATE SET "uses" = "uses" + excluded."uses",
              "last_used_at" = MAX("last_used_at", excluded."last_used_at")""",
    },
}


# The workflows that used some of an owner's keys since a day: summed over the days, the most
# recent `limit` per key (a window function: one query for all the keys of a page).
_WORKFLOW_USES = """
SELECT "api_key_id", "workflow_id", "uses", "last_used_at" FROM (
  SELECT w."api_key_id", w."workflow_id", SUM(w."uses") AS "uses",
         MAX(w."last_used_at") AS "last_used_at",
         ROW_NUMBER() OVER (
           PARTITION BY w."api_key_id" ORDER BY MAX(w."last_used_at") DESC, w."workflow_id"
         ) AS "rank"
    FROM "api_key_workflow_uses" w JOIN "api_keys" k ON k."id" = w."api_key_id"
   WHERE k."owner_id" = {owner} AND w."api_key_id" IN ({ids}) AND w."day" >= {since}
   GROUP BY w."api_key_id", w."workflow_id"
) AS "ranked"
WHERE "rank" <= {limit}
ORDER BY "api_key_id", "rank"
"""


def _batches(owner_ids: Sequence[str]) -> Iterator[str]:
    """JSON arrays of owner ids, each small enough for one NOTIFY payload."""
    batch: list[str] = []
    size = 2
    for owner_id in owner_ids:
        encoded = len(orjson.dumps(owner_id)) + 1
        if batch and size + encoded > _USES_PAYLOAD_BYTES:
            yield orjson.dumps(batch).decode()
            batch, size = [], 2
        batch.append(owner_id)
        size += encoded
    if batch:
        yield orjson.dumps(batch).decode()


def _stored_row(row: Mapping[str, Any]) -> StoredKey:
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
        created_at=_required(_aware(row["created_at"])),
        updated_at=_required(_aware(row["updated_at"])),
        last_used_at=_aware(row["last_used_at"]),
        rotated_at=_aware(row["rotated_at"]),
        revoked_at=_aware(row["revoked_at"]),
        leak=_leak(row["leak_url"], row["leak_source"], _aware(row["leak_reported_at"])),
        expires_at=_aware(row["expires_at"]),
        last_used_from=_origin(
            row["last_used_at"], row["last_used_address"], row["last_used_user_agent"]
        ),
    )


def _required(value: datetime | None) -> datetime:
    assert value is not None  # NOT NULL columns
    return value


def _aware(value: datetime | str | None) -> datetime | None:
    """SQLite hands raw queries back their datetimes as the ISO text Tortoise stored."""
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(value)


KEY_CHANGES_CHANNEL = "apikeys_key_changes"  # payload `<token>:<key id>`, acknowledged
KEY_LISTS_CHANNEL = "apikeys_key_lists"  # payload: a JSON array of owner ids; no acknowledgement
# PostgreSQL refuses NOTIFY payloads of 8000 bytes or more: owners are announced in batches.
_USES_PAYLOAD_BYTES = 7000


class KeyChangeObserver(Protocol):
    """Hears of keys created, renamed, rotated or deleted, by the transaction identified by
    `token`, and of "last used" times written."""

    def expect(self, token: str) -> None:
        """The transaction is about to announce a change (the announcement may be delivered
        as soon as it commits, before `committed` is called)."""

    async def committed(self, owner_id: str, key_ids: Collection[str], token: str) -> None:
        """The transaction committed."""

    def abandoned(self, token: str) -> None:
        """The transaction rolled back: nothing changed."""

    def used(self, owner_ids: Collection[str]) -> None:
        """A flush of "last used" times committed; these owners' keys were among them."""


class KeyRepository:
    def __init__(self, engine: Engine, observer: KeyChangeObserver | None = None) -> None:
        self._engine = engine
        self._find_by_secret_hash: dict[int, str] = {}  # number of hashes -> its SQL
        self._list_keys = _LIST_KEYS.format(p="$1" if engine == "postgres" else "?")
        self._usage_sql = {name: sql.strip() for name, sql in _USAGE_SQL[engine].items()}
        self._rewrite_retired = (
            'UPDATE "retired_secrets" SET "key_hash" = {0}1, "key_ciphertext" = {0}2'
            ' WHERE "key_hash" = {0}3'.format("$" if engine == "postgres" else "?")
        )
        self._observer = observer
        self._announce = engine == "postgres" and observer is not None

    async def list_keys(self, owner_id: str) -> list[StoredKey]:
        """The settings page and the workflow editor ask for this constantly: written out, like
        the verification lookup, rather than built by the ORM on every call."""
        _, rows = await connections.get(self._engine).execute_query(self._list_keys, [owner_id])
        return [_stored_row(row) for row in rows]

    async def get(self, owner_id: str, key_id: str) -> StoredKey | None:
        pk = _uuid(key_id)
        if pk is None:
            return None
        row = await ApiKey.get_or_none(owner_id=owner_id, id=pk)
        return _stored(row) if row else None

    async def find_by_secret_hash(
        self, key_hashes: Sequence[str], conn: BaseDBAsyncClient | None = None
    ) -> SecretMatch | None:
        """The key whose current or retired secret has one of these lookup hashes (a secret's
        hash under each pepper the service knows); on `conn`, inside a transaction, if given."""
        sql = self._find_by_secret_hash.get(len(key_hashes))
        if sql is None:
            sql = self._find_by_secret_hash[len(key_hashes)] = _find_by_secret_hash_sql(
                self._engine, len(key_hashes)
            )
        conn = conn or connections.get(self._engine)
        _, rows = await conn.execute_query(sql, list(key_hashes))
        if not rows:
            return None
        row = rows[0]
        return SecretMatch(
            str(row["id"]),
            row["owner_id"],
            row["name"],
            _aware(row["retired_until"]),
            revoked=row["revoked_at"] is not None,
            secret_hash=row["secret_hash"],
            expires_at=_aware(row["expires_at"]),
        )

    async def stored_secrets(
        self, after_id: str | None, limit: int
    ) -> tuple[list[StoredSecret], str | None]:
        """The secrets of `limit` keys after `after_id` in key id order: each key's current one
        and its retired ones. Returns them and the last key id (None when there are no more)."""
        query = ApiKey.all()
        if after_id is not None:
            query = query.filter(id__gt=after_id)
        keys = await query.order_by("id").limit(limit)
        if not keys:
            return [], None
        owners = {str(k.id): k.owner_id for k in keys}
        secrets = [
            StoredSecret(str(k.id), k.owner_id, k.key_hash, bytes(k.key_ciphertext), None)
            for k in keys
        ]
        for retired in await RetiredSecret.filter(api_key_id__in=list(owners)):
            key_id = str(retired.api_key_id)
            ciphertext = retired.key_ciphertext
            secrets.append(
                StoredSecret(
                    key_id,
                    owners[key_id],
                    retired.key_hash,
                    bytes(ciphertext) if ciphertext is not None else None,
                    retired.expires_at,
                )
            )
        return secrets, str(keys[-1].id)

    async def rewrite_secrets(
        self, rewrites: Sequence[tuple[StoredSecret, str, bytes]]
    ) -> list[StoredSecret]:
        """Store each secret's new (hash, ciphertext), in one transaction, each only if it
        still has the hash it was read with: a key rotated or deleted meanwhile is left as its
        change left it (no lost update). Returns the secrets rewritten."""
        done: list[StoredSecret] = []
        async with in_transaction() as conn:
            # The owners' locks, as every change to their keys takes them (in one order, so
            # that two rewriters cannot deadlock): no rotation or leak report of these keys
            # runs between what this reads and what it writes. (SQLite serialises writers.)
            owners = sorted({stored.owner_id for stored, _, _ in rewrites})
            await Owner.filter(id__in=owners).order_by("id").select_for_update().using_db(conn)
            for stored, new_hash, ciphertext in rewrites:
                if stored.retired_until is None:
                    changed = (
                        await ApiKey.filter(id=stored.key_id, key_hash=stored.key_hash)
                        .using_db(conn)
                        .update(key_hash=new_hash, key_ciphertext=ciphertext)
                    )
                else:  # its hash is its primary key, which the ORM will not change
                    changed, _ = await conn.execute_query(
                        self._rewrite_retired, [new_hash, ciphertext, stored.key_hash]
                    )
                if changed:
                    done.append(stored)
        return done

    async def usage_days(
        self, owner_id: str, key_ids: Sequence[str], since: date
    ) -> list[tuple[str, date, int]]:
        """(key id, day, uses) of the owner's keys among `key_ids`, from `since` on."""
        ids = [pk for pk in (_uuid(k) for k in key_ids) if pk is not None]
        rows = await ApiKeyUsageDay.filter(
            api_key__owner_id=owner_id, api_key_id__in=ids, day__gte=since
        ).values_list("api_key_id", "day", "uses")
        return [(str(key_id), day, uses) for key_id, day, uses in rows]

    async def workflow_uses(
        self, owner_id: str, key_ids: Sequence[str], since: date, *, limit: int
    ) -> list[WorkflowUse]:
        """Per key among `key_ids` (the owner's), the workflows that used it from `since` on:
        uses and latest time, the `limit` most recent per key, most recent first."""
        ids = [str(pk) for pk in (_uuid(k) for k in key_ids) if pk is not None]
        if not ids:
            return []
        mark = "$" if self._engine == "postgres" else "?"  # numbered, on both engines
        sql = _WORKFLOW_USES.strip().format(
            owner=f"{mark}1",
            since=f"{mark}2",
            ids=", ".join(f"{mark}{n}" for n in range(3, len(ids) + 3)),
            limit=limit,
        )
        parameters: list[Any] = [owner_id, since, *ids]
        _, rows = await connections.get(self._engine).execute_query(sql, parameters)
        return [
            WorkflowUse(
                str(row["api_key_id"]),
                row["workflow_id"],
                int(row["uses"]),
                _required(_aware(row["last_used_at"])),
            )
            for row in rows
        ]

    async def record_reveal(
        self, actor: Actor, key: StoredKey, revealed_in: RevealedIn, at: datetime
    ) -> None:
        """A reveal changes nothing else, so its event is written on its own."""
        await _insert_event(
            None, actor, EventKind.REVEALED, key.id, key.name, at=at, revealed_in=revealed_in
        )

    async def events(self, owner_id: str, *, limit: int, before_id: int | None) -> list[Event]:
        """The owner's events, newest first; `before_id` is the cursor of the previous page."""
        query = ApiKeyEvent.filter(owner_id=owner_id)
        if before_id is not None:
            query = query.filter(id__lt=before_id)
        rows = await query.order_by("-id").limit(limit)
        return [_event(row) for row in rows]

    async def prune_usage(self, before: date) -> None:
        """Usage counted before `before` is deleted."""
        async with in_transaction() as conn:
            for model in (ApiKeyUsageDay, ApiKeyWorkflowUse):
                await model.filter(day__lt=before).using_db(conn).delete()

    async def record_usage(self, batch: UsageBatch) -> None:
        """A tracker flush, in one transaction: each key's latest use (and where it came from),
        its uses per day, its uses per workflow and day; each touched row written once. On
        PostgreSQL the owners whose lists changed are announced (on commit) to every
        process."""
        latest = sorted(batch.latest.items())
        days = sorted(batch.days.items())
        workflows = sorted(batch.workflows.items())
        sql = self._usage_sql
        owners: set[str] = set()
        async with in_transaction() as conn:
            if self._engine == "postgres":
                # execute_query would drop the RETURNING rows of an UPDATE; this form keeps them.
                rows = await conn.execute_query_dict(
                    sql["latest"],
                    [
                        [key_id for key_id, _ in latest],
                        [at for _, (at, _) in latest],
                        [use.client_address for _, (_, use) in latest],
                        [use.user_agent for _, (_, use) in latest],
                    ],
                )
                owners.update(row["owner_id"] for row in rows)
                if days:
                    await conn.execute_query(
                        sql["days"],
                        [
                            list(column)
                            for column in zip(
                                *((key_id, day, uses) for (key_id, day), uses in days), strict=True
                            )
                        ],
                    )
                if workflows:
                    await conn.execute_query(
                        sql["workflows"],
                        [
                            list(column)
                            for column in zip(
                                *(
                                    (key_id, workflow, day, counted.uses, counted.last_used_at)
                                    for (key_id, workflow, day), counted in workflows
                                ),
                                strict=True,
                            )
                        ],
                    )
            else:
                for key_id, (at, use) in latest:
                    rows = await conn.execute_query_dict(
                        sql["latest"], [key_id, at, use.client_address, use.user_agent]
                    )
                    owners.update(row["owner_id"] for row in rows)
                if days:
                    await conn.execute_many(
                        sql["days"], [[key_id, day, uses] for (key_id, day), uses in days]
                    )
                if workflows:
                    await conn.execute_many(
                        sql["workflows"],
                        [
                            [key_id, workflow, day, counted.uses, counted.last_used_at]
                            for (key_id, workflow, day), counted in workflows
                        ],
                    )
            if self._announce and owners:
                for payload in _batches(sorted(owners)):
                    await conn.execute_query(
                        "SELECT pg_notify($1, $2)", [KEY_LISTS_CHANNEL, payload]
                    )
        if self._observer is not None and owners:
            self._observer.used(owners)

    @asynccontextmanager
    async def locked(self, owner_id: str) -> AsyncIterator[LockedOwner]:
        """One transaction holding the owner's lock: changes inside it see no concurrent change.

        PostgreSQL: the owner row is created if missing, then locked with SELECT ... FOR UPDATE.
        SQLite ignores FOR UPDATE, but the INSERT that opens the transaction takes the database's
        write lock before anything is read, which serialises writers just the same.
        """
        token = uuid.uuid4().hex
        try:
            async with in_transaction() as conn:
                await Owner.bulk_create([Owner(id=owner_id)], ignore_conflicts=True, using_db=conn)
                await Owner.select_for_update().using_db(conn).get(id=owner_id)
                owner = LockedOwner(conn, owner_id, token, self._observer, self._engine)
                yield owner
        except BaseException:
            if self._observer is not None:
                self._observer.abandoned(token)
            raise
        if owner.changed and self._observer is not None:
            await self._observer.committed(owner_id, owner.changed, token)


class LockedOwner:
    """One owner's keys, inside the transaction that holds the owner's lock."""

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
                await self._conn.execute_query(
                    "SELECT pg_notify($1, $2)",
                    [KEY_LISTS_CHANNEL, orjson.dumps([self.owner_id]).decode()],
                )
            await self._conn.execute_query(
                "SELECT pg_notify($1, $2)", [KEY_CHANGES_CHANNEL, f"{self._token}:{key_id}"]
            )

    def _keys(self) -> Any:
        return ApiKey.filter(owner_id=self.owner_id).using_db(self._conn)

    async def find_secret(
        self, repository: KeyRepository, key_hashes: Sequence[str]
    ) -> SecretMatch | None:
        """`KeyRepository.find_by_secret_hash`, inside this transaction (after the lock): what
        the owner's keys hold now, not what they held before."""
        match = await repository.find_by_secret_hash(key_hashes, self._conn)
        return match if match is not None and match.owner_id == self.owner_id else None

    async def keys(self) -> Sequence[StoredKey]:
        rows = await self._keys().order_by(*_ORDER)
        return [_stored(row) for row in rows]

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
            )
        except IntegrityError:
            # The lock makes this unreachable through the use cases; the constraint still holds.
            raise NameTaken() from None
        return _stored(row)

    async def update(self, key_id: str, **changes: Any) -> StoredKey | None:
        pk = _uuid(key_id)
        if pk is None:
            return None
        row = await self._keys().get_or_none(id=pk)
        if row is None:
            return None
        await self._changing(str(pk))
        for field, value in changes.items():
            setattr(row, field, value)
        row.updated_at = utcnow()
        try:
            # Only what changed: the secret columns are written by rotations alone.
            await row.save(using_db=self._conn, update_fields=[*changes, "updated_at"])
        except IntegrityError:
            raise NameTaken() from None
        return _stored(row)

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
    ) -> None:
        """An event, written in this transaction: it commits with the change, or not at all.
        A creation records when the key expires."""
        await _insert_event(
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
        )

    async def delete(self, key_id: str) -> None:
        pk = _uuid(key_id)
        if pk is not None:
            await self._changing(str(pk))
            await self._keys().filter(id=pk).delete()
