"""Fixtures: a fresh database per engine per test run, and the app over HTTP.

Every test that touches storage runs on SQLite and on PostgreSQL (the `backend` parameter).
Each run creates its own SQLite file and its own PostgreSQL database (`apikeys_test_<pid>_<hex>`),
migrated with `apikeys migrate` exactly as production is, and drops it at the end, so runs never
collide. Tables are emptied between tests.

PostgreSQL is found at APIKEYS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
When it is unreachable its tests are skipped, except under CI=true, where that fails the run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from service.app import create_app
from service.auth import Authenticator
from service.clock import utcnow
from service.db import engine_of
from service.logs import JsonFormatter, RequestLog
from service.security import KeyVault
from service.settings import Settings, generate_secret
from tests.report import FIGURES, ISSUED_SECRETS, REQUEST_LOGS, SERVER_OUTPUTS, record

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_ADMIN_URL = os.environ.get(
    "APIKEYS_TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgres")
REDIS_URL = os.environ.get("APIKEYS_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def base_env(database_url: str) -> dict[str, str]:
    """A complete, explicit configuration: tests never read the developer's environment."""
    return {
        "APIKEYS_DATABASE_URL": database_url,
        "APIKEYS_PEPPER": TEST_PEPPER,
        "APIKEYS_ENCRYPTION_KEY": TEST_ENCRYPTION_KEY,
        "APIKEYS_JWT_SECRET": TEST_JWT_SECRET,
        "APIKEYS_SERVICE_TOKEN": TEST_SERVICE_TOKEN,
    }


# What production requires besides the secrets: the identity provider's issuer and audience.
PRODUCTION = {
    "APIKEYS_ENV": "production",
    "APIKEYS_JWT_ISSUER": "https://id.example.com/",
    "APIKEYS_JWT_AUDIENCE": "https://apikeys.example.com",
}

TEST_PEPPER = generate_secret()
TEST_ENCRYPTION_KEY = generate_secret()
TEST_JWT_SECRET = generate_secret()
TEST_SERVICE_TOKEN = generate_secret()


def run_cli(*args: str, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    full_env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        check=False,
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _postgres_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_unreachable() -> str | None:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc!r}"
    return None


@dataclass(frozen=True)
class Database:
    backend: str
    url: str


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Database | str]]:
    """One migrated database per engine for this run; a string says why an engine is missing."""
    found: dict[str, Database | str] = {}
    sqlite_url = f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'apikeys.sqlite3'}"
    found["sqlite"] = Database("sqlite", sqlite_url)

    pg_name = f"apikeys_test_{os.getpid()}_{secrets.token_hex(4)}"
    reason = _postgres_unreachable()
    if reason is None:
        asyncio.run(_admin(f'CREATE DATABASE "{pg_name}"'))
        found["postgres"] = Database("postgres", _postgres_url(pg_name))
    else:
        found["postgres"] = reason

    for db in found.values():
        if isinstance(db, Database):
            result = run_cli("migrate", env=base_env(db.url))
            assert result.returncode == 0, result.stderr
    yield found
    if reason is None:
        asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


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


def _redis_unreachable() -> str | None:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                return f"Redis at {REDIS_URL} does not answer PING"
    except OSError as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc!r}"
    return None


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis the shared-limits tests use; each test gets a key prefix of its own."""
    reason = _redis_unreachable()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI=true: Redis is required)")
        pytest.skip(reason)
    return REDIS_URL


@pytest.fixture
def redis_prefix() -> str:
    """Keys of this test alone: runs and tests sharing one Redis never see each other's."""
    return f"apikeys-test-{os.getpid()}-{secrets.token_hex(6)}"


def make_settings(database: Database, **overrides: str) -> Settings:
    return Settings.from_env({**base_env(database.url), **overrides})


@pytest.fixture
def settings(database: Database) -> Settings:
    return make_settings(database)


async def _empty_tables(backend: str) -> None:
    conn = connections.get(backend)
    tables = ("api_key_events", "api_key_usage_days", "api_key_workflow_uses", "retired_secrets")
    for table in (*tables, "api_keys", "owners"):
        await conn.execute_script(f'DELETE FROM "{table}"')


def settings_backend(settings: Settings) -> str:
    return engine_of(settings.database_url)


class FakeClock:
    """Real time, plus whatever the test has moved it on by."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def app(settings: Settings, clock: FakeClock) -> AsyncIterator[Starlette]:
    """The application with its lifespan running (the database connected), on empty tables."""
    application = create_app(settings, clock=clock, request_log=RequestLog(REQUEST_LOGS))
    async with application.router.lifespan_context(application):
        await _empty_tables(settings_backend(settings))
        yield application


class Api:
    """A GraphQL client for tests: `await api.gql(query, user="alice", **variables)`."""

    def __init__(self, client: httpx.AsyncClient, authenticator: Authenticator) -> None:
        self.client = client
        self.authenticator = authenticator

    def token(self, user: str) -> str:
        return self.authenticator.issue(user)

    async def post(self, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.client.post("/graphql", json=body, headers=headers or {})

    async def post_as(self, user: str, query: str, **variables: Any) -> str:
        """The raw answer (status and body), for comparing answers byte for byte."""
        headers = {"Authorization": f"Bearer {self.token(user)}"}
        response = await self.post({"query": query, "variables": variables}, headers)
        return f"{response.status_code} {response.text}"

    async def gql(
        self, query: str, *, user: str | None = "alice", **variables: Any
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.token(user)}"} if user else {}
        response = await self.post({"query": query, "variables": variables}, headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, *, user: str = "alice", **variables: Any) -> dict[str, Any]:
        """The `data` of a query that must not fail."""
        body = await self.gql(query, user=user, **variables)
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data


class StatementLog(logging.Handler):
    """Every SQL statement the application sends, as Tortoise logs them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.statements: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.args:
            self.statements.append(str(record.args[0]))

    def matching(self, pattern: str) -> list[str]:
        return [s for s in self.statements if re.search(pattern, s)]

    def clear(self) -> None:
        self.statements.clear()


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


KEY_PATTERN = re.compile(r"[a-z][a-z0-9]{0,9}_[0-9A-Za-z]{38}")
JWT_PATTERN = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")


class Everything(logging.Handler):
    """Keeps every log record of the run, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


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
    found = [s for s in ISSUED_SECRETS if s in text]
    found += KEY_PATTERN.findall(text) + JWT_PATTERN.findall(text)
    record("log lines searched for secrets", text.count("\n") + 1)
    record("keys and tokens issued and searched for", len(ISSUED_SECRETS))
    record("secrets found in logs", len(found))
    assert not found, f"{len(found)} secrets reached the logs"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES:
        terminalreporter.section("robustness figures")
        for figure, amount in sorted(FIGURES.items()):
            terminalreporter.write_line(f"{figure}: {amount}")
