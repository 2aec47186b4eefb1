"""Whether a key works: the refusals a presented key can meet, and the one rule that says
whether a key (or a secret it had before a rotation) is usable at a given moment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import NamedTuple


class Refusal(StrEnum):
    MALFORMED = "MALFORMED"  # wrong prefix, length, alphabet or checksum: not one of our keys
    UNKNOWN = "UNKNOWN"  # well formed, but no such key (never issued, deleted, or rotated long ago)
    EXPIRED = "EXPIRED"  # past the key's expiry, or a former secret past its grace period
    REVOKED = "REVOKED"  # reported leaked by a secret-scanning partner
    # Outside the key's scope (`service.domain.scope`): its owner narrowed it.
    WORKFLOW_NOT_ALLOWED = "WORKFLOW_NOT_ALLOWED"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"


# A key used outside the scope its owner gave it: the owner's configuration speaking, not a guess
# at a key, so never counted against the client by the failure limits.
OUT_OF_SCOPE = frozenset({Refusal.WORKFLOW_NOT_ALLOWED, Refusal.ADDRESS_NOT_ALLOWED})


class Verdict(NamedTuple):
    # A named tuple, not a frozen dataclass: one is made for every key presented, and a frozen
    # dataclass's __init__ costs several times as much.
    refusal: Refusal | None = None
    key_id: str | None = None
    owner_id: str | None = None
    name: str | None = None
    workflow_ids: tuple[str, ...] | None = None  # a valid key's workflows (None: every one)

    @property
    def valid(self) -> bool:
        return self.refusal is None


def unusable(
    *,
    revoked: bool,
    expires_at: datetime | None,
    now: datetime,
    retired_until: datetime | None = None,
) -> Refusal | None:
    """Why a key cannot be used at `now`, or None when it can: revoked (found in public), past
    its own expiry, or (for a secret a rotation retired) past its grace period. Checked on every
    use, remembered keys included, and wherever a key is handed out."""
    if revoked:
        return Refusal.REVOKED
    if retired_until is not None and retired_until <= now:
        return Refusal.EXPIRED
    if expires_at is not None and expires_at <= now:
        return Refusal.EXPIRED
    return None
