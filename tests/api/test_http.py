"""The HTTP edge: authentication, request bodies, GraphiQL, introspection, masked crashes."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import jwt
import pytest
from starlette.applications import Starlette
from tortoise import connections

from service.app import create_app
from service.settings import Settings
from service.storage.engines import engine_of
from service.storage.models import ApiKey
from service.web.auth import Authenticator
from tests.api.documents import CREATE, DELETE, GET, LIST, ROTATE, UPDATE
from tests.helpers import PRODUCTION, TEST_JWT_SECRET, Api, Database, make_settings

SOME_ID = "00000000-0000-4000-8000-000000000000"
OPERATIONS = [
    (LIST, {}),
    (GET, {"id": SOME_ID}),
    (CREATE, {"name": "x"}),
    (UPDATE, {"input": {"id": SOME_ID, "name": "x"}}),
    (ROTATE, {"id": SOME_ID}),
    (DELETE, {"id": SOME_ID}),
]


async def row_count(settings: Settings) -> int:
    conn = connections.get(engine_of(settings.database_url))
    _, rows = await conn.execute_query('SELECT COUNT(*) AS n FROM "api_keys"')
    return int(rows[0]["n"])


@pytest.mark.parametrize(("query", "variables"), OPERATIONS)
@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer not-a-jwt",
        "Bearer " + jwt.encode({"sub": "alice", "exp": 1}, TEST_JWT_SECRET, algorithm="HS256"),
        "Bearer " + jwt.encode({"sub": "alice", "exp": 4_000_000_000}, "x" * 32, algorithm="HS256"),
    ],
    ids=["none", "garbage", "expired", "wrong-secret"],
)
async def test_unauthenticated_requests_get_no_data(
    api: Api,
    settings: Settings,
    query: str,
    variables: dict[str, object],
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = await api.post({"query": query, "variables": variables}, headers)
    assert response.status_code == 200
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]
    assert body["data"] is None or all(v is None for v in body["data"].values())
    assert await row_count(settings) == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"null", "application/json"),
        (b"42", "application/json"),
        (b'"query"', "application/json"),
        (b"[]", "application/json"),
        (b'[{"query": "{ apiKeys { id } }"}]', "application/json"),
        (b"{not json", "application/json"),
        (b'{"query": 42}', "application/json"),
        (b'{"query": "{ apiKeys { id } }", "variables": []}', "application/json"),
        (b"query { apiKeys { id } }", "text/plain"),
        (b"", "application/json"),
    ],
)
async def test_malformed_requests_are_refused_with_400(
    api: Api, content: bytes, content_type: str
) -> None:
    response = await api.client.post(
        "/graphql",
        content=content,
        headers={"Content-Type": content_type, "Authorization": f"Bearer {api.token('alice')}"},
    )
    assert response.status_code == 400, response.text
    assert "Traceback" not in response.text


async def test_queries_are_not_accepted_over_get(api: Api) -> None:
    response = await api.client.get(
        "/graphql",
        params={"query": "{ apiKeys { id } }"},
        headers={"Authorization": f"Bearer {api.token('alice')}"},
    )
    assert response.status_code >= 400
    assert "apiKeys" not in response.text


async def test_syntax_errors_are_reported_not_crashed(api: Api) -> None:
    body = await api.gql("{ apiKeys { id ")
    assert body["data"] is None
    assert "Syntax Error" in body["errors"][0]["message"]


async def test_graphiql_is_served_in_development(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


@pytest.fixture
async def production_api(database: Database) -> AsyncIterator[Api]:
    settings = make_settings(database, **PRODUCTION)
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Api(client, Authenticator(settings.jwt))


async def test_graphiql_is_off_in_production(production_api: Api) -> None:
    response = await production_api.client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 404
    assert "graphiql" not in response.text.lower()


async def test_introspection_is_off_in_production(production_api: Api, api: Api) -> None:
    query = "{ __schema { types { name } } }"
    refused = await production_api.gql(query)
    assert refused["data"] is None
    assert "introspection" in refused["errors"][0]["message"].lower()
    assert (await api.data(query))["__schema"]["types"]


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("aud", "https://billing.example.com"),  # minted for another service
        ("iss", "https://someone-else.example.com/"),
        ("aud", None),
        ("iss", None),
    ],
)
async def test_in_production_a_token_minted_for_anything_else_is_no_session(
    production_api: Api, claim: str, value: str | None
) -> None:
    now = int(time.time())
    claims: dict[str, object] = {
        "sub": "alice",
        "exp": now + 300,
        "iss": PRODUCTION["APIKEYS_JWT_ISSUER"],
        "aud": PRODUCTION["APIKEYS_JWT_AUDIENCE"],
    }
    accepted = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")
    if value is None:
        del claims[claim]
    else:
        claims[claim] = value
    token = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")
    body = {"query": "{ apiKeys { id } }"}
    answer = (await production_api.post(body, {"Authorization": f"Bearer {token}"})).json()
    assert answer["data"] is None
    assert answer["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    control = (await production_api.post(body, {"Authorization": f"Bearer {accepted}"})).json()
    assert control["data"]["apiKeys"], control


async def test_a_crash_is_masked(app: Starlette, api: Api, settings: Settings) -> None:
    """A stored key that no longer decrypts is a server fault: the client learns nothing more."""
    await api.data(LIST)
    conn = connections.get(engine_of(settings.database_url))
    await conn.execute_script('UPDATE "api_keys" SET "key_last_four" = \'AAAA\'')
    _, rows = await conn.execute_query('SELECT "id", "key_ciphertext" FROM "api_keys"')
    blob = bytes(rows[0]["key_ciphertext"])
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    await ApiKey.filter(id=rows[0]["id"]).update(key_ciphertext=tampered)
    body = await api.gql("{ apiKeys { id key } }")
    assert body["data"] is None
    assert [e["message"] for e in body["errors"]] == ["Internal server error."]
    text = str(body)
    for leak in ("InvalidTag", "Decryption", "decrypt", "Traceback", "service/"):
        assert leak not in text
    # The parts that need no decryption still work.
    assert (await api.data("{ apiKeys { maskedKey } }"))["apiKeys"][0][
        "maskedKey"
    ] == "blk_****AAAA"


async def test_a_chunked_body_is_counted_even_behind_a_small_content_length(app: Starlette) -> None:
    """HTTP/1.1 lets chunked framing override Content-Length (h11 follows it): the declared
    length is then no bound, and the body is held to the limit as it arrives."""
    chunks = [b"{" + b" " * 40_000, b" " * 40_000 + b"}"]
    sent: list[dict[str, object]] = []

    async def receive() -> dict[str, object]:
        body = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": body, "more_body": bool(chunks)}

    async def send(message: dict[str, object]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", b"10"),
            (b"transfer-encoding", b"chunked"),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
