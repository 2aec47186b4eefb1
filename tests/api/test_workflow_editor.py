"""The workflow editor: the key dropdown and the run command it fills in."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from service.domain.run_commands import RunCommands, RunMethod
from service.domain.vault import KeyCipher
from tests.api.documents import CREATE, LIST
from tests.helpers import Api, StatementLog

RUN = """query ($workflowId: ID!, $method: RunMethod!, $apiKeyId: ID) {
  workflowRunCommand(workflowId: $workflowId, method: $method, apiKeyId: $apiKeyId) {
    command maskedCommand apiKey { id name isDefault maskedKey }
  }
}"""
MASKED_RUN = RUN.replace("command maskedCommand", "maskedCommand")
DROPDOWN = "{ apiKeys { id name isDefault maskedKey } }"


async def keys(api: Api, user: str = "alice") -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (await api.data(LIST, user=user))["apiKeys"]
    return found


@pytest.mark.parametrize("method", ["REST_API", "CLI"])
async def test_the_default_key_is_used_when_none_is_chosen(api: Api, method: str) -> None:
    default = (await keys(api))[0]
    await api.data(CREATE, name="other")
    run = (await api.data(RUN, workflowId="wf-42", method=method))["workflowRunCommand"]
    assert run["apiKey"]["id"] == default["id"]
    expected = RunCommands().render(RunMethod(method), "wf-42", default["key"])
    assert run["command"] == expected
    assert default["key"] in run["command"]
    assert run["maskedCommand"] == RunCommands().render(
        RunMethod(method), "wf-42", default["maskedKey"]
    )
    assert default["key"] not in run["maskedCommand"]


@pytest.mark.parametrize("method", ["REST_API", "CLI"])
async def test_the_chosen_key_goes_into_the_command(api: Api, method: str) -> None:
    other = (await api.data(CREATE, name="other"))["createApiKey"]
    run = (await api.data(RUN, workflowId="wf", method=method, apiKeyId=other["id"]))[
        "workflowRunCommand"
    ]
    assert run["apiKey"]["name"] == "other"
    assert other["key"] in run["command"]
    assert other["maskedKey"] in run["maskedCommand"]


async def test_a_hostile_workflow_id_is_quoted(api: Api) -> None:
    default = (await keys(api))[0]
    hostile = "x'; rm -rf ~ #"
    run = (await api.data(RUN, workflowId=hostile, method="CLI"))["workflowRunCommand"]
    assert run["command"] == (
        f"BLK_API_KEY={default['key']} blk workflows run 'x'\"'\"'; rm -rf ~ #'"
    )


async def test_someone_elses_key_is_not_found_like_a_missing_one(api: Api) -> None:
    bob = (await keys(api, user="bob"))[0]
    await keys(api)
    answers = [
        (await api.post_as("alice", RUN, workflowId="wf", method="CLI", apiKeyId=key_id)).replace(
            key_id, "ID"
        )
        for key_id in (bob["id"], str(uuid.uuid4()))
    ]
    assert answers[0] == answers[1]
    body = await api.gql(RUN, workflowId="wf", method="CLI", apiKeyId=bob["id"])
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert bob["key"] not in str(body)


@pytest.mark.parametrize("workflow_id", ["", "x" * 201, "line\nbreak"])
async def test_an_unusable_workflow_id_is_a_validation_error(api: Api, workflow_id: str) -> None:
    body = await api.gql(RUN, workflowId=workflow_id, method="REST_API")
    assert body["data"] is None
    assert body["errors"][0]["extensions"] == {"code": "VALIDATION_FAILED", "field": "workflowId"}


async def test_an_unknown_method_is_refused_by_the_schema(api: Api) -> None:
    body = await api.gql(RUN, workflowId="wf", method="SSH")
    assert body["data"] is None and "RunMethod" in body["errors"][0]["message"]


async def test_an_api_key_sees_the_masked_command_but_not_the_full_one(api: Api) -> None:
    secret = (await keys(api))[0]["key"]
    headers = {"X-API-Key": secret}
    masked = await api.post(
        {"query": MASKED_RUN, "variables": {"workflowId": "wf", "method": "CLI"}}, headers
    )
    assert "errors" not in masked.json()
    full = await api.post(
        {"query": RUN, "variables": {"workflowId": "wf", "method": "CLI"}}, headers
    )
    assert full.json()["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert secret not in full.text.replace(masked.text, "")


async def test_the_dropdown_costs_one_query_and_no_decryption(
    api: Api, sql: StatementLog, monkeypatch: pytest.MonkeyPatch
) -> None:
    for n in range(4):
        await api.data(CREATE, name=f"k{n}")

    def refuse(*args: object, **kwargs: object) -> str:
        raise AssertionError("the dropdown decrypted a key")

    monkeypatch.setattr(KeyCipher, "decrypt", refuse)
    sql.clear()
    listed = (await api.data(DROPDOWN))["apiKeys"]
    assert [k["name"] for k in listed] == ["Default", "k0", "k1", "k2", "k3"]
    assert len(sql.statements) == 1 and sql.statements[0].startswith("SELECT")
