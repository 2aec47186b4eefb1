"""A revoked or deleted key never verifies again once its change was answered, even at a process
that a silent partition cuts off from PostgreSQL without either side noticing.

Two `apikeys serve` processes share one database: A talks to it through a proxy the test breaks,
B directly. A has verified a key (and remembers it); the key is deleted through B. Once B has
answered, A must never answer that key valid again: it has either heard of the deletion or
stopped using its caches (see `service.storage.listener`).
"""

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
CREATE = """mutation ($name: String!) { createApiKey(input: {name: $name}) {
  __typename ... on ApiKey { id key } } }"""
DELETE = """mutation ($id: ID!) { deleteApiKey(input: {id: $id}) { __typename } }"""


@pytest.fixture
def proxy(postgres: Database) -> Iterator[CuttableProxy]:
    target = urlsplit(postgres.url)
    with CuttableProxy(target.hostname or "127.0.0.1", target.port or 5432) as breakable:
        yield breakable


def servers(postgres: Database, proxy: CuttableProxy, workdir: Path) -> tuple[Server, Server]:
    target = urlsplit(postgres.url)
    via_proxy = postgres.url.replace(f"{target.hostname}:{target.port}", f"127.0.0.1:{proxy.port}")
    common = {
        "APIKEYS_VERIFY_MAX_FAILURES": "100000",
        "APIKEYS_TRACKER_FLUSH_SECONDS": "0.05",
        "APIKEYS_DATABASE_TIMEOUT_SECONDS": "1",
    }
    # The proxy reads the database's messages: no TLS between A and the proxy.
    cut_off = Server(via_proxy, workdir / "a", PGSSLMODE="disable", **common)
    direct = Server(postgres.url, workdir / "b", **common)
    return cut_off.wait_ready(), direct.wait_ready()


async def verdict(client: httpx.AsyncClient, key: str) -> str:
    """`valid`, a refusal's reason, or the error code of an answer that is no verdict."""
    answer = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE, timeout=30)
    body: dict[str, Any] = answer.json()
    if "error" in body:
        return f"{answer.status_code} {body['error']['code']}"
    return "valid" if body["valid"] else str(body["reason"])


@pytest.mark.parametrize("partition", ["silent", "silent after one notification"])
async def test_a_deleted_key_never_verifies_at_a_silently_partitioned_process(
    postgres: Database, proxy: CuttableProxy, tmp_path: Path, partition: str
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = servers(postgres, proxy, tmp_path)
    sessions = Authenticator(make_settings(postgres).jwt)
    user = f"partition-{os.getpid()}-{time.monotonic_ns()}"
    headers = {"Authorization": f"Bearer {sessions.issue(user)}"}
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as at_a,
            httpx.AsyncClient(base_url=b.url, timeout=30) as at_b,
        ):
            body = {"query": CREATE, "variables": {"name": "partitioned"}}
            created = (await at_b.post("/graphql", json=body, headers=headers)).json()
            key = created["data"]["createApiKey"]
            await asyncio.sleep(1.5)  # A's key-change listener is connected
            for _ in range(5):  # A remembers the key
                assert await verdict(at_a, key["key"]) == "valid"
            await asyncio.sleep(0.5)  # A's flush of those uses (and its notification) is done

            if partition == "silent":
                proxy.silence()
            else:
                proxy.silence_after_notification()
            deleted = await at_b.post(
                "/graphql", json={"query": DELETE, "variables": {"id": key["id"]}}, headers=headers
            )
            assert deleted.json()["data"]["deleteApiKey"]["__typename"] == "DeletedApiKey"
            assert proxy.went_silent(), "the partition never happened: the test proved nothing"

            # From the moment B answered, for longer than A's cache would have lived without
            # a lease: A answers UNKNOWN (it asks the database) or UNAVAILABLE (it cannot).
            answers: list[str] = []
            until = time.monotonic() + 4
            while time.monotonic() < until:
                answers += await asyncio.gather(*(verdict(at_a, key["key"]) for _ in range(4)))
            assert "valid" not in answers, answers
            assert set(answers) <= {"UNKNOWN", "503 UNAVAILABLE"}, answers
            if partition != "silent":
                assert set(answers) == {"UNKNOWN"}, "A's other connections were never cut"

            proxy.restore()
            # A comes back by itself, remembering nothing it should not.
            other = (
                await at_b.post(
                    "/graphql", json=body | {"variables": {"name": "after"}}, headers=headers
                )
            ).json()["data"]["createApiKey"]
            deadline = time.monotonic() + 20
            while await verdict(at_a, other["key"]) != "valid":
                assert time.monotonic() < deadline, "A did not recover by itself"
                await asyncio.sleep(0.2)
            assert await verdict(at_a, key["key"]) == "UNKNOWN"
    finally:
        for server in (a, b):
            assert server.stop() in (0, -signal.SIGTERM)
    record("partitions survived (a deleted key never verified after its deletion was answered)")
