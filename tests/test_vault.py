"""What is stored for a key: its lookup hash (HMAC-SHA256 under the pepper) and its ciphertext
(AES-256-GCM, bound to its owner and row)."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import pytest

from service.domain.key_format import KeyFormat
from service.domain.vault import DecryptionError, KeyCipher, KeyVault

FMT = KeyFormat("blk_")


def vault(pepper: bytes) -> KeyVault:
    return KeyVault(FMT, pepper, b"k" * 32)


def test_the_lookup_hash_is_hmac_sha256_by_a_published_test_vector() -> None:
    """RFC 4231, test case 2."""
    expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    assert vault(b"Jefe").lookup_hash("what do ya want for nothing?") == expected


@pytest.mark.parametrize("pepper_length", [1, 32, 63, 64, 65, 200])
def test_the_lookup_hash_is_the_same_for_every_key_and_pepper_length(pepper_length: int) -> None:
    """Keyed once and copied per key: never a state left over from the key before."""
    pepper = secrets.token_bytes(pepper_length)
    keys = vault(pepper)
    for key in (FMT.generate(), FMT.generate(), FMT.generate()):
        assert keys.lookup_hash(key) == hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()


def test_the_lookup_hash_depends_on_the_pepper() -> None:
    key = FMT.generate()
    assert vault(b"p" * 32).lookup_hash(key) != vault(b"q" * 32).lookup_hash(key)


def test_a_key_is_looked_up_under_the_current_pepper_then_each_previous_one() -> None:
    key = FMT.generate()
    rotating = KeyVault(FMT, b"new" * 11, b"k" * 32, previous_peppers=[b"p" * 32, b"q" * 32])
    assert rotating.lookup_hashes(key) == (
        vault(b"new" * 11).lookup_hash(key),
        vault(b"p" * 32).lookup_hash(key),
        vault(b"q" * 32).lookup_hash(key),
    )


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
