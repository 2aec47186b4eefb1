"""What every answer to hostile input must be, and the tools that check it.

`Hostile` sends requests to the same application as the `api` fixture, over an httpx transport
that turns an exception escaping the application into the 500 a real server would send (the
`api` fixture's client raises it instead), so that a crash is an answer we can count and report.

Every answer is checked by `Hostile.check`: never a 5xx; JSON, or a short plain 4xx message; no
traceback, source path, SQL or driver name; no secret; a body over the limit is 413 and one under
it is not. Generated inputs never contain any of those tell-tale strings (see `harmless`), so
finding one in an answer always comes from the service, never from an echo of the input.
"""

from __future__ import annotations

import json
import os
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, settings
from starlette.applications import Starlette

from tests.api.documents import CREATE, DELETE, LIST
from tests.helpers import (
    TEST_ENCRYPTION_KEY,
    TEST_JWT_SECRET,
    TEST_PEPPER,
    TEST_SERVICE_TOKEN,
    Api,
)
from tests.report import record

MAX_BODY_BYTES = 64 * 1024  # service.domain.limits.GRAPHQL_BODY_MAX
VERIFY_MAX_BODY_BYTES = 4096  # service.domain.limits.VERIFY_BODY_MAX
MAX_KEYS = 5
NAME_MAX = 64
DESCRIPTION_MAX = 500
MAX_GRACE_SECONDS = 7 * 24 * 3600
MAX_PAGE = 100
INT32 = range(-(2**31), 2**31)  # GraphQL's Int
SERVICE_HEADERS = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}

# What only the service's insides would put in an answer: a traceback, a source path, SQL, a
# driver or ORM, an exception's class name, or a crash that was masked.
LEAK_MARKERS = (
    "Traceback",
    'File "',
    '.py"',
    "service/",
    "site-packages",
    "SELECT",
    "INSERT",
    'UPDATE "',
    "DELETE FROM",
    "sqlite3",
    "aiosqlite",
    "asyncpg",
    "psycopg",
    "tortoise",
    "pypika",
    "RecursionError",
    "OverflowError",
    "UnicodeEncodeError",
    "UnicodeDecodeError",
    "AttributeError",
    "IntegrityError",
    "OperationalError",
    "index out of range",
    "has no attribute",
    "not subscriptable",
    "NoneType",
    "unexpected keyword argument",
    "encountered error",  # graphql-core's words for an exception inside input coercion
    "Internal server error",
)
_FOLDED_MARKERS = tuple(marker.casefold() for marker in LEAK_MARKERS)
# The service's own secrets: no answer may ever carry one.
SERVICE_SECRETS = (TEST_PEPPER, TEST_ENCRYPTION_KEY, TEST_JWT_SECRET, TEST_SERVICE_TOKEN)
ERROR_FIELDS = frozenset({"message", "locations", "path", "extensions"})
ERROR_EXTENSIONS = frozenset({"code", "field"})
BOB_KEY_NAME = "bob private zq7"  # someone else's data: alice must never see it

_SCALE = float(os.environ.get("APIKEYS_HOSTILE_SCALE", "1"))
_GENERATED_ONLY = os.environ.get("APIKEYS_HOSTILE_GENERATED_ONLY") == "1"


def budget(max_examples: int) -> settings:
    """Hypothesis settings for CI on two cores (the whole directory, both engines, in well
    under a minute). For a deeper local run, APIKEYS_HOSTILE_SCALE=10 tries ten times as many
    examples; APIKEYS_HOSTILE_GENERATED_ONLY=1 skips the pinned @example inputs, to see what
    generation finds by itself. No example database: every run explores afresh, and a failure
    prints its example (and a @reproduce_failure blob)."""
    phases = [Phase.generate, Phase.shrink] if _GENERATED_ONLY else list(Phase)
    return settings(
        max_examples=max(1, round(max_examples * _SCALE)),
        deadline=None,
        database=None,
        print_blob=True,
        phases=phases,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


def harmless(value: object) -> bool:
    """True when no string inside `value` contains a leak marker (case-insensitively)."""
    if isinstance(value, str):
        folded = value.casefold()
        return not any(marker in folded for marker in _FOLDED_MARKERS)
    if isinstance(value, list | tuple):
        return all(harmless(item) for item in value)
    if isinstance(value, dict):
        return all(harmless(k) and harmless(v) for k, v in value.items())
    return True


def encode_json(body: Any, *, ascii_only: bool = True) -> bytes:
    """JSON bytes for `body`. Lone surrogates can only travel as `\\ud800` escapes, so a body
    holding one is always sent ASCII-escaped."""
    if not ascii_only:
        try:
            return json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            pass
    return json.dumps(body, ensure_ascii=True).encode("ascii")


# --- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    text: str
    body: Any  # the parsed JSON; None when the answer is a plain-text 4xx

    @property
    def errors(self) -> list[dict[str, Any]]:
        errors = self.body.get("errors") if isinstance(self.body, dict) else None
        return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []

    @property
    def messages(self) -> str:
        return " | ".join(str(error.get("message")) for error in self.errors)

    def result(self, root_field: str) -> Any:
        """The root field's value of a GraphQL answer without errors; None otherwise."""
        if self.status != 200 or self.errors or not isinstance(self.body, dict):
            return None
        data = self.body.get("data")
        return data.get(root_field) if isinstance(data, dict) else None

    def typename(self, root_field: str) -> str | None:
        """The result's `__typename` ("ApiKey", "ValidationError", …), or None when refused
        outside the schema (top-level errors, 4xx)."""
        result = self.result(root_field)
        return result.get("__typename") if isinstance(result, dict) else None

    def refused(self, root_field: str) -> bool:
        """A refusal: top-level errors, a 4xx, or a member of the `UserError` interface."""
        name = self.typename(root_field)
        return name is None or name.endswith("Error")


# --- what the database holds, as the user sees it ------------------------------------------

SNAPSHOT = """{
  apiKeys { id name description maskedKey isDefault createdAt updatedAt rotatedAt }
  apiKeyEvents(first: 100) {
    edges { cursor node { id kind keyId keyName changedFields expireOldKeyInSeconds revealedIn } }
  }
}"""


@dataclass(frozen=True)
class Snapshot:
    """A user's keys and newest audit events, read without the `key` field (reading it would
    itself be an audited reveal)."""

    keys: list[dict[str, Any]]
    events: list[dict[str, Any]]

    @property
    def ids(self) -> list[str]:
        return [key["id"] for key in self.keys]

    @property
    def default(self) -> dict[str, Any]:
        return next(key for key in self.keys if key["isDefault"])

    @property
    def cursors(self) -> list[str]:
        return [event["cursor"] for event in self.events]

    def named(self, name: str) -> dict[str, Any] | None:
        folded = name.casefold()
        return next((k for k in self.keys if k["name"].casefold() == folded), None)

    def check_invariants(self) -> None:
        """What holds whatever was accepted: at most five keys, exactly one default, names
        unique regardless of case, clean names and descriptions."""
        keys = self.keys
        assert 1 <= len(keys) <= MAX_KEYS, keys
        assert sum(1 for key in keys if key["isDefault"]) == 1, keys
        folded = [key["name"].casefold() for key in keys]
        assert len(set(folded)) == len(folded), keys
        for key in keys:
            name, description = key["name"], key["description"]
            assert 1 <= len(name) <= NAME_MAX, key
            assert name == name.strip() and not has_control(name), key
            if description is not None:
                assert 1 <= len(description) <= DESCRIPTION_MAX, key
                assert not has_control(description, allowed="\n"), key


def has_control(text: str, allowed: str = "") -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cs") and ch not in allowed for ch in text)


def assert_unchanged(before: Snapshot, after: Snapshot, what: str) -> None:
    """A refusal leaves the database exactly as it was."""
    changed = before != after
    record("partial writes seen", int(changed))
    assert not changed, f"refused {what} changed the database:\n{before}\n->\n{after}"


# --- the people in the database ------------------------------------------------------------


class World:
    """alice acts; bob is someone else, whose keys alice must never reach. (A plain class with
    a short repr: Hypothesis prints a failing example's fixtures too.)"""

    def __init__(
        self,
        bob_ids: tuple[str, ...],
        alice_secrets: frozenset[str],
        bob_secrets: frozenset[str],
        bob_before: Snapshot,
    ) -> None:
        self.bob_ids = bob_ids
        self.alice_secrets = alice_secrets
        self.bob_secrets = bob_secrets
        self.bob_before = bob_before

    def __repr__(self) -> str:
        return "World(alice, bob)"


async def build_world(hostile: Hostile) -> World:
    api = hostile.api
    secrets: dict[str, frozenset[str]] = {}
    for user, extra in (("alice", "alice extra"), ("bob", BOB_KEY_NAME)):
        await api.data(LIST, user=user)
        await api.data(CREATE, user=user, name=extra, description=f"{user}'s second key")
        listed = await api.data("{ apiKeys { id key } }", user=user)
        secrets[user] = frozenset(key["key"] for key in listed["apiKeys"])
    bob = await hostile.snapshot("bob")
    # Bob's keys and name never appear in alice's answers; nobody's secret appears unasked.
    hostile.watched = (*SERVICE_SECRETS, *secrets["bob"], BOB_KEY_NAME)
    hostile.alice_secrets = tuple(secrets["alice"])
    return World(tuple(bob.ids), secrets["alice"], secrets["bob"], bob)


# --- the client ----------------------------------------------------------------------------


class Hostile:
    """The hostile client (a plain class with a short repr, like `World`)."""

    def __init__(self, app: Starlette, api: Api, client: httpx.AsyncClient) -> None:
        self.app = app
        self.api = api
        self.client = client
        # Never in an answer: the service's secrets, and (once the world exists) bob's keys
        # and name, and alice's keys unless the document asked to reveal one.
        self.watched: tuple[str, ...] = SERVICE_SECRETS
        self.alice_secrets: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return "Hostile()"

    @classmethod
    @asynccontextmanager
    async def over(cls, app: Starlette, api: Api) -> AsyncIterator[Hostile]:
        async with _client(app, "127.0.0.1") as client:
            yield cls(app, api, client)

    async def snapshot(self, user: str = "alice") -> Snapshot:
        data = await self.api.data(SNAPSHOT, user=user)
        edges = data["apiKeyEvents"]["edges"]
        return Snapshot(data["apiKeys"], [{"cursor": e["cursor"], **e["node"]} for e in edges])

    async def make_room(self, before: Snapshot) -> Snapshot:
        """Deletes alice's newest non-default key when she has the most she may have, so that
        creating is still possible."""
        if len(before.keys) < MAX_KEYS:
            return before
        newest = [key for key in before.keys if not key["isDefault"]][-1]
        await self.api.data(DELETE, id=newest["id"])
        return await self.snapshot()

    def token(self, user: str) -> str:
        return self.api.token(user)

    async def graphql(
        self,
        body: Any,
        *,
        user: str | None = "alice",
        ascii_only: bool = True,
        headers: dict[str, str] | None = None,
        reveals: bool = False,
    ) -> Answer:
        """One GraphQL request as `user`. Unless the document asks for a full key (`reveals`),
        none of alice's secrets may be in the answer either."""
        content = encode_json(body, ascii_only=ascii_only)
        sent = {"Content-Type": "application/json"}
        if user is not None:
            sent["Authorization"] = f"Bearer {self.token(user)}"
        watch = () if reveals else self.alice_secrets
        return await self.post("/graphql", content, {**sent, **(headers or {})}, watch=watch)

    async def post(
        self,
        path: str,
        content: bytes | AsyncIterable[bytes],
        headers: dict[str, str],
        *,
        peer: str | None = None,
        limit: int = MAX_BODY_BYTES,
        watch: Iterable[str] = (),
    ) -> Answer:
        """Sends one hostile request (from `peer`, when given) and checks the answer."""
        if peer is None:
            response = await self.client.post(path, content=content, headers=headers)
        else:
            async with _client(self.app, peer) as client:
                response = await client.post(path, content=content, headers=headers)
        size = len(content) if isinstance(content, bytes) else None
        return self.check(response, size=size, limit=limit, watch=watch)

    def check(
        self,
        response: httpx.Response,
        *,
        size: int | None,
        limit: int = MAX_BODY_BYTES,
        watch: Iterable[str] = (),
    ) -> Answer:
        status, text = response.status_code, response.text
        record("hostile inputs tried")
        record("5xx responses seen", int(status >= 500))
        where = f"{response.request.method} {response.request.url.path} ({size} bytes)"
        assert status < 500, f"{where} crashed the service: {status} {text[:500]!r}"
        if size is not None and size > limit:
            assert status == 413, f"{where} over the {limit}-byte limit: {status} {text[:300]!r}"
        elif size is not None and size <= MAX_BODY_BYTES:
            assert status != 413, f"{where} under the limit refused as too large"
        body: Any = None
        if response.headers.get("content-type", "").startswith("application/json"):
            try:
                body = response.json()
            except ValueError as exc:
                raise AssertionError(f"{where} answered invalid JSON: {text[:300]!r}") from exc
        else:
            assert 400 <= status < 500, f"{where} answered {status} without JSON: {text[:300]!r}"
            # A short message; it may echo what was sent (an operation name), never amplify it.
            short = len(text) <= 300 or (size is not None and len(text.encode()) <= size + 300)
            assert short, f"{where} answered a long plain-text body: {text[:300]!r}"
        for marker in LEAK_MARKERS:
            assert marker not in text, f"{where} answer shows {marker!r}: {text[:1000]!r}"
        for secret in (*self.watched, *watch):
            assert secret not in text, f"{where} answer leaks {secret[:8]}…: {text[:300]!r}"
        if isinstance(body, dict):
            for error in body.get("errors") or []:
                assert set(error) <= ERROR_FIELDS, f"{where} error with internals: {error}"
                extensions = error.get("extensions") or {}
                assert set(extensions) <= ERROR_EXTENSIONS, f"{where} error extensions: {error}"
        return Answer(status, text, body)


@asynccontextmanager
async def _client(app: Starlette, peer: str) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(peer, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://apikeys.test") as client:
        yield client


# --- the rules, restated from the README, as oracles ---------------------------------------


def clean_name(raw: str) -> str | None:
    """The name the service stores for `raw`, or None when it must refuse it: trimmed, NFC,
    1-64 characters, no control characters (nor lone surrogates)."""
    if has_control(raw):
        return None
    name = unicodedata.normalize("NFC", raw.strip())
    return name if 1 <= len(name) <= NAME_MAX else None


def clean_description(raw: str | None) -> tuple[bool, str | None]:
    """(acceptable, stored value): at most 500 characters, no control characters but newlines,
    and a blank description is no description."""
    if raw is None:
        return True, None
    if has_control(raw, allowed="\n"):
        return False, None
    description = unicodedata.normalize("NFC", raw.strip())
    return len(description) <= DESCRIPTION_MAX, description or None


async def settle(
    hostile: Hostile, answer: Answer, before: Snapshot, root: str, *, bob: Snapshot | None = None
) -> Snapshot:
    """After one hostile request: a refusal changed nothing; anything accepted kept the
    invariants; bob's keys (when his were aimed at) are as they were."""
    after = await hostile.snapshot()
    if answer.refused(root):
        assert_unchanged(before, after, f"{root} ({answer.status} {answer.text[:300]!r})")
    else:
        after.check_invariants()
    if bob is not None:
        assert_unchanged(bob, await hostile.snapshot("bob"), f"{root} aimed at bob's key")
    return after
