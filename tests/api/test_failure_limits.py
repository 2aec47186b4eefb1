"""Failed key checks are limited per client address, on /v1/keys/verify and on /graphql alike,
and a Redis that cannot be reached never stops verification."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from service.app import create_app
from service.domain.key_format import KeyFormat
from tests.api.documents import LIST
from tests.helpers import TEST_SERVICE_TOKEN, Database, empty_tables, make_settings

SERVICE = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
UNKNOWN_KEY = KeyFormat("blk_").generate()  # well formed, never issued


@asynccontextmanager
async def client_for(database: Database, **env: str) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database, **env)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await empty_tables(database.backend)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


@pytest.fixture
async def strict(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(database, APIKEYS_VERIFY_MAX_FAILURES="3") as client:
        yield client


@pytest.fixture
async def shared(
    database: Database, redis_url: str, redis_prefix: str
) -> AsyncIterator[httpx.AsyncClient]:
    env = {
        "APIKEYS_VERIFY_MAX_FAILURES": "3",
        "APIKEYS_REDIS_URL": redis_url,
        "APIKEYS_REDIS_KEY_PREFIX": redis_prefix,
    }
    async with client_for(database, **env) as client:
        yield client


async def graphql_with_key(client: httpx.AsyncClient, key: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": LIST}, headers={"X-API-Key": key})


async def unknown_keys_are_limited(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        refused = await graphql_with_key(client, UNKNOWN_KEY)
        assert refused.status_code == 200
        assert refused.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    limited = await graphql_with_key(client, UNKNOWN_KEY)
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "TOO_MANY_FAILURES"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # The same limits as the gateway's verifications, for the same address.
    verify = await client.post("/v1/keys/verify", json={"key": UNKNOWN_KEY}, headers=SERVICE)
    assert verify.status_code == 429
    # Session tokens are not guesses at keys: they are not held back.
    nobody = await client.post("/graphql", json={"query": LIST})
    assert nobody.status_code == 200


async def test_unknown_keys_on_graphql_count_against_the_client(
    strict: httpx.AsyncClient,
) -> None:
    await unknown_keys_are_limited(strict)


async def test_unknown_keys_on_graphql_count_in_redis_too(shared: httpx.AsyncClient) -> None:
    await unknown_keys_are_limited(shared)


async def test_twenty_five_failures_from_one_ipv6_network_are_limited_as_one_client(
    database: Database,
) -> None:
    async with client_for(database) as client:  # 20 failures per window, per /64
        answers = []
        for n in range(25):
            body = {"key": UNKNOWN_KEY, "clientAddress": f"2001:db8:77:1:{n:x}::{n + 1:x}"}
            answers.append(await client.post("/v1/keys/verify", json=body, headers=SERVICE))
        assert [a.status_code for a in answers] == [200] * 20 + [429] * 5
        neighbour = {"key": UNKNOWN_KEY, "clientAddress": "2001:db8:77:2::1"}  # another /64
        assert (await client.post("/v1/keys/verify", json=neighbour, headers=SERVICE)).json() == {
            "valid": False,
            "reason": "UNKNOWN",
        }


async def test_the_ipv6_network_counted_is_configurable(database: Database) -> None:
    async with client_for(database, APIKEYS_VERIFY_FAILURE_IPV6_PREFIX="128") as client:
        for n in range(25):
            body = {"key": UNKNOWN_KEY, "clientAddress": f"2001:db8:77:1::{n + 1:x}"}
            answer = await client.post("/v1/keys/verify", json=body, headers=SERVICE)
            assert answer.status_code == 200


async def test_malformed_keys_on_graphql_are_not_counted(strict: httpx.AsyncClient) -> None:
    for _ in range(10):
        answer = await graphql_with_key(strict, "blk_not-a-key")
        assert answer.status_code == 200
        assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_an_unreachable_redis_never_stops_verification(database: Database) -> None:
    env = {"APIKEYS_REDIS_URL": "redis://127.0.0.1:1/0", "APIKEYS_VERIFY_MAX_FAILURES": "5"}
    async with client_for(database, **env) as client:
        session = {"Authorization": f"Bearer {make_token()}"}
        listed = await client.post("/graphql", json={"query": LIST}, headers=session)
        key = listed.json()["data"]["apiKeys"][0]["key"]
        for _ in range(3):
            good = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
            assert (good.status_code, good.json()["valid"]) == (200, True)
            bad = await client.post("/v1/keys/verify", json={"key": UNKNOWN_KEY}, headers=SERVICE)
            assert (bad.status_code, bad.json()["reason"]) == (200, "UNKNOWN")
            by_key = await client.post(
                "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": key}
            )
            assert by_key.status_code == 200 and by_key.json()["data"]["apiKeys"]
        # Still limited meanwhile, by this process's own counts.
        for _ in range(3):
            await client.post("/v1/keys/verify", json={"key": UNKNOWN_KEY}, headers=SERVICE)
        limited = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
        assert limited.status_code == 429
        metrics = (await client.get("/metrics")).text
        assert "apikeys_ratelimit_errors_total" in metrics
        errors = next(
            line for line in metrics.splitlines() if line.startswith("apikeys_ratelimit_errors")
        )
        assert float(errors.split()[-1]) >= 1


def make_token() -> str:
    from service.settings import JwtSettings, Secret
    from service.web.auth import Authenticator
    from tests.helpers import TEST_JWT_SECRET

    settings = JwtSettings(Secret(TEST_JWT_SECRET.encode()), None, None, None)
    return Authenticator(settings).issue("alice")
