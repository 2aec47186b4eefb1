"""The audit trail: every change and every reveal, recorded with the change, never a secret."""

from __future__ import annotations

from typing import Any

import pytest

from service.storage.owner import LockedOwner
from tests.api import documents
from tests.api.documents import DELETE, GET, LIST
from tests.helpers import Api


def quiet(document: str) -> str:
    """The same document without the full `key`, whose every read is itself an event."""
    return document.replace(" key maskedKey", " maskedKey")


CREATE, UPDATE, ROTATE = (quiet(d) for d in (documents.CREATE, documents.UPDATE, documents.ROTATE))
QUIET_LIST = quiet(LIST)

EVENTS = """query ($first: Int, $after: String) {
  apiKeyEvents(first: $first, after: $after) {
    edges { cursor node {
      id kind keyId keyName changedFields expireOldKeyInSeconds revealedIn
      clientAddress userAgent occurredAt
    } }
    pageInfo { hasNextPage endCursor }
  }
}"""
RUN = """query ($id: ID) { workflowRunCommand(workflowId: "wf", method: CLI, apiKeyId: $id) {
  command } }"""


async def events(api: Api, user: str = "alice", **page: Any) -> list[dict[str, Any]]:
    connection = (await api.data(EVENTS, user=user, **page))["apiKeyEvents"]
    return [edge["node"] for edge in connection["edges"]]


def summary(found: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e["kind"], e["keyName"], e["changedFields"], e["expireOldKeyInSeconds"], e["revealedIn"])
        for e in found
    ]


async def test_every_kind_of_event_is_recorded_newest_first(api: Api) -> None:
    default = (await api.data(QUIET_LIST))["apiKeys"][0]
    created = (await api.data(CREATE, name="ci", description="x"))["createApiKey"]
    await api.data(UPDATE, input={"id": created["id"], "name": "ci-2"})
    await api.data(UPDATE, input={"id": created["id"], "name": "ci-3", "description": "y"})
    await api.data(UPDATE, input={"id": created["id"], "name": "ci-3"})  # changes nothing
    with_grace = ROTATE.replace("{id: $id}", "{id: $id, expireOldKeyInSeconds: 60}")
    await api.data(with_grace, id=default["id"])
    await api.data(GET, id=default["id"])  # reads the full key
    await api.data(RUN, id=created["id"])  # puts the full key into a command
    await api.data(DELETE, id=created["id"])

    assert summary(await events(api)) == [
        ("DELETED", "ci-3", [], None, None),
        ("REVEALED", "ci-3", [], None, "RUN_COMMAND"),
        ("REVEALED", "Default", [], None, "API_KEY"),
        ("ROTATED", "Default", [], 60, None),
        ("UPDATED", "ci-3", ["name", "description"], None, None),
        ("UPDATED", "ci-2", ["name"], None, None),
        ("CREATED", "ci", [], None, None),
        ("CREATED", "Default", [], None, None),
    ]


async def test_events_name_the_key_and_the_client(api: Api) -> None:
    created = (await api.data(CREATE, name="ci"))["createApiKey"]
    response = await api.client.post(
        "/graphql",
        json={"query": EVENTS, "variables": {"first": 5}},
        headers={
            "Authorization": f"Bearer {api.token('alice')}",
            "User-Agent": "settings-page/1.0",
        },
    )
    latest = response.json()["data"]["apiKeyEvents"]["edges"][0]["node"]
    assert latest["keyId"] == created["id"]
    assert latest["clientAddress"] == "127.0.0.1"
    assert latest["userAgent"] is not None
    assert latest["occurredAt"]


async def test_no_secret_is_ever_recorded(api: Api) -> None:
    default = (await api.data(LIST))["apiKeys"][0]
    secrets = [default["key"], (await api.data(documents.CREATE, name="c"))["createApiKey"]["key"]]
    secrets.append((await api.data(documents.ROTATE, id=default["id"]))["rotateApiKey"]["key"])
    await api.data(RUN, id=None)
    text = str(await events(api, first=100))
    for secret in secrets:
        assert secret not in text and secret[4:20] not in text


async def test_events_outlive_the_deleted_key(api: Api) -> None:
    created = (await api.data(CREATE, name="gone"))["createApiKey"]
    await api.data(DELETE, id=created["id"])
    kinds = [(e["kind"], e["keyId"]) for e in await events(api) if e["keyName"] == "gone"]
    assert ("CREATED", created["id"]) in kinds and ("DELETED", created["id"]) in kinds


async def test_a_refused_change_records_nothing(api: Api) -> None:
    for n in range(4):
        await api.data(CREATE, name=f"k{n}")
    before = await events(api, first=100)
    assert (await api.data(CREATE, name="k5"))["createApiKey"]["code"] == "KEY_LIMIT_REACHED"
    assert (await api.data(CREATE, name="K0"))["createApiKey"]["code"] == "KEY_LIMIT_REACHED"
    assert await events(api, first=100) == before


async def test_the_event_is_written_in_the_same_transaction_as_the_change(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    await api.data(QUIET_LIST)

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the audit table is unavailable")

    monkeypatch.setattr(LockedOwner, "record_event", broken)
    body = await api.gql(CREATE, name="unaudited")
    assert body["errors"][0]["message"] == "Internal server error."
    monkeypatch.undo()
    assert [k["name"] for k in (await api.data(QUIET_LIST))["apiKeys"]] == ["Default"]
    assert [e["kind"] for e in await events(api)] == ["CREATED"]


async def test_only_the_masked_key_is_no_reveal(api: Api) -> None:
    await api.data("{ apiKeys { id name maskedKey } }")
    await api.data("{ apiKeys { id name maskedKey } }")
    assert [e["kind"] for e in await events(api)] == ["CREATED"]


async def test_pagination_walks_the_whole_trail_newest_first(api: Api) -> None:
    await api.data(QUIET_LIST)
    created = (await api.data(CREATE, name="p"))["createApiKey"]
    for n in range(10):
        await api.data(UPDATE, input={"id": created["id"], "description": f"d{n}"})
    everything = await events(api, first=100)
    assert len(everything) == 12  # two creates, ten updates
    ids = [int(e["id"]) for e in everything]
    assert ids == sorted(ids, reverse=True)

    seen: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await api.data(EVENTS, first=5, after=after))["apiKeyEvents"]
        seen += [edge["node"] for edge in page["edges"]]
        assert len(page["edges"]) <= 5
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
        assert after == page["edges"][-1]["cursor"]
    assert seen == everything


async def test_an_empty_trail_has_no_pages(api: Api) -> None:
    page = (await api.data(EVENTS, user="nobody-yet"))["apiKeyEvents"]
    assert page == {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}


async def test_each_user_sees_only_their_own_events(api: Api) -> None:
    await api.data(CREATE, name="alices", user="alice")
    await api.data(CREATE, name="bobs", user="bob")
    assert {e["keyName"] for e in await events(api, user="alice")} == {"Default", "alices"}
    assert {e["keyName"] for e in await events(api, user="bob")} == {"Default", "bobs"}


@pytest.mark.parametrize(
    ("page", "field"),
    [
        ({"first": 0}, "first"),
        ({"first": 101}, "first"),
        ({"after": "garbage"}, "after"),
        ({"after": "ZXZlbnQ6eA=="}, "after"),
    ],
)
async def test_bad_page_arguments_are_validation_errors(
    api: Api, page: dict[str, Any], field: str
) -> None:
    body = await api.gql(EVENTS, **page)
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION_FAILED", "field": field}
