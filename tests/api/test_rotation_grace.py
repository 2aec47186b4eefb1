"""A rotation's grace period: the old secret keeps working until it ends (0 to 7 days), then
answers EXPIRED."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette

from tests.api.test_verify import default_key, rotate, verify
from tests.helpers import Api, FakeClock


async def test_an_immediate_rotation_retires_the_old_secret_at_once(api: Api) -> None:
    old = await default_key(api)
    new = await rotate(api, old["id"])
    assert new["rotatedAt"] is not None
    assert (await verify(api, old["key"])).json() == {"valid": False, "reason": "EXPIRED"}
    assert (await verify(api, new["key"])).json()["keyId"] == old["id"]


async def test_a_rotation_grace_period_keeps_the_old_secret_working_until_it_ends(
    app: Starlette, api: Api, clock: FakeClock
) -> None:
    old = await default_key(api)
    new = await rotate(api, old["id"], grace=3600)
    assert (new["id"], new["name"], new["createdAt"]) == (old["id"], old["name"], old["createdAt"])
    for secret in (old["key"], new["key"]):
        answer = (await verify(api, secret)).json()
        assert answer["valid"] is True and answer["keyId"] == old["id"]
    # The old secret's use counts as a use of the same key.
    await app.state.tracker.flush()
    assert (await default_key(api))["lastUsedAt"] is not None

    clock.advance(3599)
    assert (await verify(api, old["key"])).json()["valid"] is True
    clock.advance(2)
    assert (await verify(api, old["key"])).json() == {"valid": False, "reason": "EXPIRED"}
    assert (await verify(api, new["key"])).json()["valid"] is True


async def test_rotating_again_within_a_grace_period_keeps_each_old_secret_until_its_end(
    api: Api, clock: FakeClock
) -> None:
    first = await default_key(api)
    second = await rotate(api, first["id"], grace=600)
    third = await rotate(api, first["id"], grace=60)
    clock.advance(120)
    assert (await verify(api, first["key"])).json()["valid"] is True
    assert (await verify(api, second["key"])).json()["reason"] == "EXPIRED"
    assert (await verify(api, third["key"])).json()["valid"] is True


@pytest.mark.parametrize("grace", [-1, 604_801])
async def test_the_grace_period_is_zero_to_seven_days(api: Api, grace: int) -> None:
    old = await default_key(api)
    refused = await rotate(api, old["id"], grace=grace)
    assert refused["__typename"] == "ValidationError"
    assert refused["field"] == "expireOldKeyInSeconds"
    assert (await default_key(api))["key"] == old["key"]


async def test_seven_days_is_allowed(api: Api, clock: FakeClock) -> None:
    old = await default_key(api)
    assert (await rotate(api, old["id"], grace=604_800))["__typename"] == "ApiKey"
    clock.advance(604_799)
    assert (await verify(api, old["key"])).json()["valid"] is True
