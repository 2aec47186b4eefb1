"""Nothing given away in production: no error suggests a name, a document with several operations
runs none unless the request names one, and /metrics answers only Prometheus's token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from service.app import create_app
from service.web.auth import Authenticator
from tests.helpers import PRODUCTION, Api, Database, empty_tables, make_settings

METRICS_TOKEN = "m" * 40

# One document per kind of name graphql-core would suggest, with the name it would suggest.
SUGGESTING = {
    "field": ("{ apiKeyz { id } }", "apiKeys"),
    "argument": ('{ apiKeys(usableFr: "x") { id } }', "usableFor"),
    "enum value": (
        '{ workflowRunCommand(workflowId: "x", method: RESTAPI) { maskedCommand } }',
        "REST_API",
    ),
    "input field": (
        'mutation { createApiKey(input: {name: "x", descripton: "y"}) { __typename } }',
        "description",
    ),
    "type": ("query ($i: CreateApiKeyInputt) { apiKeys { id } }", "CreateApiKeyInput"),
}


@asynccontextmanager
async def client_for(database: Database, **env: str) -> AsyncIterator[Api]:
    settings = make_settings(database, **env)
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        await empty_tables(database.backend)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Api(client, Authenticator(settings.jwt))


@pytest.fixture
async def production(database: Database) -> AsyncIterator[Api]:
    async with client_for(database, **PRODUCTION, APIKEYS_METRICS_TOKEN=METRICS_TOKEN) as api:
        yield api


@pytest.mark.parametrize("kind", list(SUGGESTING))
async def test_in_production_no_error_suggests_a_name(production: Api, api: Api, kind: str) -> None:
    query, suggested = SUGGESTING[kind]
    for user in ("alice", None):  # with a session, and without one
        refused = await production.gql(query, user=user)
        messages = " ".join(error["message"] for error in refused["errors"])
        assert "Did you mean" not in messages and f"'{suggested}'" not in messages, messages
    # Development still helps whoever writes the query.
    helped = await api.gql(query)
    assert "Did you mean" in " ".join(error["message"] for error in helped["errors"])


async def test_in_production_a_variable_is_not_answered_with_a_suggestion_either(
    production: Api,
) -> None:
    query = (
        "query ($m: RunMethod!) "
        '{ workflowRunCommand(workflowId: "x", method: $m) { maskedCommand } }'
    )
    refused = await production.gql(query, m="RESTAPI")
    assert "REST_API" not in refused["errors"][0]["message"]


@pytest.mark.parametrize("mode", ["development", "production"])
async def test_several_operations_without_a_name_run_none(
    production: Api, api: Api, mode: str
) -> None:
    client = production if mode == "production" else api
    before = len((await client.data("{ apiKeys { id } }"))["apiKeys"])
    document = (
        'mutation B { createApiKey(input: {name: "x"}) { __typename } } query A { __typename }'
    )
    refused = await client.gql(document)
    assert refused["data"] is None
    assert refused["errors"][0]["message"] == (
        "Must provide operation name if query contains multiple operations."
    )
    assert len((await client.data("{ apiKeys { id } }"))["apiKeys"]) == before, "nothing ran"
    named = await client.post(
        {"query": document, "operationName": "A"},
        {"Authorization": f"Bearer {client.token('alice')}"},
    )
    assert named.json() == {"data": {"__typename": "Query"}}


async def test_in_production_metrics_answer_only_the_scrapers_token(production: Api) -> None:
    assert (await production.client.get("/metrics")).status_code == 401
    wrong = await production.client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    session = {"Authorization": f"Bearer {production.token('alice')}"}
    assert (await production.client.get("/metrics", headers=session)).status_code == 401
    scraped = await production.client.get(
        "/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}
    )
    assert scraped.status_code == 200 and "apikeys_keys_stored" in scraped.text


async def test_in_production_without_a_token_metrics_are_not_there(database: Database) -> None:
    async with client_for(database, **PRODUCTION) as api:
        answer = await api.client.get("/metrics", headers={"Authorization": "Bearer anything"})
        assert answer.status_code == 404
        assert "apikeys_" not in answer.text


async def test_in_development_metrics_are_open(api: Api) -> None:
    answer = await api.client.get("/metrics")
    assert answer.status_code == 200 and "apikeys_http_requests_total" in answer.text
