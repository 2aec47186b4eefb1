"""An API key authenticates its owner on /graphql, for reading only."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from service.domain.key_format import KeyFormat
from tests.api.documents import CREATE, DELETE, DISMISS_LEAK, LIST, ROTATE, UPDATE
from tests.helpers import Api


async def keys_with_session(api: Api, user: str = "alice") -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = (await api.data(LIST, user=user))["apiKeys"]
    return keys


def as_key(secret: str, style: str) -> dict[str, str]:
    return {"X-API-Key": secret} if style == "x-api-key" else {"Authorization": f"Bearer {secret}"}


async def post(api: Api, headers: dict[str, str], query: str, **variables: Any) -> httpx.Response:
    return await api.post({"query": query, "variables": variables}, headers)


@pytest.fixture(params=["bearer", "x-api-key"])
def style(request: pytest.FixtureRequest) -> str:
    param: str = request.param
    return param


async def test_a_key_lists_its_owners_keys(api: Api, style: str) -> None:
    await api.data(CREATE, name="second")
    secret = (await keys_with_session(api))[0]["key"]
    body = (await post(api, as_key(secret, style), "{ apiKeys { name maskedKey } }")).json()
    assert "errors" not in body
    assert [k["name"] for k in body["data"]["apiKeys"]] == ["Default", "second"]


async def test_a_key_cannot_reveal_full_secrets(api: Api, style: str) -> None:
    secret = (await keys_with_session(api))[0]["key"]
    body = (await post(api, as_key(secret, style), "{ apiKeys { name key } }")).json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert secret not in str(body)


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (CREATE, {"name": "minted"}),
        (UPDATE, {"input": {"id": "ID", "name": "renamed"}}),
        (ROTATE, {"id": "ID"}),
        (DELETE, {"id": "ID"}),
        (DISMISS_LEAK, {"id": "ID"}),
    ],
)
async def test_a_key_cannot_change_anything(
    api: Api, style: str, query: str, variables: dict[str, Any]
) -> None:
    other = (await api.data(CREATE, name="other"))["createApiKey"]
    before = await keys_with_session(api)
    secret = before[0]["key"]
    filled = {
        k: ({**v, "id": other["id"]} if isinstance(v, dict) else other["id"] if v == "ID" else v)
        for k, v in variables.items()
    }
    body = (await post(api, as_key(secret, style), query, **filled)).json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await keys_with_session(api) == before


@pytest.mark.parametrize(
    "secret", ["blk_short", KeyFormat("blk_").generate(), "blk_" + "x" * 38], ids=str
)
async def test_an_invalid_key_is_unauthenticated(api: Api, style: str, secret: str) -> None:
    body = (await post(api, as_key(secret, style), "{ apiKeys { name } }")).json()
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == ["UNAUTHENTICATED"]


async def test_a_deleted_key_stops_authenticating_at_once(api: Api) -> None:
    created = (await api.data(CREATE, name="temp"))["createApiKey"]
    headers = as_key(created["key"], "bearer")
    assert "errors" not in (await post(api, headers, "{ apiKeys { id } }")).json()
    await api.data(DELETE, id=created["id"])
    body = (await post(api, headers, "{ apiKeys { id } }")).json()
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_key_authenticated_request_is_a_use(app: Starlette, api: Api) -> None:
    secret = (await keys_with_session(api))[0]["key"]
    await post(api, as_key(secret, "x-api-key"), "{ apiKeys { id } }")
    await app.state.tracker.flush()
    assert (await keys_with_session(api))[0]["lastUsedAt"] is not None
