"""What the browser tests share: the service they run (as `python -m service.cli serve`), the
users they sign in as, and opening the settings page. Fixtures are in conftest.py."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_secret_scanning import Partner, report

IN_CI = os.environ.get("CI") == "true"

try:
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import Page, expect
except ImportError as exc:  # pragma: no cover - depends on the environment
    if IN_CI:
        raise
    pytest.skip(
        f"Playwright is not installed ({exc}): pip install -e '.[test]'", allow_module_level=True
    )

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
# A full key: a prefix (2-11 lowercase letters or digits ending in "_"), 32 + 6 base62 characters.
FULL_KEY = re.compile(r"\b[a-z0-9]{1,10}_[A-Za-z0-9]{38}\b")
# A JWT: three base64url parts, the first two JSON objects ("eyJ" is `{"`).
SESSION_TOKEN = re.compile(r"\beyJ[\w-]*\.eyJ[\w-]*\.[\w-]*")
START_TIMEOUT_SECONDS = 30

# Playwright waits up to 5 s for what a test expects; a busy CI machine deserves more.
expect.set_options(timeout=10_000)


@dataclass(frozen=True)
class Service:
    """The running service: where it answers, and how to mint session tokens for it."""

    base_url: str
    env: dict[str, str]
    cwd: Path
    log: Path
    partner: Partner  # a secret-scanning partner the service trusts
    service_token: str = field(repr=False)  # the gateway's, for /v1/keys/verify

    async def verify(
        self,
        key: str,
        *,
        workflow_id: str | None = None,
        client_address: str | None = None,
        user_agent: str | None = None,
    ) -> dict[str, Any]:
        """The gateway asks whether `key` is good; a good one is a use of it (written within
        `APIKEYS_TRACKER_FLUSH_SECONDS`). The verdict, without the key."""
        body = {
            "key": key,
            "workflowId": workflow_id,
            "clientAddress": client_address,
            "userAgent": user_agent,
        }
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            answer = await client.post(
                "/v1/keys/verify",
                json={name: value for name, value in body.items() if value is not None},
                headers={"Authorization": f"Bearer {self.service_token}"},
            )
        assert answer.status_code == 200, f"HTTP {answer.status_code}"
        verdict: dict[str, Any] = answer.json()
        return verdict

    async def report_leak(self, key: str, url: str) -> str:
        """The partner reports `key` found at `url`; the label it gets back."""
        body = report(key, url=url)
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10) as client:
            answer = await client.post(
                "/v1/secret-scanning", content=body, headers=self.partner.signed(body)
            )
        assert answer.status_code == 200, f"HTTP {answer.status_code}"
        label: str = answer.json()[0]["label"]
        return label

    async def token(self, user: str) -> str:
        """A session token for `user`, minted by the CLI exactly as a developer would."""
        process = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "service.cli", "token", "--user", user),
            env=self.env,
            cwd=self.cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
        # stderr only: stdout is the token itself.
        assert process.returncode == 0, f"`apikeys token` failed: {stderr.decode()}"
        return stdout.decode().strip()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def service_token(env: dict[str, str], cwd: Path) -> str:
    """The development service token the service generated into its state directory, read
    by the CLI as an operator would."""
    done = subprocess.run(
        [sys.executable, "-m", "service.cli", "service-token"],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    # stderr only: stdout is the token itself.
    assert done.returncode == 0, f"`apikeys service-token` failed: {done.stderr}"
    return done.stdout.strip()


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None:
            pytest.fail(f"the service exited during start-up:\n{log.read_text()}")
        if time.monotonic() > deadline:
            pytest.fail(
                f"the service did not answer within {START_TIMEOUT_SECONDS}s:\n{log.read_text()}"
            )
        time.sleep(0.1)


@dataclass(frozen=True)
class User:
    """A user of the service with a session token of their own, and a GraphQL client."""

    id: str
    token: str = field(repr=False)  # never in a traceback
    client: httpx.AsyncClient = field(repr=False)

    async def gql(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        assert response.status_code == 200, f"HTTP {response.status_code}"
        body: dict[str, Any] = response.json()
        return body

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        body = await self.gql(query, **variables)
        assert "errors" not in body, body["errors"]
        data: dict[str, Any] = body["data"]
        return data

    async def keys(self) -> list[dict[str, Any]]:
        data = await self.data(
            "{ apiKeys { id name description maskedKey isDefault lastUsedAt rotatedAt } }"
        )
        keys: list[dict[str, Any]] = data["apiKeys"]
        return keys

    async def secret(self, key_id: str) -> str:
        data = await self.data("query ($id: ID!) { apiKey(id: $id) { key } }", id=key_id)
        secret: str = data["apiKey"]["key"]
        return secret

    async def create_key(self, name: str, description: str | None = None) -> dict[str, Any]:
        data = await self.data(
            """mutation ($input: CreateApiKeyInput!) {
                 createApiKey(input: $input) {
                   __typename
                   ... on ApiKey { id name maskedKey }
                   ... on UserError { code message }
                   ... on ValidationError { field }
                 }
               }""",
            input={"name": name, "description": description},
        )
        result: dict[str, Any] = data["createApiKey"]
        return result


class SignUps:
    """Fresh user ids with their tokens. Minting a token costs a Python start-up (about a
    second), so the next user's is minted in the background while the current test runs."""

    def __init__(self, service: Service) -> None:
        self._service = service
        self._next: asyncio.Task[tuple[str, str]] | None = None

    async def _mint(self, user_id: str) -> tuple[str, str]:
        return user_id, await self._service.token(user_id)

    def _mint_next(self) -> asyncio.Task[tuple[str, str]]:
        self._next = asyncio.create_task(self._mint(f"browser-{uuid.uuid4().hex[:12]}"))
        return self._next

    async def take(self) -> tuple[str, str]:
        current = self._next or self._mint_next()
        self._mint_next()
        return await current

    async def close(self) -> None:
        if self._next is not None:
            await self._next  # let the last `apikeys token` finish rather than orphan it


async def open_page(page: Page, user: User | None = None) -> None:
    """Open the settings page, signed in as `user` through the URL fragment when given."""
    url = f"/#token={user.token}" if user else "/"
    try:
        await page.goto(url)
    except PlaywrightError:
        # Playwright's message would quote the URL, and so the token.
        raise AssertionError("could not open the settings page") from None
