"""Database configuration and migrations (aerich), for SQLite and PostgreSQL.

aerich writes engine-specific SQL, so each engine has its own generated migration folder:
`migrations/sqlite/models/` and `migrations/postgres/models/`. Both are generated from the same
models by `apikeys makemigrations`; a test fails when either disagrees with the models.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any, Literal

import asyncpg
from aerich import Command
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.backends.base.config_generator import expand_db_url
from tortoise.exceptions import DBConnectionError

from service.settings import DEFAULT_DATABASE_URL

MODELS = ["service.models", "aerich.models"]
APP = "models"
MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent / "migrations"

Engine = Literal["sqlite", "postgres"]
ENGINES: tuple[Engine, ...] = ("sqlite", "postgres")


def engine_of(database_url: str) -> Engine:
    scheme = database_url.split("://", 1)[0]
    if scheme == "sqlite":
        return "sqlite"
    if scheme in ("postgres", "postgresql", "asyncpg"):
        return "postgres"
    raise ValueError(
        f"APIKEYS_DATABASE_URL must start with sqlite:// or postgres://, not {scheme}://."
    )


def tortoise_config(database_url: str, *, statement_timeout: float | None = None) -> dict[str, Any]:
    """Tortoise's configuration. `statement_timeout` (seconds) bounds every statement, and
    every new connection, on PostgreSQL (a partitioned database then fails a request instead of
    hanging it); the service's requests have one, migrations and batch commands do not."""
    # The connection is named after its engine: Tortoise caches compiled SQL per connection
    # name, and a process that talks to both engines (the test suite) must not share that cache.
    engine = engine_of(database_url)
    connection: str | dict[str, Any] = database_url
    if engine == "postgres":
        connection = expand_db_url(database_url)
        connection["credentials"]["reset"] = _keep_session
        if statement_timeout is not None:
            # Connecting is bounded too: a pool replaces a broken connection on demand.
            connection["credentials"]["command_timeout"] = statement_timeout
            connection["credentials"]["timeout"] = statement_timeout
    return {
        "connections": {engine: connection},
        "apps": {APP: {"models": MODELS, "default_connection": engine}},
        "use_tz": True,
        "timezone": "UTC",
    }


async def _keep_session(connection: asyncpg.Connection) -> None:
    """How a pooled PostgreSQL connection is reset when it goes back to the pool: not at all.

    asyncpg's default sends a reset query (advisory unlocks, CLOSE ALL, UNLISTEN *, RESET ALL)
    on every release, a second round trip for every query the service makes. The service never
    changes a pooled session (no SET, LISTEN, advisory lock or cursor; the key-change listener
    has a connection of its own), and asyncpg itself still rolls back a transaction left open
    before it calls this. So there is nothing to undo.
    """


def migrations_location(engine: Engine, root: Path = MIGRATIONS_ROOT) -> str:
    return str(root / engine)


def is_unavailable(exc: BaseException) -> bool:
    """Whether an error means "the database cannot be reached right now" (worth a retry),
    as opposed to a fault in the service. Looks through the chain of causes, because Tortoise
    wraps the driver's errors."""
    seen: BaseException | None = exc
    for _ in range(10):
        if seen is None:
            return False
        if isinstance(seen, _UNAVAILABLE) and not isinstance(seen, _CLIENT_FAULTS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError,  # refused, reset, unreachable
    TimeoutError,
    DBConnectionError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.InterfaceError,  # e.g. the connection was closed under a query
    asyncpg.exceptions.CannotConnectNowError,  # the server is starting or shutting down
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
)
# InterfaceErrors that say a value or a call was wrong, not that the connection is: retrying
# them would fail again.
_CLIENT_FAULTS: tuple[type[BaseException], ...] = (
    asyncpg.exceptions._base.DataError,
    asyncpg.exceptions._base.ClientConfigurationError,
    asyncpg.exceptions._base.UnsupportedClientFeatureError,
    asyncpg.exceptions._base.UnsupportedServerFeatureError,
)


def migration_files(engine: Engine, root: Path = MIGRATIONS_ROOT) -> list[str]:
    """The migrations this code expects, by file name."""
    folder = Path(migrations_location(engine, root)) / APP
    return sorted(p.name for p in folder.glob("*.py") if p.name.split("_", 1)[0].isdigit())


async def applied_migrations(conn: BaseDBAsyncClient) -> list[str]:
    """The migrations recorded as applied in the database (aerich's own table)."""
    _, rows = await conn.execute_query('SELECT "version" FROM "aerich" WHERE "app" = \'models\'')
    return [row["version"] for row in rows]


async def apply_migrations(database_url: str) -> list[str]:
    """Apply every pending migration; returns the names of those applied."""
    config = tortoise_config(database_url)
    async with Command(
        config, app=APP, location=migrations_location(engine_of(database_url))
    ) as cmd:
        return await cmd.upgrade(run_in_transaction=True)


def make_migrations(name: str, root: Path = MIGRATIONS_ROOT) -> dict[Engine, str | None]:
    """Write a new migration for each engine from the models' current state (no database needed).

    Returns, per engine, the file written, or None when the migrations already match the models.
    Each engine is handled in a fresh process: aerich keeps a migration's pending operations in
    class attributes, which would otherwise carry one engine's SQL into the other's file.
    """
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn, max_tasks_per_child=1) as pool:
        return {e: pool.submit(_make_migration, e, name, str(root)).result() for e in ENGINES}


_OFFLINE_URLS: dict[Engine, str] = {
    "sqlite": "sqlite://:memory:",
    "postgres": "postgres://offline@127.0.0.1:1/offline",  # never connected to
}


def _make_migration(engine: Engine, name: str, root: str) -> str | None:
    async def make() -> str | None:
        location = migrations_location(engine, Path(root))
        cmd = Command(tortoise_config(_OFFLINE_URLS[engine]), app=APP, location=location)
        cmd._init_when_aenter = False
        async with cmd:
            if not (Path(location) / APP).exists():
                await cmd.init_migrations(safe=True)
                return "init"
            await cmd.init(offline=True)
            return await cmd.migrate(name, no_input=True, offline=True) or None

    return asyncio.run(make())


# The aerich CLI reads this (pyproject `[tool.aerich]`); the service itself never does.
TORTOISE_ORM = tortoise_config(os.environ.get("APIKEYS_DATABASE_URL", DEFAULT_DATABASE_URL))
