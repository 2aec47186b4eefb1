"""An address or a user agent from outside can never break what records it: the gateway's
`clientAddress`, the connection's peer (uvicorn takes it from `X-Forwarded-For` when a trusted
proxy sends one) and user agents are made canonical and checked before anything stores them.
An unusable one is not recorded, and never changes a verdict."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from service.domain.usage import Use
from service.settings import Settings
from service.web.auth import Authenticator
from tests.api.documents import CREATE, LIST
from tests.api.test_audit import EVENTS
from tests.api.test_usage import USAGE
from tests.api.test_verify import SERVICE, default_key, verify
from tests.helpers import Api, Database, make_settings
from tests.report import record
from tests.servers import Server
from tests.test_origins import LENGTHENED

TOO_LONG = "a" * 65
UNUSABLE = [TOO_LONG, LENGTHENED, "not an address", "203.0.113.7, 10.0.0.1"]


async def metric(client: httpx.AsyncClient, name: str) -> float:
    metrics = (await client.get("/metrics")).text
    line = next(line for line in metrics.splitlines() if line.startswith(name + " "))
    return float(line.split()[-1])


async def test_a_client_address_that_grows_when_canonical_is_not_recorded_nor_poisons_usage(
    app: Starlette, api: Api
) -> None:
    alice = (await default_key(api))["key"]
    bob = (await default_key(api, user="bob"))["key"]
    answer = await verify(api, alice, clientAddress=LENGTHENED)
    assert answer.json()["valid"] is True
    assert (await verify(api, bob, clientAddress="2001:DB8::0:1")).json()["valid"] is True
    await app.state.tracker.flush()
    # Alice's use is recorded from the connection's own address; Bob's from his, canonical.
    used = (await api.data(USAGE))["apiKeys"][0]
    assert used["lastUsedFrom"]["clientAddress"] == "127.0.0.1"
    assert used["usage"][-1]["uses"] == 1
    bobs = (await api.data(USAGE, user="bob"))["apiKeys"][0]
    assert bobs["lastUsedFrom"]["clientAddress"] == "2001:db8::1"
    assert app.state.tracker.failed_flushes == 0 and app.state.tracker.dropped == 0
    assert await metric(api.client, "apikeys_tracker_dropped_total") == 0
    record("hostile client addresses tried")


@pytest.mark.parametrize("forwarded", UNUSABLE)
async def test_a_forwarded_address_that_is_no_address_is_not_recorded(
    app: Starlette, settings: Settings, forwarded: str
) -> None:
    """What uvicorn makes of `X-Forwarded-For` from a trusted proxy is the request's client."""
    transport = httpx.ASGITransport(app=app, client=(forwarded, 0))
    async with httpx.AsyncClient(transport=transport, base_url="http://apikeys.test") as client:
        api = Api(client, Authenticator(settings.jwt))
        created = (await api.data(CREATE, name="from a proxy"))["createApiKey"]
        assert created["__typename"] == "ApiKey"
        events = (await api.data(EVENTS))["apiKeyEvents"]["edges"]
        assert {e["node"]["clientAddress"] for e in events} == {None}
        by_key = await client.post(
            "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": created["key"]}
        )
        assert by_key.status_code == 200 and "errors" not in by_key.json()
        await app.state.tracker.flush()
        assert app.state.tracker.failed_flushes == 0 and app.state.tracker.dropped == 0
        listed = {k["name"]: k for k in (await api.data(USAGE))["apiKeys"]}
        assert listed["from a proxy"]["lastUsedFrom"]["clientAddress"] is None
    record("hostile client addresses tried")


async def test_an_entry_no_column_holds_is_dropped_and_every_other_use_is_written(
    app: Starlette, api: Api
) -> None:
    """Should anything unstorable reach the tracker after all, it costs that entry alone."""
    alice = await default_key(api)
    bob = (await default_key(api, user="bob"))["key"]
    tracker = app.state.tracker
    # Past the edge (which would have removed it): a lone surrogate, which no database encodes.
    tracker.record(alice["id"], use=Use(None, "203.0.113.1", "\ud800"))
    assert (await verify(api, bob)).json()["valid"] is True
    await tracker.flush()
    assert tracker.dropped == 1 and tracker.failed_flushes == 0
    assert await metric(api.client, "apikeys_tracker_dropped_total") == 1
    bobs = (await api.data(USAGE, user="bob"))["apiKeys"][0]
    assert bobs["lastUsedFrom"]["clientAddress"] == "127.0.0.1"
    alices = (await api.data(USAGE))["apiKeys"][0]
    assert alices["usage"][-1]["uses"] == 1, "the use's day was written"
    # Nothing is left behind to fail again: the next uses are written as usual.
    assert (await verify(api, alice["key"], userAgent="cli/3")).json()["valid"] is True
    await tracker.flush()
    alices = (await api.data(USAGE))["apiKeys"][0]
    assert alices["lastUsedFrom"]["userAgent"] == "cli/3" and alices["usage"][-1]["uses"] == 2
    assert tracker.dropped == 1


async def test_a_65_character_forwarded_for_through_a_real_server_is_harmless(
    postgres: Database, tmp_path: Path
) -> None:
    """The attack as a stranger sends it: uvicorn trusts `X-Forwarded-For` from 127.0.0.1."""
    server = Server(postgres.url, tmp_path, APIKEYS_TRACKER_FLUSH_SECONDS="0.1").wait_ready()
    sessions = Authenticator(make_settings(postgres).jwt)
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            hostile = {"X-Forwarded-For": TOO_LONG, "User-Agent": "x" * 600}
            session = {"Authorization": f"Bearer {sessions.issue('xff-victim')}", **hostile}
            body = {"query": CREATE, "variables": {"name": "through a proxy"}}
            created = (await client.post("/graphql", json=body, headers=session)).json()
            assert created["data"]["createApiKey"]["__typename"] == "ApiKey", created
            key = created["data"]["createApiKey"]["key"]
            stranger = {"key": key, "clientAddress": LENGTHENED}
            for _ in range(3):
                answer = await client.post(
                    "/v1/keys/verify", json=stranger, headers={**SERVICE, **hostile}
                )
                assert answer.json()["valid"] is True
            other = {"Authorization": f"Bearer {sessions.issue('xff-bystander')}"}
            listed = await client.post("/graphql", json={"query": LIST}, headers=other)
            bystander = listed.json()["data"]["apiKeys"][0]["key"]
            answer = await client.post("/v1/keys/verify", json={"key": bystander}, headers=SERVICE)
            assert answer.json()["valid"] is True
            for _ in range(50):  # the tracker flushes every 0.1 s
                usage = await client.post(
                    "/graphql", json={"query": "{ apiKeys { lastUsedAt } }"}, headers=other
                )
                if usage.json()["data"]["apiKeys"][0]["lastUsedAt"] is not None:
                    break
                await asyncio.sleep(0.1)
            else:
                raise AssertionError("the bystander's use was never written")
            assert await metric(client, "apikeys_tracker_flush_failures") == 0
    finally:
        assert server.stop() in (0, -signal.SIGTERM)
    assert "Lost the usage" not in server.output()
    record("hostile client addresses tried")
