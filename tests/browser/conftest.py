"""End-to-end tests of the settings page: the real service, Debian's Chromium, one page per test.

The service runs as `python -m service.cli serve` in a temporary directory for the whole session
(its SQLite database and generated development secrets live there); every test signs in as a user
of its own, so tests never see each other's keys. One browser serves the session, each test gets a
fresh browser context (no shared storage) and one page.

Without /usr/bin/chromium (`apt-get install chromium`) or Playwright these tests are skipped,
except under CI=true, where that fails the run. A failing test leaves a screenshot and the page's
HTML in tests/browser/artifacts/, with full keys masked or redacted.

The `axe` fixture checks a page with axe-core, which the session installs from the npm registry
(tests/browser/axe.py); without npm the accessibility checks are skipped, except under CI=true.

A test can also be the platform's gateway (`service.verify`: uses of a key, with workflow ids),
and can ask for its page in another time zone than UTC (`@pytest.mark.timezone("Asia/Tokyo")`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Generator, Iterator

import httpx
import pytest

from tests.api.test_secret_scanning import Partner
from tests.browser import axe as axe_core
from tests.browser.support import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    FULL_KEY,
    SESSION_TOKEN,
    Service,
    SignUps,
    User,
    free_port,
    service_token,
    wait_until_up,
)

IN_CI = os.environ.get("CI") == "true"

try:
    from playwright.async_api import Browser, Page, async_playwright
    from playwright.async_api import Error as PlaywrightError
except ImportError as exc:  # pragma: no cover - depends on the environment
    if IN_CI:
        raise
    pytest.skip(
        f"Playwright is not installed ({exc}): pip install -e '.[test]'", allow_module_level=True
    )


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
    port = free_port()
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
            wait_until_up(f"{base_url}/", server, log)
            yield Service(base_url, env, home, log, partner, service_token(env, home))
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


# --- Users and the API, to arrange and check what the page shows -----------------------------


@pytest.fixture
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=service.base_url, timeout=10) as client:
        yield client


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


@pytest.fixture(scope="session")
def axe_install() -> str | None:
    """axe-core installed once per session (None), or why it could not be."""
    return axe_core.install()


@pytest.fixture
def axe(axe_install: str | None) -> axe_core.Axe:
    if axe_install is not None:
        if IN_CI:
            pytest.fail(f"{axe_install} (CI=true: the accessibility checks must run)")
        pytest.skip(axe_install)
    return axe_core.Axe(axe_core.AXE_JS)


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
