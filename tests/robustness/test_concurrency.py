"""The rules hold under real concurrency: at most five keys, exactly one default, unique names,
one live secret after concurrent rotations — with two server processes on one PostgreSQL
database, and in-process on SQLite (and PostgreSQL)."""

from __future__ import annotations

import asyncio
import itertools
import random
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from service.web.auth import Authenticator
from tests.api.documents import CREATE, DELETE, ROTATE, UPDATE
from tests.helpers import TEST_SERVICE_TOKEN, Api, Database, make_settings
from tests.report import record
from tests.servers import Server

REQUESTS_PER_SCENARIO = 60
LIST = "{ apiKeys { id name isDefault } }"
QUIET = {doc: doc.replace(" key maskedKey", " maskedKey") for doc in (CREATE, UPDATE, DELETE)}


class Clients:
    """Sends GraphQL as one user, round-robin over one or more servers."""

    def __init__(self, clients: list[httpx.AsyncClient], sessions: Authenticator) -> None:
        self._clients = clients
        self._next = itertools.cycle(range(len(clients)))
        self._sessions = sessions
        self._verifications = 0
        self.sent = 0

    async def gql(self, user: str, query: str, **variables: Any) -> dict[str, Any]:
        client = self._clients[next(self._next)]
        self.sent += 1
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {self._sessions.issue(user)}"},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]

    async def verify(self, secret: str) -> bool:
        # A client address of its own for each check: refused old secrets are failures, and
        # the failure limiter would otherwise (rightly) start answering 429.
        self._verifications += 1
        address = f"198.18.{self._verifications // 256}.{self._verifications % 256}"
        response = await self._clients[0].post(
            "/v1/keys/verify",
            json={"key": secret, "clientAddress": address},
            headers={"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"},
        )
        assert response.status_code == 200, response.text
        valid: bool = response.json()["valid"]
        return valid


def violations(keys: list[dict[str, Any]], limit: int = 5) -> list[str]:
    """Every rule a listing breaks (empty when it is sound)."""
    found = []
    if not 1 <= len(keys) <= limit:
        found.append(f"{len(keys)} keys")
    if sum(k["isDefault"] for k in keys) != 1:
        found.append(f"{sum(k['isDefault'] for k in keys)} default keys")
    if len({k["name"].casefold() for k in keys}) != len(keys):
        found.append(f"duplicate names {[k['name'] for k in keys]}")
    return found


def check(keys: list[dict[str, Any]], where: str) -> None:
    broken = violations(keys)
    record("invariant violations", len(broken))
    assert not broken, f"{where}: {broken}"


def new_user(scenario: str) -> str:
    return f"{scenario}-{secrets.token_hex(4)}"


async def creates_stop_at_five(clients: Clients) -> None:
    user = new_user("creates")
    results = await asyncio.gather(
        *(clients.gql(user, QUIET[CREATE], name=f"key {n}") for n in range(REQUESTS_PER_SCENARIO))
    )
    kinds = [r["createApiKey"]["__typename"] for r in results]
    assert kinds.count("ApiKey") == 4, kinds
    assert kinds.count("KeyLimitReachedError") == REQUESTS_PER_SCENARIO - 4
    keys = (await clients.gql(user, LIST))["apiKeys"]
    check(keys, "after concurrent creates")
    assert len(keys) == 5


async def mixed_changes_keep_every_rule(clients: Clients) -> None:
    user = new_user("mixed")
    await clients.gql(user, LIST)
    for name in ("alpha", "beta"):
        await clients.gql(user, QUIET[CREATE], name=name)
    known = [k["id"] for k in (await clients.gql(user, LIST))["apiKeys"]]
    names = ["alpha", "ALPHA", "beta", "gamma", "delta", "Delta", "epsilon"]
    rng = random.Random(7)
    snapshots: list[list[dict[str, Any]]] = []

    async def one(n: int) -> None:
        action = n % 4
        if action == 0:
            await clients.gql(user, QUIET[CREATE], name=rng.choice(names))
        elif action == 1:
            await clients.gql(user, QUIET[DELETE], id=rng.choice(known))
        elif action == 2:
            renamed = {"id": rng.choice(known), "name": rng.choice(names)}
            await clients.gql(user, QUIET[UPDATE], input=renamed)
        else:
            snapshots.append((await clients.gql(user, LIST))["apiKeys"])

    await asyncio.gather(*(one(n) for n in range(REQUESTS_PER_SCENARIO)))
    for snapshot in snapshots:
        check(snapshot, "a listing taken during the changes")
    check((await clients.gql(user, LIST))["apiKeys"], "after the changes")


async def first_visits_make_one_default(clients: Clients) -> None:
    user = new_user("first")
    results = await asyncio.gather(*(clients.gql(user, LIST) for _ in range(REQUESTS_PER_SCENARIO)))
    ids = {tuple(k["id"] for k in r["apiKeys"]) for r in results}
    assert len(ids) == 1 and len(next(iter(ids))) == 1, ids
    check((await clients.gql(user, LIST))["apiKeys"], "after concurrent first visits")


async def rotations_leave_one_live_secret(clients: Clients) -> None:
    user = new_user("rotations")
    first = (await clients.gql(user, "{ apiKeys { id key } }"))["apiKeys"][0]
    rotate = ROTATE.replace(" maskedKey", "")  # keep `key`: the new secrets are the point
    results = await asyncio.gather(
        *(clients.gql(user, rotate, id=first["id"]) for _ in range(REQUESTS_PER_SCENARIO))
    )
    secrets_seen = [first["key"]] + [r["rotateApiKey"]["key"] for r in results]
    assert len(set(secrets_seen)) == REQUESTS_PER_SCENARIO + 1
    live = [s for s in secrets_seen if await clients.verify(s)]
    record("invariant violations", abs(len(live) - 1))
    assert len(live) == 1, f"{len(live)} secrets verify after concurrent rotations"
    shown = (await clients.gql(user, "{ apiKeys { key } }"))["apiKeys"][0]["key"]
    assert live == [shown]


SCENARIOS = [
    creates_stop_at_five,
    mixed_changes_keep_every_rule,
    first_visits_make_one_default,
    rotations_leave_one_live_secret,
]


@pytest.fixture(scope="module")
def two_servers(
    postgres: Database, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    workdir = tmp_path_factory.mktemp("servers")
    servers = [Server(postgres.url, workdir) for _ in range(2)]
    try:
        yield [s.wait_ready() for s in servers]
    finally:
        for server in servers:
            server.stop()


@pytest.fixture
async def server_clients(two_servers: list[Server], postgres: Database) -> AsyncIterator[Clients]:
    limits = httpx.Limits(max_connections=100)
    async with (
        httpx.AsyncClient(base_url=two_servers[0].url, timeout=60, limits=limits) as a,
        httpx.AsyncClient(base_url=two_servers[1].url, timeout=60, limits=limits) as b,
    ):
        yield Clients([a, b], Authenticator(make_settings(postgres).jwt))


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_two_server_processes_on_one_postgresql(
    server_clients: Clients, scenario: Any
) -> None:
    await scenario(server_clients)
    record("concurrent requests sent to two server processes", server_clients.sent)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.__name__)
async def test_in_process(api: Api, scenario: Any) -> None:
    clients = Clients([api.client], api.authenticator)
    await scenario(clients)
    record("concurrent requests sent in-process", clients.sent)


async def test_revocation_is_immediate_across_server_processes(
    two_servers: list[Server], postgres: Database
) -> None:
    """Each server caches verified keys; a key deleted or rotated through one server must fail
    at the other on the very next request."""
    sessions = Authenticator(make_settings(postgres).jwt)
    async with (
        httpx.AsyncClient(base_url=two_servers[0].url, timeout=30) as changer,
        httpx.AsyncClient(base_url=two_servers[1].url, timeout=30) as checker,
    ):
        changes = Clients([changer], sessions)
        checks = Clients([checker], sessions)
        rounds = 20
        for n in range(rounds):
            user = new_user("revoke")
            default = (await changes.gql(user, "{ apiKeys { id key } }"))["apiKeys"][0]
            created = (await changes.gql(user, CREATE, name=f"k{n}"))["createApiKey"]
            for secret in (default["key"], created["key"]):
                for _ in range(3):  # warm the checker's cache
                    assert await checks.verify(secret)
            await changes.gql(user, QUIET[DELETE], id=created["id"])
            assert not await checks.verify(created["key"]), "a deleted key still verified"
            await changes.gql(user, ROTATE, id=default["id"])
            assert not await checks.verify(default["key"]), "a rotated-out key still verified"
    record("revocations checked across server processes", 2 * rounds)
