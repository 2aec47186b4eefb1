"""What a key looks like: prefix, randomness, checksum; and what a masked key shows."""

from __future__ import annotations

import re
import shlex
import zlib
from urllib.parse import quote

import pytest

from service.domain.key_format import BASE62, KeyFormat, checksum

FMT = KeyFormat("blk_")


def test_generated_keys_have_the_documented_shape() -> None:
    key = FMT.generate()
    assert re.fullmatch(r"blk_[0-9A-Za-z]{38}", key)
    assert len(key) == FMT.length == 42
    assert FMT.is_well_formed(key)
    # URL- and shell-safe: nothing to quote or escape.
    assert quote(key, safe="") == key
    assert shlex.quote(key) == key


def test_generated_keys_are_unique_and_use_the_whole_alphabet() -> None:
    keys = {FMT.generate() for _ in range(2000)}
    assert len(keys) == 2000
    randomness = "".join(k[4:36] for k in keys)
    assert set(randomness) == set(BASE62)


def test_the_checksum_is_the_crc32_of_the_rest_in_six_base62_digits() -> None:
    """The format issued keys carry: it can never change under keys already handed out."""
    assert checksum("blk_4eC39HqLyjWDarjtT1zdp7dc3ZcS5ukS") == "0DI9QN"

    def reference(body: str) -> str:
        number, digits = zlib.crc32(body.encode("ascii")), ""
        for _ in range(6):
            number, digit = divmod(number, 62)
            digits = BASE62[digit] + digits
        return digits

    for _ in range(2000):
        body = FMT.generate()[:-6]
        assert checksum(body) == reference(body)
    assert checksum("") == reference("") and reference("") == "000000"


def test_a_mistyped_key_fails_the_checksum() -> None:
    key = FMT.generate()
    for i in range(4, len(key)):
        for replacement in ("0", "z"):
            if key[i] != replacement:
                assert not FMT.is_well_formed(key[:i] + replacement + key[i + 1 :])


@pytest.mark.parametrize(
    "candidate",
    ["", "blk_", "blk", "xyz_" + "a" * 38, "BLK_" + "a" * 38, "blk_" + "a" * 37, "blk_" + "-" * 38],
)
def test_malformed_keys_are_refused(candidate: str) -> None:
    assert not FMT.is_well_formed(candidate)


def test_truncated_or_extended_keys_are_refused() -> None:
    key = FMT.generate()
    assert not FMT.is_well_formed(key[:-1])
    assert not FMT.is_well_formed(key + "a")
    assert not FMT.is_well_formed(" " + key)


def test_another_prefix_does_not_accept_our_keys() -> None:
    assert not KeyFormat("sk_").is_well_formed(FMT.generate())


def test_masking_shows_only_prefix_and_last_four() -> None:
    assert FMT.mask("wXyZ") == "blk_****wXyZ"
