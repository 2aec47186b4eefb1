"""`POST /v1/keys/verify`, the gateway's question, and what each answer leaves behind."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from service.cases.tracker import UsageTracker
from service.cases.verification import KeyVerifier
from service.domain.key_format import KeyFormat
from service.domain.usage import Use
from service.settings import Settings
from service.storage.engines import engine_of
from service.storage.repository import KeyRepository
from service.storage.usage_store import UsageStore
from tests.api.documents import CREATE, DELETE, LIST, ROTATE, UPDATE
from tests.helpers import TEST_SERVICE_TOKEN, Api, FakeClock, StatementLog

SERVICE = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}


async def verify(api: Api, key: Any, **extra: Any) -> httpx.Response:
    return await api.client.post("/v1/keys/verify", json={"key": key, **extra}, headers=SERVICE)


async def default_key(api: Api, user: str = "alice") -> dict[str, Any]:
    key: dict[str, Any] = (await api.data(LIST, user=user))["apiKeys"][0]
    return key


async def rotate(api: Api, key_id: str, grace: int | None = None) -> dict[str, Any]:
    query = ROTATE
    if grace is not None:
        query = ROTATE.replace("{id: $id}", f"{{id: $id, expireOldKeyInSeconds: {grace}}}")
    result: dict[str, Any] = (await api.data(query, id=key_id))["rotateApiKey"]
    return result


async def test_a_good_key_is_valid_and_names_its_owner(api: Api) -> None:
    key = await default_key(api)
    response = await verify(api, key["key"])
    assert response.status_code == 200
    assert response.json() == {
        "valid": True,
        "keyId": key["id"],
        "ownerId": "alice",
        "name": "Default",
        "workflowIds": None,  # every workflow of its owner
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TEST_SERVICE_TOKEN}],
    ids=["missing", "wrong", "no-scheme"],
)
async def test_the_service_token_is_required(api: Api, headers: dict[str, str]) -> None:
    key = await default_key(api)
    response = await api.client.post("/v1/keys/verify", json={"key": key["key"]}, headers=headers)
    assert response.status_code == 401
    assert "valid" not in response.json()


async def test_a_session_token_is_not_a_service_token(api: Api) -> None:
    key = await default_key(api)
    headers = {"Authorization": f"Bearer {api.token('alice')}"}
    response = await api.client.post("/v1/keys/verify", json={"key": key["key"]}, headers=headers)
    assert response.status_code == 401


async def test_malformed_keys_are_refused_without_a_database_lookup(
    api: Api, sql: StatementLog
) -> None:
    good = (await default_key(api))["key"]
    flipped = good[:10] + ("A" if good[10] != "A" else "B") + good[11:]
    candidates = ["", "blk_", good[:-1], good + "x", "sk_" + good[4:], good.upper(), flipped]
    sql.clear()
    for candidate in candidates:
        response = await verify(api, candidate)
        assert response.json() == {"valid": False, "reason": "MALFORMED"}, candidate
    assert sql.statements == []


async def test_a_well_formed_key_that_was_never_issued_is_unknown(api: Api) -> None:
    stranger = KeyFormat("blk_").generate()
    assert (await verify(api, stranger)).json() == {"valid": False, "reason": "UNKNOWN"}


async def test_a_deleted_key_fails_on_the_very_next_request(api: Api) -> None:
    created = (await api.data(CREATE, name="temp"))["createApiKey"]
    assert (await verify(api, created["key"])).json()["valid"] is True
    await api.data(DELETE, id=created["id"])
    assert (await verify(api, created["key"])).json() == {"valid": False, "reason": "UNKNOWN"}


async def test_a_use_shows_up_in_last_used_after_a_flush(app: Starlette, api: Api) -> None:
    key = await default_key(api)
    assert key["lastUsedAt"] is None
    await verify(api, key["key"])
    assert (await default_key(api))["lastUsedAt"] is None, "written before the flush"
    await app.state.tracker.flush()
    assert (await default_key(api))["lastUsedAt"] is not None


def idle_verifier(settings: Settings) -> tuple[KeyVerifier, UsageTracker]:
    """The real verifier and tracker over the real database, with no flush loop running, so
    that "within one interval" does not depend on how fast this machine is today."""
    engine = engine_of(settings.database_url)
    tracker = UsageTracker(UsageStore(engine), flush_seconds=5, max_buffered_keys=10_000)
    return KeyVerifier(KeyRepository(engine), settings.key_vault(), tracker), tracker


async def test_ten_thousand_uses_across_three_workflows_cost_one_flushs_rows(
    api: Api, settings: Settings, sql: StatementLog
) -> None:
    key = await default_key(api)
    verifier, tracker = idle_verifier(settings)
    sql.clear()
    for n in range(10_000):
        use = Use(f"workflow-{n % 3}", "203.0.113.7", "blk-cli/2.1")
        assert (await verifier.verify(key["key"], use)).valid
    assert len(sql.matching(r"^SELECT")) == 10_000
    assert sql.matching(r"^(UPDATE|INSERT|DELETE)") == []
    await tracker.flush()
    # One statement per table (on SQLite executed once per row), one flush's rows: the key's
    # last use, one day, three workflows.
    writes = sql.matching(r"^(UPDATE|INSERT)")
    assert len(writes) == 3, writes
    rows = await usage_rows(settings, key["id"])
    assert rows["days"] == [(1, 10_000)]
    assert sorted(uses for _, uses in rows["workflows"]) == [3333, 3333, 3334]
    listed = await default_key(api)
    assert listed["lastUsedAt"] is not None


async def usage_rows(settings: Settings, key_id: str) -> dict[str, list[tuple[Any, int]]]:
    conn = connections.get(engine_of(settings.database_url))
    _, days = await conn.execute_query(
        'SELECT COUNT(*) AS "n", SUM("uses") AS "uses" FROM "api_key_usage_days"'
        ' WHERE "api_key_id" = '
        + ("$1" if engine_of(settings.database_url) == "postgres" else "?"),
        [key_id],
    )
    _, workflows = await conn.execute_query(
        'SELECT "workflow_id", "uses" FROM "api_key_workflow_uses" WHERE "api_key_id" = '
        + ("$1" if engine_of(settings.database_url) == "postgres" else "?"),
        [key_id],
    )
    return {
        "days": [(int(r["n"]), int(r["uses"])) for r in days],
        "workflows": [(r["workflow_id"], int(r["uses"])) for r in workflows],
    }


async def test_uses_of_k_keys_cost_k_rows_per_flush(
    api: Api, settings: Settings, sql: StatementLog
) -> None:
    keys = [await default_key(api, user=f"user{n}") for n in range(7)]
    verifier, tracker = idle_verifier(settings)
    sql.clear()
    for _ in range(50):
        for key in keys:
            await verifier.verify(key["key"])
    await tracker.flush()
    postgres = settings.database_url.startswith("postgres")
    assert len(sql.matching(r"^UPDATE")) == (1 if postgres else 7)
    for key in keys:
        assert (await usage_rows(settings, key["id"]))["days"] == [(1, 50)]


async def test_last_used_never_moves_backwards(app: Starlette, api: Api, clock: FakeClock) -> None:
    key = await default_key(api)
    await verify(api, key["key"])
    await app.state.tracker.flush()
    latest = (await default_key(api))["lastUsedAt"]
    # Another process flushes an older use afterwards: it must not win.
    clock.advance(-600)
    await verify(api, key["key"])
    await app.state.tracker.flush()
    assert (await default_key(api))["lastUsedAt"] == latest


async def test_repeated_failures_from_one_address_are_slowed_down(
    api: Api, settings: Settings
) -> None:
    limit = settings.verify_failures.max_failures
    for _ in range(limit):
        assert (await verify(api, "blk_nope")).status_code == 200
    refused = await verify(api, "blk_nope")
    assert refused.status_code == 429
    assert 1 <= int(refused.headers["Retry-After"]) <= settings.verify_failures.window_seconds
    # Even a good key waits: the address is slowed down, not the key.
    good = (await default_key(api))["key"]
    assert (await verify(api, good)).status_code == 429
    # The gateway's other clients are not.
    assert (await verify(api, good, clientAddress="203.0.113.9")).json()["valid"] is True


async def test_client_addresses_are_counted_separately(api: Api, settings: Settings) -> None:
    for _ in range(settings.verify_failures.max_failures):
        await verify(api, "blk_nope", clientAddress="198.51.100.1")
    assert (await verify(api, "blk_nope", clientAddress="198.51.100.1")).status_code == 429
    assert (await verify(api, "blk_nope", clientAddress="198.51.100.2")).status_code == 200


@pytest.mark.parametrize(
    ("content", "status"),
    [
        (b"not json", 400),
        (b"[]", 400),
        (b'{"key": 42}', 400),
        (b'{"key": null}', 400),
        (b"{}", 400),
        (b'{"key": "' + b"a" * 5000 + b'"}', 413),
    ],
)
async def test_bad_bodies_are_refused(api: Api, content: bytes, status: int) -> None:
    headers = {**SERVICE, "Content-Type": "application/json"}
    response = await api.client.post("/v1/keys/verify", content=content, headers=headers)
    assert response.status_code == status
    assert response.json()["error"]["code"]


async def wait_for_cache(app: Starlette) -> Any:
    cache = app.state.verified_keys
    assert cache is not None, "verified keys are cached on PostgreSQL"
    for _ in range(100):
        if cache.live:
            return cache
        await asyncio.sleep(0.05)
    raise AssertionError("the key change listener never connected")


POSTGRES_ONLY = pytest.mark.parametrize("database", ["postgres"], indirect=True)


@POSTGRES_ONLY
async def test_on_postgresql_a_verified_key_is_answered_from_memory(
    app: Starlette, api: Api, sql: StatementLog
) -> None:
    await wait_for_cache(app)
    key = await default_key(api)
    await verify(api, key["key"])
    sql.clear()
    for _ in range(5):
        assert (await verify(api, key["key"])).json()["valid"] is True
    assert sql.matching("^SELECT") == []


@POSTGRES_ONLY
@pytest.mark.parametrize("change", ["delete", "rotate", "rename"])
async def test_a_cached_key_is_forgotten_the_moment_it_changes(
    app: Starlette, api: Api, change: str
) -> None:
    await wait_for_cache(app)
    created = (await api.data(CREATE, name="cached"))["createApiKey"]
    target = created if change != "rotate" else await default_key(api)
    for _ in range(3):
        assert (await verify(api, target["key"])).json()["valid"] is True
    if change == "delete":
        await api.data(DELETE, id=target["id"])
        assert (await verify(api, target["key"])).json()["reason"] == "UNKNOWN"
    elif change == "rotate":
        await rotate(api, target["id"])
        assert (await verify(api, target["key"])).json()["reason"] == "EXPIRED"
    else:
        await api.data(UPDATE, input={"id": target["id"], "name": "renamed"})
        assert (await verify(api, target["key"])).json()["name"] == "renamed"


async def test_sqlite_runs_without_the_cache(app: Starlette, settings: Settings) -> None:
    """Several processes may share a SQLite file with no way to tell each other of changes."""
    cached = app.state.verified_keys is not None
    assert cached == settings.database_url.startswith("postgres")
