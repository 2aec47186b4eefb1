"""A real server stopped with SIGTERM in the middle of a verification load loses no use."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from service.app import create_app
from service.auth import Authenticator
from tests.conftest import TEST_SERVICE_TOKEN, Database, base_env, make_settings
from tests.test_cli import free_port

USERS = [f"shutdown-{n}" for n in range(5)]


async def default_key(client: httpx.AsyncClient, sessions: Authenticator, user: str) -> Any:
    response = await client.post(
        "/graphql",
        json={"query": "{ apiKeys { id key lastUsedAt } }"},
        headers={"Authorization": f"Bearer {sessions.issue(user)}"},
    )
    return response.json()["data"]["apiKeys"][0]


async def wait_until_up(url: str, server: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    async with httpx.AsyncClient() as client:
        while True:
            try:
                await client.get(url, headers={"Accept": "text/html"}, timeout=1)
                return
            except httpx.TransportError:
                assert server.poll() is None, "the server exited during start-up"
                assert time.monotonic() < deadline, "the server did not start"
                await asyncio.sleep(0.1)


async def test_sigterm_under_load_loses_no_recorded_use(database: Database, tmp_path: Path) -> None:
    settings = make_settings(database)
    sessions = Authenticator(settings.jwt)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        **base_env(database.url),
        "APIKEYS_TRACKER_FLUSH_SECONDS": "5",  # longer than the load: only shutdown flushes
        "APIKEYS_VERIFY_MAX_FAILURES": "1000000",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    last_success: dict[str, float] = {}
    statuses: dict[int, int] = {}
    try:
        await wait_until_up(f"{base}/graphql", server)
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
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
            server.send_signal(signal.SIGTERM)
            await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        output, _ = server.communicate(timeout=30)

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
