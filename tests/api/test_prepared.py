"""Prepared queries answer exactly what the general executor answers, byte for byte.

Every document here is sent twice over HTTP, on one app and one set of keys: once as clients send
it (a prepared plan answers it when it can) and once with plans switched off (strawberry answers
it). The two answers must be identical: status, content type and body. The documents are the
settings page's and the workflow editor's own, hand-written ones that use every feature a plan
handles (aliases, fragments, `__typename`, `@skip`/`@include`, variables, merged fields) and many
it leaves to the general executor, and documents generated from the schema.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hypothesis_graphql
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from service.cases.keys import KeyService
from service.domain import errors
from service.domain.audit import Actor
from service.graphql import prepared
from service.graphql.prepared import PreparedQueries
from service.graphql.schema import build_schema, sdl
from tests.api.documents import CREATE
from tests.api.test_verify import rotate, verify
from tests.helpers import ROOT, Api
from tests.hostile.support import budget

DOCUMENTS_JS = ROOT / "service" / "static" / "js" / "documents.js"


def page_documents(path: Path = DOCUMENTS_JS) -> dict[str, str]:
    """The page's documents, by constant name, as the page sends them (`${KEY_FIELDS}` and
    the like resolved)."""
    source = path.read_text()
    found = dict(re.findall(r"const (\w+) = `([^`]*)`;", source))
    return {
        name: re.sub(r"\$\{(\w+)\}", lambda m: found[m.group(1)], text)
        for name, text in found.items()
    }


DROPDOWN = "{ apiKeys { id name isDefault } }"
SCOPE = "mutation ($input: UpdateApiKeyInput!) { updateApiKey(input: $input) { __typename } }"
EDITOR_DROPDOWN = "{ apiKeys { id name isDefault maskedKey } }"


@dataclass
class Comparison:
    prepared: str  # status, content type and body of the answer as clients get it
    general: str  # the same with prepared plans switched off
    served_by_plan: bool


class Twice:
    """Sends a request as clients do, then again with prepared plans off."""

    def __init__(self, api: Api, patch: pytest.MonkeyPatch) -> None:
        self.api = api
        self.patch = patch
        self.plans_answered = 0
        for method in ("answer", "mutate"):
            patch.setattr(PreparedQueries, method, self._counted(getattr(PreparedQueries, method)))

    def _counted(self, original: Any) -> Any:
        async def counted(prepared: PreparedQueries, *args: Any) -> bytes:
            body: bytes = await original(prepared, *args)
            self.plans_answered += 1
            return body

        return counted

    async def send(self, body: Any, headers: dict[str, str]) -> str:
        response = await self.api.client.post("/graphql", json=body, headers=headers)
        return f"{response.status_code} {response.headers.get('content-type')} {response.text}"

    async def compare(self, body: Any, headers: dict[str, str]) -> Comparison:
        before = self.plans_answered
        prepared = await self.send(body, headers)
        served = self.plans_answered > before
        with self.patch.context() as off:
            off.setattr(PreparedQueries, "plan", lambda *args, **kwargs: None)
            general = await self.send(body, headers)
        if not served:
            # The general executor twice: fields resolve concurrently, so when several fail
            # their errors may come in either order. A plan's answers have no errors.
            prepared, general = _errors_in_order(prepared), _errors_in_order(general)
        return Comparison(prepared, general, served)


def _errors_in_order(answer: str) -> str:
    """Errors as a set: in no particular order, and whichever list item failed first (when
    every item fails alike, which one is reported is a race)."""
    head, _, body = answer.partition("{")
    try:
        parsed = json.loads("{" + body)
    except ValueError:
        return answer
    if isinstance(parsed, dict) and isinstance(parsed.get("errors"), list):
        for error in parsed["errors"]:
            if isinstance(error.get("path"), list):
                error["path"] = ["#" if isinstance(p, int) else p for p in error["path"]]
        unique = {json.dumps(error, sort_keys=True) for error in parsed["errors"]}
        parsed["errors"] = sorted(unique)
        return head + json.dumps(parsed)
    return answer


@dataclass
class Keys:
    session: dict[str, str]  # alice's session token
    api_key: dict[str, str]  # alice's second key, for API-key (read-only) authentication
    stranger: dict[str, str]  # a user with no keys yet: the first list creates the default key


@pytest.fixture
async def twice(api: Api) -> AsyncIterator[Twice]:
    with pytest.MonkeyPatch.context() as patch:
        yield Twice(api, patch)


@pytest.fixture
async def keys(app: Starlette, api: Api) -> Keys:
    """alice with five keys: null and long descriptions, used and unused, a rotated default."""
    for n, description in enumerate(["nightly deploys", None, "x" * 500, "two\nlines"]):
        created = await api.data(CREATE, name=f"Key {n} ünïcödé", description=description)
        assert created["createApiKey"]["__typename"] == "ApiKey"
    listed = (await api.data("{ apiKeys { id key isDefault } }"))["apiKeys"]
    scoped = {"workflowIds": ["deploy", "report"], "allowedAddresses": ["127.0.0.0/8", "::1"]}
    await api.data(SCOPE, input={"id": listed[2]["id"], **scoped})
    await api.data(SCOPE, input={"id": listed[3]["id"], "workflowIds": ["report"]})
    await verify(api, listed[1]["key"])
    await verify(api, listed[2]["key"])
    await app.state.tracker.flush()
    await rotate(api, listed[0]["id"], grace=60)
    # Uses recorded while comparing would land in "last used" between the two answers.
    app.state.tracker.record = lambda *args, **kwargs: None
    return Keys(
        session={"Authorization": f"Bearer {api.token('alice')}"},
        api_key={"X-API-Key": listed[1]["key"]},
        stranger={"Authorization": f"Bearer {api.token('stranger')}"},
    )


async def test_the_page_and_the_editor_are_answered_by_plans_identically(
    twice: Twice, keys: Keys
) -> None:
    documents = page_documents()
    for query in (documents["LIST_KEYS"], DROPDOWN, EDITOR_DROPDOWN):
        result = await twice.compare({"query": query}, keys.session)
        assert result.served_by_plan, query
        assert result.prepared == result.general
        assert '"maskedKey"' in result.prepared or "maskedKey" not in query
    # The page's Scope column and its run panel's key choice, as it sends them.
    for body in (
        {"query": documents["KEY_SCOPES"], "operationName": "KeyScopes"},
        {"query": documents["USABLE_KEYS"], "variables": {"workflowId": "report"}},
        {"query": documents["USABLE_KEYS"], "variables": {"workflowId": "elsewhere"}},
    ):
        result = await twice.compare(body, keys.session)
        assert result.served_by_plan, body
        assert result.prepared == result.general
    # Read with an API key (the CLI), and with an operation name, as the page names it.
    listed = await twice.compare(
        {"query": documents["LIST_KEYS"], "operationName": "ApiKeys"}, keys.api_key
    )
    assert listed.served_by_plan and listed.prepared == listed.general


async def test_the_page_documents_are_the_ones_it_sends() -> None:
    documents = page_documents()
    assert "query ApiKeys { apiKeys { ...KeyFields } }" in documents["LIST_KEYS"]
    assert "fragment KeyFields on ApiKey" in documents["LIST_KEYS"]


HAND_WRITTEN = [
    # (document, variables, served by a plan?)
    ("{ __typename }", None, True),
    ("{ apiKeys { __typename } }", None, True),
    ("{ a: apiKeys { b: id } apiKeys { id name } }", None, True),
    ("{ apiKeys { id ...F ...F } } fragment F on ApiKey { name id }", None, True),
    (
        "{ apiKeys { ... { id } ... on ApiKey { name } ... on CreateApiKeyResult { __typename "
        "... on ApiKey { isDefault } } } }",
        None,
        True,
    ),
    (
        "{ apiKeys { ... on CreateApiKeyResult { ... on ApiKey { id ... on UpdateApiKeyResult "
        "{ ... on ApiKey { name } } } } } }",
        None,
        True,
    ),
    ("{ ...Q } fragment Q on Query { apiKeys { id } __typename }", None, True),
    (
        "{ apiKeys { id name @skip(if: true) description @include(if: false) "
        "lastUsedAt @include(if: true) } }",
        None,
        True,
    ),
    (
        "{ apiKeys { ... @skip(if: true) { id } ...F @include(if: true) } } fragment F on ApiKey "
        "{ name }",
        None,
        True,
    ),
    ("query ($s: Boolean!) { apiKeys { id name @skip(if: $s) } }", {"s": True}, True),
    ("query ($s: Boolean!) { apiKeys { id name @skip(if: $s) } }", {"s": False}, True),
    ("query ($s: Boolean = true) { apiKeys { id name @include(if: $s) } }", {}, True),
    ("query ($s: Boolean) { apiKeys { id name @include(if: $s) } }", {"s": None}, None),
    ("query ($s: Boolean!) { apiKeys { id name @skip(if: $s) } }", {}, False),
    ("query ($s: Boolean!) { apiKeys { id name @skip(if: $s) } }", {"s": "yes"}, False),
    ("query A { apiKeys { id } } query B { apiKeys { name } }", None, False),
    (
        'query A { apiKeys { id } } mutation B { deleteApiKey(input: {id: "x"}) { __typename } }',
        None,
        False,
    ),
    ("{ apiKeys { id key } }", None, False),
    ('{ apiKeys { id } apiKey(id: "nope") { id } }', None, False),
    ("{ apiKeys { id nope } }", None, False),
    ("{ apiKeys { id @deprecated } }", None, False),
    ("{ apiKeys { id name: description } }", None, True),
    ("{ apiKeys { id name: description name } }", None, False),
    ("{ apiKeys { id } ", None, False),
    ("subscription { apiKeys { id } }", None, False),
    # A mutation refused by its use case (an empty name): the same refusal either way.
    ('mutation { createApiKey(input: {name: ""}) { __typename } }', None, True),
    ("{ apiKeyEvents(first: 1) { edges { node { kind } } } }", None, False),
    # The editor's dropdown for one workflow, and a key's scope.
    ('{ apiKeys(usableFor: "deploy") { id name isDefault } }', None, True),
    ("query ($w: ID) { apiKeys(usableFor: $w) { id name } }", {"w": "report"}, True),
    ("query ($w: ID) { apiKeys(usableFor: $w) { id name } }", {"w": None}, True),
    ("query ($w: ID) { apiKeys(usableFor: $w) { id name } }", {}, True),
    ('{ a: apiKeys(usableFor: "deploy") { id } b: apiKeys { id } }', None, True),
    ('{ apiKeys(usableFor: "") { id } }', None, False),  # no workflow id: a refusal
    ('{ apiKeys(usableFor: "x") { id } apiKeys { id } }', None, False),  # fields that clash
    ("{ apiKeys { id workflowIds allowedAddresses } }", None, True),
    ("{ apiKeys { id suggestedWorkflowIds } }", None, False),
]


@pytest.mark.parametrize(("query", "variables", "planned"), HAND_WRITTEN)
async def test_hand_written_documents_are_answered_identically(
    twice: Twice, keys: Keys, query: str, variables: dict[str, Any] | None, planned: bool | None
) -> None:
    body = {"query": query, "variables": variables}
    result = await twice.compare(body, keys.session)
    assert result.prepared == result.general
    if planned is not None:
        assert result.served_by_plan == planned


async def test_refusals_are_the_general_executors(twice: Twice, keys: Keys) -> None:
    cases: list[tuple[Any, dict[str, str]]] = [
        ({"query": DROPDOWN}, {}),  # nobody signed in
        ({"query": DROPDOWN}, {"Authorization": "Bearer not-a-token"}),
        ({"query": DROPDOWN}, {"X-API-Key": "blk_" + "0" * 38}),
        ({"query": DROPDOWN, "variables": [1]}, keys.session),
        ({"query": DROPDOWN}, {**keys.session, "Content-Type": "text/plain; x=application/json"}),
        ({"query": DROPDOWN}, {**keys.session, "Content-Type": "application/jsonx"}),
        ({"query": DROPDOWN}, {**keys.session, "Content-Type": "Application/JSON"}),
        ({"query": DROPDOWN, "operationName": 3}, keys.session),
        ({"query": DROPDOWN, "extensions": "x"}, keys.session),
        ({"query": 42}, keys.session),
        ([{"query": DROPDOWN}], keys.session),
        (None, keys.session),
    ]
    for body, headers in cases:
        result = await twice.compare(body, headers)
        assert not result.served_by_plan, body
        assert result.prepared == result.general, body


async def test_a_first_visit_creates_the_default_key_once_either_way(
    twice: Twice, keys: Keys
) -> None:
    first = await twice.compare({"query": DROPDOWN}, keys.stranger)
    assert first.served_by_plan
    assert first.prepared == first.general
    assert first.prepared.count('"isDefault":true') == 1


# -- generated documents -------------------------------------------------------------------------

_PLAIN = ["id", "name", "description", "maskedKey", "isDefault", "createdAt", "updatedAt"]
_PLAIN += ["lastUsedAt", "rotatedAt", "workflowIds", "allowedAddresses", "__typename"]
_ALIASES = ["a", "b", "id", "name", "x1"]
_CONDITIONS = ["", " on ApiKey", " on CreateApiKeyResult", " on RotateApiKeyResult"]


@dataclass
class Generated:
    query: str
    variables: dict[str, Any]


@st.composite
def key_documents(draw: st.DrawFn) -> Generated:
    """An `apiKeys` query built from everything prepared plans handle, and now and then
    something they leave to the general executor (the `key` field, an unknown directive)."""
    fragments: list[str] = []
    variables: dict[str, Any] = {}
    declared: dict[str, str] = {}

    def directive() -> str:
        kind = draw(st.sampled_from([""] * 8 + ["skip", "include"] * 2 + ["deprecated"]))
        if not kind:
            return ""
        if kind == "deprecated":
            return " @deprecated"
        if draw(st.booleans()):
            return f" @{kind}(if: {draw(st.sampled_from(['true', 'false']))})"
        name = f"v{len(declared)}"
        declared[name] = draw(st.sampled_from(["Boolean!", "Boolean", "Boolean = false"]))
        value = draw(st.sampled_from([True, False] * 4 + [None, "absent", "no"]))
        if value != "absent":
            variables[name] = value
        return f" @{kind}(if: ${name})"

    def selection(depth: int) -> str:
        items = []
        for _ in range(draw(st.integers(min_value=1, max_value=4))):
            kind = draw(st.sampled_from(["field"] * 4 + ["inline", "spread"] * (depth < 3)))
            if kind == "field":
                name = draw(
                    st.sampled_from([*_PLAIN, "key"] if draw(st.integers(0, 9)) == 0 else _PLAIN)
                )
                # Aliases named after their field merge cleanly; now and then one that may
                # clash with another field (a validation error, the general executor's).
                pool = [f"{name}A", f"{name}B"] * 5 + _ALIASES
                alias = f"{draw(st.sampled_from(pool))}: " if draw(st.booleans()) else ""
                items.append(f"{alias}{name}{directive()}")
            elif kind == "inline":
                condition = draw(st.sampled_from(_CONDITIONS))
                inner = selection(depth + 1)
                if "Result" in condition:  # a union: its members are selected by fragments
                    inner = f"__typename ... on ApiKey {{ {inner} }}"
                items.append(f"...{condition}{directive()} {{ {inner} }}")
            else:
                name = f"F{len(fragments)}"
                fragments.append("")  # reserve the name before the body (it may nest)
                body = selection(depth + 1)
                condition = draw(st.sampled_from(["ApiKey", "CreateApiKeyResult"]))
                if condition != "ApiKey":
                    body = f"... on ApiKey {{ {body} }}"
                fragments[int(name[1:])] = f"fragment {name} on {condition} {{ {body} }}"
                items.append(f"...{name}{directive()}")
        return " ".join(items)

    roots = []
    for _ in range(draw(st.integers(min_value=1, max_value=2))):
        alias = (
            f"{draw(st.sampled_from(['k', 'keys', 'apiKeys']))}: " if draw(st.booleans()) else ""
        )
        roots.append(f"{alias}apiKeys{directive()} {{ {selection(0)} }}")
    if draw(st.booleans()):
        roots.insert(draw(st.integers(0, len(roots))), f"__typename{directive()}")
    header = ""
    if declared:
        header = "query (" + ", ".join(f"${n}: {t}" for n, t in declared.items()) + ") "
    return Generated(f"{header}{{ {' '.join(roots)} }} {' '.join(fragments)}", variables)


@budget(150)
@given(document=key_documents())
async def test_generated_key_documents_are_answered_identically(
    twice: Twice, keys: Keys, document: Generated
) -> None:
    result = await twice.compare(
        {"query": document.query, "variables": document.variables}, keys.session
    )
    assert result.prepared == result.general, document


@budget(100)
@given(query=hypothesis_graphql.queries(sdl(), fields=["apiKeys"]))
async def test_documents_generated_from_the_schema_are_answered_identically(
    twice: Twice, keys: Keys, query: str
) -> None:
    result = await twice.compare({"query": query}, keys.session)
    assert result.prepared == result.general, query


def test_some_generated_documents_are_served_by_plans() -> None:
    """The generators above must exercise the plans, not only the general executor."""
    served = 0
    for document in _examples(key_documents(), 60):
        plan = _planner().plan(document.query, None, document.variables)
        served += plan is not None
    assert served >= 20, served


@pytest.mark.parametrize(
    "query",
    [
        'mutation { createApiKey(input: {name: "x"}) { __typename }'
        ' deleteApiKey(input: {id: "x"}) { __typename } }',
        '{ apiKey(id: "x") { id } }',
        "query { apiKeys { id } ...F } fragment F on Query { apiKeyEvents { id } }",
        "query { ... on Query { apiKeys { id } workflowRunCommand { x } } }",
        "subscription { apiKeys { id } }",
    ],
)
def test_a_document_no_plan_serves_is_not_validated_here(
    query: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation is most of what preparing costs: a document this path refuses anyway is
    left to the general executor's, not validated twice."""

    def validate(*args: Any) -> list[Any]:
        raise AssertionError("validated")

    monkeypatch.setattr("service.graphql.prepared.validate_document", validate)
    assert PreparedQueries(build_schema()).plan(query, None, {"name": "x"}) is None


def test_a_document_a_plan_may_serve_is_validated_first(monkeypatch: pytest.MonkeyPatch) -> None:
    validated: list[object] = []
    original = prepared.validate_document

    def validate(*args: Any) -> Any:
        validated.append(args[1])
        return original(*args)

    monkeypatch.setattr("service.graphql.prepared.validate_document", validate)
    planner = PreparedQueries(build_schema())
    query = "query { ...F __typename } fragment F on Query { apiKeys { id } }"
    assert planner.plan(query, None, None) is not None
    assert planner.plan("{ apiKeys { nope } }", None, None) is None
    assert len(validated) == 2


@functools.cache
def _planner() -> PreparedQueries:
    return PreparedQueries(build_schema())


def _examples(strategy: st.SearchStrategy[Generated], count: int) -> Iterator[Generated]:
    found: list[Generated] = []

    # Derandomized: the same examples every run, so the share served by plans is stable.
    @settings(parent=budget(count), derandomize=True)
    @given(strategy)
    def collect(example: Generated) -> None:
        found.append(example)

    collect()
    yield from found


# -- mutations -----------------------------------------------------------------------------------

MUTATION_FIELDS = {
    "createApiKey": "create_key",
    "updateApiKey": "update_key",
    "rotateApiKey": "rotate_key",
    "deleteApiKey": "delete_key",
    "dismissLeak": "dismiss_leak",
}
# Every outcome a mutation's use case has: a result, each refusal, and each kind of failure.
OUTCOMES: list[Any] = [
    None,  # the key (or, for a deletion, its id)
    errors.ValidationFailed("name", "Name cannot be empty."),
    errors.NameTaken(),
    errors.KeyLimitReached(5),
    errors.NotFound(),
    errors.NotDefaultKey(),
    errors.DefaultKeyUndeletable(),
    errors.Unavailable(),
    RuntimeError("a crash whose text must not be answered"),
]
# Hand-written mutations using what a plan handles: aliases, fragments on the union, on an
# interface and on members, `__typename`, `@skip`/`@include` from variables and literals,
# literal input, enum values; with the variables each needs besides `input`.
HAND_WRITTEN_MUTATIONS: list[tuple[str, dict[str, Any]]] = [
    (
        "mutation ($input: CreateApiKeyInput!) { made: createApiKey(input: $input) {"
        " __typename ... on ApiKey { id n: name maskedKey isDefault leak { url } }"
        " ... on UserError { code message } ... on KeyLimitReachedError { limit } } }",
        {},
    ),
    (
        "mutation ($input: UpdateApiKeyInput!, $with: Boolean!) { updateApiKey(input: $input) {"
        " ...K ... on UserError @include(if: $with) { code } ... on ValidationError { field }"
        " __typename @skip(if: $with) } } fragment K on ApiKey { id description workflowIds }",
        {"with": True},
    ),
    (
        "mutation ($input: UpdateApiKeyInput!, $with: Boolean!) { updateApiKey(input: $input) {"
        " ...K ... on UserError @include(if: $with) { code } __typename @skip(if: $with) } }"
        " fragment K on ApiKey { id description workflowIds }",
        {"with": False},
    ),
    (
        'mutation { rotateApiKey(input: {id: "k", expireOldKeyInSeconds: 60}) {'
        " ... on RotateApiKeyResult { __typename } ... on ApiKey { id rotatedAt } } }",
        {},
    ),
    (
        "mutation M($input: DeleteApiKeyInput!) { deleteApiKey(input: $input) {"
        " ... on DeletedApiKey { id __typename } ... on UserError { message code } } }",
        {},
    ),
]


class Outcome:
    """Makes every use case of a mutation answer `outcome` (the same for both paths), and keeps
    the arguments each call got."""

    def __init__(self, patch: pytest.MonkeyPatch, stored: Any) -> None:
        self.patch = patch
        self.stored = stored
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []

    @property
    def runs(self) -> int:
        return len(self.calls)

    def set(self, outcome: Any) -> None:
        for name in MUTATION_FIELDS.values():
            self.patch.setattr(KeyService, name, self._use_case(name, outcome))

    def _use_case(self, name: str, outcome: Any) -> Any:
        async def use_case(service: KeyService, *args: Any, **kwargs: Any) -> Any:
            self.calls.append((name, args, kwargs))
            if outcome is not None:
                raise outcome
            return self.stored.id if name == "delete_key" else self.stored

        return use_case


@pytest.fixture
async def outcome(app: Starlette, api: Api, keys: Keys) -> AsyncIterator[Outcome]:
    actor = Actor(owner_id="alice", client_address=None, user_agent=None)
    stored = (await app.state.keys.list_keys(actor))[2]  # scoped, used, with a description
    with pytest.MonkeyPatch.context() as patch:
        yield Outcome(patch, stored)


def _input_for(query: str) -> dict[str, Any]:
    field = re.search(r"(\w+)\(input", query)
    assert field is not None, query
    return {
        "createApiKey": {"name": "made", "description": None},
        "updateApiKey": {"id": "k", "name": "renamed", "workflowIds": ["deploy"]},
        "rotateApiKey": {"id": "k"},
        "deleteApiKey": {"id": "k"},
        "dismissLeak": {"id": "k"},
    }[field.group(1)]


async def test_mutations_are_answered_by_plans_identically(
    twice: Twice, keys: Keys, outcome: Outcome, caplog: pytest.LogCaptureFixture
) -> None:
    """Each of the page's mutations, and hand-written ones, with every outcome of its use case:
    the prepared path runs the use case once and answers byte for byte as strawberry does,
    failures (masked, or UNAVAILABLE) included, and logs a crash as strawberry does."""
    documents = page_documents()
    page = [
        (documents[name], {})
        for name in ("CREATE_KEY", "UPDATE_KEY", "ROTATE_KEY", "DELETE_KEY", "DISMISS_LEAK")
    ]
    for query, variables in page + HAND_WRITTEN_MUTATIONS:
        body = {"query": query, "variables": {"input": _input_for(query), **variables}}
        if "input:" in query and "$input" not in query:
            body["variables"] = variables
        for each in OUTCOMES:
            outcome.set(each)
            before_runs = outcome.runs
            caplog.clear()
            result = await twice.compare(body, keys.session)
            assert result.served_by_plan, (query, each)
            assert outcome.runs == before_runs + 2, (query, each)  # once per path
            # ... with the same arguments (the caller, and the input as the use case reads it)
            assert outcome.calls[-2] == outcome.calls[-1], (query, each)
            assert result.prepared == result.general, (query, each)
            if isinstance(each, RuntimeError):
                crashes = [r for r in caplog.records if r.getMessage().startswith("Unexpected")]
                assert len(crashes) == 2 and crashes[0].exc_info is not None
                assert "a crash whose text" not in result.prepared
            if isinstance(each, errors.Unavailable):
                assert '"code":"UNAVAILABLE"' in result.prepared


async def test_mutations_a_plan_does_not_serve(twice: Twice, keys: Keys, outcome: Outcome) -> None:
    """An API key (read-only), variables that do not coerce, an unknown operation, two
    mutations in one document, a revealed `key`: strawberry answers, and the use case runs
    only where strawberry runs it."""
    outcome.set(None)
    create = page_documents()["CREATE_KEY"]
    cases: list[tuple[Any, dict[str, str], int]] = [
        ({"query": create, "variables": {"input": {"name": "x"}}}, keys.api_key, 0),
        ({"query": create, "variables": {"input": {"name": 3}}}, keys.session, 0),
        ({"query": create, "variables": {}}, keys.session, 0),
        (
            {"query": create, "variables": {"input": {"name": "x"}}, "operationName": "B"},
            keys.session,
            0,
        ),
        ({"query": create, "variables": {"input": {"name": "x"}}}, {}, 0),
        # strawberry reads the media type with its case: this one it refuses with a 400
        (
            {"query": create, "variables": {"input": {"name": "x"}}},
            {**keys.session, "Content-Type": "Application/JSON"},
            0,
        ),
        (
            {
                "query": 'mutation { a: createApiKey(input: {name: "x"}) { __typename }'
                ' b: createApiKey(input: {name: "y"}) { __typename } }'
            },
            keys.session,
            4,
        ),
        (
            {"query": 'mutation { createApiKey(input: {name: "x"}) { ... on ApiKey { key } } }'},
            keys.session,
            2,
        ),
    ]
    for body, headers, runs in cases:
        before = outcome.runs
        result = await twice.compare(body, headers)
        assert not result.served_by_plan
        assert result.prepared == result.general, body
        assert outcome.runs == before + runs, body
