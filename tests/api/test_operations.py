"""Running it like a product: health, readiness, metrics, request ids and CORS."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from service.app import create_app
from service.settings import Settings
from service.storage.migrations import migration_files
from tests.api.documents import LIST
from tests.api.test_verify import SERVICE
from tests.helpers import PRODUCTION, Api, Database, base_env, make_settings


async def test_healthz_says_the_process_is_alive(api: Api) -> None:
    response = await api.client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_is_ok_when_migrated_and_reachable(api: Api) -> None:
    response = await api.client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield client


async def test_readyz_lists_pending_migrations(tmp_path: Path) -> None:
    settings = Settings.from_env(base_env(f"sqlite://{tmp_path / 'empty.sqlite3'}"))
    async for client in client_for(settings):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["pendingMigrations"] == migration_files("sqlite")
        assert (await client.get("/healthz")).status_code == 200


async def test_in_production_readyz_says_only_a_status_word_and_logs_the_rest(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    env = {**base_env(f"sqlite://{tmp_path / 'empty.sqlite3'}"), **PRODUCTION}
    async for client in client_for(Settings.from_env(env)):
        with caplog.at_level(logging.WARNING, logger="apikeys.health"):
            response = await client.get("/readyz")
        assert (response.status_code, response.json()) == (503, {"status": "unavailable"})
        assert migration_files("sqlite")[0] in caplog.text
    env = {**base_env("postgres://postgres@127.0.0.1:1/nowhere"), **PRODUCTION}
    async for client in client_for(Settings.from_env(env)):
        response = await client.get("/readyz")
        assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


async def test_readyz_is_503_when_the_database_is_unreachable() -> None:
    settings = Settings.from_env(base_env("postgres://postgres@127.0.0.1:1/nowhere"))
    async for client in client_for(settings):
        response = await client.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unreachable"}
        assert (await client.get("/healthz")).status_code == 200


async def test_metrics_count_requests_operations_verifications_and_keys(
    app: Starlette, api: Api
) -> None:
    key = (await api.data(LIST))["apiKeys"][0]["key"]
    await api.gql("{ nope }")
    await api.gql("{ apiKeys { id ")
    await api.client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
    await api.client.post("/v1/keys/verify", json={"key": "blk_bad"}, headers=SERVICE)
    await api.client.post("/v1/keys/verify", json={"key": key})
    response = await api.client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    for line in (
        'apikeys_http_requests_total{method="POST",route="/graphql",status="200"} 3.0',
        'apikeys_graphql_operations_total{operation="query apiKeys",outcome="ok"} 1.0',
        'apikeys_graphql_operations_total{operation="query other",outcome="error"} 1.0',
        'apikeys_graphql_operations_total{operation="invalid",outcome="error"} 1.0',
        'apikeys_verifications_total{result="valid"} 1.0',
        'apikeys_verifications_total{result="MALFORMED"} 1.0',
        'apikeys_verifications_total{result="UNAUTHORIZED"} 1.0',
        "apikeys_tracker_buffered_keys 1.0",
        "apikeys_keys_stored 1.0",
    ):
        assert line in text, line
    assert 'apikeys_http_request_duration_seconds_bucket{le="0.005",route="/graphql"}' in text
    assert "apikeys_tracker_flush_lag_seconds" in text
    await app.state.tracker.flush()
    assert "apikeys_tracker_flushes 1.0" in (await api.client.get("/metrics")).text
    assert key not in text


async def test_every_response_carries_a_request_id(api: Api) -> None:
    generated = await api.client.get("/healthz")
    assert len(generated.headers["X-Request-Id"]) == 32
    echoed = await api.client.get("/healthz", headers={"X-Request-Id": "gateway-123"})
    assert echoed.headers["X-Request-Id"] == "gateway-123"
    unsafe = await api.client.get("/healthz", headers={"X-Request-Id": "a b\x7f" + "x" * 80})
    assert len(unsafe.headers["X-Request-Id"]) == 32


@pytest.fixture
async def cors_api(database: Database) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(database, APIKEYS_CORS_ORIGINS="https://app.example.com")
    async for client in client_for(settings):
        yield client


async def test_cors_allows_only_the_configured_origins(cors_api: httpx.AsyncClient) -> None:
    preflight = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    allowed = await cors_api.options(
        "/graphql", headers={"Origin": "https://app.example.com", **preflight}
    )
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    refused = await cors_api.options(
        "/graphql", headers={"Origin": "https://evil.example.com", **preflight}
    )
    assert "access-control-allow-origin" not in refused.headers


async def test_without_configured_origins_there_are_no_cors_headers(api: Api) -> None:
    response = await api.client.get("/healthz", headers={"Origin": "https://app.example.com"})
    assert "access-control-allow-origin" not in response.headers
