"""API key format, generation, checksum, hashing and encryption: small pure functions.

A key looks like `blk_` + 32 base62 characters of randomness (190 bits, from `secrets`) + a 6
character base62 CRC32 checksum of everything before it:
`blk_4eC39HqLyjWDarjtT1zdp7dc3ZcS5ukS0DI9QN`.
The checksum lets a mistyped or truncated key be refused without touching the database, and lets
secret scanners recognise our keys with few false positives (GitHub's token format does the same).

Storage never holds a key in plaintext:
- `hash_key`: HMAC-SHA256 under a server-side pepper, for lookup. A fast keyed hash is right here:
  keys carry 190 bits of entropy, so there is nothing for a slow hash (bcrypt, argon2) to protect
  against, and verification is on the hot path of every request. The pepper lives outside the
  database, so a dump alone cannot even confirm a guessed key.
- `KeyCipher`: AES-256-GCM under a separate encryption key, so the owner can see the key again. The
  associated data binds a ciphertext to its owner and row: copied onto another user's row, it no
  longer decrypts.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
RANDOM_LENGTH = 32
CHECKSUM_LENGTH = 6
_NONCE_LENGTH = 12
_CIPHERTEXT_VERSION = b"\x01"


# Every pair of base62 digits, so that the six-digit checksum is three look-ups (it is computed
# for every key presented to the service).
_PAIRS = tuple(a + b for a in BASE62 for b in BASE62)
_PAIR = len(_PAIRS)  # 62**2


def checksum(body: str) -> str:
    """The CRC32 of `body` in six base62 digits (62**6 > 2**32), most significant first."""
    high, low = divmod(zlib.crc32(body.encode("ascii")), _PAIR)
    high, middle = divmod(high, _PAIR)
    return _PAIRS[high] + _PAIRS[middle] + _PAIRS[low]


class KeyFormat:
    """The shape of this deployment's keys: prefix, randomness, checksum."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        tail = RANDOM_LENGTH + CHECKSUM_LENGTH
        self._pattern = re.compile(re.escape(prefix) + f"[0-9A-Za-z]{{{tail}}}")

    @property
    def scanning_pattern(self) -> str:
        """The regular expression a secret scanner looks for: exactly this deployment's keys
        (the checksum then tells a real key from a look-alike)."""
        return rf"\b{self._pattern.pattern}\b"

    @property
    def length(self) -> int:
        return len(self.prefix) + RANDOM_LENGTH + CHECKSUM_LENGTH

    def generate(self) -> str:
        body = self.prefix + "".join(secrets.choice(BASE62) for _ in range(RANDOM_LENGTH))
        return body + checksum(body)

    def is_well_formed(self, candidate: str) -> bool:
        """Prefix, length, alphabet and checksum; no database needed."""
        if self._pattern.fullmatch(candidate) is None:
            return False
        body, check = candidate[:-CHECKSUM_LENGTH], candidate[-CHECKSUM_LENGTH:]
        return hmac.compare_digest(checksum(body), check)

    def mask(self, last_four: str) -> str:
        """What the settings page shows before a key is revealed: prefix and last four only."""
        return f"{self.prefix}****{last_four}"


def last_four(key: str) -> str:
    return key[-4:]


def hash_key(pepper: bytes, key: str) -> str:
    return hmac.digest(pepper, key.encode("ascii"), "sha256").hex()


_SHA256_BLOCK = 64  # bytes: the block size RFC 2104 pads the HMAC key to


class LookupHash:
    """`hash_key` under one pepper, for a key presented on every request.

    RFC 2104's HMAC, its inner and outer SHA-256 states keyed once, here: each key then costs
    two copies of those states and two updates, with neither OpenSSL's per-call HMAC context
    nor the standard library's `hmac.HMAC` object in between (less than half the time of
    either). Same value as `hash_key`; a test holds them equal.
    """

    def __init__(self, pepper: bytes) -> None:
        if len(pepper) > _SHA256_BLOCK:
            pepper = hashlib.sha256(pepper).digest()
        padded = pepper.ljust(_SHA256_BLOCK, b"\0")
        self._inner = hashlib.sha256(bytes(byte ^ 0x36 for byte in padded))
        self._outer = hashlib.sha256(bytes(byte ^ 0x5C for byte in padded))

    def __call__(self, key: str) -> str:
        inner = self._inner.copy()
        inner.update(key.encode("ascii"))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


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
    secret becomes under them (see `service.secret_rotation`).
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
        self._lookup_hash = LookupHash(pepper)
        self._previous_hashes = tuple(LookupHash(p) for p in previous_peppers)
        self._cipher = KeyCipher(encryption_key)
        self._previous_ciphers = tuple(KeyCipher(k) for k in previous_encryption_keys)

    @property
    def has_previous_secrets(self) -> bool:
        return bool(self._previous_hashes or self._previous_ciphers)

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
        return self._lookup_hash(key)

    def lookup_hashes(self, key: str) -> tuple[str, ...]:
        """Its lookup hash under the current pepper, then under each previous one."""
        if not self._previous_hashes:
            return (self._lookup_hash(key),)
        return (self._lookup_hash(key), *(hashed(key) for hashed in self._previous_hashes))

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
