"""Hostile input to the four mutations, as variables and as literals inlined in the document.

For each example: alice's keys and audit trail are read before and after; a refusal (a
`UserError` member, top-level errors, or a 4xx) must leave them exactly as they were; anything
accepted must keep the invariants. Where the input is well-typed, the README's rules say which
answer is right, and the service must give that one (hostile but valid text is accepted, and
stored trimmed and NFC-normalised).
"""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.strategies import (
    ABSENT,
    KeyRef,
    faithful_inline,
    id_like,
    int_like,
    literal,
    object_literal,
    resolve_id,
    string_like,
    weighted,
    without_absent,
)
from tests.hostile.support import (
    INT32,
    MAX_GRACE_SECONDS,
    MAX_KEYS,
    Hostile,
    World,
    budget,
    clean_description,
    clean_name,
    settle,
)

USER_ERROR = "__typename ... on UserError { code message }"
KEY = "... on ApiKey { id name description maskedKey isDefault rotatedAt }"
VALIDATION = "... on ValidationError { field }"

CREATE_RESULT = f"{USER_ERROR} {VALIDATION} ... on KeyLimitReachedError {{ limit }} {KEY}"
UPDATE_RESULT = f"{USER_ERROR} {VALIDATION} {KEY}"
ROTATE_RESULT = f"{USER_ERROR} {VALIDATION} {KEY}"
DELETE_RESULT = f"{USER_ERROR} ... on DeletedApiKey {{ id }}"

# Fields the inputs do not have (or have in another case): unknown fields are refused.
extra_fields = weighted(
    (4, st.just({})),
    (
        1,
        st.dictionaries(
            st.sampled_from(
                ["id", "isDefault", "key", "ownerId", "Name", "name_", "n\u0130me", "\u0130d"]
            ),
            string_like,
            min_size=1,
            max_size=2,
        ),
    ),
)
optional_string = weighted((2, st.just(ABSENT)), (1, st.none()), (7, string_like))


def document(operation: str, variables: str, argument: str, selection: str) -> str:
    declared = f"({variables})" if variables else ""
    return f"mutation{declared} {{ {operation}(input: {argument}) {{ {selection} }} }}"


def field_of(answer_result: Any) -> str | None:
    return answer_result.get("field") if isinstance(answer_result, dict) else None


@budget(45)
@given(
    mode=st.sampled_from(["input", "input", "fields", "inline", "junk-input"]),
    name=weighted((9, string_like), (1, st.just(ABSENT))),
    description=optional_string,
    extra=extra_fields,
    ascii_only=st.booleans(),
    make_room=st.booleans(),
)
@example(  # astral, combining and right-to-left text is a fine name
    mode="input",
    name=" \U0001f600 A\u0301 \u05d0\u202e ",
    description="line one\nline two",
    extra={},
    ascii_only=False,
    make_room=True,
)
@example(mode="input", name="\ud800", description=ABSENT, extra={}, ascii_only=True, make_room=True)
# An unknown input field named with "İ" (whose lower case is two characters): found to answer
# with the text of an IndexError from graphql-core's "did you mean" (see the report).
@example(
    mode="input",
    name="x",
    description=ABSENT,
    extra={"\u0130d": 1},
    ascii_only=True,
    make_room=True,
)
@example(
    mode="inline", name="x\x00y", description=ABSENT, extra={}, ascii_only=True, make_room=True
)
@example(
    mode="input", name="a" * 100_000, description=ABSENT, extra={}, ascii_only=True, make_room=True
)
@example(
    mode="input", name="\u0958" * 64, description=ABSENT, extra={}, ascii_only=False, make_room=True
)
async def test_create_api_key_never_breaks(
    hostile: Hostile,
    world: World,
    mode: str,
    name: Any,
    description: Any,
    extra: dict[str, Any],
    ascii_only: bool,
    make_room: bool,
) -> None:
    before = await hostile.snapshot()
    if make_room:
        before = await hostile.make_room(before)
    fields = {"name": name, "description": description, **extra}
    if mode == "input":
        query = document("createApiKey", "$input: CreateApiKeyInput!", "$input", CREATE_RESULT)
        variables: Any = {"input": without_absent(fields)}
    elif mode == "junk-input":
        query = document("createApiKey", "$input: CreateApiKeyInput!", "$input", CREATE_RESULT)
        variables = {} if name is ABSENT else {"input": name}
    elif mode == "fields":
        declared = "$name: String!, $description: String"
        argument = "{name: $name, description: $description}"
        query = document("createApiKey", declared, argument, CREATE_RESULT)
        variables = without_absent(fields)
    else:
        argument = object_literal(fields, ascii_only=ascii_only)
        query = document("createApiKey", "", argument, CREATE_RESULT)
        variables = {}
    body = {"query": query, "variables": variables}
    answer = await hostile.graphql(body, ascii_only=ascii_only)
    after = await settle(hostile, answer, before, "createApiKey")

    if answer.status != 200 or mode == "junk-input" or extra:
        return
    if mode == "inline" and not faithful_inline(name, description):
        return
    if not isinstance(name, str) or not (
        description is ABSENT or description is None or isinstance(description, str)
    ):
        return
    # Well-typed: the README says what the answer is.
    stored_name = clean_name(name)
    description_ok, stored_description = clean_description(
        None if description is ABSENT else description
    )
    result = answer.result("createApiKey")
    if stored_name is None:
        expected, field = "ValidationError", "name"
    elif not description_ok:
        expected, field = "ValidationError", "description"
    elif len(before.keys) >= MAX_KEYS:
        expected, field = "KeyLimitReachedError", None
    elif before.named(stored_name) is not None:
        expected, field = "NameTakenError", None
    else:
        expected, field = "ApiKey", None
    assert answer.typename("createApiKey") == expected, (name, description, answer.text[:500])
    assert field_of(result) == field, answer.text[:500]
    if expected == "ApiKey":
        assert result["name"] == stored_name and result["description"] == stored_description
        assert result["isDefault"] is False and result["id"] in after.ids


@budget(45)
@given(
    mode=st.sampled_from(["input", "input", "inline", "junk-input"]),
    target=id_like,
    name=optional_string,
    description=optional_string,
    extra=extra_fields,
    ascii_only=st.booleans(),
)
@example(  # renaming to another key's name in another case
    mode="input",
    target=KeyRef("alice", 0, "exact"),
    name="ALICE EXTRA",
    description=ABSENT,
    extra={},
    ascii_only=True,
)
@example(  # found to answer with an IndexError's text (see the report)
    mode="input",
    target=KeyRef("alice", 1, "exact"),
    name="renamed",
    description=ABSENT,
    extra={"\u0130d": None},
    ascii_only=True,
)
@example(
    mode="input",
    target=KeyRef("bob", 1, "exact"),
    name="stolen",
    description=None,
    extra={},
    ascii_only=True,
)
@example(
    mode="inline",
    target=KeyRef("alice", 1, "upper"),
    name=None,
    description="\ud800",
    extra={},
    ascii_only=True,
)
async def test_update_api_key_never_breaks(
    hostile: Hostile,
    world: World,
    mode: str,
    target: Any,
    name: Any,
    description: Any,
    extra: dict[str, Any],
    ascii_only: bool,
) -> None:
    before = await hostile.snapshot()
    aim = resolve_id(target, before, world.bob_ids)
    fields = {"id": aim.value, "name": name, "description": description, **extra}
    if mode == "input":
        query = document("updateApiKey", "$input: UpdateApiKeyInput!", "$input", UPDATE_RESULT)
        variables: Any = {"input": without_absent(fields)}
    elif mode == "junk-input":
        query = document("updateApiKey", "$input: UpdateApiKeyInput!", "$input", UPDATE_RESULT)
        variables = {} if name is ABSENT else {"input": name}
    else:
        argument = object_literal(fields, ascii_only=ascii_only)
        query = document("updateApiKey", "", argument, UPDATE_RESULT)
        variables = {}
    answer = await hostile.graphql({"query": query, "variables": variables}, ascii_only=ascii_only)
    bob = world.bob_before if aim.bob else None
    after = await settle(hostile, answer, before, "updateApiKey", bob=bob)

    if answer.status != 200 or mode == "junk-input" or extra or aim.kind == "invalid":
        return
    if mode == "inline" and not faithful_inline(aim.value, name, description):
        return
    if not all(v is ABSENT or v is None or isinstance(v, str) for v in (name, description)):
        return
    result = answer.result("updateApiKey")
    stored_name = clean_name(name) if isinstance(name, str) else None
    description_ok, stored_description = clean_description(
        description if isinstance(description, str) else None
    )
    if name is None or (isinstance(name, str) and stored_name is None):
        expected, field = "ValidationError", "name"
    elif not description_ok:
        expected, field = "ValidationError", "description"
    elif aim.kind == "other":
        expected, field = "NotFoundError", None
    else:
        assert aim.key is not None
        holder = before.named(stored_name) if stored_name is not None else None
        taken = holder is not None and holder["id"] != aim.key["id"]
        expected, field = ("NameTakenError" if taken else "ApiKey"), None
    assert answer.typename("updateApiKey") == expected, (aim, name, description, answer.text[:500])
    assert field_of(result) == field, answer.text[:500]
    if expected == "ApiKey":
        assert aim.key is not None
        assert result["id"] == aim.key["id"]
        assert result["name"] == (aim.key["name"] if stored_name is None else stored_name)
        if description is not ABSENT:
            assert result["description"] == stored_description
        else:
            assert result["description"] == aim.key["description"]
        assert after.named(result["name"]) is not None


@budget(35)
@given(
    mode=st.sampled_from(["input", "input", "inline"]),
    target=id_like,
    expire=weighted((1, st.just(ABSENT)), (4, int_like)),
    ascii_only=st.booleans(),
)
@example(mode="input", target=KeyRef("alice", 0, "exact"), expire=2**31, ascii_only=True)
@example(mode="inline", target=KeyRef("alice", 0, "hex"), expire=10**400, ascii_only=True)
@example(mode="input", target=KeyRef("alice", 0, "braces"), expire=-1, ascii_only=True)
@example(mode="input", target=KeyRef("bob", 0, "exact"), expire=60, ascii_only=True)
async def test_rotate_api_key_never_breaks(
    hostile: Hostile, world: World, mode: str, target: Any, expire: Any, ascii_only: bool
) -> None:
    before = await hostile.snapshot()
    aim = resolve_id(target, before, world.bob_ids)
    fields = {"id": aim.value, "expireOldKeyInSeconds": expire}
    if mode == "input":
        query = document("rotateApiKey", "$input: RotateApiKeyInput!", "$input", ROTATE_RESULT)
        variables: Any = {"input": without_absent(fields)}
    else:
        argument = object_literal(fields, ascii_only=ascii_only)
        query = document("rotateApiKey", "", argument, ROTATE_RESULT)
        variables = {}
    answer = await hostile.graphql({"query": query, "variables": variables}, ascii_only=ascii_only)
    bob = world.bob_before if aim.bob else None
    after = await settle(hostile, answer, before, "rotateApiKey", bob=bob)

    seconds = 0 if expire is ABSENT else expire
    well_typed = isinstance(seconds, int) and not isinstance(seconds, bool)
    if answer.status != 200 or aim.kind == "invalid" or not well_typed:
        return
    if mode == "inline" and not faithful_inline(aim.value):
        return
    if seconds not in INT32:
        assert answer.typename("rotateApiKey") is None, answer.text[:500]  # not a GraphQL Int
        return
    if not 0 <= seconds <= MAX_GRACE_SECONDS:
        expected = "ValidationError"
    elif aim.kind == "other":
        expected = "NotFoundError"
    else:
        assert aim.key is not None
        expected = "ApiKey" if aim.key["isDefault"] else "NotDefaultKeyError"
    assert answer.typename("rotateApiKey") == expected, (aim, expire, answer.text[:500])
    if expected == "ApiKey":
        result = answer.result("rotateApiKey")
        assert result["id"] == before.default["id"] == after.default["id"]
        assert result["rotatedAt"] is not None


@budget(35)
@given(
    mode=st.sampled_from(["input", "variable", "inline"]),
    target=id_like,
    refill=st.booleans(),
    ascii_only=st.booleans(),
)
@example(mode="input", target=KeyRef("alice", 0, "exact"), refill=True, ascii_only=True)
@example(mode="variable", target=KeyRef("alice", 1, "urn"), refill=True, ascii_only=True)
@example(mode="input", target=KeyRef("bob", 1, "exact"), refill=True, ascii_only=True)
async def test_delete_api_key_never_breaks(
    hostile: Hostile, world: World, mode: str, target: Any, refill: bool, ascii_only: bool
) -> None:
    before = await hostile.snapshot()
    if refill and len(before.keys) < 3:
        label = f"refill {uuid.uuid4().hex[:8]}"
        await hostile.api.data(
            "mutation($n: String!) { createApiKey(input: {name: $n}) { __typename } }", n=label
        )
        before = await hostile.snapshot()
    aim = resolve_id(target, before, world.bob_ids)
    if mode == "input":
        query = document("deleteApiKey", "$input: DeleteApiKeyInput!", "$input", DELETE_RESULT)
        variables: Any = {"input": {"id": aim.value}}
    elif mode == "variable":
        query = document("deleteApiKey", "$id: ID!", "{id: $id}", DELETE_RESULT)
        variables = {"id": aim.value}
    else:
        argument = "{id: " + literal(aim.value, ascii_only=ascii_only) + "}"
        query = document("deleteApiKey", "", argument, DELETE_RESULT)
        variables = {}
    answer = await hostile.graphql({"query": query, "variables": variables}, ascii_only=ascii_only)
    bob = world.bob_before if aim.bob else None
    after = await settle(hostile, answer, before, "deleteApiKey", bob=bob)

    if answer.status != 200 or aim.kind == "invalid" or not faithful_inline(aim.value):
        return
    if aim.kind == "other":
        expected = "NotFoundError"
    else:
        assert aim.key is not None
        expected = "DefaultKeyUndeletableError" if aim.key["isDefault"] else "DeletedApiKey"
    assert answer.typename("deleteApiKey") == expected, (aim, answer.text[:500])
    if expected == "DeletedApiKey":
        assert aim.key is not None
        assert answer.result("deleteApiKey")["id"] == aim.key["id"]
        assert aim.key["id"] not in after.ids
