"""`python -m bench.baseline`: the write rows' floor, the same SQL as the service sends, from raw
asyncpg in one Python process.

The service's writes are measured beside this: for each row (create+delete pairs, rename, rotate,
first visit) the statements the service sends for it, in the same order, in the same kind of
call (asyncpg's `executemany`, `fetch`, `fetchrow`, `execute`, each a prepared statement), in
one transaction per write, with nothing else: no HTTP, no GraphQL, no ORM, no key generation
(random bytes stand in for a key's hash and ciphertext), and no acknowledgement wait (the
service's `pg_stat_activity` look-up after each commit and the wait for every listening process
are what the protocol adds, so they are left to the service's side of the ratio). Its NOTIFYs
go to channels nobody listens on (`bench_*`, the same payloads), so that the service's listener,
up meanwhile, neither hears nor acknowledges them.

It runs its own pool of connections, sized like the service's (Tortoise's default, 5), with no
reset query on release (as the service's pool), on uvloop (as `apikeys serve` picks), and its
own users (`bench-base-*`), each given a default key by the first-visit transaction. 32 tasks
(the wrk connections) share the pool, each with users of its own.

It stays up for a whole run, like the service, and takes commands on stdin, one JSON object a
line, answering each with one JSON line on stdout:
- `{"do": "setup", "users": 64}`: users with their default key;
- `{"do": "load", "row": "create+delete", "warmup": 2, "seconds": 10}`: the row under load;
- `{"do": "latency", "count": 200}`: creates and deletes, then first visits, one at a time,
  each timed alone;
- `{"do": "quit"}`.
The bench starts it pinned with `taskset` to the service's CPU (see bench/writes.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

# Tortoise's default pool for PostgreSQL (`maxsize`), which the service does not change.
SERVICE_POOL_SIZE = 5
MAX_KEYS = 5  # the service's default APIKEYS_MAX_KEYS_PER_USER
LISTS_CHANNEL = "bench_key_lists"  # apikeys_key_lists, which the service's listener hears
CHANGES_CHANNEL = "bench_key_changes"  # apikeys_key_changes, likewise
RETIRED_SECRET_MEMORY = timedelta(days=30)

# The statements, as the service sends them (tortoise logs them on `tortoise.db_client` at
# DEBUG): the owner's lock (`KeyRepository.locked`), the owner's keys (`LockedOwner.keys`), the
# name check, the key row, the announcement, the audit row (`rows.insert_event`).
OWNER_UPSERT = 'INSERT INTO "owners" ("id","created_at") VALUES ($1,$2) ON CONFLICT DO NOTHING'
OWNER_LOCK = 'SELECT "id","created_at" FROM "owners" WHERE "id"=$1 LIMIT $2 FOR UPDATE'
_KEY_COLUMNS = (
    '"key_last_four","leak_url","description","created_at","name_key","rotated_at","owner_id",'
    '"name","allowed_addresses","is_default","leak_reported_at","last_used_address","expires_at",'
    '"revoked_at","updated_at","leak_source","id","workflow_ids","last_used_user_agent",'
    '"last_used_at","key_hash","key_ciphertext"'
)
OWNER_KEYS = (
    f'SELECT {_KEY_COLUMNS} FROM "api_keys" WHERE "owner_id"=$1'
    ' ORDER BY "is_default" DESC,"created_at" ASC,"id" ASC'
)
ONE_KEY = f'SELECT {_KEY_COLUMNS} FROM "api_keys" WHERE "owner_id"=$1 AND "id"=$2 LIMIT $3'
NAME_IN_USE = 'SELECT 1 FROM "api_keys" WHERE "owner_id"=$1 AND "name_key"=$2 LIMIT $3'
NAME_IN_USE_BY_OTHER = (
    'SELECT 1 FROM "api_keys" WHERE "owner_id"=$1 AND "name_key"=$2 AND NOT "id"=$3 LIMIT $4'
)
NOTIFY = "SELECT pg_notify($1, $2)"
INSERT_KEY = (
    'INSERT INTO "api_keys" ("id","name","name_key","description","is_default","key_hash",'
    '"key_ciphertext","key_last_four","created_at","updated_at","last_used_at",'
    '"last_used_address","last_used_user_agent","rotated_at","expires_at","revoked_at",'
    '"leak_url","leak_source","leak_reported_at","workflow_ids","allowed_addresses","owner_id")'
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22)"
)
INSERT_EVENT = (
    'INSERT INTO "api_key_events" ("kind","key_id","key_name","changed_fields","grace_seconds",'
    '"revealed_in","leak_url","leak_source","key_expires_at","workflow_ids","allowed_addresses",'
    '"client_address","user_agent","occurred_at","owner_id")'
    ' VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15) RETURNING "id"'
)
DELETE_KEY = 'DELETE FROM "api_keys" WHERE "owner_id"=$1 AND "id"=$2'
RENAME_KEY = 'UPDATE "api_keys" SET "name"=$1,"name_key"=$2,"updated_at"=$3 WHERE "id"=$4'
RETIRE_SECRET = (
    'INSERT INTO "retired_secrets" ("key_hash","key_ciphertext","expires_at","revoked_at",'
    '"api_key_id") VALUES ($1,$2,$3,$4,$5)'
)
FORGET_RETIRED = 'DELETE FROM "retired_secrets" WHERE "api_key_id"=$1 AND "expires_at"<$2'
NEW_SECRET = (
    'UPDATE "api_keys" SET "key_hash"=$1,"key_ciphertext"=$2,"key_last_four"=$3,"rotated_at"=$4,'
    '"leak_url"=$5,"leak_source"=$6,"leak_reported_at"=$7,"updated_at"=$8 WHERE "id"=$9'
)
# The service's own list (service/storage/sql.py), read before a first visit's transaction.
LIST_KEYS = (
    'SELECT "id", "owner_id", "name", "description", "is_default", "key_hash", "key_ciphertext",'
    ' "key_last_four", "created_at", "updated_at", "last_used_at", "rotated_at", "revoked_at",'
    ' "leak_url", "leak_source", "leak_reported_at", "expires_at", "last_used_address",'
    ' "last_used_user_agent", "workflow_ids", "allowed_addresses"'
    ' FROM "api_keys" WHERE "owner_id" = $1'
    ' ORDER BY "is_default" DESC, "created_at" ASC, "id" ASC'
)
CLIENT_ADDRESS = "127.0.0.1"  # what the service records for a page's request from wrk
USER_AGENT = None  # wrk sends none
ROWS = ("create+delete", "rename", "rotate", "first visit")


def _now() -> datetime:
    return datetime.now(UTC)


def _secret() -> tuple[str, bytes, str]:
    """A lookup hash, a ciphertext and a last four of the service's sizes: random, not derived."""
    return os.urandom(32).hex(), os.urandom(71), "abcd"


class Refused(Exception):
    """A write the service would have refused (limit, name taken, not found): a bench fault."""


async def _keep_session(connection: asyncpg.Connection) -> None:
    """The service's pool resets nothing on release (service/storage/engines.py); neither does
    this one."""


async def _lock(conn: asyncpg.Connection, owner: str) -> list[asyncpg.Record]:
    """The owner row made if missing, locked, and the owner's keys read under the lock."""
    await conn.executemany(OWNER_UPSERT, [(owner, _now())])
    await conn.fetch(OWNER_LOCK, owner, 2)
    keys: list[asyncpg.Record] = await conn.fetch(OWNER_KEYS, owner)
    return keys


async def _announce(conn: asyncpg.Connection, owner: str, key_id: str) -> None:
    await conn.fetch(NOTIFY, LISTS_CHANNEL, json.dumps([owner]))
    await conn.fetch(NOTIFY, CHANGES_CHANNEL, f"{uuid.uuid4().hex}:{key_id}")


async def _event(
    conn: asyncpg.Connection,
    owner: str,
    kind: str,
    key_id: str,
    name: str,
    *,
    changed: str = "",
    grace: int | None = None,
) -> None:
    await conn.fetchrow(
        INSERT_EVENT,
        kind,
        key_id,
        name,
        changed,
        grace,
        None,
        None,
        None,
        None,
        None,
        None,
        CLIENT_ADDRESS,
        USER_AGENT,
        _now(),
        owner,
    )


async def _insert_key(conn: asyncpg.Connection, owner: str, name: str, *, is_default: bool) -> str:
    key_id = str(uuid.uuid4())
    key_hash, ciphertext, last_four = _secret()
    await _announce(conn, owner, key_id)
    now = _now()
    await conn.fetchrow(
        INSERT_KEY,
        key_id,
        name,
        name.casefold(),
        None,
        is_default,
        key_hash,
        ciphertext,
        last_four,
        now,
        now,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        owner,
    )
    await _event(conn, owner, "CREATED", key_id, name)
    return key_id


class Writes:
    """One write of each kind, as the service's use cases make it (service/cases/keys.py)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def first_visit(self, owner: str) -> str:
        """`list_keys` of an owner with no keys: the list, then the default key made."""
        if await self.pool.fetch(LIST_KEYS, owner):
            raise Refused(f"{owner} already has keys")
        async with self.pool.acquire() as conn, conn.transaction():
            if await _lock(conn, owner):
                raise Refused(f"{owner} already has keys")
            return await _insert_key(conn, owner, "Default", is_default=True)

    async def create(self, owner: str, name: str) -> str:
        async with self.pool.acquire() as conn, conn.transaction():
            keys = await _lock(conn, owner)
            if len(keys) >= MAX_KEYS:
                raise Refused(f"{owner} has {len(keys)} keys")
            if await conn.fetch(NAME_IN_USE, owner, name.casefold(), 1):
                raise Refused(f"{owner} already has a key named {name}")
            return await _insert_key(conn, owner, name, is_default=False)

    async def delete(self, owner: str, key_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            target = _find(await _lock(conn, owner), key_id)
            await _announce(conn, owner, key_id)
            await conn.execute(DELETE_KEY, owner, key_id)
            await _event(conn, owner, "DELETED", key_id, target["name"])

    async def rename(self, owner: str, name: str) -> None:
        """The default key renamed (`update_key` with a new name)."""
        async with self.pool.acquire() as conn, conn.transaction():
            target = _default(await _lock(conn, owner))
            key_id = str(target["id"])
            if await conn.fetch(NAME_IN_USE_BY_OTHER, owner, name.casefold(), key_id, 1):
                raise Refused(f"{owner} already has a key named {name}")
            await conn.fetch(ONE_KEY, owner, key_id, 2)  # `LockedOwner.update`'s get_or_none
            await _announce(conn, owner, key_id)
            await conn.execute(RENAME_KEY, name, name.casefold(), _now(), key_id)
            await _event(conn, owner, "UPDATED", key_id, name, changed="name")

    async def rotate(self, owner: str) -> None:
        """The default key rotated, its old secret ending at once (`rotate_key`)."""
        async with self.pool.acquire() as conn, conn.transaction():
            target = _default(await _lock(conn, owner))
            key_id = str(target["id"])
            now = _now()
            await conn.execute(
                RETIRE_SECRET, target["key_hash"], target["key_ciphertext"], now, None, key_id
            )
            await conn.execute(FORGET_RETIRED, key_id, now - RETIRED_SECRET_MEMORY)
            await conn.fetch(ONE_KEY, owner, key_id, 2)
            await _announce(conn, owner, key_id)
            key_hash, ciphertext, last_four = _secret()
            await conn.execute(
                NEW_SECRET, key_hash, ciphertext, last_four, now, None, None, None, _now(), key_id
            )
            await _event(conn, owner, "ROTATED", key_id, target["name"], grace=0)


def _find(keys: Sequence[asyncpg.Record], key_id: str) -> asyncpg.Record:
    for key in keys:
        if str(key["id"]) == key_id:
            if key["is_default"]:
                raise Refused("the default key cannot be deleted")
            return key
    raise Refused(f"no key {key_id}")


def _default(keys: Sequence[asyncpg.Record]) -> asyncpg.Record:
    for key in keys:
        if key["is_default"]:
            return key
    raise Refused("no default key")


@dataclass
class Tally:
    """What the tasks completed while the measurement was on."""

    recording: bool = False
    stopping: bool = False
    operations: int = 0
    pairs: int = 0
    failures: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    first_failure: str = ""

    def done(self, started: float, *, pair: bool = False) -> None:
        if self.recording:
            self.operations += 1
            self.pairs += pair
            self.latencies_ms.append((time.perf_counter() - started) * 1000)

    def failed(self, exc: BaseException) -> None:
        if self.recording:
            self.failures += 1
        self.first_failure = self.first_failure or f"{type(exc).__name__}: {exc}"


class Baseline:
    def __init__(self, dsn: str, pool_size: int, tasks: int) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.tasks = tasks
        self.users: list[str] = []
        self.first_visits = 0  # owners numbered on for first visits
        self.names = 0  # names numbered on, so that none repeats within an owner
        self.writes: Writes

    async def open(self) -> None:
        pool = await asyncpg.create_pool(
            self.dsn, min_size=self.pool_size, max_size=self.pool_size, reset=_keep_session
        )
        self.writes = Writes(pool)

    async def close(self) -> None:
        await self.writes.pool.close()

    async def setup(self, users: int) -> dict[str, Any]:
        if users < 1:
            raise ValueError("at least one user")
        # The pid too: two baselines on one database (pool sizes compared) never share users.
        self.users = [f"bench-base-{os.getpid()}-{n:04d}" for n in range(users)]
        for owner in self.users:
            await self.writes.first_visit(owner)
        return {"users": users}

    def _name(self, tag: str) -> str:
        self.names += 1
        return f"{tag}{self.names}"

    def _new_owner(self) -> str:
        self.first_visits += 1
        return f"bench-base-new-{os.getpid()}-{self.first_visits:07d}"

    def _worker(self, row: str, index: int, tally: Tally) -> Callable[[], Awaitable[None]]:
        """Task `index`'s loop for `row`: its own users, every `tasks`-th from `index` on (with
        fewer users than tasks, some tasks share one)."""
        mine = self.users[index :: self.tasks] or [self.users[index % len(self.users)]]
        writes = self.writes

        async def run() -> None:
            turn = 0
            while not tally.stopping:
                owner = mine[turn % len(mine)]
                turn += 1
                started = time.perf_counter()
                try:
                    if row == "create+delete":
                        key_id = await writes.create(owner, self._name("b"))
                        tally.done(started)
                        started = time.perf_counter()
                        await writes.delete(owner, key_id)
                        tally.done(started, pair=True)
                        continue
                    if row == "rename":
                        await writes.rename(owner, self._name("r"))
                    elif row == "rotate":
                        await writes.rotate(owner)
                    else:
                        await writes.first_visit(self._new_owner())
                    tally.done(started)
                except (Refused, asyncpg.PostgresError) as exc:
                    tally.failed(exc)

        return run

    async def load(self, row: str, warmup: float, seconds: float) -> dict[str, Any]:
        if row not in ROWS:
            raise ValueError(f"unknown row {row!r}")
        if not self.users:
            raise ValueError("no users yet: send setup first")
        tally = Tally()
        tasks = [asyncio.ensure_future(self._worker(row, i, tally)()) for i in range(self.tasks)]
        try:
            await asyncio.sleep(warmup)
            tally.recording = True
            cpu, started = time.process_time(), time.perf_counter()
            await asyncio.sleep(seconds)
            tally.recording = False
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            # Each task finishes what it began (a pair is never left half done), then stops.
            tally.stopping = True
            await asyncio.gather(*tasks, return_exceptions=True)
        return {
            "row": row,
            "operations": tally.operations,
            "pairs": tally.pairs,
            "seconds": elapsed,
            "cpu_seconds": cpu,
            "failures": tally.failures,
            "first_failure": tally.first_failure,
            **_percentiles(tally.latencies_ms),
        }

    async def latency(self, count: int) -> dict[str, Any]:
        """`count` creates and deletes, one at a time, alternating, then `count` first visits:
        each timed alone, with this process's CPU time."""
        if not self.users:
            raise ValueError("no users yet: send setup first")
        owner = self.users[0]
        timed: dict[str, list[float]] = {"create": [], "delete": [], "first visit": []}
        cpu = dict.fromkeys(timed, 0.0)

        async def alone(kind: str, write: Awaitable[Any]) -> Any:
            cpu_before, started = time.process_time(), time.perf_counter()
            result = await write
            timed[kind].append((time.perf_counter() - started) * 1000)
            cpu[kind] += time.process_time() - cpu_before
            return result

        for _ in range(count):
            key_id = await alone("create", self.writes.create(owner, self._name("s")))
            await alone("delete", self.writes.delete(owner, key_id))
        for _ in range(count):
            await alone("first visit", self.writes.first_visit(self._new_owner()))
        return {
            kind: {**_percentiles(values), "cpu_ms": 1000 * cpu[kind] / count, "count": count}
            for kind, values in timed.items()
        }


def _percentiles(values_ms: list[float]) -> dict[str, float]:
    if not values_ms:
        return {"p50_ms": 0.0, "p99_ms": 0.0}
    ordered = sorted(values_ms)
    return {
        "p50_ms": ordered[len(ordered) // 2],
        "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))],
    }


async def serve(baseline: Baseline) -> None:
    await baseline.open()
    loop = asyncio.get_running_loop()
    try:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                return
            command = json.loads(line)
            action = command.pop("do")
            if action == "quit":
                return
            try:
                if action == "setup":
                    answer = await baseline.setup(int(command["users"]))
                elif action == "load":
                    answer = await baseline.load(
                        command["row"], float(command["warmup"]), float(command["seconds"])
                    )
                elif action == "latency":
                    answer = await baseline.latency(int(command["count"]))
                else:
                    answer = {"error": f"unknown command {action!r}"}
            except (Refused, asyncpg.PostgresError, ValueError) as exc:
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(answer), flush=True)
    finally:
        await baseline.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--pool", type=int, default=SERVICE_POOL_SIZE)
    parser.add_argument("--tasks", type=int, default=32)
    args = parser.parse_args(argv)
    import uvloop  # the loop `apikeys serve` runs on (uvicorn's "auto" picks it)

    uvloop.run(serve(Baseline(args.dsn, args.pool, args.tasks)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
