"""`POST /v1/keys/verify` under hostile bodies, and near misses of real keys.

Every example comes from its own client address (a random IPv4 or IPv6 `clientAddress`, or a
random peer address for bodies that carry none), so the failure limiter (20 failures per
address per minute) never turns the examples into 429s: each one reaches the verifier.
"""

from __future__ import annotations

import ipaddress
import itertools
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.hostile.strategies import containers, hostile_text, portable_json, string_like
from tests.hostile.support import (
    SERVICE_HEADERS,
    VERIFY_MAX_BODY_BYTES,
    Hostile,
    World,
    budget,
    encode_json,
)
from tests.report import record

VERIFY = "/v1/keys/verify"
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
JSON = {**SERVICE_HEADERS, "Content-Type": "application/json"}

_next_address = itertools.count(1)


def unique_address(ipv6: bool) -> str:
    """A client no other example has been: an address in 2001:db8::/32 (a /64 of its own: IPv6
    clients are counted per /64) or 198.18.0.0/15, both set aside for documentation and
    benchmarks."""
    n = next(_next_address)
    if ipv6:
        return str(ipaddress.IPv6Address(0x20010DB8 << 96 | n << 64 | n))
    return str(ipaddress.IPv4Address(0xC6120000 | (n % 2**17)))


addresses = st.booleans().map(unique_address)


def check_verdict(answer_body: Any) -> None:
    assert isinstance(answer_body, dict)
    if "error" in answer_body:
        assert set(answer_body) == {"error"} and set(answer_body["error"]) == {"code", "message"}
    else:
        assert answer_body.get("valid") is False, answer_body  # nothing here is a real key
        assert answer_body["reason"] in ("MALFORMED", "UNKNOWN"), answer_body


@budget(80)
@given(
    content=st.one_of(
        st.binary(max_size=600),
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.builds(lambda n: b"[" * n, st.integers(min_value=1, max_value=4096)),
        st.builds(lambda n: b'{"key": ' * n, st.integers(min_value=1, max_value=500)),
        st.sampled_from([b"", b"null", b"{}", b"[]", b'"key"', b"NaN", b"\xef\xbb\xbf{}"]),
        # Around the 4 KiB limit, and well past it.
        st.integers(min_value=4080, max_value=4110).map(lambda n: b'{"key": "blk_x"}'.ljust(n)),
        st.integers(min_value=4097, max_value=70_000).map(lambda n: b"A" * n),
    ),
    content_type=st.sampled_from(["application/json", "text/plain", "", "application/x-www-form"]),
    peer=addresses,
)
# A body nested past Python's recursion limit crashed the endpoint (500) while it parsed with
# Python's json (before 8a9537a); kept as a regression guard.
@example(content=b"[" * 3000, content_type="application/json", peer="198.51.100.7")
async def test_random_bodies_are_refused_cleanly(
    hostile: Hostile, content: bytes, content_type: str, peer: str
) -> None:
    headers = {**SERVICE_HEADERS, "Content-Type": content_type}
    answer = await hostile.post(VERIFY, content, headers, peer=peer, limit=VERIFY_MAX_BODY_BYTES)
    assert answer.status in (200, 400, 413), answer.text[:300]
    check_verdict(answer.body)


@budget(80)
@given(
    shape=st.one_of(
        st.fixed_dictionaries({"key": string_like}),
        st.fixed_dictionaries({"key": hostile_text, "clientAddress": string_like}),
        st.fixed_dictionaries({"key": string_like, "extra": containers}),
        st.dictionaries(
            st.sampled_from(["Key", "KEY", "api_key", "clientAddress", ""]), containers
        ),
        containers,
    ),
    address=addresses,
    ascii_only=st.booleans(),
)
@example(shape={"key": "\ud800"}, address="203.0.113.1", ascii_only=True)
@example(shape={"key": "blk_" + "A" * 4100}, address="203.0.113.2", ascii_only=True)
async def test_wrong_json_shapes_are_refused_cleanly(
    hostile: Hostile, shape: Any, address: str, ascii_only: bool
) -> None:
    body = shape
    if isinstance(shape, dict) and "clientAddress" not in shape:
        body = {**shape, "clientAddress": address}
    content = encode_json(body, ascii_only=ascii_only)
    answer = await hostile.post(VERIFY, content, JSON, peer=address, limit=VERIFY_MAX_BODY_BYTES)
    check_verdict(answer.body)
    well_formed = isinstance(body, dict) and isinstance(body.get("key"), str)
    if len(content) <= VERIFY_MAX_BODY_BYTES:
        # A lone surrogate ("\ud800"), a number past 64 bits or NaN is JSON to Python but
        # not to every parser: refusing such a body as not JSON is fine too.
        expected = {200} if well_formed else {400}
        if not portable_json(body):
            expected.add(400)
        assert answer.status in expected, answer.text[:300]


# --- near misses ---------------------------------------------------------------------------

EDITS = (
    "flip",
    "insert",
    "delete",
    "transpose",
    "case-one",
    "case-all",
    "whitespace",
    "truncate",
    "prefix",
    "homoglyph",
)
WHITESPACE = [" ", "\t", "\n", "\r\n", "\u00a0", "\u200b", "\u3000", "\ufeff", "\x00"]
HOMOGLYPHS = {"a": "\u0430", "e": "\u0435", "o": "\u043e", "O": "\u039f", "l": "1", "0": "O"}


def near_miss(key: str, edit: str, position: int, char: str) -> str:
    """`key` with one small mistake in it."""
    i = position % len(key)
    match edit:
        case "flip":
            replacement = char if char != key[i] else BASE62[(BASE62.find(char) + 1) % 62]
            return key[:i] + replacement + key[i + 1 :]
        case "insert":
            return key[:i] + char + key[i:]
        case "delete":
            return key[:i] + key[i + 1 :]
        case "transpose":
            j = min(i, len(key) - 2)
            return key[:j] + key[j + 1] + key[j] + key[j + 2 :]
        case "case-one":
            return key[:i] + key[i].swapcase() + key[i + 1 :]
        case "case-all":
            return key.swapcase() if position % 2 else key.upper()
        case "whitespace":
            space = WHITESPACE[position % len(WHITESPACE)]
            return [space + key, key + space, key[:i] + space + key[i:]][position % 3]
        case "truncate":
            return key[:i]
        case "prefix":
            return ["BLK_", "blk-", "sk_", "blk__", "", "blk"][position % 6] + key[4:]
        case "homoglyph":
            return key[:i] + HOMOGLYPHS.get(key[i], "\u0391") + key[i + 1 :]
    raise AssertionError(edit)


@budget(120)
@given(
    edit=st.sampled_from(EDITS),
    position=st.integers(min_value=0, max_value=200),
    char=st.one_of(st.sampled_from(BASE62), st.characters()),
    which=st.integers(min_value=0, max_value=3),
    address=addresses,
    header=st.sampled_from([None, "X-API-Key", "Authorization"]),
)
@example(edit="transpose", position=10, char="a", which=0, address="::1", header="X-API-Key")
@example(edit="whitespace", position=4, char="a", which=1, address="::2", header="Authorization")
async def test_near_miss_keys_are_never_valid(
    hostile: Hostile,
    world: World,
    edit: str,
    position: int,
    char: str,
    which: int,
    address: str,
    header: str | None,
) -> None:
    secrets = sorted(world.alice_secrets | world.bob_secrets)
    real = secrets[which % len(secrets)]
    candidate = near_miss(real, edit, position, char)
    if candidate == real:  # e.g. swapping the case of a digit, or two equal neighbours
        return
    record("near-miss keys tried")
    content = encode_json({"key": candidate, "clientAddress": address})
    answer = await hostile.post(VERIFY, content, JSON, peer=address)
    assert answer.status == 200, answer.text[:300]
    assert answer.body in (
        {"valid": False, "reason": "MALFORMED"},
        {"valid": False, "reason": "UNKNOWN"},
    ), (candidate, answer.body)
    # Nor does a near miss sign anyone in to the GraphQL API. Only what can be a header value
    # is tried; HTTP servers trim a header value's ends, and so does the service.
    value = candidate.strip(" \t")
    if header is None or value == real or not value.isascii() or not value.isprintable():
        return
    credential = {"X-API-Key": value} if header == "X-API-Key" else {header: f"Bearer {value}"}
    signed = await hostile.graphql({"query": "{ apiKeys { id } }"}, user=None, headers=credential)
    assert signed.body["data"] is None, signed.text[:300]
    assert [e["extensions"]["code"] for e in signed.errors] == ["UNAUTHENTICATED"]


async def test_the_real_keys_verify_when_sent_the_same_way(hostile: Hostile, world: World) -> None:
    """The control experiment: the keys the near misses are made from are valid."""
    for n, secret in enumerate(sorted(world.alice_secrets | world.bob_secrets)):
        body = {"key": secret, "clientAddress": f"192.0.2.{n + 1}"}
        response = await hostile.api.client.post(VERIFY, json=body, headers=SERVICE_HEADERS)
        assert response.status_code == 200 and response.json()["valid"] is True, response.text
