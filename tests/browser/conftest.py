"""End-to-end tests of the settings page: the real service, Debian's Chromium, one page per test.

The service runs as `python -m service.cli serve` in a temporary directory for the whole session
(its SQLite database and generated development secrets live there); every test signs in as a user
of its own, so tests never see each other's keys. One browser serves the session, each test gets a
fresh browser context (no shared storage) and one page.

Without /usr/bin/chromium (`apt-get install chromium`) or Playwright these tests are skipped,
except under CI=true, where that fails the run. A failing test leaves a screenshot and the page's
HTML in tests/browser/artifacts/, with full keys masked or redacted.

A test can also be the platform's gateway (`service.verify`: uses of a key, with workflow ids),
and can ask for its page in another time zone than UTC (`@pytest.mark.timezone("Asia/Tokyo")`).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.test_secret_scanning import Partner, report

IN_CI = os.environ.get("CI") == "true"

try:
    from playwright.async_api import Browser, Page, async_playwright, expect
    from playwright.async_api import Error as PlaywrightError
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


# --- The service ----------------------------------------------------------------------------


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


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _service_token(env: dict[str, str], cwd: Path) -> str:
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


def _wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> None:
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


@pytest.fixture(scope="session")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`apikeys serve` on a free port, on a fresh SQLite database; stopped with SIGTERM."""
    home = tmp_path_factory.mktemp("browser-service")
    partner = Partner(home / "secret-scanning-keys.json")
    partner.publish()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "APIKEYS_DATABASE_URL": f"sqlite://{home / 'apikeys.sqlite3'}",
        "APIKEYS_STATE_DIR": str(home / "state"),
        # "Last used" is written within 50 ms instead of 5 s, so a test can wait for it.
        "APIKEYS_TRACKER_FLUSH_SECONDS": "0.05",
        "APIKEYS_SECRET_SCANNING_KEYS": str(partner.keys_file),
    }
    port = _free_port()
    log = home / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
            env=env,
            cwd=home,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_until_up(f"{base_url}/", server, log)
            yield Service(base_url, env, home, log, partner, _service_token(env, home))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# --- Users and the API, to arrange and check what the page shows -----------------------------


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


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        yield client


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


@pytest.fixture(scope="session")
async def sign_ups(service: Service) -> AsyncIterator[SignUps]:
    users = SignUps(service)
    yield users
    await users.close()


@pytest.fixture
async def user(sign_ups: SignUps, http: httpx.AsyncClient) -> User:
    """A brand-new user (so a test sees only its own keys), whose default key exists."""
    user_id, token = await sign_ups.take()
    person = User(user_id, token, http)
    await person.keys()  # the first call creates the default key
    return person


# --- The browser ---------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "timezone(name): the page's time zone (an IANA name) instead of UTC"
    )


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: apt-get install chromium"
        if IN_CI:
            pytest.fail(f"{reason} (CI=true: the browser tests must run)")
        pytest.skip(reason)
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


@pytest.fixture
async def page(
    browser: Browser, service: Service, request: pytest.FixtureRequest
) -> AsyncIterator[Page]:
    """A page in a fresh context (its own sessionStorage), with the clipboard allowed; in UTC
    unless the test is marked with another time zone."""
    timezone = request.node.get_closest_marker("timezone")
    context = await browser.new_context(
        base_url=service.base_url,
        locale="en-US",
        timezone_id=timezone.args[0] if timezone else "UTC",
        viewport={"width": 1280, "height": 900},
    )
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=service.base_url)
    page = await context.new_page()
    try:
        yield page
    finally:
        if _failed(request.node):
            await _save_artifacts(page, request.node, service)
        await context.close()


async def open_page(page: Page, user: User | None = None) -> None:
    """Open the settings page, signed in as `user` through the URL fragment when given."""
    url = f"/#token={user.token}" if user else "/"
    try:
        await page.goto(url)
    except PlaywrightError:
        # Playwright's message would quote the URL, and so the token.
        raise AssertionError("could not open the settings page") from None


# --- Artifacts of failed tests -------------------------------------------------------------

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test, for the `page` fixture's teardown to read; and
    scrub failures of secrets (Playwright's messages quote the page, revealed keys included)."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    if report.failed:
        _scrub(report)
    return report


def _redact(text: str) -> str:
    return SESSION_TOKEN.sub("<redacted token>", FULL_KEY.sub("<redacted key>", text))


def _scrub(report: pytest.TestReport) -> None:
    if report.longrepr is not None:
        text = str(report.longrepr)
        if (redacted := _redact(text)) != text:
            report.longrepr = redacted  # plain text, but without the secret
    report.sections = [(title, _redact(content)) for title, content in report.sections]


def _failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_REPORTS, {})
    return any(reports[when].failed for when in ("setup", "call") if when in reports)


async def _save_artifacts(page: Page, item: pytest.Item, service: Service) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid.split("::", 1)[-1])
    # The service never logs keys or tokens; its log says what the page's requests met.
    (ARTIFACTS / "server.log").write_bytes(service.log.read_bytes())
    try:
        # Revealed keys are painted over; the token box is a password field.
        await page.screenshot(
            path=ARTIFACTS / f"{stem}.png", full_page=True, mask=[page.locator("[data-secret]")]
        )
        html = _redact(await page.content())
        (ARTIFACTS / f"{stem}.html").write_text(html)
    except PlaywrightError as exc:
        # The page may be gone (a crash is often why the test failed); the report has the rest.
        print(f"could not save the page of {item.nodeid}: {type(exc).__name__}")
