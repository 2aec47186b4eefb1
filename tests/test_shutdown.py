"""A real server stopped with SIGTERM in the middle of a verification load loses no use."""

from __future__ import annotations

import asyncio
import signal
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from service.app import create_app
from service.web.auth import Authenticator
from tests.helpers import TEST_SERVICE_TOKEN, Database, make_settings
from tests.servers import Server

USERS = [f"shutdown-{n}" for n in range(5)]


async def default_key(client: httpx.AsyncClient, sessions: Authenticator, user: str) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": "{ apiKeys { id key lastUsedAt } }"},
        headers={"Authorization": f"Bearer {sessions.issue(user)}"},
    )
    return response.json()["data"]["apiKeys"][0]


async def test_sigterm_under_load_loses_no_recorded_use(database: Database, tmp_path: Path) -> None:
    settings = make_settings(database)
    sessions = Authenticator(settings.jwt)
    server = Server(
        database.url,
        tmp_path,
        APIKEYS_TRACKER_FLUSH_SECONDS="5",  # longer than the load: only shutdown flushes
        APIKEYS_VERIFY_MAX_FAILURES="1000000",
    ).wait_ready()
    last_success: dict[str, float] = {}
    statuses: dict[int, int] = {}
    try:
        async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
            secrets = {}
            for user in USERS:
                key = await default_key(client, sessions, user)
                secrets[key["id"]] = key["key"]

            async def hammer(worker: int) -> None:
                n = worker
                while True:
                    key_id, secret = list(secrets.items())[n % len(secrets)]
                    n += 1
                    sent = time.time()
                    try:
                        response = await client.post(
                            "/v1/keys/verify",
                            json={"key": secret},
                            headers={"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"},
                        )
                    except httpx.TransportError:
                        return  # the server has stopped listening
                    statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                    if response.status_code == 200 and response.json()["valid"]:
                        last_success[key_id] = max(last_success.get(key_id, 0), sent)

            workers = [asyncio.create_task(hammer(w)) for w in range(16)]
            await asyncio.sleep(1.5)
            server.process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
    finally:
        server.stop()
    output = server.output()

    assert "Application shutdown complete." in output, output
    assert set(statuses) == {200}, f"in-flight requests failed: {statuses}"
    assert set(last_success) == set(secrets), "every key was used"
    served = sum(statuses.values())

    # Read back what the stopped server wrote.
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            for user in USERS:
                key = await default_key(client, sessions, user)
                assert key["lastUsedAt"] is not None, f"{user}'s uses were lost ({served} served)"
                written = datetime.fromisoformat(key["lastUsedAt"]).timestamp()
                assert written >= last_success[key["id"]] - 0.001, "the latest use was lost"
