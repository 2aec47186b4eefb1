"""What is stored for a key, and how a stored key becomes a key again. Storage never holds a key
in plaintext:
- the lookup hash: HMAC-SHA256 under a server-side pepper. A fast keyed hash is right here: keys
  carry 190 bits of entropy, so there is nothing for a slow hash (bcrypt, argon2) to protect
  against, and verification is on the hot path of every request. The pepper lives outside the
  database, so a dump alone cannot even confirm a guessed key.
- `KeyCipher`: AES-256-GCM under a separate encryption key, so the owner can see the key again.
  The associated data binds a ciphertext to its owner and row: copied onto another user's row,
  it no longer decrypts.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from service.domain.key_format import KeyFormat, last_four

_NONCE_LENGTH = 12
_CIPHERTEXT_VERSION = b"\x01"


def _keyed(pepper: bytes) -> hmac.HMAC:
    """HMAC-SHA256 keyed with a pepper once: each key presented then costs a copy of the keyed
    state, not a new key schedule."""
    return hmac.new(pepper, digestmod=hashlib.sha256)


def _hashed(keyed: hmac.HMAC, key: str) -> str:
    mac = keyed.copy()
    mac.update(key.encode("ascii"))
    return mac.hexdigest()


class KeyCipher:
    """AES-256-GCM encryption of keys at rest, bound to (owner, key id)."""

    def __init__(self, encryption_key: bytes) -> None:
        self._aead = AESGCM(encryption_key)

    def encrypt(self, key: str, *, owner_id: str, key_id: str) -> bytes:
        nonce = os.urandom(_NONCE_LENGTH)
        sealed = self._aead.encrypt(nonce, key.encode("ascii"), _aad(owner_id, key_id))
        return _CIPHERTEXT_VERSION + nonce + sealed

    def decrypt(self, blob: bytes, *, owner_id: str, key_id: str) -> str:
        if blob[:1] != _CIPHERTEXT_VERSION:
            raise DecryptionError("Unknown ciphertext version.")
        nonce, sealed = blob[1 : 1 + _NONCE_LENGTH], blob[1 + _NONCE_LENGTH :]
        try:
            return self._aead.decrypt(nonce, sealed, _aad(owner_id, key_id)).decode("ascii")
        except InvalidTag:
            raise DecryptionError(
                "Stored key does not decrypt under this encryption key."
            ) from None


class DecryptionError(Exception):
    """A stored ciphertext is corrupt, moved between rows, or from another encryption key."""


def _aad(owner_id: str, key_id: str) -> bytes:
    return f"apikeys/v1\x00{owner_id}\x00{key_id}".encode()


@dataclass(frozen=True)
class IssuedKey:
    """A freshly generated key and what is stored for it. `secret` is shown once, never stored."""

    secret: str = field(repr=False)
    key_hash: str
    ciphertext: bytes
    last_four: str


class KeyVault:
    """Everything that turns a key into what is stored, and a stored key back into a key.

    Besides the current pepper and encryption key it may hold previous ones, for a rotation of
    those secrets: a key stored under any of them still verifies (`lookup_hashes`) and reveals,
    while everything new is stored under the current ones, and `rewritten` says what a stored
    secret becomes under them (see `service.cases.secret_rotation`).
    """

    def __init__(
        self,
        key_format: KeyFormat,
        pepper: bytes,
        encryption_key: bytes,
        *,
        previous_peppers: Sequence[bytes] = (),
        previous_encryption_keys: Sequence[bytes] = (),
    ) -> None:
        self.format = key_format
        self._pepper = _keyed(pepper)
        self._previous_peppers = tuple(_keyed(p) for p in previous_peppers)
        self._cipher = KeyCipher(encryption_key)
        self._previous_ciphers = tuple(KeyCipher(k) for k in previous_encryption_keys)

    @property
    def has_previous_secrets(self) -> bool:
        return bool(self._previous_peppers or self._previous_ciphers)

    def issue(self, *, owner_id: str, key_id: str) -> IssuedKey:
        secret = self.format.generate()
        return IssuedKey(
            secret=secret,
            key_hash=self.lookup_hash(secret),
            ciphertext=self._cipher.encrypt(secret, owner_id=owner_id, key_id=key_id),
            last_four=last_four(secret),
        )

    def lookup_hash(self, key: str) -> str:
        """The key's lookup hash under the current pepper: what new rows store."""
        return _hashed(self._pepper, key)

    def lookup_hashes(self, key: str) -> tuple[str, ...]:
        """Its lookup hash under the current pepper, then under each previous one."""
        current = _hashed(self._pepper, key)
        if not self._previous_peppers:
            return (current,)
        return (current, *(_hashed(keyed, key) for keyed in self._previous_peppers))

    def reveal(self, ciphertext: bytes, *, owner_id: str, key_id: str) -> str:
        try:
            return self._cipher.decrypt(ciphertext, owner_id=owner_id, key_id=key_id)
        except DecryptionError:
            for cipher in self._previous_ciphers:
                with contextlib.suppress(DecryptionError):
                    return cipher.decrypt(ciphertext, owner_id=owner_id, key_id=key_id)
            raise

    def rewritten(
        self, key_hash: str, ciphertext: bytes, *, owner_id: str, key_id: str
    ) -> tuple[str, bytes] | None:
        """The (hash, ciphertext) a stored secret becomes under the current pepper and
        encryption key, or None when it already is under both."""
        try:
            secret = self._cipher.decrypt(ciphertext, owner_id=owner_id, key_id=key_id)
            current_cipher = True
        except DecryptionError:
            secret = self.reveal(ciphertext, owner_id=owner_id, key_id=key_id)
            current_cipher = False
        new_hash = self.lookup_hash(secret)
        if current_cipher and hmac.compare_digest(new_hash, key_hash):
            return None
        if current_cipher:
            return new_hash, ciphertext
        return new_hash, self._cipher.encrypt(secret, owner_id=owner_id, key_id=key_id)
