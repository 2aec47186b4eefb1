"""What the service knows of keys, as plain records: what storage hands back and what the use
cases, the caches and the GraphQL types read. Never a secret: a key's ciphertext, hash and last
four characters at most."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from service.domain.scope import UNSCOPED, Scope


@dataclass(frozen=True)
class UseOrigin:
    """Where a key's latest use came from."""

    client_address: str | None
    user_agent: str | None


@dataclass(frozen=True)
class Leak:
    """Where a secret-scanning partner found a key in public, and when it told us.
    `dismissed_at`: when the owner dismissed the page's warning of this report (None: not yet);
    a new report starts undismissed."""

    url: str | None
    source: str | None
    reported_at: datetime
    dismissed_at: datetime | None = None


@dataclass(frozen=True)
class StoredKey:
    """A key as stored: never the secret, only its ciphertext and last four characters."""

    id: str
    owner_id: str
    name: str
    description: str | None
    is_default: bool
    key_hash: str
    key_ciphertext: bytes
    key_last_four: str
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    rotated_at: datetime | None
    revoked_at: datetime | None = None
    leak: Leak | None = None
    expires_at: datetime | None = None
    last_used_from: UseOrigin | None = None
    # Its scope (`service.domain.scope`): None for every workflow, from anywhere.
    workflow_ids: tuple[str, ...] | None = None
    allowed_addresses: tuple[str, ...] | None = None


@dataclass(frozen=True)
class SecretMatch:
    """The key a presented secret belongs to. `retired_until` is set when the secret is one
    the key had before a rotation: it verifies until then. `revoked`: reported leaked."""

    key_id: str
    owner_id: str
    name: str
    retired_until: datetime | None
    revoked: bool = False
    secret_hash: str = ""  # the stored lookup hash that matched
    expires_at: datetime | None = None  # the key's own expiry (null: never)
    scope: Scope = UNSCOPED


@dataclass(frozen=True)
class StoredSecret:
    """A secret as stored, for a rotation of the service's own secrets: a key's current one
    (`retired_until` None) or one it had before a rotation of the key."""

    key_id: str
    owner_id: str
    key_hash: str
    ciphertext: bytes | None  # None: retired before retired secrets kept theirs
    retired_until: datetime | None


@dataclass(frozen=True)
class WorkflowUse:
    """A workflow's uses of a key over some days, and the latest."""

    key_id: str
    workflow_id: str
    uses: int
    last_used_at: datetime


@dataclass(frozen=True)
class NewKey:
    id: str
    name: str
    name_key: str
    description: str | None
    is_default: bool
    key_hash: str
    key_ciphertext: bytes
    key_last_four: str
    expires_at: datetime | None = None
    workflow_ids: tuple[str, ...] | None = None
    allowed_addresses: tuple[str, ...] | None = None
