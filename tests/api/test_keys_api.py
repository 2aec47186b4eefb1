"""Every operation of the settings page, through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from tests.api.documents import CREATE, DELETE, GET, LIST, ROTATE, UPDATE
from tests.helpers import Api


async def create(api: Api, name: str, description: str | None = None, **kw: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await api.data(CREATE, name=name, description=description, **kw))[
        "createApiKey"
    ]
    return result


async def keys_of(api: Api, user: str = "alice") -> list[dict[str, Any]]:
    keys: list[dict[str, Any]] = (await api.data(LIST, user=user))["apiKeys"]
    return keys


async def test_first_visit_creates_the_default_key(api: Api) -> None:
    keys = await keys_of(api)
    assert len(keys) == 1
    default = keys[0]
    assert default["name"] == "Default"
    assert default["isDefault"] is True
    assert default["description"] is None
    assert default["lastUsedAt"] is None
    assert default["key"].startswith("blk_") and len(default["key"]) == 42
    assert default["maskedKey"] == "blk_****" + default["key"][-4:]
    # Listing again neither creates another key nor changes the secret.
    assert await keys_of(api) == keys


async def test_create_adds_a_key_after_the_default(api: Api) -> None:
    created = await create(api, "  CI deploys ", "Used by the nightly job\nand by staging")
    assert created["__typename"] == "ApiKey"
    assert created["name"] == "CI deploys"
    assert created["description"] == "Used by the nightly job\nand by staging"
    assert created["isDefault"] is False
    keys = await keys_of(api)
    assert [k["name"] for k in keys] == ["Default", "CI deploys"]
    assert keys[1]["key"] == created["key"]
    assert len({k["key"] for k in keys}) == 2


async def test_keys_are_listed_default_first_then_oldest_first(api: Api) -> None:
    for name in ("one", "two", "three"):
        await create(api, name)
    assert [k["name"] for k in await keys_of(api)] == ["Default", "one", "two", "three"]


async def test_a_user_has_at_most_five_keys(api: Api) -> None:
    for n in range(4):
        assert (await create(api, f"key {n}"))["__typename"] == "ApiKey"
    refused = await create(api, "one too many")
    assert refused["__typename"] == "KeyLimitReachedError"
    assert refused["code"] == "KEY_LIMIT_REACHED"
    assert refused["limit"] == 5
    assert len(await keys_of(api)) == 5


async def test_names_are_unique_per_user_ignoring_case(api: Api) -> None:
    await create(api, "Deploy")
    refused = await create(api, "dEPLOY")
    assert refused["__typename"] == "NameTakenError"
    assert refused["code"] == "NAME_TAKEN"
    # Another user may use the same name.
    assert (await create(api, "Deploy", user="bob"))["__typename"] == "ApiKey"


@pytest.mark.parametrize(
    ("name", "description", "field"),
    [
        ("", None, "name"),
        ("   ", None, "name"),
        ("x" * 65, None, "name"),
        ("tab\there", None, "name"),
        ("nul\x00", None, "name"),
        ("new\nline", None, "name"),
        ("ok", "d" * 501, "description"),
        ("ok", "bell\x07", "description"),
        ("ok", "nul\x00", "description"),
    ],
)
async def test_invalid_input_is_refused_naming_the_field(
    api: Api, name: str, description: str | None, field: str
) -> None:
    before = await keys_of(api)
    refused = await create(api, name, description)
    assert refused["__typename"] == "ValidationError"
    assert refused["code"] == "VALIDATION_FAILED"
    assert refused["field"] == field
    assert refused["message"]
    assert await keys_of(api) == before


async def test_limits_are_inclusive(api: Api) -> None:
    created = await create(api, "n" * 64, "d" * 500)
    assert created["__typename"] == "ApiKey"
    assert len(created["name"]) == 64 and len(created["description"]) == 500


async def test_update_renames_and_describes(api: Api) -> None:
    key = await create(api, "old", "first")
    renamed = (await api.data(UPDATE, input={"id": key["id"], "name": "new"}))["updateApiKey"]
    assert renamed["__typename"] == "ApiKey"
    assert (renamed["name"], renamed["description"]) == ("new", "first")
    assert renamed["key"] == key["key"]
    assert renamed["updatedAt"] >= key["updatedAt"]

    described = await api.data(UPDATE, input={"id": key["id"], "description": "second"})
    assert described["updateApiKey"]["name"] == "new"
    assert described["updateApiKey"]["description"] == "second"

    cleared = await api.data(UPDATE, input={"id": key["id"], "description": None})
    assert cleared["updateApiKey"]["description"] is None
    assert cleared["updateApiKey"]["name"] == "new"


async def test_update_can_rename_the_default_key(api: Api) -> None:
    default = (await keys_of(api))[0]
    renamed = await api.data(UPDATE, input={"id": default["id"], "name": "Main"})
    assert renamed["updateApiKey"]["name"] == "Main"
    assert renamed["updateApiKey"]["isDefault"] is True


async def test_update_may_change_only_the_case_of_a_name(api: Api) -> None:
    key = await create(api, "deploy")
    renamed = await api.data(UPDATE, input={"id": key["id"], "name": "Deploy"})
    assert renamed["updateApiKey"]["name"] == "Deploy"


async def test_update_refuses_a_taken_name_and_changes_nothing(api: Api) -> None:
    await create(api, "taken")
    key = await create(api, "mine", "kept")
    refused = (
        await api.data(UPDATE, input={"id": key["id"], "name": "TAKEN", "description": "lost"})
    )["updateApiKey"]
    assert refused["code"] == "NAME_TAKEN"
    after = (await api.data(GET, id=key["id"]))["apiKey"]
    assert (after["name"], after["description"]) == ("mine", "kept")


async def test_update_refuses_invalid_input_and_changes_nothing(api: Api) -> None:
    key = await create(api, "mine", "kept")
    for bad in ({"name": ""}, {"name": None}, {"name": "ok", "description": "\x00"}):
        refused = (await api.data(UPDATE, input={"id": key["id"], **bad}))["updateApiKey"]
        assert refused["__typename"] == "ValidationError", bad
    after = (await api.data(GET, id=key["id"]))["apiKey"]
    assert (after["name"], after["description"]) == ("mine", "kept")


async def test_rotate_gives_the_default_key_a_new_secret(api: Api) -> None:
    default = (await keys_of(api))[0]
    rotated = (await api.data(ROTATE, id=default["id"]))["rotateApiKey"]
    assert rotated["__typename"] == "ApiKey"
    assert rotated["id"] == default["id"]
    assert rotated["name"] == default["name"]
    assert rotated["createdAt"] == default["createdAt"]
    assert rotated["key"] != default["key"]
    assert (await keys_of(api))[0]["key"] == rotated["key"]


async def test_only_the_default_key_can_be_rotated(api: Api) -> None:
    key = await create(api, "other")
    refused = (await api.data(ROTATE, id=key["id"]))["rotateApiKey"]
    assert refused["__typename"] == "NotDefaultKeyError"
    assert refused["code"] == "NOT_DEFAULT_KEY"
    assert (await api.data(GET, id=key["id"]))["apiKey"]["key"] == key["key"]


async def test_delete_removes_a_key(api: Api) -> None:
    key = await create(api, "temporary")
    deleted = (await api.data(DELETE, id=key["id"]))["deleteApiKey"]
    assert deleted == {"__typename": "DeletedApiKey", "id": key["id"]}
    assert [k["name"] for k in await keys_of(api)] == ["Default"]
    again = (await api.data(DELETE, id=key["id"]))["deleteApiKey"]
    assert again["code"] == "NOT_FOUND"


async def test_the_default_key_cannot_be_deleted(api: Api) -> None:
    default = (await keys_of(api))[0]
    refused = (await api.data(DELETE, id=default["id"]))["deleteApiKey"]
    assert refused["__typename"] == "DefaultKeyUndeletableError"
    assert refused["code"] == "DEFAULT_KEY_UNDELETABLE"
    assert (await keys_of(api))[0]["id"] == default["id"]


async def test_a_freed_slot_can_be_used_again(api: Api) -> None:
    made = [await create(api, f"k{n}") for n in range(4)]
    await api.data(DELETE, id=made[0]["id"])
    assert (await create(api, "k0"))["__typename"] == "ApiKey"


async def test_someone_elses_key_is_indistinguishable_from_a_missing_one(api: Api) -> None:
    """Every operation answers byte for byte the same for 'not yours' and 'does not exist'."""
    bob_default = (await keys_of(api, user="bob"))[0]
    bob_other = await create(api, "bob's", user="bob")
    await keys_of(api, user="alice")
    missing = str(uuid.uuid4())

    async def answers(key_id: str) -> list[Any]:
        out = []
        out.append(await api.post_as("alice", GET, id=key_id))
        out.append(await api.post_as("alice", UPDATE, input={"id": key_id, "name": "mine"}))
        out.append(await api.post_as("alice", ROTATE, id=key_id))
        out.append(await api.post_as("alice", DELETE, id=key_id))
        return out

    for foreign in (bob_default["id"], bob_other["id"]):
        foreign_answers = await answers(foreign)
        missing_answers = await answers(missing)
        assert [a.replace(foreign, "ID") for a in foreign_answers] == [
            a.replace(missing, "ID") for a in missing_answers
        ]
    # Bob's keys are untouched.
    assert [k["name"] for k in await keys_of(api, user="bob")] == ["Default", "bob's"]
    assert (await keys_of(api, user="bob"))[0]["key"] == bob_default["key"]


@pytest.mark.parametrize("key_id", ["", "not-a-uuid", "1", "' OR 1=1 --", "x" * 10_000])
async def test_malformed_ids_are_simply_not_found(api: Api, key_id: str) -> None:
    assert (await api.data(GET, id=key_id))["apiKey"] is None
    assert (await api.data(DELETE, id=key_id))["deleteApiKey"]["code"] == "NOT_FOUND"
    assert (await api.data(ROTATE, id=key_id))["rotateApiKey"]["code"] == "NOT_FOUND"
    updated = await api.data(UPDATE, input={"id": key_id, "name": "n"})
    assert updated["updateApiKey"]["code"] == "NOT_FOUND"


async def test_ids_are_accepted_in_any_uuid_spelling(api: Api) -> None:
    key = await create(api, "spelled")
    assert (await api.data(GET, id=key["id"].upper()))["apiKey"]["name"] == "spelled"
    deleted = (await api.data(DELETE, id=key["id"].upper()))["deleteApiKey"]
    assert deleted["__typename"] == "DeletedApiKey"


async def test_concurrent_creates_never_exceed_the_limit(api: Api) -> None:
    results = await asyncio.gather(*(create(api, f"c{n}") for n in range(20)))
    kinds = [r["__typename"] for r in results]
    assert kinds.count("ApiKey") == 4
    assert kinds.count("KeyLimitReachedError") == 16
    keys = await keys_of(api)
    assert len(keys) == 5
    assert sum(k["isDefault"] for k in keys) == 1


async def test_concurrent_first_visits_create_one_default_key(api: Api) -> None:
    lists = await asyncio.gather(*(keys_of(api, user="newcomer") for _ in range(20)))
    assert {tuple(k["id"] for k in keys) for keys in lists} == {(lists[0][0]["id"],)}
    assert len(await keys_of(api, user="newcomer")) == 1


async def test_concurrent_same_name_creates_leave_one(api: Api) -> None:
    results = await asyncio.gather(*(create(api, "Same") for _ in range(10)))
    assert [r["__typename"] for r in results].count("ApiKey") == 1
    assert [k["name"] for k in await keys_of(api)] == ["Default", "Same"]
