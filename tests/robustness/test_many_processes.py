"""One service across many processes: failure limits shared through Redis, metrics summed over
workers, and the service's own secrets rotated while two processes serve."""

from __future__ import annotations

import asyncio
import itertools
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from service.domain.key_format import KeyFormat
from service.settings import JwtSettings, Secret, generate_secret
from service.web.auth import Authenticator
from tests.api.test_secret_scanning import ENDPOINT, Partner, report
from tests.helpers import (
    ROOT,
    TEST_ENCRYPTION_KEY,
    TEST_JWT_SECRET,
    TEST_PEPPER,
    TEST_SERVICE_TOKEN,
    Database,
    base_env,
)
from tests.report import record
from tests.servers import Server

SERVICE = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
SESSIONS = Authenticator(JwtSettings(Secret(TEST_JWT_SECRET.encode()), None, None, None))


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    """The servers a test starts; each stopped at its end."""
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


async def test_two_processes_share_one_failure_limit(
    postgres: Database, redis_url: str, redis_prefix: str, servers: list[Server], tmp_path: Path
) -> None:
    env = {
        "APIKEYS_REDIS_URL": redis_url,
        "APIKEYS_REDIS_KEY_PREFIX": redis_prefix,
        "APIKEYS_VERIFY_MAX_FAILURES": "20",
    }
    servers.extend(Server(postgres.url, tmp_path, **env) for _ in range(2))
    for server in servers:
        server.wait_ready()
    unknown = KeyFormat("blk_").generate()
    statuses = []
    for n in range(40):
        async with httpx.AsyncClient(base_url=servers[n % 2].url) as client:
            answer = await client.post(
                "/v1/keys/verify",
                json={"key": unknown, "clientAddress": "203.0.113.50"},
                headers=SERVICE,
            )
        statuses.append(answer.status_code)
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) <= 21, statuses
    assert statuses[-1] == 429
    record("failed verifications sent across two processes", len(statuses))


async def test_metrics_are_the_sum_over_all_workers(
    postgres: Database, servers: list[Server], tmp_path: Path
) -> None:
    server = Server(postgres.url, tmp_path, workers=2, TMPDIR=str(tmp_path))
    servers.append(server.wait_ready())
    async with httpx.AsyncClient(base_url=server.url) as client:
        for _ in range(40):
            assert (await client.get("/healthz")).status_code == 200
        totals = []
        for _ in range(6):
            # A connection each: the load balancer of the workers is the kernel's accept queue.
            async with httpx.AsyncClient(base_url=server.url) as scraper:
                text = (await scraper.get("/metrics")).text
            found = re.search(
                r'apikeys_http_requests_total\{method="GET",route="/healthz",status="200"\} (\S+)',
                text,
            )
            assert found is not None, text[:2000]
            totals.append(float(found[1]))
    assert totals == [40.0] * 6
    directories = list(tmp_path.glob("apikeys-metrics-*"))
    assert len(directories) == 1, "apikeys serve keeps the workers' metrics in a directory"
    server.stop()
    assert not directories[0].exists(), "and removes it when it stops"


KEYS = 100
USERS = 20  # five keys each


async def make_keys(server: Server) -> dict[str, list[str]]:
    """`KEYS` keys, made through the API, under the test suite's pepper and encryption key."""
    made: dict[str, list[str]] = {}
    create = "mutation($n: String!) { createApiKey(input: {name: $n}) { __typename } }"
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
        for n in range(USERS):
            user = f"rotation-{n}"
            headers = {"Authorization": f"Bearer {SESSIONS.issue(user)}"}
            for m in range(4):
                body = {"query": create, "variables": {"n": f"key {m}"}}
                assert (await client.post("/graphql", json=body, headers=headers)).is_success
            made[user] = await revealed(client, headers)
    assert sum(len(keys) for keys in made.values()) == KEYS
    return made


async def revealed(client: httpx.AsyncClient, headers: dict[str, str]) -> list[str]:
    answer = await client.post("/graphql", json={"query": "{ apiKeys { key } }"}, headers=headers)
    return [k["key"] for k in answer.json()["data"]["apiKeys"]]


async def verify_all(server: Server, keys: list[str], clients: int = 8) -> list[str]:
    """Every key verified once, by `clients` concurrent clients; the answers not `valid`."""
    failures: list[str] = []

    async def verify_share(share: list[str]) -> None:
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as client:
            for key in share:
                answer = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
                if answer.status_code != 200 or answer.json().get("valid") is not True:
                    failures.append(f"{answer.status_code} {answer.text}")

    await asyncio.gather(*(verify_share(keys[n::clients]) for n in range(clients)))
    return failures


def rotate_secrets(env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "service.cli", "rotate-secrets", *args],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def checked(env: dict[str, str]) -> tuple[int, str]:
    """`apikeys rotate-secrets --check`: its exit code and what it printed."""
    output, _ = (check := rotate_secrets(env, "--check")).communicate(timeout=120)
    return check.returncode, output


async def test_secrets_rotate_while_two_processes_serve(
    postgres: Database, servers: list[Server], tmp_path: Path
) -> None:
    new_pepper, new_key = generate_secret(), generate_secret()
    rotating = {
        "APIKEYS_PEPPER": new_pepper,
        "APIKEYS_ENCRYPTION_KEY": new_key,
        "APIKEYS_PREVIOUS_PEPPERS": TEST_PEPPER,
        "APIKEYS_PREVIOUS_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
    }
    before = Server(postgres.url, tmp_path)
    servers.append(before.wait_ready())
    made = await make_keys(before)
    before.stop()
    keys = [key for user_keys in made.values() for key in user_keys]

    # Both processes run with the new values current and the old ones previous; one without
    # the verified-key cache, so that its every verification looks the secret up in the
    # database while the rotation rewrites it.
    serving = [
        Server(postgres.url, tmp_path, **rotating).wait_ready(),
        Server(postgres.url, tmp_path, APIKEYS_VERIFY_CACHE_SECONDS="0", **rotating).wait_ready(),
    ]
    servers.extend(serving)
    env = {**base_env(postgres.url), **rotating}
    # (The database may hold other tests' keys too: all are rewritten.)
    code, output = checked(env)
    pending = re.search(r"([\d,]+) still need a previous", output)
    assert code == 1 and pending and int(pending[1].replace(",", "")) >= KEYS, output

    verified = rounds_during_rotation = 0
    rotation = rotate_secrets(env, "--batch-size", "1")
    for server in itertools.cycle(serving):
        if rotation.poll() is not None:
            break
        found = await verify_all(server, keys)
        verified += len(keys)
        rounds_during_rotation += 1
        assert not found, found[:3]
    output, _ = rotation.communicate(timeout=60)
    assert rotation.returncode == 0, output
    rewritten = re.search(r"done: ([\d,]+) stored secrets rewritten", output)
    assert rewritten and int(rewritten[1].replace(",", "")) >= KEYS, output
    assert rounds_during_rotation >= 2, "the rotation ran while verifications went on"
    record("verifications during a rotation of the pepper and encryption key", verified)
    for server in serving:
        assert await verify_all(server, keys) == []
    code, output = checked(env)
    assert code == 0, output

    # A restart with only the new values: every key still verifies and reveals.
    for server in serving:
        server.stop()
    after = Server(
        postgres.url, tmp_path, APIKEYS_PEPPER=new_pepper, APIKEYS_ENCRYPTION_KEY=new_key
    ).wait_ready()
    servers.append(after)
    assert await verify_all(after, keys) == []
    async with httpx.AsyncClient(base_url=after.url, timeout=30) as client:
        for user, user_keys in made.items():
            headers = {"Authorization": f"Bearer {SESSIONS.issue(user)}"}
            assert sorted(await revealed(client, headers)) == sorted(user_keys)


async def test_a_reported_key_fails_at_once_in_every_process(
    postgres: Database, servers: list[Server], tmp_path: Path
) -> None:
    partner = Partner(tmp_path / "partner-keys.json")
    partner.publish()
    env = {"APIKEYS_SECRET_SCANNING_KEYS": str(partner.keys_file)}
    servers.extend(Server(postgres.url, tmp_path, **env).wait_ready() for _ in range(2))
    first, second = servers
    async with httpx.AsyncClient(base_url=first.url) as client:
        headers = {"Authorization": f"Bearer {SESSIONS.issue('leaky')}"}
        create = 'mutation { createApiKey(input: {name: "CI"}) { ... on ApiKey { key } } }'
        made = await client.post("/graphql", json={"query": create}, headers=headers)
        key = made.json()["data"]["createApiKey"]["key"]
    for _ in range(3):  # the other process remembers the key as verified
        assert await verify_all(second, [key]) == []
    body = report(key)
    async with httpx.AsyncClient(base_url=first.url) as client:
        answer = await client.post(ENDPOINT, content=body, headers=partner.signed(body))
    assert answer.json()[0]["label"] == "true_positive"
    async with httpx.AsyncClient(base_url=second.url) as client:
        verdict = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
    assert verdict.json() == {"valid": False, "reason": "REVOKED"}


async def test_an_expired_key_fails_on_the_next_request_in_every_process(
    postgres: Database, servers: list[Server], tmp_path: Path
) -> None:
    servers.extend(Server(postgres.url, tmp_path).wait_ready() for _ in range(2))
    expires = datetime.now(UTC) + timedelta(seconds=3)
    create = """mutation ($at: DateTime) { createApiKey(input: {name: "brief", expiresAt: $at}) {
      ... on ApiKey { key } } }"""
    async with httpx.AsyncClient(base_url=servers[0].url) as client:
        headers = {"Authorization": f"Bearer {SESSIONS.issue('brief')}"}
        made = await client.post(
            "/graphql",
            json={"query": create, "variables": {"at": expires.isoformat()}},
            headers=headers,
        )
        key = made.json()["data"]["createApiKey"]["key"]
    for server in servers:  # each process remembers the key as verified
        assert await verify_all(server, [key, key]) == []
    await asyncio.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.05)
    for server in servers:
        async with httpx.AsyncClient(base_url=server.url) as client:
            verdict = await client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
        assert verdict.json() == {"valid": False, "reason": "EXPIRED"}


async def test_a_narrowed_scope_holds_on_the_next_request_in_every_process(
    postgres: Database, servers: list[Server], tmp_path: Path
) -> None:
    servers.extend(Server(postgres.url, tmp_path).wait_ready() for _ in range(2))
    first, second = servers
    headers = {"Authorization": f"Bearer {SESSIONS.issue('narrowing')}"}
    create = 'mutation { createApiKey(input: {name: "CI"}) { ... on ApiKey { id key } } }'
    async with httpx.AsyncClient(base_url=first.url) as client:
        made = (await client.post("/graphql", json={"query": create}, headers=headers)).json()
    key = made["data"]["createApiKey"]
    use = {"key": key["key"], "workflowId": "deploy", "clientAddress": "203.0.113.7"}
    async with httpx.AsyncClient(base_url=second.url) as at_second:
        for _ in range(3):  # the other process remembers the key as verified
            answer = await at_second.post("/v1/keys/verify", json=use, headers=SERVICE)
            assert answer.json()["valid"] is True
        narrow = """mutation ($input: UpdateApiKeyInput!) { updateApiKey(input: $input) {
          __typename } }"""
        for scope, refusal in (
            ({"workflowIds": ["report"]}, "WORKFLOW_NOT_ALLOWED"),
            ({"workflowIds": None, "allowedAddresses": ["198.51.100.0/24"]}, "ADDRESS_NOT_ALLOWED"),
        ):
            body = {"query": narrow, "variables": {"input": {"id": key["id"], **scope}}}
            async with httpx.AsyncClient(base_url=first.url) as client:
                changed = await client.post("/graphql", json=body, headers=headers)
            assert changed.json()["data"]["updateApiKey"]["__typename"] == "ApiKey"
            answer = await at_second.post("/v1/keys/verify", json=use, headers=SERVICE)
            assert answer.json() == {"valid": False, "reason": refusal}
