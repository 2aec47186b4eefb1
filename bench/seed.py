"""Secrets, users and keys for a run: real verifiable keys, and cheap filler rows for scale.

Real keys are issued by the service's own `KeyVault`, so they verify and decrypt exactly like
keys made through the API. Their plaintext stays in memory and in the run's private temp dir
(for wrk), and is never printed.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.databases import KeyRow, OwnerRow
from service.domain.key_format import KeyFormat
from service.domain.validation import name_key
from service.domain.vault import KeyVault
from service.settings import JwtSettings, Secret
from service.web.auth import Authenticator

KEYS_PER_USER = 5
KEY_PREFIX = "blk_"
SESSION_TTL_SECONDS = 24 * 3600
# High enough that the verify-bad load (every request a failure, from one address) is never 429.
VERIFY_MAX_FAILURES = 1_000_000_000
_KEY_NAMES = ("Default", "CI", "Staging deploys", "Laptop", "Nightly reports")
_NAME_KEYS = tuple(name_key(name) for name in _KEY_NAMES)
_FILLER_CIPHERTEXT = bytes(71)  # the length of a real one; filler keys are never revealed


# Production requires the identity provider's issuer and this service's audience.
JWT_ISSUER = "https://id.bench.invalid/"
JWT_AUDIENCE = "https://apikeys.bench.invalid"


@dataclass(frozen=True)
class ServiceSecrets:
    pepper: str = field(repr=False)
    encryption_key: str = field(repr=False)
    jwt_secret: str = field(repr=False)
    service_token: str = field(repr=False)

    @classmethod
    def generate(cls) -> ServiceSecrets:
        return cls(
            pepper=_generate_secret(),
            encryption_key=_generate_secret(),
            jwt_secret=secrets.token_urlsafe(48),
            service_token=secrets.token_urlsafe(48),
        )

    def env(self, database_url: str, state_dir: str) -> dict[str, str]:
        """The server's environment: production, explicit secrets, nothing inherited from the
        caller's own APIKEYS_* configuration."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("APIKEYS_")}
        env.update(
            APIKEYS_ENV="production",
            APIKEYS_DATABASE_URL=database_url,
            APIKEYS_PEPPER=self.pepper,
            APIKEYS_ENCRYPTION_KEY=self.encryption_key,
            APIKEYS_JWT_SECRET=self.jwt_secret,
            APIKEYS_JWT_ISSUER=JWT_ISSUER,
            APIKEYS_JWT_AUDIENCE=JWT_AUDIENCE,
            APIKEYS_SERVICE_TOKEN=self.service_token,
            APIKEYS_KEY_PREFIX=KEY_PREFIX,
            APIKEYS_VERIFY_MAX_FAILURES=str(VERIFY_MAX_FAILURES),
            APIKEYS_STATE_DIR=state_dir,
        )
        return env

    def vault(self) -> KeyVault:
        return KeyVault(KeyFormat(KEY_PREFIX), _decode(self.pepper), _decode(self.encryption_key))

    def sessions(self) -> Authenticator:
        return Authenticator(
            JwtSettings(
                secret=Secret(self.jwt_secret.encode()),
                public_key=None,
                issuer=JWT_ISSUER,
                audience=JWT_AUDIENCE,
            )
        )


@dataclass(frozen=True)
class SeededUser:
    owner_id: str
    secrets: tuple[str, ...] = field(repr=False)


@dataclass(frozen=True)
class SeedBatch:
    users: list[SeededUser]
    owners: list[OwnerRow]
    keys: list[KeyRow]


def real_users(vault: KeyVault, count: int, now: datetime) -> SeedBatch:
    """`count` users with five verifiable keys each: a default and four named ones."""
    batch = SeedBatch([], [], [])
    for n in range(count):
        owner_id = f"bench-user-{n:05d}"
        batch.owners.append((owner_id, now))
        issued_secrets = []
        for slot, name in enumerate(_KEY_NAMES):
            key_id = uuid.uuid4()
            issued = vault.issue(owner_id=owner_id, key_id=str(key_id))
            issued_secrets.append(issued.secret)
            description = "seeded by bench" if slot % 2 else None
            batch.keys.append(
                (
                    key_id,
                    owner_id,
                    name,
                    name_key(name),
                    description,
                    slot == 0,
                    issued.key_hash,
                    issued.ciphertext,
                    issued.last_four,
                    now,
                    now,
                )
            )
        batch.users.append(SeededUser(owner_id, tuple(issued_secrets)))
    return batch


def filler_owners(keys: int, now: datetime) -> Iterator[OwnerRow]:
    for n in range(_owners_for(keys)):
        yield f"bench-filler-{n:07d}", now


def filler_keys(keys: int, now: datetime) -> Iterator[KeyRow]:
    """Rows that only take up room: unique ids and hashes, five per owner, never looked up.

    The hashes are SHA-256 values, spread over the same range as real HMACs, so the real keys'
    entries end up scattered among them in an index as deep as a real one. They are inserted in
    sorted order only because appending to a B-tree is several times faster than random inserts.
    """
    hashes = sorted(hashlib.sha256(b"bench-filler-%d" % n).hexdigest() for n in range(keys))
    for n in range(keys):
        slot = n % KEYS_PER_USER
        yield (
            uuid.UUID(int=(0xB << 124) | n),
            f"bench-filler-{n // KEYS_PER_USER:07d}",
            _KEY_NAMES[slot],
            _NAME_KEYS[slot],
            None,
            slot == 0,
            hashes[n],
            _FILLER_CIPHERTEXT,
            "abcd",
            now,
            now,
        )


def _owners_for(keys: int) -> int:
    return -(-keys // KEYS_PER_USER)


def session_tokens(sessions: Authenticator, owner_ids: list[str]) -> list[str]:
    return [sessions.issue(owner, ttl_seconds=SESSION_TTL_SECONDS) for owner in owner_ids]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _generate_secret() -> str:
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "generate-secret"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _decode(value: str) -> bytes:
    return base64.urlsafe_b64decode(value.encode())
