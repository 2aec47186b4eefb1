"""Key format, checksum, lookup hash and encryption at rest."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import shlex
import zlib
from urllib.parse import quote

import pytest

from service.security import (
    BASE62,
    DecryptionError,
    KeyCipher,
    KeyFormat,
    KeyVault,
    LookupHash,
    checksum,
    hash_key,
)

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


def test_lookup_hash_depends_on_the_pepper() -> None:
    key = FMT.generate()
    assert hash_key(b"p" * 32, key) == hash_key(b"p" * 32, key)
    assert LookupHash(b"p" * 32)(key) == hash_key(b"p" * 32, key)
    assert hash_key(b"p" * 32, key) == hmac.new(b"p" * 32, key.encode(), hashlib.sha256).hexdigest()
    assert hash_key(b"p" * 32, key) != hash_key(b"q" * 32, key)
    assert key not in hash_key(b"p" * 32, key)


@pytest.mark.parametrize("pepper_length", [1, 32, 63, 64, 65, 200])
def test_the_prekeyed_lookup_hash_is_rfc_2104_hmac_for_any_pepper(pepper_length: int) -> None:
    pepper = secrets.token_bytes(pepper_length)
    for key in (FMT.generate(), FMT.generate()):
        expected = hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()
        assert LookupHash(pepper)(key) == expected == hash_key(pepper, key)


def test_ciphertexts_decrypt_only_for_their_owner_and_row() -> None:
    cipher = KeyCipher(b"k" * 32)
    key = FMT.generate()
    blob = cipher.encrypt(key, owner_id="alice", key_id="1")
    assert key.encode() not in blob
    assert cipher.decrypt(blob, owner_id="alice", key_id="1") == key
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, owner_id="bob", key_id="1")
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob, owner_id="alice", key_id="2")
    with pytest.raises(DecryptionError):
        KeyCipher(b"j" * 32).decrypt(blob, owner_id="alice", key_id="1")
    with pytest.raises(DecryptionError):
        cipher.decrypt(blob[:-1] + bytes([blob[-1] ^ 1]), owner_id="alice", key_id="1")


def test_encryption_is_randomised() -> None:
    cipher = KeyCipher(b"k" * 32)
    assert cipher.encrypt("blk_x", owner_id="a", key_id="1") != cipher.encrypt(
        "blk_x", owner_id="a", key_id="1"
    )


def test_the_vault_issues_keys_that_round_trip() -> None:
    vault = KeyVault(FMT, b"p" * 32, b"k" * 32)
    issued = vault.issue(owner_id="alice", key_id="1")
    assert FMT.is_well_formed(issued.secret)
    assert issued.key_hash == vault.lookup_hash(issued.secret)
    assert issued.last_four == issued.secret[-4:]
    assert vault.reveal(issued.ciphertext, owner_id="alice", key_id="1") == issued.secret
    assert issued.secret not in repr(issued)
