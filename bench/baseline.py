"""`python -m bench.baseline`: the write rows' floor, the same SQL as the service sends, from raw
asyncpg in one Python process.

The service's writes are measured beside this: for each row (create+delete pairs, rename, rotate,
first visit) the statements the service sends for it (its own SQL, imported from
`service.storage.change_sql` and `service.storage.sql`), in the same order, in the same kind of
call (asyncpg's `fetch` or `execute`, each a prepared statement, as Tortoise's `execute_query`
sends them), in one transaction per write, with nothing else: no HTTP, no GraphQL, no key
generation (random bytes stand in for a key's hash and ciphertext), and no acknowledgement wait
(the wait for every listening process is what the protocol adds, so it is left to the service's
side of the ratio). Its NOTIFYs go to channels nobody listens on (`bench_*`, the same payloads),
so that the service's listener, up meanwhile, neither hears nor acknowledges them.

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

from service.storage.change_sql import INSERTED, change_statements
from service.storage.notifications import change_payload, lists_payloads, new_token, new_writer
from service.storage.sql import statements

# Tortoise's default pool for PostgreSQL (`maxsize`), which the service does not change.
SERVICE_POOL_SIZE = 5
MAX_KEYS = 5  # the service's default APIKEYS_MAX_KEYS_PER_USER
LISTS_CHANNEL = "bench_key_lists"  # apikeys_key_lists, which the service's listener hears
CHANGES_CHANNEL = "bench_key_changes"  # apikeys_key_changes, likewise
RETIRED_SECRET_MEMORY = timedelta(days=30)
CHANGE = change_statements("postgres")
LIST_KEYS = statements("postgres").list_keys
# A rotation's columns (`issue_new_secret`): the new secret, when, the leak report ended.
ROTATED = (
    "key_hash",
    "key_ciphertext",
    "key_last_four",
    "rotated_at",
    "leak_url",
    "leak_source",
    "leak_reported_at",
    "leak_dismissed_at",
    "updated_at",
)
CLIENT_ADDRESS = "127.0.0.1"  # what the service records for a page's request from wrk
USER_AGENT = None  # wrk sends none
ROWS = ("create+delete", "rename", "rotate", "first visit")
WRITER = new_writer()


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
    """The owner row locked (made first if missing), then the owner's keys read under the lock
    (`KeyRepository._lock`)."""
    if not await conn.fetch(CHANGE.lock_owner, owner):
        await conn.execute(CHANGE.insert_owner, owner, _now())
        await conn.fetch(CHANGE.lock_owner, owner)
    keys: list[asyncpg.Record] = await conn.fetch(LIST_KEYS, owner)
    return keys


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
    """The audit row, and the change's notifications with it (`LockedOwner.record_event`): the
    owner's list, then the key."""
    notifications = [LISTS_CHANNEL, next(lists_payloads([owner]))]
    notifications += [CHANGES_CHANNEL, change_payload(new_token(WRITER), key_id)]
    values: list[object] = [owner, kind, key_id, name, changed, grace, None, CLIENT_ADDRESS]
    values += [USER_AGENT, _now(), None, None, None, None, None]
    await conn.fetch(CHANGE.insert_event(2), *values, *notifications)


async def _insert_key(conn: asyncpg.Connection, owner: str, name: str, *, is_default: bool) -> str:
    key_id = str(uuid.uuid4())
    key_hash, ciphertext, last_four = _secret()
    now = _now()
    row = {
        "id": key_id,
        "owner_id": owner,
        "name": name,
        "name_key": name.casefold(),
        "description": None,
        "is_default": is_default,
        "key_hash": key_hash,
        "key_ciphertext": ciphertext,
        "key_last_four": last_four,
        "created_at": now,
        "updated_at": now,
        "expires_at": None,
        "workflow_ids": None,
        "allowed_addresses": None,
    }
    await conn.execute(CHANGE.insert_key, *(row[column] for column in INSERTED))
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
            if any(key["name"].casefold() == name.casefold() for key in keys):
                raise Refused(f"{owner} already has a key named {name}")
            return await _insert_key(conn, owner, name, is_default=False)

    async def delete(self, owner: str, key_id: str) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            target = _find(await _lock(conn, owner), key_id)
            await conn.execute(CHANGE.delete_key, key_id, owner)
            await _event(conn, owner, "DELETED", key_id, target["name"])

    async def rename(self, owner: str, name: str) -> None:
        """The default key renamed (`update_key` with a new name)."""
        async with self.pool.acquire() as conn, conn.transaction():
            keys = await _lock(conn, owner)
            target = _default(keys)
            key_id = str(target["id"])
            if any(k["name"].casefold() == name.casefold() and k is not target for k in keys):
                raise Refused(f"{owner} already has a key named {name}")
            update = CHANGE.update_key(("name", "name_key", "updated_at"))
            await conn.fetch(update, name, name.casefold(), _now(), key_id, owner)
            await _event(conn, owner, "UPDATED", key_id, name, changed="name")

    async def rotate(self, owner: str) -> None:
        """The default key rotated, its old secret ending at once (`rotate_key`)."""
        async with self.pool.acquire() as conn, conn.transaction():
            target = _default(await _lock(conn, owner))
            key_id = str(target["id"])
            now = _now()
            retire = (target["key_hash"], target["key_ciphertext"], key_id, now, None)
            await conn.execute(CHANGE.retire_secret, *retire)
            await conn.execute(CHANGE.forget_retired, key_id, now - RETIRED_SECRET_MEMORY)
            key_hash, ciphertext, last_four = _secret()
            new = (key_hash, ciphertext, last_four, now, None, None, None, None, _now())
            await conn.fetch(CHANGE.update_key(ROTATED), *new, key_id, owner)
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
