"""Faults lose nothing: the database connection cut under load, and a server killed with -9."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from service.web.auth import Authenticator
from tests.helpers import TEST_SERVICE_TOKEN, Database, make_settings
from tests.report import record
from tests.robustness.proxy import CuttableProxy
from tests.servers import Server

SERVICE = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
QUIET_KEYS = "{ apiKeys { id name isDefault } }"
CREATE = """mutation ($name: String!) { createApiKey(input: {name: $name}) {
  __typename ... on ApiKey { id } ... on UserError { code } } }"""
DELETE = """mutation ($id: ID!) { deleteApiKey(input: {id: $id}) {
  __typename ... on UserError { code } } }"""
EVENTS = """query ($after: String) { apiKeyEvents(first: 100, after: $after) {
  edges { node { kind keyId } } pageInfo { hasNextPage endCursor } } }"""


class Session:
    def __init__(self, client: httpx.AsyncClient, sessions: Authenticator, user: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {sessions.issue(user)}"}

    async def gql(self, query: str, **variables: Any) -> httpx.Response:
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=self.headers
        )

    async def data(self, query: str, **variables: Any) -> dict[str, Any]:
        response = await self.gql(query, **variables)
        body = response.json()
        assert response.status_code == 200 and "errors" not in body, response.text
        data: dict[str, Any] = body["data"]
        return data

    async def all_events(self) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = []
        after = None
        while True:
            page = (await self.data(EVENTS, after=after))["apiKeyEvents"]
            events += [edge["node"] for edge in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                return events
            after = page["pageInfo"]["endCursor"]


def clean_outage_answer(response: httpx.Response) -> bool:
    """During an outage the only acceptable failures are typed, retryable ones."""
    if response.request.url.path == "/v1/keys/verify":
        return response.status_code == 503 and response.json()["error"]["code"] == "UNAVAILABLE"
    body = response.json()
    codes = {e.get("extensions", {}).get("code") for e in body.get("errors", [])}
    return response.status_code == 200 and codes == {"UNAVAILABLE"}


def check_trail(keys: list[dict[str, Any]], events: list[dict[str, Any]]) -> None:
    """No change half applied: every key has its CREATED event; no DELETED key remains."""
    created = {e["keyId"] for e in events if e["kind"] == "CREATED"}
    deleted = {e["keyId"] for e in events if e["kind"] == "DELETED"}
    ids = {k["id"] for k in keys}
    assert ids <= created, "a key exists without the event of its creation"
    assert not ids & deleted, "a key whose deletion was recorded still exists"
    assert sum(k["isDefault"] for k in keys) == 1 and len(keys) <= 5


@pytest.fixture
def proxy(postgres: Database) -> Iterator[CuttableProxy]:
    target = urlsplit(postgres.url)
    with CuttableProxy(target.hostname or "127.0.0.1", target.port or 5432) as cuttable:
        yield cuttable


async def test_a_cut_database_connection_fails_cleanly_and_recovers_by_itself(
    postgres: Database, proxy: CuttableProxy, tmp_path: Path
) -> None:
    target = urlsplit(postgres.url)
    via_proxy = postgres.url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    server = Server(via_proxy, tmp_path, APIKEYS_VERIFY_MAX_FAILURES="100000").wait_ready()
    sessions = Authenticator(make_settings(postgres).jwt)
    outcomes = {"ok": 0, "clean refusal": 0}
    # A change refused as UNAVAILABLE may still have committed (the connection can drop during
    # COMMIT, after the database applied it): such deletes are "uncertain", and must be either
    # wholly applied or wholly not.
    successes: dict[str, set[str]] = {"created": set(), "deleted": set(), "uncertain": set()}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            me = Session(client, sessions, f"faults-{os.getpid()}-{time.monotonic_ns()}")
            secret = (await me.data("{ apiKeys { key } }"))["apiKeys"][0]["key"]
            stop = asyncio.Event()

            def tally(response: httpx.Response) -> bool:
                body = response.json()
                if response.status_code == 200 and not body.get("errors") and not body.get("error"):
                    outcomes["ok"] += 1
                    return True
                assert clean_outage_answer(response), response.text
                outcomes["clean refusal"] += 1
                return False

            async def churn(worker: int) -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    created = await me.gql(CREATE, name=f"w{worker}-{n}")
                    if not tally(created):
                        continue
                    result = created.json()["data"]["createApiKey"]
                    if result["__typename"] != "ApiKey":
                        continue  # the limit, while an earlier delete was refused: fine
                    successes["created"].add(result["id"])
                    confirmed = tally(await me.gql(DELETE, id=result["id"]))
                    successes["deleted" if confirmed else "uncertain"].add(result["id"])

            async def verify() -> None:
                while not stop.is_set():
                    tally(
                        await client.post("/v1/keys/verify", json={"key": secret}, headers=SERVICE)
                    )

            load = [asyncio.create_task(churn(w)) for w in range(3)]
            load.append(asyncio.create_task(verify()))
            await asyncio.sleep(1.0)
            proxy.cut()
            await asyncio.sleep(2.0)
            assert (await client.get("/readyz")).status_code == 503
            proxy.restore()
            recovered_at = None
            deadline = time.monotonic() + 20
            while recovered_at is None and time.monotonic() < deadline:
                response = await client.post(
                    "/v1/keys/verify", json={"key": secret}, headers=SERVICE
                )
                if response.status_code == 200 and response.json()["valid"]:
                    recovered_at = time.monotonic()
                await asyncio.sleep(0.1)
            assert recovered_at is not None, "the service did not recover by itself"
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*load)

            keys = (await me.data(QUIET_KEYS))["apiKeys"]
            events = await me.all_events()
            assert (await client.get("/readyz")).status_code == 200
    finally:
        assert server.stop() in (0, -signal.SIGTERM)

    check_trail(keys, events)
    ids = {k["id"] for k in keys}
    recorded_deletes = {e["keyId"] for e in events if e["kind"] == "DELETED"}
    for key_id in successes["created"]:
        if key_id in successes["deleted"]:
            assert key_id not in ids, "a confirmed delete was undone"
        elif key_id in successes["uncertain"]:
            assert (key_id in ids) != (key_id in recorded_deletes), "a delete was half applied"
        else:
            assert key_id in ids, "a confirmed create was lost"
    assert outcomes["clean refusal"] > 0, "the cut was never noticed: the test proved nothing"
    record("faults injected (database connection cut)", proxy.cuts)
    record("requests answered during connection faults", sum(outcomes.values()))
    record("clean UNAVAILABLE refusals during faults", outcomes["clean refusal"])
    record("invariant violations", 0)


@pytest.mark.parametrize("engine", ["sqlite", "postgres"])
async def test_every_committed_change_survives_kill_9(
    databases: dict[str, Database | str], tmp_path: Path, engine: str
) -> None:
    db = databases[engine]
    if isinstance(db, str):
        if os.environ.get("CI") == "true":
            pytest.fail(db)
        pytest.skip(db)
    sessions = Authenticator(make_settings(db).jwt)
    user = f"kill9-{os.getpid()}-{time.monotonic_ns()}"
    confirmed: dict[str, str] = {}  # key id -> its confirmed name
    deleted: set[str] = set()
    # A delete in flight when the server died may or may not have committed; either is fine,
    # as long as it is wholly one or the other.
    uncertain: set[str] = set()

    server = Server(db.url, tmp_path).wait_ready()
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        me = Session(client, sessions, user)
        default = (await me.data("{ apiKeys { id key } }"))["apiKeys"][0]
        rotated = (
            await me.data(
                "mutation ($id: ID!) { rotateApiKey(input: {id: $id}) { ... on ApiKey { key } } }",
                id=default["id"],
            )
        )["rotateApiKey"]["key"]
        stop = asyncio.Event()

        async def churn() -> None:
            n = 0
            while not stop.is_set():
                n += 1
                try:
                    response = await me.gql(CREATE, name=f"k{n}")
                except httpx.TransportError:
                    return  # killed
                result = response.json()["data"]["createApiKey"]
                if result["__typename"] == "ApiKey":
                    confirmed[result["id"]] = f"k{n}"
                    try:
                        if (await me.gql(DELETE, id=result["id"])).status_code == 200:
                            deleted.add(result["id"])
                    except httpx.TransportError:
                        uncertain.add(result["id"])
                        return

        task = asyncio.create_task(churn())
        await asyncio.sleep(1.0)
        server.stop(signal.SIGKILL)
        stop.set()
        await task
    record("faults injected (kill -9)", 1)

    restarted = Server(db.url, tmp_path).wait_ready()
    try:
        async with httpx.AsyncClient(base_url=restarted.url, timeout=30) as client:
            me = Session(client, sessions, user)
            keys = (await me.data(QUIET_KEYS))["apiKeys"]
            events = await me.all_events()
            answer = await client.post("/v1/keys/verify", json={"key": rotated}, headers=SERVICE)
    finally:
        restarted.stop()
    assert answer.json()["valid"] is True, "the committed rotation was lost"
    check_trail(keys, events)
    names = {k["id"]: k["name"] for k in keys}
    recorded_deletes = {e["keyId"] for e in events if e["kind"] == "DELETED"}
    for key_id, name in confirmed.items():
        if key_id in deleted:
            assert key_id not in names, "a confirmed delete was undone"
        elif key_id in uncertain:
            assert (key_id in names) != (key_id in recorded_deletes), "a delete was half applied"
        else:
            assert names.get(key_id) == name, "a confirmed create was lost"
    assert confirmed, "no change was confirmed before the kill: the test proved nothing"
