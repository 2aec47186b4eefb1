"""What the tests share: the configuration they run the service with, the databases, a GraphQL
client, a clock they can move, and what they search the logs for. Fixtures are in conftest.py.

Every test that touches storage runs on SQLite and on PostgreSQL. PostgreSQL is found at
APIKEYS_TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/test).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import httpx
from tortoise import connections

from service.domain.clock import utcnow
from service.settings import Settings, generate_secret
from service.storage.engines import engine_of
from service.web.auth import Authenticator

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


def postgres_url(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


async def postgres_admin(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def postgres_unreachable() -> str | None:
    try:
        asyncio.run(postgres_admin("SELECT 1"))
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        return f"PostgreSQL at {POSTGRES_ADMIN_URL} is unreachable: {exc!r}"
    return None


@dataclass(frozen=True)
class Database:
    backend: str
    url: str


def redis_unreachable() -> str | None:
    parts = urlsplit(REDIS_URL)
    try:
        with socket.create_connection((parts.hostname, parts.port or 6379), timeout=2) as conn:
            conn.sendall(b"PING\r\n")
            if not conn.recv(16).startswith(b"+PONG"):
                return f"Redis at {REDIS_URL} does not answer PING"
    except OSError as exc:
        return f"Redis at {REDIS_URL} is unreachable: {exc!r}"
    return None


def make_settings(database: Database, **overrides: str) -> Settings:
    return Settings.from_env({**base_env(database.url), **overrides})


async def empty_tables(backend: str) -> None:
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


KEY_PATTERN = re.compile(r"[a-z][a-z0-9]{0,9}_[0-9A-Za-z]{38}")


JWT_PATTERN = re.compile(r"eyJ[\w-]{10,}\.eyJ[\w-]{10,}\.[\w-]{10,}")


class Everything(logging.Handler):
    """Keeps every log record of the run, at every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
