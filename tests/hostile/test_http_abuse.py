"""Abuse of `/graphql` at the HTTP and document level: malformed and oversized bodies (chunked
too), wrong content types, batches, and documents that push every limit (depth 8, 15 aliases,
2000 tokens) or dress up a small query as a huge one.

Each answer is a clean 4xx or a GraphQL error in a 200, never a 5xx or a stack trace (checked
for every request by `Hostile.check`), and each limit holds exactly where it is set.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.strategies import ABSENT, containers, string_like
from tests.hostile.support import (
    MAX_BODY_BYTES,
    MAX_KEYS,
    Answer,
    Hostile,
    World,
    budget,
    encode_json,
)

MAX_DEPTH = 8
MAX_ALIASES = 15
MAX_TOKENS = 2000
SIMPLE = "{ apiKeys { id } }"
VALID_BODY = encode_json({"query": SIMPLE, "variables": {}})
DEPTH_ERROR = "exceeds maximum operation depth"
ALIAS_ERROR = "aliases found"
TOKEN_ERROR = "more than 2000 tokens"


def headers(hostile: Hostile, content_type: str = "application/json") -> dict[str, str]:
    return {"Authorization": f"Bearer {hostile.token('alice')}", "Content-Type": content_type}


async def send_query(hostile: Hostile, query: str) -> Answer:
    return await hostile.graphql({"query": query, "variables": {}})


def edit_bytes(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    for kind, position, insert in edits:
        i = position % (len(data) + 1)
        if kind == 0:
            data = data[:i] + insert + data[i:]
        elif kind == 1:
            data = data[:i] + data[i + 1 :]
        else:
            data = data[:i] + insert + data[i + len(insert) :]
    return data


def nested_variables(depth: int) -> bytes:
    return (
        b'{"query": "'
        + SIMPLE.encode()
        + b'", "variables": {"a": '
        + b"[" * depth
        + b"]" * depth
        + b"}}"
    )


def long_number(digits: int) -> bytes:
    return b'{"query": "' + SIMPLE.encode() + b'", "variables": {"a": 1' + b"0" * digits + b"}}"


malformed_bodies = st.one_of(
    st.binary(max_size=2000),
    st.builds(
        edit_bytes,
        st.just(VALID_BODY),
        st.lists(
            st.tuples(st.integers(0, 2), st.integers(0, 200), st.binary(min_size=1, max_size=3)),
            min_size=1,
            max_size=4,
        ),
    ),
    st.integers(min_value=1, max_value=MAX_BODY_BYTES + 100).map(lambda n: b"[" * n),
    st.integers(min_value=1, max_value=30_000).map(nested_variables),
    st.integers(min_value=1, max_value=60_000).map(long_number),
    st.sampled_from(
        [
            b"",
            b"null",
            b"42",
            b"true",
            b'"query"',
            b"[]",
            b"{}",
            b"\xef\xbb\xbf" + VALID_BODY,  # a UTF-8 byte order mark
            b"\xff\xfe{",  # looks like UTF-16, is not
            VALID_BODY.decode().encode("utf-16"),
            VALID_BODY.replace(b"apiKeys", b"api\xffKeys"),
            VALID_BODY.replace(b"apiKeys", b"api\xed\xa0\x80Keys"),  # an encoded surrogate
            VALID_BODY.replace(b"apiKeys", b"api\xc0\x80Keys"),  # overlong NUL
            VALID_BODY + b"garbage",
            VALID_BODY + VALID_BODY,
            b'{"query": "' + SIMPLE.encode() + b'", "query": 1}',
        ]
    ),
)


@budget(80)
@given(content=malformed_bodies)
# These crashed the service (500) while request bodies were parsed with Python's json (before
# 8a9537a): JSON nested past the recursion limit, a number past Python's 4300-digit limit, bytes
# that are no text. Kept as regression guards.
@example(content=b"[" * 3000)
@example(content=nested_variables(5000))
@example(content=long_number(5000))
@example(content=b"\xff\xfe{")
# An empty selection set, which strawberry's depth limiter could not measure (500).
@example(content=b'{"query":"{_{}}","":{}}')
async def test_malformed_bodies_are_refused_with_400(hostile: Hostile, content: bytes) -> None:
    answer = await hostile.post("/graphql", content, headers(hostile))
    assert answer.status in (200, 400, 413), answer.text[:300]


CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "application/json;;;",
    "APPLICATION/JSON",
    "application/graphql",
    "application/graphql-response+json",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
    "multipart/form-data; boundary=x",
    "multipart/mixed",
    "text/plain",
    "text/html",
    "application/xml",
    "*/*",
    "",
    "json",
]


@budget(40)
@given(
    content_type=st.one_of(
        st.sampled_from(CONTENT_TYPES),
        st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=60),
    ),
    content=st.sampled_from(
        [
            VALID_BODY,
            b"query=%7B+apiKeys+%7B+id+%7D+%7D",
            b'--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n'
            + VALID_BODY
            + b'\r\n--x\r\nContent-Disposition: form-data; name="map"\r\n\r\n{}\r\n--x--\r\n',
            b"--x\r\n\r\n--x--",
            SIMPLE.encode(),
        ]
    ),
)
async def test_wrong_content_types_are_refused_cleanly(
    hostile: Hostile, content_type: str, content: bytes
) -> None:
    answer = await hostile.post("/graphql", content, headers(hostile, content_type))
    assert answer.status in (200, 400, 413, 415), answer.text[:300]
    if answer.status == 200:
        assert "data" in answer.body or answer.errors, answer.text[:300]


async def chunks(content: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(content), size):
        yield content[start : start + size]


@budget(30)
@given(
    size=st.one_of(
        st.integers(min_value=MAX_BODY_BYTES - 40, max_value=MAX_BODY_BYTES + 40),
        st.integers(min_value=MAX_BODY_BYTES + 1, max_value=400_000),
    ),
    chunked=st.booleans(),
    chunk_size=st.sampled_from([1024, 4096, 16_384, 65_536, 100_000]),
)
@example(size=MAX_BODY_BYTES + 1, chunked=True, chunk_size=65_536)
@example(size=MAX_BODY_BYTES, chunked=True, chunk_size=4096)
async def test_bodies_over_64_kib_are_413_before_parsing(
    hostile: Hostile, size: int, chunked: bool, chunk_size: int
) -> None:
    # A valid request padded with whitespace: only its size is wrong.
    content = VALID_BODY[:-1] + b" " * (size - len(VALID_BODY)) + b"}"
    assert len(content) == size
    if not chunked:
        answer = await hostile.post("/graphql", content, headers(hostile))
    else:
        # No Content-Length: the body arrives in pieces (Transfer-Encoding: chunked).
        answer = await hostile.post("/graphql", chunks(content, chunk_size), headers(hostile))
    if size > MAX_BODY_BYTES:
        assert answer.status == 413, answer.text[:300]
        assert answer.body["error"]["code"] == "TOO_LARGE"
    else:
        assert answer.status == 200 and answer.body["data"]["apiKeys"], answer.text[:300]


def nest(names: list[str], leaf: str, style: str) -> tuple[str, list[str]]:
    """A selection `names[0] { names[1] { … leaf } }`, each level written in `style`;
    returns the selection and the fragment definitions it needs."""
    fragments: list[str] = []
    inner = leaf
    for level in reversed(range(len(names))):
        name = names[level]
        if style == "fragments":
            fragments.append(f"fragment F{level} on Query {{ {name} {{ {inner} }} }}")
            inner = f"...F{level}"
        elif style == "inline-fragments":
            inner = f"... on Query {{ {name} {{ {inner} }} }}"
        else:
            inner = f"{name} {{ {inner} }}"
    return inner, fragments


@budget(60)
@given(
    levels=st.one_of(
        st.integers(min_value=1, max_value=40), st.integers(min_value=MAX_DEPTH, max_value=11)
    ),
    style=st.sampled_from(["fields", "fragments", "inline-fragments"]),
    names=st.sampled_from(["apiKeyEvents", "edges", "node", "x", "apiKeys"]),
)
@example(levels=9, style="fields", names="x")
@example(levels=10, style="fields", names="x")
@example(levels=10, style="fragments", names="edges")
async def test_depth_over_8_is_refused(
    hostile: Hostile, levels: int, style: str, names: str
) -> None:
    """`levels` nested fields (the leaf included): the leaf of ten sits at depth nine."""
    selection, fragments = nest([f"{names}{i}" for i in range(levels - 1)], "leaf", style)
    answer = await send_query(hostile, "{ " + selection + " } " + " ".join(fragments))
    assert answer.status == 200 and answer.errors, answer.text[:300]
    assert (DEPTH_ERROR in answer.messages) == (levels - 1 > MAX_DEPTH), answer.messages[:500]
    assert answer.body["data"] is None


@budget(15)
@given(wrappers=st.integers(min_value=0, max_value=30), cycles=st.integers(0, 6))
@example(wrappers=4, cycles=0)  # the brief's `type { ofType { ofType { ofType { ofType … ` query
@example(wrappers=3, cycles=5)
async def test_deep_introspection_is_answered_or_refused_but_small(
    hostile: Hostile, wrappers: int, cycles: int
) -> None:
    """Introspection fields do not count towards the depth limit (strawberry's limiter skips
    `__` fields); what bounds them is graphql-core's introspection-depth rule and the token
    limit. Whatever the nesting, the answer is bounded and nothing crashes."""
    inner = "name"
    for _ in range(wrappers):
        inner = f"ofType {{ name {inner} }}"
    for _ in range(cycles):
        inner = f"name fields {{ name type {{ name ofType {{ name ofType {{ {inner} }} }} }} }}"
    query = f"{{ __schema {{ types {{ fields {{ type {{ {inner} }} }} }} }} }}"
    answer = await send_query(hostile, query)
    assert answer.status == 200, answer.text[:300]
    assert len(answer.text) < 1_000_000, len(answer.text)
    if cycles < 2:  # `fields` within `fields` at most: graphql-core's introspection rule allows it
        assert not answer.errors and answer.body["data"]["__schema"]["types"], answer.text[:300]
    else:
        assert answer.body["data"] is None
        assert answer.messages == "Maximum introspection depth exceeded", answer.text[:300]


async def test_the_settings_pages_deepest_query_works(hostile: Hostile) -> None:
    answer = await send_query(
        hostile, "{ apiKeys { id } apiKeyEvents { edges { cursor node { id kind } } } }"
    )
    assert answer.status == 200 and not answer.errors, answer.text[:300]


@budget(40)
@given(
    root=st.integers(min_value=0, max_value=25),
    nested=st.integers(min_value=0, max_value=25),
    in_fragment=st.booleans(),
)
@example(root=15, nested=0, in_fragment=False)
@example(root=16, nested=0, in_fragment=False)
@example(root=0, nested=16, in_fragment=True)
async def test_more_than_15_aliases_are_refused(
    hostile: Hostile, root: int, nested: int, in_fragment: bool
) -> None:
    roots = " ".join(
        f"a{i}: " + ("apiKeys { id }" if i % 3 else "apiKeyEvents(first: 1) { edges { cursor } }")
        for i in range(root)
    )
    inner = " ".join(f"n{i}: {('id', 'name', 'isDefault')[i % 3]}" for i in range(nested))
    if in_fragment:
        query = f"{{ {roots} apiKeys {{ ...K }} }} fragment K on ApiKey {{ id {inner} }}"
    else:
        query = f"{{ {roots} apiKeys {{ id {inner} }} }}"
    answer = await send_query(hostile, query)
    assert answer.status == 200, answer.text[:300]
    if root + nested > MAX_ALIASES:
        assert ALIAS_ERROR in answer.messages and answer.body["data"] is None, answer.text[:300]
    else:
        assert not answer.errors and answer.body["data"]["apiKeys"], answer.text[:300]


KEY_FIELDS = ["id", "name", "description", "maskedKey", "isDefault", "createdAt", "updatedAt"]


@budget(40)
@given(
    fields=st.integers(min_value=1, max_value=60),
    comments=st.one_of(
        st.integers(min_value=0, max_value=2100),
        st.integers(min_value=MAX_TOKENS - 70, max_value=MAX_TOKENS - 5),
    ),
    commas=st.booleans(),
)
@example(fields=1, comments=MAX_TOKENS - 6, commas=True)
@example(fields=1, comments=MAX_TOKENS - 5, commas=False)
@example(fields=7, comments=MAX_TOKENS - 12, commas=True)
async def test_more_than_2000_tokens_are_refused(
    hostile: Hostile, fields: int, comments: int, commas: bool
) -> None:
    """`{ apiKeys { id name … } }` is 5 + fields tokens, and every comment is one more (commas
    and whitespace are none). Comments make up the bulk, so that nothing but the token limit
    can refuse the document (see the next test for a few hundred fields)."""
    separator = ", " if commas else " "
    selection = separator.join(KEY_FIELDS[i % len(KEY_FIELDS)] for i in range(fields))
    query = "{ apiKeys { " + "#\n" * comments + selection + " } }"
    answer = await send_query(hostile, query)
    assert answer.status == 200, answer.text[:300]
    if 5 + fields + comments > MAX_TOKENS:
        assert TOKEN_ERROR in answer.messages and answer.body["data"] is None, answer.text[:300]
    else:
        assert not answer.errors and answer.body["data"]["apiKeys"], answer.text[:300]


@budget(20)
@given(repeats=st.integers(min_value=1, max_value=MAX_TOKENS - 5), mixed=st.booleans())
@example(repeats=MAX_TOKENS - 5, mixed=False)
async def test_repeated_fields_are_answered_or_refused(
    hostile: Hostile, repeats: int, mixed: bool
) -> None:
    """`{ apiKeys { id id id … } }` (or a few names repeated): merged, or, past several hundred
    fields, refused by graphql-core's validation with "Validation aborted." (it gives up rather
    than recurse further): a GraphQL error, never a crash."""
    names = KEY_FIELDS if mixed else ["id"]
    selection = " ".join(names[i % len(names)] for i in range(repeats))
    answer = await send_query(hostile, "{ apiKeys { " + selection + " } }")
    assert answer.status == 200, answer.text[:300]
    if answer.errors:
        assert answer.messages == "Validation aborted." and answer.body["data"] is None
    else:
        assert set(answer.body["data"]["apiKeys"][0]) == set(names[:repeats])


@budget(20)
@given(
    batch=st.lists(
        st.one_of(
            st.just({"query": SIMPLE}),
            st.just(
                {"query": 'mutation { createApiKey(input: {name: "batched"}) { __typename } }'}
            ),
            containers,
        ),
        max_size=20,
    )
)
async def test_batched_requests_are_refused_with_400(
    hostile: Hostile, world: World, batch: list[Any]
) -> None:
    before = await hostile.snapshot()
    answer = await hostile.post("/graphql", encode_json(batch), headers(hostile))
    assert answer.status == 400, answer.text[:300]
    assert before == await hostile.snapshot()


@budget(30)
@given(
    length=st.one_of(
        st.integers(min_value=0, max_value=MAX_BODY_BYTES + 5000),
        st.integers(min_value=MAX_BODY_BYTES - 60, max_value=MAX_BODY_BYTES),
    ),
    filler=st.sampled_from([" ", "\n", "\t", ",", "\ufeff", "# a comment\n", "#"]),
)
@example(length=50_000, filler=" ")
@example(length=50_000, filler="#")
async def test_a_very_long_operation_is_answered_or_refused(
    hostile: Hostile, length: int, filler: str
) -> None:
    """A small query drowned in `length` characters of whitespace or comments."""
    if filler == "#":
        padding = "#" * length + "\n"  # one long comment
    else:
        padding = filler * (length // len(filler))  # whole comment lines only
    query = "{ apiKeys " + padding + "{ id } }"
    content = encode_json({"query": query}, ascii_only=False)
    answer = await hostile.post("/graphql", content, headers(hostile))
    if len(content) > MAX_BODY_BYTES:
        return  # 413, checked by Hostile.check
    comment_lines = sum(1 for line in padding.split("\n") if "#" in line)
    if comment_lines + 5 > MAX_TOKENS:
        assert TOKEN_ERROR in answer.messages, answer.text[:300]
    else:
        assert not answer.errors and answer.body["data"]["apiKeys"], answer.text[:300]


@budget(30)
@given(
    operations=st.lists(
        st.tuples(
            st.sampled_from(["create", "create", "delete", "update", "rotate"]),
            st.sampled_from(["dup", "Dup", "DUP ", "other", "x" * 65, "", "alice extra"]),
            st.integers(min_value=0, max_value=6),
        ),
        min_size=1,
        max_size=MAX_ALIASES,
    )
)
async def test_repeated_mutations_in_one_document_keep_the_invariants(
    hostile: Hostile, world: World, operations: list[tuple[str, str, int]]
) -> None:
    """Up to 15 aliased mutations in one document run one after another; whatever mix of
    creates, deletes, renames and rotations, the invariants hold and the answers add up."""
    before = await hostile.snapshot()
    ids = before.ids
    fields: list[str] = []
    for n, (operation, name, index) in enumerate(operations):
        key_id = ids[index] if index < len(ids) else "00000000-0000-4000-8000-000000000000"
        kind = "DeletedApiKey" if operation == "delete" else "ApiKey"
        selection = f"__typename ... on {kind} {{ id }}"
        argument = {
            "create": f'{{name: "{name}"}}',
            "delete": f'{{id: "{key_id}"}}',
            "update": f'{{id: "{key_id}", name: "{name}"}}',
            "rotate": f'{{id: "{key_id}", expireOldKeyInSeconds: {index * 60}}}',
        }[operation]
        fields.append(f"m{n}: {operation}ApiKey(input: {argument}) {{ {selection} }}")
    answer = await send_query(hostile, "mutation { " + " ".join(fields) + " }")
    after = await hostile.snapshot()
    after.check_invariants()
    assert answer.status == 200 and not answer.errors, answer.text[:500]
    results = [answer.body["data"][f"m{n}"]["__typename"] for n in range(len(operations))]
    created = sum(
        1
        for (op, _, _), r in zip(operations, results, strict=True)
        if op == "create" and r == "ApiKey"
    )
    deleted = results.count("DeletedApiKey")
    assert len(after.keys) == len(before.keys) + created - deleted, (results, after.keys)
    assert len(after.keys) <= MAX_KEYS


@budget(40)
@given(
    operation_name=st.one_of(st.just(ABSENT), string_like),
    extensions=st.one_of(st.just(ABSENT), containers, string_like),
    variables=st.one_of(st.just(ABSENT), containers, string_like),
    ascii_only=st.booleans(),
)
# An operation name holding a lone surrogate crashed the service (500) while request bodies were
# parsed with Python's json (before 8a9537a); kept as a regression guard.
@example(operation_name="\ud800", extensions=ABSENT, variables=ABSENT, ascii_only=True)
async def test_junk_beside_the_query_is_refused_cleanly(
    hostile: Hostile, operation_name: Any, extensions: Any, variables: Any, ascii_only: bool
) -> None:
    given_values = {
        "query": "query A { apiKeys { id } } query B { apiKeyEvents { edges { cursor } } }",
        "operationName": operation_name,
        "extensions": extensions,
        "variables": variables,
    }
    body = {k: v for k, v in given_values.items() if v is not ABSENT}
    answer = await hostile.graphql(body, ascii_only=ascii_only)
    assert answer.status in (200, 400, 413), answer.text[:300]
    if operation_name in ("A", "B") and answer.status == 200 and not answer.errors:
        assert list(answer.body["data"]) == (
            ["apiKeys"] if operation_name == "A" else ["apiKeyEvents"]
        )


@budget(25)
@given(
    digits=st.one_of(
        st.integers(min_value=10, max_value=60_000), st.integers(min_value=4290, max_value=4310)
    ),
    sign=st.sampled_from(["", "-"]),
    where=st.sampled_from(["first", "expire", "id", "workflow"]),
)
# An Int literal past Python's 4300-digit limit: found to crash graphql-core's Int parsing (an
# "Internal server error." and a logged traceback, for anyone, signed in or not).
@example(digits=5000, sign="", where="first")
@example(digits=5000, sign="-", where="expire")
async def test_huge_int_literals_are_refused_cleanly(
    hostile: Hostile, world: World, digits: int, sign: str, where: str
) -> None:
    before = await hostile.snapshot()
    number = sign + "9" * digits
    query = {
        "first": f"{{ apiKeyEvents(first: {number}) {{ edges {{ cursor }} }} }}",
        "expire": (
            f'mutation {{ rotateApiKey(input: {{id: "{before.default["id"]}",'
            f" expireOldKeyInSeconds: {number}}}) {{ __typename }} }}"
        ),
        "id": f"{{ apiKey(id: {number}) {{ id }} }}",
        "workflow": (
            f"{{ workflowRunCommand(workflowId: {number}, method: CLI) {{ maskedCommand }} }}"
        ),
    }[where]
    answer = await send_query(hostile, query)
    assert answer.status in (200, 413), answer.text[:300]
    assert before == await hostile.snapshot()
    if answer.status == 200 and where in ("first", "expire"):
        assert answer.errors and answer.body["data"] is None, answer.text[:300]
