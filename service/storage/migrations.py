"""Migrations (aerich), for SQLite and PostgreSQL.

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

from aerich import Command
from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient

from service.settings import DEFAULT_DATABASE_URL
from service.storage.engines import (
    APP,
    ENGINES,
    Engine,
    database_errors,
    engine_of,
    tortoise_config,
)

MIGRATIONS_ROOT = Path(__file__).resolve().parent.parent.parent / "migrations"


def migrations_location(engine: Engine, root: Path = MIGRATIONS_ROOT) -> str:
    return str(root / engine)


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


async def pending_migrations(engine: Engine) -> list[str]:
    """The migrations this code expects that the database has not applied; raises
    `Unavailable` when the database cannot be reached."""
    conn = connections.get(engine)
    with database_errors():
        await conn.execute_query("SELECT 1")
        try:
            applied = await applied_migrations(conn)
        except Exception:  # no migrations table yet: nothing has been applied
            applied = []
    return sorted(set(migration_files(engine)) - set(applied))
