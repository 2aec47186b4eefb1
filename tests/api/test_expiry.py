"""Keys that expire: an expiry in the future, at most 366 days ahead; past it, the key fails
everywhere and stays listed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from tests.api.test_audit import EVENTS
from tests.api.test_usage import CREATE, RUN, verify
from tests.helpers import Api, FakeClock


@pytest.mark.parametrize(
    "offset", [timedelta(seconds=-1), timedelta(0), timedelta(days=366, seconds=60)]
)
async def test_an_expiry_must_be_in_the_future_and_within_366_days(
    api: Api, offset: timedelta
) -> None:
    at = (datetime.now(UTC) + offset).isoformat()
    refused = (await api.data(CREATE, name="CI", expiresAt=at))["createApiKey"]
    assert (refused["code"], refused["field"]) == ("VALIDATION_FAILED", "expiresAt")
    assert len((await api.data("{ apiKeys { id } }"))["apiKeys"]) == 1


async def test_an_expired_key_fails_on_the_next_request_and_stays_listed(
    app: Starlette, api: Api, clock: FakeClock
) -> None:
    at = datetime.now(UTC) + timedelta(days=30)
    created = (await api.data(CREATE, name="CI", expiresAt=at.isoformat()))["createApiKey"]
    assert datetime.fromisoformat(created["expiresAt"]) == at
    for _ in range(3):  # remembered as verified, on PostgreSQL
        assert (await verify(api, created["key"])).json()["valid"] is True
    clock.advance(30 * 24 * 3600)
    assert (await verify(api, created["key"])).json() == {"valid": False, "reason": "EXPIRED"}
    by_key = await api.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": created["key"]}
    )
    assert by_key.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    run = await api.gql(RUN, id=created["id"])
    assert run["errors"][0]["extensions"]["code"] == "KEY_EXPIRED"
    listed = (await api.data("{ apiKeys { name expiresAt } }"))["apiKeys"]
    assert [k["name"] for k in listed] == ["Default", "CI"]
    assert listed[0]["expiresAt"] is None  # the default key never expires
    for n in range(3):
        await api.data(CREATE, name=f"more {n}")
    over = (await api.data(CREATE, name="too many"))["createApiKey"]
    assert over["code"] == "KEY_LIMIT_REACHED", "an expired key still counts toward five"


async def test_the_creation_event_records_the_expiry(api: Api) -> None:
    at = (datetime.now(UTC) + timedelta(days=7)).replace(microsecond=0)
    await api.data(CREATE, name="week", expiresAt=at.isoformat())
    await api.data(CREATE, name="forever")
    query = EVENTS.replace("occurredAt", "occurredAt keyExpiresAt")
    events = [e["node"] for e in (await api.data(query, first=10))["apiKeyEvents"]["edges"]]
    created = {e["keyName"]: e["keyExpiresAt"] for e in events if e["kind"] == "CREATED"}
    assert datetime.fromisoformat(created["week"]) == at
    assert created["forever"] is None and created["Default"] is None
