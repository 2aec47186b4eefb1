"""Use case of the platform's gateway and of key-authenticated requests: is this key good?

A key is checked in order of cost: its shape and checksum first (no database), then one indexed
lookup of its HMAC. Every successful check is a use of the key, handed to the tracker.
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

from service.clock import Clock, utcnow
from service.keycache import VerifiedKeys
from service.repository import KeyRepository
from service.security import KeyVault
from service.tracker import UsageTracker
from service.usage import NO_USE, Use


class Refusal(StrEnum):
    MALFORMED = "MALFORMED"  # wrong prefix, length, alphabet or checksum: not one of our keys
    UNKNOWN = "UNKNOWN"  # well formed, but no such key (never issued, deleted, or rotated long ago)
    EXPIRED = "EXPIRED"  # past the key's expiry, or a former secret past its grace period
    REVOKED = "REVOKED"  # reported leaked by a secret-scanning partner


class Verdict(NamedTuple):
    # A named tuple, not a frozen dataclass: one is made for every key presented, and a frozen
    # dataclass's __init__ costs several times as much.
    refusal: Refusal | None = None
    key_id: str | None = None
    owner_id: str | None = None
    name: str | None = None

    @property
    def valid(self) -> bool:
        return self.refusal is None


class KeyVerifier:
    def __init__(
        self,
        repository: KeyRepository,
        vault: KeyVault,
        tracker: UsageTracker,
        clock: Clock = utcnow,
        cache: VerifiedKeys | None = None,
    ) -> None:
        self._repo = repository
        self._vault = vault
        self._tracker = tracker
        self._clock = clock
        self._cache = cache
        self._previous = vault.has_previous_secrets

    @property
    def prefix(self) -> str:
        return self._vault.format.prefix

    def well_formed(self, candidate: str) -> bool:
        return self._vault.format.is_well_formed(candidate)

    async def verify(self, candidate: str, use: Use = NO_USE) -> Verdict:
        """The verdict on a presented key; a valid one is a use of it (`use` says what for and
        where from)."""
        if not self.well_formed(candidate):
            return Verdict(Refusal.MALFORMED)
        key_hash = self._vault.lookup_hash(candidate)
        match = self._cache.get(key_hash) if self._cache else None
        if match is None:
            generation = self._cache.generation if self._cache else 0
            hashes = self._vault.lookup_hashes(candidate) if self._previous else (key_hash,)
            match = await self._repo.find_by_secret_hash(hashes)
            if match is not None and self._cache is not None:
                self._cache.put(key_hash, match, generation)
        if match is None:
            return Verdict(Refusal.UNKNOWN)
        if match.revoked:
            return Verdict(Refusal.REVOKED)
        now = self._clock()
        if match.retired_until is not None and match.retired_until <= now:
            return Verdict(Refusal.EXPIRED)
        if match.expires_at is not None and match.expires_at <= now:
            return Verdict(Refusal.EXPIRED)  # checked on every use, cached ones included
        self._tracker.record(match.key_id, now, use)
        return Verdict(key_id=match.key_id, owner_id=match.owner_id, name=match.name)
