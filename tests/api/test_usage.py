"""Each key's use by day and by workflow, and where it was last used from:
through HTTP, on both engines."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from tortoise import connections

from service.settings import Settings
from service.storage.engines import engine_of
from tests.api.test_verify import SERVICE, default_key
from tests.helpers import Api, FakeClock, StatementLog

USAGE = """{ apiKeys { id name
  usage { date uses }
  week: usage(days: 7) { date uses }
  usedBy { workflowId uses lastUsedAt }
  lastUsedFrom { clientAddress userAgent }
} }"""
CREATE = """mutation ($name: String!, $expiresAt: DateTime) {
  createApiKey(input: {name: $name, expiresAt: $expiresAt}) {
    __typename ... on ApiKey { id key expiresAt } ... on UserError { code message }
    ... on ValidationError { field }
  }
}"""
RUN = """query ($id: ID) { workflowRunCommand(workflowId: "wf", method: CLI, apiKeyId: $id) {
  maskedCommand } }"""


async def verify(api: Api, key: str, **body: Any) -> httpx.Response:
    return await api.client.post("/v1/keys/verify", json={"key": key, **body}, headers=SERVICE)


async def usage_of(api: Api) -> dict[str, dict[str, Any]]:
    return {k["name"]: k for k in (await api.data(USAGE))["apiKeys"]}


async def test_uses_appear_by_day_by_workflow_and_origin_after_one_flush(
    app: Starlette, api: Api
) -> None:
    key = (await default_key(api))["key"]
    before = (await usage_of(api))["Default"]
    assert [d["uses"] for d in before["usage"]] == [0] * 30
    assert before["usedBy"] == [] and before["lastUsedFrom"] is None
    for n in range(7):
        answer = await verify(
            api,
            key,
            workflowId=f"report-{n % 2}",
            clientAddress="203.0.113.9",
            userAgent="blk-cli/2.1 (linux)",
        )
        assert answer.json()["valid"] is True
    await verify(api, key, workflowId="report-1", clientAddress="198.51.100.4")  # the latest
    after_verify = (await usage_of(api))["Default"]
    assert [d["uses"] for d in after_verify["usage"]] == [0] * 30, "written by the flush"
    await app.state.tracker.flush()

    used = (await usage_of(api))["Default"]
    today = datetime.now(UTC).date()
    assert [date.fromisoformat(d["date"]) for d in used["usage"]] == [
        today - timedelta(days=29 - n) for n in range(30)
    ]
    assert [d["uses"] for d in used["usage"]] == [0] * 29 + [8]
    assert [d["uses"] for d in used["week"]] == [0] * 6 + [8]
    assert [(w["workflowId"], w["uses"]) for w in used["usedBy"]] == [
        ("report-1", 4),
        ("report-0", 4),
    ]
    assert used["usedBy"][0]["lastUsedAt"] >= used["usedBy"][1]["lastUsedAt"]
    assert used["lastUsedFrom"] == {"clientAddress": "198.51.100.4", "userAgent": None}


async def test_api_key_authentication_is_a_use_from_where_the_request_came(
    app: Starlette, api: Api
) -> None:
    key = (await default_key(api))["key"]
    answer = await api.client.post(
        "/graphql",
        json={"query": "{ apiKeys { id } }"},
        headers={"X-API-Key": key, "User-Agent": "deploy-script/1.0"},
    )
    assert answer.status_code == 200
    await app.state.tracker.flush()
    used = (await usage_of(api))["Default"]
    assert used["lastUsedFrom"] == {"clientAddress": "127.0.0.1", "userAgent": "deploy-script/1.0"}
    assert used["usage"][-1]["uses"] == 1 and used["usedBy"] == []


@pytest.mark.parametrize("workflow", ["", "x" * 201, "bad\nid", 42, None, ["a"]], ids=repr)
async def test_an_unusable_workflow_id_is_not_recorded_and_changes_nothing(
    app: Starlette, api: Api, workflow: Any
) -> None:
    key = (await default_key(api))["key"]
    answer = await verify(api, key, workflowId=workflow)
    assert answer.status_code == 200 and answer.json()["valid"] is True
    await app.state.tracker.flush()
    used = (await usage_of(api))["Default"]
    assert used["usedBy"] == [] and used["usage"][-1]["uses"] == 1


async def test_the_user_agent_is_kept_short_and_without_control_characters(
    app: Starlette, api: Api
) -> None:
    key = (await default_key(api))["key"]
    await verify(api, key, userAgent="agent\x00\x1b[31m\t/1 " + "x" * 400)
    await app.state.tracker.flush()
    agent = (await usage_of(api))["Default"]["lastUsedFrom"]["userAgent"]
    assert agent.startswith("agent[31m/1 x") and len(agent) == 256
    assert not any(ord(ch) < 32 for ch in agent)


@pytest.mark.parametrize("days", [0, 91, -1])
async def test_days_are_one_to_ninety(api: Api, days: int) -> None:
    for field in ("usage", "usedBy"):
        body = await api.gql(f"{{ apiKeys {{ id {field}(days: {days}) {{ __typename }} }} }}")
        error = body["errors"][0]
        assert error["extensions"] == {"code": "VALIDATION_FAILED", "field": "days"}


@pytest.mark.parametrize("days", [1, 90])
async def test_one_and_ninety_days_are_accepted(api: Api, days: int) -> None:
    data = await api.data(
        f"{{ apiKeys {{ usage(days: {days}) {{ date }} usedBy(days: {days}) {{ uses }} }} }}"
    )
    assert len(data["apiKeys"][0]["usage"]) == days
    assert data["apiKeys"][0]["usedBy"] == []


async def test_the_usage_of_five_keys_costs_a_fixed_number_of_queries(
    api: Api, sql: StatementLog
) -> None:
    for n in range(4):
        await api.data(CREATE, name=f"k{n}")
    await api.data("{ apiKeys { id } }")
    sql.clear()
    await api.data("{ apiKeys { id name } }")
    plain = len(sql.matching(r"^SELECT"))
    sql.clear()
    data = await api.data(USAGE)
    assert len(data["apiKeys"]) == 5
    # The list, then one query per field asked for (usage twice: two `days`), not per key.
    assert len(sql.matching(r"^SELECT")) == plain + 3, sql.statements


async def test_usage_is_counted_per_utc_day_and_pruned_after_ninety_days(
    app: Starlette, api: Api, clock: FakeClock, settings: Settings
) -> None:
    key = (await default_key(api))["key"]
    clock.advance(-100 * 24 * 3600)  # a use 100 days ago...
    await verify(api, key, workflowId="old")
    clock.advance(100 * 24 * 3600)
    app.state.tracker._next_prune = float("inf")  # written, not pruned yet
    await app.state.tracker.flush()
    assert await usage_row_count(settings) == (1, 1)
    await verify(api, key, workflowId="new")
    app.state.tracker._next_prune = 0.0
    await app.state.tracker.flush()  # ...is pruned by a later flush
    assert await usage_row_count(settings) == (1, 1)
    used = (await usage_of(api))["Default"]
    assert [w["workflowId"] for w in used["usedBy"]] == ["new"]


async def usage_row_count(settings: Settings) -> tuple[int, int]:
    conn = connections.get(engine_of(settings.database_url))
    counts = []
    for table in ("api_key_usage_days", "api_key_workflow_uses"):
        _, rows = await conn.execute_query(f'SELECT COUNT(*) AS "n" FROM "{table}"')
        counts.append(int(rows[0]["n"]))
    return counts[0], counts[1]


async def test_deleting_a_key_deletes_its_usage(
    app: Starlette, api: Api, settings: Settings
) -> None:
    created = (await api.data(CREATE, name="CI"))["createApiKey"]
    await verify(api, created["key"], workflowId="wf")
    await app.state.tracker.flush()
    assert await usage_row_count(settings) == (1, 1)
    delete = "mutation ($id: ID!) { deleteApiKey(input: {id: $id}) { __typename } }"
    await api.data(delete, id=created["id"])
    assert await usage_row_count(settings) == (0, 0)
