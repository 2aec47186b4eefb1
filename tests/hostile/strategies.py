"""Hypothesis strategies for hostile input, and how to put a value into a GraphQL document.

Strings cover empty and blank, huge (up to 100k characters, past the 64 KiB body limit), control
characters and NUL, lone surrogates, combining marks, astral-plane and right-to-left characters,
lengths around every limit, and injection-shaped text; "wrong types" are numbers (32-bit edges and
far beyond), floats (NaN and infinities included), booleans, nulls, lists and objects. Key ids
are references (`KeyRef`) resolved against the database of the moment: alice's own keys (in
spellings that name the same UUID, or near it), bob's keys, random UUIDs, or anything at all.
"""

from __future__ import annotations

import base64
import json
import math
import re
import uuid
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from tests.hostile.support import Snapshot, harmless


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """One of `choices`, each drawn in proportion to its weight. (`st.one_of` flattens nested
    `one_of`s into one list of branches drawn alike, so a branch with many alternatives would
    crowd out the rest.)"""
    pool = [strategy for weight, strategy in choices for _ in range(weight)]
    return st.sampled_from(pool).flatmap(lambda strategy: strategy)


class _Absent:
    """A field left out of the request altogether (not the same as null)."""

    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()

TRICKY_CHARS = [
    "\x00",
    "\t",
    "\n",
    "\r",
    "\x0b",
    "\x1b",
    "\x1f",
    "\x7f",
    "\x85",
    "\xa0",
    "\xad",
    "\u0301",  # combining acute accent
    "\u034f",  # combining grapheme joiner
    "\u0958",  # NFC expands it to two characters
    "\u061c",  # Arabic letter mark
    "\u05d0",  # Hebrew alef (right to left)
    "\u0639",  # Arabic ain (right to left)
    "\u200b",  # zero-width space
    "\u200d",  # zero-width joiner
    "\u200f",  # right-to-left mark
    "\u2028",  # line separator
    "\u202e",  # right-to-left override
    "\u2067",  # right-to-left isolate
    "\u3000",  # ideographic space
    "\ufeff",  # byte order mark
    "\ufffd",
    "\uffff",
    "\ufb03",  # ﬃ: case-folds to three characters
    "\u00df",  # ß: case-folds to "ss"
    "\u0130",  # İ: lower-cases to two characters
    "\U0001f600",
    "\U000e0041",  # tag character
    "\U0010ffff",
    "\ud800",  # lone surrogates
    "\udfff",
]

hostile_chars = st.one_of(
    st.characters(),  # any code point but a surrogate
    st.characters(categories=["Cs"]),  # lone surrogates
    st.characters(categories=["Cc"]),  # control characters, NUL included
    st.characters(categories=["Mn", "Mc", "Me"]),  # combining marks
    st.characters(min_codepoint=0x10000),  # astral planes
    st.sampled_from(TRICKY_CHARS),
)

INJECTIONS = [
    "'; drop table api_keys; --",
    '" or 1=1 --',
    "x' or 'a'='a",
    "%",
    "_",
    "\\",
    "\\\\x00",
    "$1",
    "?",
    "${jndi:ldap://example.invalid/a}",
    "{{7*7}}",
    "{0}{1}{api_key}",
    "%s%s%s%n",
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "x'; rm -rf ~ #",
    "$(id)",
    "`id`",
    "\u202egnp.exe",
    "null",
    "None",
    "undefined",
    "NaN",
    "true",
    "0",
    "-1",
    "1e999",
    "__typename",
    "{ apiKeys { id } }",
    "Default",
    "DEFAULT",
    " default ",
    "ALICE EXTRA",
    "alice extra\u200b",
    "bob",
    "\U0001f469\u200d\U0001f4bb",  # an emoji sequence
    "\u05e9\u05dc\u05d5\u05dd abc \u0645\u0631\u062d\u0628\u0627",  # mixed direction
]

WHITESPACE = st.text(st.sampled_from([" ", "\t", "\n", "\u3000", "\xa0", "\u2003"]), max_size=4)
LENGTHS_NEAR_LIMITS = [1, 2, 32, 63, 64, 65, 66, 128, 192, 256, 499, 500, 501, 502, 1000, 4096]
HUGE_LENGTHS = [4097, 20_000, 50_000, 65_535, 65_537, 100_000]


def _repeat(piece: str, length: int) -> str:
    return (piece * (length // len(piece) + 1))[:length]


def _padded(left: str, core: str, right: str) -> str:
    return left + core + right


printable_name = st.text(
    st.characters(exclude_categories=("Cc", "Cs", "Zs", "Zl", "Zp")), min_size=1, max_size=70
)

hostile_text = st.one_of(
    st.text(hostile_chars, max_size=80),
    st.builds(
        _repeat,
        st.text(hostile_chars, min_size=1, max_size=3),
        st.sampled_from(LENGTHS_NEAR_LIMITS),
    ),
    st.builds(
        _repeat, st.text(hostile_chars, min_size=1, max_size=3), st.sampled_from(HUGE_LENGTHS)
    ),
    st.builds(_padded, WHITESPACE, printable_name, WHITESPACE),
    st.sampled_from(["", " ", "\t\n", "\u3000", "\x00", *INJECTIONS]),
).filter(harmless)

BIG_INTS = [
    2**31 - 1,
    2**31,
    -(2**31),
    -(2**31) - 1,
    2**32,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**30,
    10**400,
]
any_int = st.one_of(st.integers(), st.sampled_from(BIG_INTS))
wrong_scalar = st.one_of(any_int, st.floats(), st.booleans())
short_harmless_text = st.text(hostile_chars, max_size=12).filter(harmless)
containers = st.recursive(
    st.one_of(st.none(), st.booleans(), any_int, short_harmless_text),
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(short_harmless_text, children, max_size=3)
    ),
    max_leaves=8,
)

# Where a string is expected: mostly strings, often something else entirely.
string_like = st.one_of(
    hostile_text, hostile_text, hostile_text, wrong_scalar, containers, st.none()
)

# Where an Int is expected.
int_like = weighted(
    (4, st.sampled_from([0, 1, -1, 20, 99, 100, 101, 3600, 604_799, 604_800, 604_801])),
    (4, st.integers(min_value=-1000, max_value=700_000)),
    (4, any_int),
    (1, st.floats()),
    (1, st.booleans()),
    (1, st.sampled_from(["0", "1", "20", "0x10", "1e3", " 5"])),
    (2, hostile_text),
    (1, containers),
    (1, st.none()),
)


@dataclass(frozen=True)
class KeyRef:
    """One of `owner`'s keys (by position, modulo how many there are), spelt as `variant`."""

    owner: str
    index: int
    variant: str


SAME_KEY_VARIANTS = ("exact", "upper", "hex", "braces", "urn")  # uuid.UUID reads these alike
OTHER_VARIANTS = ("padded", "nul", "truncated", "extended", "last-changed", "arabic-digits")

key_refs = st.builds(
    KeyRef,
    st.sampled_from(["alice", "alice", "bob"]),
    st.integers(min_value=0, max_value=4),
    st.sampled_from(SAME_KEY_VARIANTS + SAME_KEY_VARIANTS + OTHER_VARIANTS),
)
MALFORMED_IDS = [
    "",
    "0",
    "-1",
    "00000000-0000-0000-0000-000000000000",
    "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "00000000-0000-4000-8000-00000000000g",
    "not-a-uuid",
    "{00000000-0000-4000-8000-000000000000",
    "urn:uuid:",
    "1_2_3_4_5_6_7_8_9_a_b_c_d_e_f_0_1_2_3_4_5_6_7_8_9_a_b_c_d_e_f_0",
    " " * 32,
]
id_like = weighted(
    (10, key_refs),
    (2, st.uuids().map(str)),
    (2, st.sampled_from(MALFORMED_IDS)),
    (6, string_like),
)


def spell(key_id: str, variant: str) -> str:
    """A key id written another way: the same UUID, or a near miss of it."""
    match variant:
        case "exact":
            return key_id
        case "upper":
            return key_id.upper()
        case "hex":
            return key_id.replace("-", "")
        case "braces":
            return "{" + key_id + "}"
        case "urn":
            return "urn:uuid:" + key_id
        case "padded":
            return f" {key_id} "
        case "nul":
            return key_id + "\x00"
        case "truncated":
            return key_id[:-1]
        case "extended":
            return key_id + "0"
        case "last-changed":
            return key_id[:-1] + ("0" if key_id[-1] != "0" else "1")
        case "arabic-digits":
            return key_id.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    raise AssertionError(variant)


def b64(text: str | bytes) -> str:
    raw = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    return base64.urlsafe_b64encode(raw).decode()


@dataclass(frozen=True)
class CursorRef:
    """The cursor of one of alice's events (by position), as the service handed it out."""

    index: int


cursors = weighted(
    (5, st.builds(CursorRef, st.integers(min_value=0, max_value=99))),
    (2, st.integers(min_value=-5, max_value=2**70).map(lambda n: b64(f"event:{n}"))),
    (2, st.sampled_from(BIG_INTS).map(lambda n: b64(f"event:{n}"))),
    (1, st.text(hostile_chars, max_size=30).map(lambda t: b64("event:" + t))),
    (1, st.binary(max_size=40).map(b64)),
    (1, st.sampled_from(["", "=", "====", "ZXZlbnQ6", "ZXZlbnQ6MQ", "event:1", "ZXZlbnQ6MQ==="])),
    (3, string_like),
)


# --- GraphQL literals ------------------------------------------------------------------------


def graphql_name(text: str) -> str:
    name = re.sub(r"[^_0-9A-Za-z]", "_", text)
    return name if name and not name[0].isdigit() else "_" + name


def literal(value: Any, *, ascii_only: bool = True) -> str:
    """`value` written as a GraphQL literal, strings escaped (JSON escapes are GraphQL's)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else "1e999"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=ascii_only)
    if isinstance(value, list):
        return "[" + ", ".join(literal(v, ascii_only=ascii_only) for v in value) + "]"
    if isinstance(value, dict):
        fields = (
            f"{graphql_name(k)}: {literal(v, ascii_only=ascii_only)}" for k, v in value.items()
        )
        return "{" + ", ".join(fields) + "}"
    raise TypeError(value)


def object_literal(fields: dict[str, Any], *, ascii_only: bool = True) -> str:
    """An input object literal; fields that are ABSENT are left out."""
    present = {k: v for k, v in fields.items() if v is not ABSENT}
    return literal(present, ascii_only=ascii_only)


def faithful_inline(*values: Any) -> bool:
    """True when inlining `values` as literals says the same as sending them as variables: a
    lone surrogate has no GraphQL escape (JSON's "\\ud800" is a syntax error in a document)."""
    for value in values:
        if isinstance(value, str) and any(0xD800 <= ord(ch) <= 0xDFFF for ch in value):
            return False
        if isinstance(value, list | tuple) and not faithful_inline(*value):
            return False
        if isinstance(value, dict) and not faithful_inline(*value.keys(), *value.values()):
            return False
    return True


def portable_json(value: Any) -> bool:
    """True when `value` is JSON that every parser reads alike: no lone surrogate, no integer
    beyond 64 bits, no NaN or infinity (Python's json takes them all; orjson refuses them)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return -(2**63) <= value < 2**64
    if isinstance(value, str):
        return faithful_inline(value)
    if isinstance(value, list | tuple):
        return all(portable_json(v) for v in value)
    if isinstance(value, dict):
        return all(portable_json(k) and portable_json(v) for k, v in value.items())
    return True


def without_absent(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in fields.items() if v is not ABSENT}


@dataclass(frozen=True)
class Target:
    """What an id names, as far as alice is concerned: one of her keys (`key`), surely none of
    hers (`other`: bob's, a random UUID, an unparsable string or a number), or nothing GraphQL
    accepts as an ID at all (`invalid`)."""

    value: Any
    kind: str  # "alice" | "other" | "invalid"
    key: dict[str, Any] | None = None
    bob: bool = False


def resolve_id(ref: Any, before: Snapshot, bob_ids: tuple[str, ...]) -> Target:
    if isinstance(ref, KeyRef):
        ids = before.ids if ref.owner == "alice" else list(bob_ids)
        value: Any = spell(ids[ref.index % len(ids)], ref.variant)
    else:
        value = ref
    if isinstance(value, bool) or not isinstance(value, str | int):
        return Target(value, "invalid")
    bob = isinstance(ref, KeyRef) and ref.owner == "bob"
    try:
        named = str(uuid.UUID(value)) if isinstance(value, str) else None
    except ValueError:
        named = None
    for key in before.keys:
        if key["id"] == named:
            return Target(value, "alice", key)
    return Target(value, "other", bob=bob)


def resolve_cursor(ref: Any, before: Snapshot) -> Any:
    if isinstance(ref, CursorRef):
        cursors = before.cursors
        return cursors[ref.index % len(cursors)] if cursors else None
    return ref
