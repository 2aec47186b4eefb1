"""A process killed (kill -9) while a change waits for its acknowledgement: the change is still
answered, without waiting out the acknowledgement timeout, and only once every live process has
forgotten the old state.

Three `apikeys serve` processes share one database. B is stopped (SIGSTOP: its session stays
open, it acknowledges nothing), a key is deleted through A, and A must wait for B; B is then
killed. A must notice that B's session ended, answer, and C must refuse the key from then on.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import httpx

from service.web.auth import Authenticator
from tests.helpers import TEST_SERVICE_TOKEN, Database, make_settings
from tests.report import record
from tests.servers import Server

SERVICE = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
CREATE = """mutation ($name: String!) { createApiKey(input: {name: $name}) {
  __typename ... on ApiKey { id key } } }"""
DELETE = """mutation ($id: ID!) { deleteApiKey(input: {id: $id}) { __typename } }"""
# A new connection's caches serve only after its warm-up (probe + operation + lease: 3 s); by
# then every process's view of who listens has been read again.
WARM_UP_SECONDS = 3.5
NOT_ACKNOWLEDGED = "did not acknowledge a key change"


async def verdict(client: httpx.AsyncClient, key: str) -> str:
    answer = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE, timeout=30)
    body: dict[str, Any] = answer.json()
    return "valid" if body["valid"] else str(body["reason"])


async def test_a_listener_killed_while_a_change_waits_for_it(
    postgres: Database, tmp_path: Path
) -> None:
    env = {"APIKEYS_VERIFY_MAX_FAILURES": "100000"}
    a, b, c = (Server(postgres.url, tmp_path, **env) for _ in range(3))
    for server in (a, b, c):
        server.wait_ready()
    sessions = Authenticator(make_settings(postgres).jwt)
    headers = {"Authorization": f"Bearer {sessions.issue(f'killed-{os.getpid()}')}"}
    try:
        async with (
            httpx.AsyncClient(base_url=a.url, timeout=30) as at_a,
            httpx.AsyncClient(base_url=c.url, timeout=30) as at_c,
        ):
            body = {"query": CREATE, "variables": {"name": "doomed"}}
            key = (await at_a.post("/graphql", json=body, headers=headers)).json()["data"][
                "createApiKey"
            ]
            await asyncio.sleep(WARM_UP_SECONDS)
            for _ in range(3):  # C remembers the key
                assert await verdict(at_c, key["key"]) == "valid"

            b.process.send_signal(signal.SIGSTOP)
            delete = {"query": DELETE, "variables": {"id": key["id"]}}
            deleting = asyncio.create_task(at_a.post("/graphql", json=delete, headers=headers))
            await asyncio.sleep(0.5)
            assert not deleting.done(), "A answered without B's acknowledgement"

            assert b.stop(signal.SIGKILL) == -signal.SIGKILL
            answer = await deleting
            assert answer.json()["data"]["deleteApiKey"]["__typename"] == "DeletedApiKey"
            # C had forgotten the key when A answered.
            assert await verdict(at_c, key["key"]) == "UNKNOWN"
            assert await verdict(at_a, key["key"]) == "UNKNOWN"
    finally:
        for server in (a, c):
            assert server.stop() in (0, -signal.SIGTERM)
    # A found B's session gone rather than waiting out its acknowledgement timeout.
    assert NOT_ACKNOWLEDGED not in a.output(), a.output()[-2000:]
    record("listeners killed while a change waited for them", 1)
