"""Throwaway databases for one engine each: create, bulk insert, count writes, drop.

Bulk inserts bypass the service on purpose: a million rows through GraphQL would take longer than
the whole benchmark. The rows follow `service.storage.models` and the tables in `migrations/`; the
migrations themselves are applied by the service's own `migrate` command.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Coroutine, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

OWNER_COLUMNS = ("id", "created_at")
KEY_COLUMNS = (
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
)
# The tables the service writes; their row counts before and after say what a load cost.
TABLES = (
    "owners",
    "api_keys",
    "retired_secrets",
    "api_key_events",
    "api_key_usage_days",
    "api_key_workflow_uses",
)

# An owner's rows, children first (SQLite enforces no cascade unless told to).
_REMOVE_OWNERS = (
    'DELETE FROM "api_key_events" WHERE "owner_id" LIKE $1',
    'DELETE FROM "retired_secrets" WHERE "api_key_id" IN'
    ' (SELECT "id" FROM "api_keys" WHERE "owner_id" LIKE $1)',
    'DELETE FROM "api_keys" WHERE "owner_id" LIKE $1',
    'DELETE FROM "owners" WHERE "id" LIKE $1',
)

OwnerRow = tuple[str, datetime]
KeyRow = tuple[uuid.UUID, str, str, str, str | None, bool, str, bytes, str, datetime, datetime]
T = TypeVar("T")


@dataclass(frozen=True)
class RowWrites:
    """Rows inserted, updated and deleted per table over a stretch of time."""

    by_table: dict[str, tuple[int, int, int]]

    @property
    def total(self) -> int:
        return sum(sum(counts) for counts in self.by_table.values())

    def updated(self, table: str) -> int:
        return self.by_table.get(table, (0, 0, 0))[1]


class Database(ABC):
    label: str
    url: str

    @abstractmethod
    def create(self) -> None: ...

    @abstractmethod
    def drop(self) -> None: ...

    @abstractmethod
    def insert(self, owners: Iterable[OwnerRow], keys: Iterable[KeyRow]) -> None:
        """Owners first (keys reference them), each in big batches."""

    @abstractmethod
    def count_keys(self) -> int: ...

    @abstractmethod
    def settle(self) -> None:
        """Bring a freshly bulk-loaded table to the state a long-lived one is in."""

    @abstractmethod
    def remove_extra_keys(self, owner_prefix: str) -> int:
        """Deletes every key but the default of the owners whose id starts with `owner_prefix`:
        the keys a create+delete run left created but not yet deleted when it stopped (at most
        one per user and run), which would otherwise add up to the five-key limit. Returns how
        many. Straight in the database: the service's caches do not hold these users' lists."""

    @abstractmethod
    def remove_owners(self, owner_prefix: str) -> None:
        """Deletes the owners whose id starts with `owner_prefix`, their keys and events: the
        users the write rows made, so that the steps after them find the data they found
        before."""

    @abstractmethod
    def start_counting_writes(self) -> None: ...

    @abstractmethod
    def counted_writes(self) -> RowWrites:
        """Rows written since `start_counting_writes`; call after the server has stopped."""


class SqliteDatabase(Database):
    label = "SQLite"

    def __init__(self, directory: Path) -> None:
        self.path = directory / "bench.sqlite3"
        self.url = f"sqlite://{self.path}"

    def create(self) -> None:
        """The file is created by the migrations."""

    def drop(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=30)

    def insert(self, owners: Iterable[OwnerRow], keys: Iterable[KeyRow]) -> None:
        connection = self._connect()
        try:
            # Only this loading connection skips fsync; the server's connections are untouched.
            connection.execute("PRAGMA synchronous=OFF")
            with connection:  # one transaction
                connection.executemany(_insert_sql("owners", OWNER_COLUMNS), _sqlite_owners(owners))
                connection.executemany(_insert_sql("api_keys", KEY_COLUMNS), _sqlite_keys(keys))
        finally:
            connection.close()

    def count_keys(self) -> int:
        connection = self._connect()
        try:
            count: int = connection.execute("SELECT count(*) FROM api_keys").fetchone()[0]
            return count
        finally:
            connection.close()

    def settle(self) -> None:
        """Nothing to do: SQLite uses the unique indexes for these equality lookups without
        statistics, and the WAL is checkpointed by the next writer."""

    def remove_extra_keys(self, owner_prefix: str) -> int:
        connection = self._connect()
        try:
            with connection:
                cursor = connection.execute(
                    'DELETE FROM "api_keys" WHERE "owner_id" LIKE ? AND NOT "is_default"',
                    (_like_prefix(owner_prefix),),
                )
                return cursor.rowcount
        finally:
            connection.close()

    def remove_owners(self, owner_prefix: str) -> None:
        connection = self._connect()
        try:
            with connection:
                for statement in _REMOVE_OWNERS:
                    connection.execute(statement.replace("$1", "?"), (_like_prefix(owner_prefix),))
        finally:
            connection.close()

    def start_counting_writes(self) -> None:
        # SQLite keeps no per-table statistics, so triggers count rows as they are written.
        statements = [
            "CREATE TABLE bench_writes (tbl TEXT, op TEXT, n INTEGER, PRIMARY KEY (tbl, op))"
        ]
        for table in TABLES:
            for op in ("INSERT", "UPDATE", "DELETE"):
                statements.append(f"INSERT INTO bench_writes VALUES ('{table}', '{op}', 0)")
                statements.append(
                    f"CREATE TRIGGER bench_{table}_{op.lower()} AFTER {op} ON {table} BEGIN"
                    f" UPDATE bench_writes SET n = n + 1 WHERE tbl = '{table}' AND op = '{op}';"
                    " END"
                )
        self._script(statements)

    def counted_writes(self) -> RowWrites:
        connection = self._connect()
        try:
            rows = connection.execute("SELECT tbl, op, n FROM bench_writes").fetchall()
        finally:
            connection.close()
        counts = {(table, op): n for table, op, n in rows}
        statements = [
            f"DROP TRIGGER bench_{table}_{op.lower()}"
            for table in TABLES
            for op in ("INSERT", "UPDATE", "DELETE")
        ]
        self._script([*statements, "DROP TABLE bench_writes"])
        return RowWrites(
            {
                table: (counts[table, "INSERT"], counts[table, "UPDATE"], counts[table, "DELETE"])
                for table in TABLES
            }
        )

    def _script(self, statements: list[str]) -> None:
        connection = self._connect()
        try:
            with connection:
                for statement in statements:
                    connection.execute(statement)
        finally:
            connection.close()


class PostgresDatabase(Database):
    label = "PostgreSQL"

    def __init__(self, admin_url: str, name: str) -> None:
        self.admin_url = admin_url
        self.name = name
        parts = urlsplit(admin_url)
        self.url = urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))
        self._baseline: dict[str, tuple[int, int, int]] = {}

    def create(self) -> None:
        _run(self._admin(f'CREATE DATABASE "{self.name}"'))

    def drop(self) -> None:
        # FORCE: a server killed mid-run may leave connections behind.
        _run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    async def _admin(self, statement: str) -> None:
        connection = await asyncpg.connect(self.admin_url)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    def insert(self, owners: Iterable[OwnerRow], keys: Iterable[KeyRow]) -> None:
        async def copy() -> None:
            connection = await asyncpg.connect(self.url)
            try:
                async with connection.transaction():
                    await connection.copy_records_to_table(
                        "owners", records=owners, columns=OWNER_COLUMNS
                    )
                    await connection.copy_records_to_table(
                        "api_keys", records=keys, columns=KEY_COLUMNS
                    )
            finally:
                await connection.close()

        _run(copy())

    def count_keys(self) -> int:
        count: int = _run(self._fetchval("SELECT count(*) FROM api_keys"))
        return count

    async def _fetchval(self, query: str) -> Any:
        connection = await asyncpg.connect(self.url)
        try:
            return await connection.fetchval(query)
        finally:
            await connection.close()

    def settle(self) -> None:
        """VACUUM ANALYZE and a checkpoint: a production table has statistics and hint bits,
        and neither autovacuum nor a checkpoint should land in the middle of a measurement."""

        async def settle() -> None:
            connection = await asyncpg.connect(self.url)
            try:
                await connection.execute("VACUUM ANALYZE")
                await connection.execute("CHECKPOINT")
            finally:
                await connection.close()

        _run(settle())

    def remove_extra_keys(self, owner_prefix: str) -> int:
        async def remove() -> int:
            connection = await asyncpg.connect(self.url)
            try:
                status = await connection.execute(
                    'DELETE FROM "api_keys" WHERE "owner_id" LIKE $1 AND NOT "is_default"',
                    _like_prefix(owner_prefix),
                )
            finally:
                await connection.close()
            return int(status.split()[-1])

        return _run(remove())

    def remove_owners(self, owner_prefix: str) -> None:
        async def remove() -> None:
            connection = await asyncpg.connect(self.url)
            try:
                async with connection.transaction():
                    for statement in _REMOVE_OWNERS:
                        await connection.execute(statement, _like_prefix(owner_prefix))
            finally:
                await connection.close()

        _run(remove())

    def start_counting_writes(self) -> None:
        self._baseline = self._settled_stats()

    def counted_writes(self) -> RowWrites:
        after = self._settled_stats()
        zero = (0, 0, 0)
        by_table = {}
        for table in TABLES:
            (ins, upd, dele), (ins0, upd0, del0) = (
                after.get(table, zero),
                self._baseline.get(table, zero),
            )
            by_table[table] = (ins - ins0, upd - upd0, dele - del0)
        return RowWrites(by_table)

    def _settled_stats(self) -> dict[str, tuple[int, int, int]]:
        """pg_stat_user_tables, read until it stops moving: a backend reports its counts when
        its transaction ends or, at the latest, when it exits."""
        previous: dict[str, tuple[int, int, int]] | None = None
        for _ in range(20):
            current = _run(self._stats())
            if current == previous:
                return current
            previous = current
            time.sleep(0.5)
        assert previous is not None
        return previous

    async def _stats(self) -> dict[str, tuple[int, int, int]]:
        connection = await asyncpg.connect(self.url)
        try:
            rows = await connection.fetch(
                "SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables"
            )
        finally:
            await connection.close()
        return {row["relname"]: (row[1], row[2], row[3]) for row in rows}


def _like_prefix(prefix: str) -> str:
    assert not any(char in prefix for char in "%_\\"), "a plain prefix, no LIKE wildcards"
    return prefix + "%"


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({", ".join("?" for _ in columns)})'


def _sqlite_time(at: datetime) -> str:
    # The format Tortoise writes: ISO 8601 with a space and the UTC offset.
    return at.isoformat(" ")


def _sqlite_owners(rows: Iterable[OwnerRow]) -> Iterator[tuple[str, str]]:
    for owner_id, created_at in rows:
        yield owner_id, _sqlite_time(created_at)


def _sqlite_keys(rows: Iterable[KeyRow]) -> Iterator[tuple[Any, ...]]:
    for row in rows:
        key_id, owner, name, name_key, description, default, key_hash, blob, four, made, upd = row
        yield (
            str(key_id),
            owner,
            name,
            name_key,
            description,
            int(default),
            key_hash,
            blob,
            four,
            _sqlite_time(made),
            _sqlite_time(upd),
        )


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)
