"""Fixtures: a fresh database per engine per test run, the app over HTTP, and the search of every
log for secrets. What fixtures and tests share is in `tests.helpers`.

Each run creates its own SQLite file and its own PostgreSQL database (`apikeys_test_<pid>_<hex>`),
migrated with `apikeys migrate` exactly as production is, and drops it at the end, so runs never
collide. Tables are emptied between tests. When PostgreSQL is unreachable its tests are skipped,
except under CI=true, where that fails the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.domain.vault import KeyVault
from service.observability.logs import JsonFormatter, RequestLog
from service.settings import Settings
from service.web.auth import Authenticator
from tests.helpers import (
    BACKENDS,
    JWT_PATTERN,
    KEY_PATTERN,
    REDIS_URL,
    Api,
    Database,
    Everything,
    FakeClock,
    StatementLog,
    base_env,
    empty_tables,
    make_settings,
    postgres_admin,
    postgres_unreachable,
    postgres_url,
    redis_unreachable,
    run_cli,
    settings_backend,
)
from tests.report import FIGURES, ISSUED_SECRETS, REQUEST_LOGS, SERVER_OUTPUTS, record


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database | str]]:
    """One migrated database per engine for this run; a string says why an engine is missing."""
    found: dict[str, Database | str] = {}
    sqlite_url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'apikeys.sqlite3'}"
    found["sqlite"] = Database("sqlite", sqlite_url)

    pg_name = f"apikeys_test_{os.getpid()}_{secrets.token_hex(4)}"
    reason = postgres_unreachable()
    if reason is None:
        asyncio.run(postgres_admin(f'CREATE DATABASE "{pg_name}"'))
        found["postgres"] = Database("postgres", postgres_url(pg_name))
    else:
        found["postgres"] = reason

    for db in found.values():
        if isinstance(db, Database):
            result = run_cli("migrate", env=base_env(db.url))
            assert result.returncode == 0, result.stderr
    yield found
    if reason is None:
        asyncio.run(postgres_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, databases: dict[str, Database | str]) -> Database:
    db = databases[request.param]
    if isinstance(db, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{db} (CI=true: PostgreSQL is required)")
        pytest.skip(db)
    return db


@pytest.fixture(scope="module")
def postgres(databases: dict[str, Database | str]) -> Database:
    """This run's PostgreSQL database, for the tests that need a server process on it."""
    db = databases["postgres"]
    if isinstance(db, str):
        if os.environ.get("CI") == "true":
            pytest.fail(f"{db} (CI=true: PostgreSQL is required)")
        pytest.skip(db)
    return db


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the shared-limits tests use; each test gets a key prefix of its own."""
    reason = redis_unreachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: Redis is required)")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """Keys of this test alone: runs and tests sharing one Redis never see each other's."""
    return f"apikeys-test-{os.getpid()}-{secrets.token_hex(6)}"


@pytest.fixture
def settings(database: Database) -> Settings:
    return make_settings(database)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Starlette]:
    """The application with its lifespan running (the database connected), on empty tables."""
    application = create_app(settings, clock=clock, request_log=RequestLog(REQUEST_LOGS))
    async with application.router.lifespan_context(application):
        await empty_tables(settings_backend(settings))
        yield application


@pytest.fixture
def sql() -> Iterator[StatementLog]:
    logger = logging.getLogger("tortoise.db_client")
    handler, level = StatementLog(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
async def api(app: Starlette, settings: Settings) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://apikeys.test") as client:
        yield Api(client, Authenticator(settings.jwt))


@pytest.fixture(scope="session", autouse=True)
def secrets_never_reach_the_logs() -> Iterator[None]:
    """Captures all log output of the whole session (and of every server process the tests
    start), then searches it for every key and token issued, and for anything shaped like one."""
    patch = pytest.MonkeyPatch()

    def remembering(original: Any, secret_of: Any) -> Any:
        def issue(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            ISSUED_SECRETS.add(secret_of(result))
            return result

        return issue

    patch.setattr(KeyVault, "issue", remembering(KeyVault.issue, lambda issued: issued.secret))
    patch.setattr(Authenticator, "issue", remembering(Authenticator.issue, lambda token: token))
    root = logging.getLogger()
    handler, level = Everything(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        patch.undo()
    formatter = JsonFormatter()
    logged = "\n".join(formatter.format(record) for record in handler.records)
    # `apikeys serve` prints a development sign-in link on stdout by design; it is not a log.
    served = "\n".join(
        line for out in SERVER_OUTPUTS for line in out.splitlines() if "/#token=" not in line
    )
    text = logged + "\n" + served + "\n" + REQUEST_LOGS.getvalue().decode()
    # Every issued secret is shaped like a key or a token, and any such shape in the logs fails
    # the run: the issued secrets are looked for among the shapes found (one pass over the
    # logs, not one per secret), to name them.
    shaped = KEY_PATTERN.findall(text) + JWT_PATTERN.findall(text)
    joined = "\n".join(shaped)
    found = [s for s in ISSUED_SECRETS if s in joined] + shaped
    record("log lines searched for secrets", text.count("\n") + 1)
    record("keys and tokens issued and searched for", len(ISSUED_SECRETS))
    record("secrets found in logs", len(found))
    assert not found, f"{len(found)} secrets reached the logs"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("robustness figures")
        for figure, amount in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{figure}: {amount}")
