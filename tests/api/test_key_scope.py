"""A key narrowed to the workflows and networks it serves: set on creation or update, listed,
recorded, and enforced wherever the key is used or handed out. Through HTTP, on both engines."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.api.test_audit import EVENTS
from tests.api.test_verify import default_key, verify
from tests.helpers import Api

SCOPED_FIELDS = "id name key workflowIds allowedAddresses"
CREATE = f"""mutation ($input: CreateApiKeyInput!) {{ createApiKey(input: $input) {{
  __typename ... on ApiKey {{ {SCOPED_FIELDS} }} ... on UserError {{ code message }}
  ... on ValidationError {{ field }} }} }}"""
UPDATE = f"""mutation ($input: UpdateApiKeyInput!) {{ updateApiKey(input: $input) {{
  __typename ... on ApiKey {{ {SCOPED_FIELDS} }} ... on UserError {{ code message }}
  ... on ValidationError {{ field }} }} }}"""
RUN = """query ($workflowId: ID!, $apiKeyId: ID) {
  workflowRunCommand(workflowId: $workflowId, method: CLI, apiKeyId: $apiKeyId) { command } }"""
USABLE = "query ($wf: ID) { apiKeys(usableFor: $wf) { name } }"
SCOPE_EVENTS = EVENTS.replace("occurredAt", "occurredAt workflowIds allowedAddresses")


async def create(api: Api, **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = (await api.data(CREATE, input={"name": "scoped", **fields}))[
        "createApiKey"
    ]
    return created


async def update(api: Api, key_id: str, **fields: Any) -> dict[str, Any]:
    updated: dict[str, Any] = (await api.data(UPDATE, input={"id": key_id, **fields}))[
        "updateApiKey"
    ]
    return updated


async def events(api: Api) -> list[dict[str, Any]]:
    return [
        edge["node"] for edge in (await api.data(SCOPE_EVENTS, first=50))["apiKeyEvents"]["edges"]
    ]


# -- setting a scope ----------------------------------------------------------------------------


async def test_a_scope_is_listed_normalised_with_duplicates_dropped_in_order(api: Api) -> None:
    created = await create(
        api,
        workflowIds=["deploy", "report", "deploy", "nightly"],
        allowedAddresses=["203.0.113.7", "198.51.100.0/24", "2001:DB8::/32", "203.0.113.7/32"],
    )
    assert created["__typename"] == "ApiKey"
    assert created["workflowIds"] == ["deploy", "report", "nightly"]
    assert created["allowedAddresses"] == ["203.0.113.7/32", "198.51.100.0/24", "2001:db8::/32"]
    listed = {
        k["name"]: k for k in (await api.data(f"{{ apiKeys {{ {SCOPED_FIELDS} }} }}"))["apiKeys"]
    }
    assert listed["scoped"]["workflowIds"] == ["deploy", "report", "nightly"]
    assert listed["Default"]["workflowIds"] is None
    assert listed["Default"]["allowedAddresses"] is None


@pytest.mark.parametrize(
    ("fields", "refused"),
    [
        ({"workflowIds": []}, "workflowIds"),
        ({"workflowIds": [""]}, "workflowIds"),
        ({"workflowIds": ["w" * 201]}, "workflowIds"),
        ({"workflowIds": ["bad\x00id"]}, "workflowIds"),
        ({"workflowIds": [f"wf-{n}" for n in range(51)]}, "workflowIds"),
        ({"allowedAddresses": []}, "allowedAddresses"),
        ({"allowedAddresses": ["example.com"]}, "allowedAddresses"),
        ({"allowedAddresses": ["198.51.100.5/24"]}, "allowedAddresses"),  # host bits set
        ({"allowedAddresses": ["fe80::1%eth0"]}, "allowedAddresses"),
        ({"allowedAddresses": ["10.0.0.0/33"]}, "allowedAddresses"),
        ({"allowedAddresses": [f"10.0.0.{n}" for n in range(21)]}, "allowedAddresses"),
    ],
)
async def test_a_scope_that_breaks_the_rules_is_refused_naming_its_field(
    api: Api, fields: dict[str, Any], refused: str
) -> None:
    answer = await create(api, **fields)
    assert (answer["code"], answer["field"]) == ("VALIDATION_FAILED", refused)
    assert len((await api.data("{ apiKeys { id } }"))["apiKeys"]) == 1, "nothing was created"
    default = await default_key(api)
    updated = await update(api, default["id"], **fields)
    assert (updated["code"], updated["field"]) == ("VALIDATION_FAILED", refused)


async def test_fifty_workflows_and_twenty_networks_are_allowed(api: Api) -> None:
    created = await create(
        api,
        workflowIds=[f"wf-{n}" for n in range(50)],
        allowedAddresses=[f"10.0.0.{n}" for n in range(20)],
    )
    assert len(created["workflowIds"]) == 50 and len(created["allowedAddresses"]) == 20


async def test_an_update_keeps_an_omitted_scope_and_null_lifts_it(api: Api) -> None:
    created = await create(api, workflowIds=["deploy"], allowedAddresses=["10.0.0.0/8"])
    renamed = await update(api, created["id"], name="renamed")
    assert renamed["workflowIds"] == ["deploy"] and renamed["allowedAddresses"] == ["10.0.0.0/8"]
    widened = await update(api, created["id"], workflowIds=None)
    assert widened["workflowIds"] is None and widened["allowedAddresses"] == ["10.0.0.0/8"]
    default = await default_key(api)  # any key can be narrowed, the default included
    narrowed = await update(api, default["id"], workflowIds=["deploy", "report"])
    assert narrowed["workflowIds"] == ["deploy", "report"]


async def test_scopes_are_recorded_in_the_audit_trail(api: Api) -> None:
    created = await create(api, workflowIds=["deploy"])
    await update(api, created["id"], allowedAddresses=["10.0.0.0/8"])
    await update(api, created["id"], description="same scope")
    recorded = [
        (e["kind"], e["changedFields"], e["workflowIds"], e["allowedAddresses"])
        for e in await events(api)
        if e["keyId"] == created["id"] and e["kind"] != "REVEALED"  # (the `key` read back)
    ]
    assert recorded == [
        ("UPDATED", ["description"], None, None),
        ("UPDATED", ["allowedAddresses"], ["deploy"], ["10.0.0.0/8"]),
        ("CREATED", [], ["deploy"], None),
    ]


# -- where a scope is enforced --------------------------------------------------------------------


async def test_verify_allows_a_restricted_key_only_its_workflows(app: Starlette, api: Api) -> None:
    created = await create(api, workflowIds=["deploy", "report"])
    valid = (await verify(api, created["key"], workflowId="report")).json()
    assert valid["valid"] is True and valid["workflowIds"] == ["deploy", "report"]
    for workflow in ("other", None, "x" * 201):
        body = {"workflowId": workflow} if workflow is not None else {}
        refused = (await verify(api, created["key"], **body)).json()
        assert refused == {"valid": False, "reason": "WORKFLOW_NOT_ALLOWED"}


async def test_verify_allows_a_restricted_key_only_from_its_networks(api: Api) -> None:
    created = await create(api, allowedAddresses=["203.0.113.0/24", "2001:db8::/32"])
    for inside in ("203.0.113.9", "2001:db8::5", "::ffff:203.0.113.9"):
        assert (await verify(api, created["key"], clientAddress=inside)).json()["valid"] is True
    for outside in ("198.51.100.1", "2001:db9::1", "not an address"):
        refused = (await verify(api, created["key"], clientAddress=outside)).json()
        assert refused == {"valid": False, "reason": "ADDRESS_NOT_ALLOWED"}
    # Without clientAddress, the peer's own address (here 127.0.0.1) is what counts.
    assert (await verify(api, created["key"])).json()["reason"] == "ADDRESS_NOT_ALLOWED"


async def test_a_refusal_for_scope_is_no_use_and_no_failure(app: Starlette, api: Api) -> None:
    created = await create(api, workflowIds=["deploy"])
    for _ in range(25):  # more than the failure limit (20)
        refused = await verify(api, created["key"], workflowId="other")
        assert refused.status_code == 200
        assert refused.json()["reason"] == "WORKFLOW_NOT_ALLOWED"
    assert (await verify(api, created["key"], workflowId="deploy")).json()["valid"] is True
    await app.state.tracker.flush()
    used = await api.data("{ apiKeys { name usage(days: 1) { uses } usedBy { workflowId } } }")
    scoped = next(k for k in used["apiKeys"] if k["name"] == "scoped")
    assert scoped["usage"][-1]["uses"] == 1 and [w["workflowId"] for w in scoped["usedBy"]] == [
        "deploy"
    ]
    metrics = (await api.client.get("/metrics")).text
    assert 'apikeys_verifications_total{result="WORKFLOW_NOT_ALLOWED"} 25.0' in metrics


async def test_a_key_restricted_to_workflows_does_not_sign_in_to_this_api(api: Api) -> None:
    created = await create(api, workflowIds=["deploy"])
    answer = await api.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": created["key"]}
    )
    body = answer.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "restricted to running workflows" in body["errors"][0]["message"]
    assert created["key"] not in answer.text


async def test_a_key_restricted_to_networks_signs_in_only_from_inside_them(
    app: Starlette, api: Api
) -> None:
    inside = await create(api, allowedAddresses=["127.0.0.0/8"])  # the test client's address
    signed = await api.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": inside["key"]}
    )
    assert signed.json()["data"]["apiKeys"]
    outside = await update(api, inside["id"], allowedAddresses=["203.0.113.0/24"])
    refused = await api.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": outside["key"]}
    )
    assert refused.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert "from this address" in refused.json()["errors"][0]["message"]
    transport = httpx.ASGITransport(app=app, client=("203.0.113.20", 5000))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        from_inside = await client.post(
            "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": outside["key"]}
        )
    assert from_inside.json()["data"]["apiKeys"]


async def test_a_run_command_is_refused_for_a_workflow_out_of_scope(api: Api) -> None:
    created = await create(api, workflowIds=["deploy"])
    refused = await api.gql(RUN, workflowId="report", apiKeyId=created["id"])
    assert refused["errors"][0]["extensions"]["code"] == "WORKFLOW_NOT_ALLOWED"
    assert created["key"] not in str(refused)
    allowed = await api.data(RUN, workflowId="deploy", apiKeyId=created["id"])
    assert created["key"] in allowed["workflowRunCommand"]["command"]
    reveals = [e for e in await events(api) if e["revealedIn"] == "RUN_COMMAND"]
    assert len(reveals) == 1, "the refused command revealed nothing"


async def test_the_dropdown_lists_only_the_keys_that_can_run_the_workflow(
    app: Starlette, api: Api
) -> None:
    await create(api, workflowIds=["deploy"])
    await api.data(CREATE, input={"name": "report only", "workflowIds": ["report"]})
    await api.data(CREATE, input={"name": "anything"})
    listed = await api.data(USABLE, wf="deploy")
    assert [k["name"] for k in listed["apiKeys"]] == ["Default", "scoped", "anything"]
    assert [k["name"] for k in (await api.data(USABLE, wf="report"))["apiKeys"]] == [
        "Default",
        "report only",
        "anything",
    ]
    everything = await api.data(USABLE)  # without the argument, every key
    assert len(everything["apiKeys"]) == 4
    refused = await api.gql(USABLE, wf="")
    assert refused["errors"][0]["extensions"] == {"code": "VALIDATION_FAILED", "field": "usableFor"}


async def test_suggested_workflows_are_those_that_used_the_key_most_recent_first(
    app: Starlette, api: Api, clock: Any
) -> None:
    key = await default_key(api)
    for workflow in ("old", "report", "deploy"):
        await verify(api, key["key"], workflowId=workflow)
        clock.advance(1)
    await app.state.tracker.flush()
    suggested = await api.data(
        "{ apiKeys { suggestedWorkflowIds week: suggestedWorkflowIds(days: 7) } }"
    )
    assert suggested["apiKeys"][0]["suggestedWorkflowIds"] == ["deploy", "report", "old"]
    refused = await api.gql("{ apiKeys { suggestedWorkflowIds(days: 91) } }")
    assert refused["errors"][0]["extensions"]["code"] == "VALIDATION_FAILED"


async def test_an_update_to_the_scope_takes_effect_on_the_very_next_request(
    app: Starlette, api: Api
) -> None:
    created = await create(api)
    for _ in range(3):  # remembered as verified, on PostgreSQL
        assert (await verify(api, created["key"], workflowId="deploy")).json()["valid"] is True
    await update(api, created["id"], workflowIds=["report"])
    refused = (await verify(api, created["key"], workflowId="deploy")).json()
    assert refused == {"valid": False, "reason": "WORKFLOW_NOT_ALLOWED"}
    await update(api, created["id"], workflowIds=None)
    assert (await verify(api, created["key"], workflowId="deploy")).json()["workflowIds"] is None
