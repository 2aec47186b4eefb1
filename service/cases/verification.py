"""Use case of the platform's gateway and of key-authenticated requests: is this key good?

A key is checked in order of cost: its shape and checksum first (no database), then one indexed
lookup of its HMAC (or none, for a key this process remembers); then whether it still works, and
whether its scope allows this use (the workflow it runs, the address it comes from). Every
successful check is a use of the key, handed to the tracker; a refusal is none.
"""

from __future__ import annotations

from service.cases.tracker import UsageTracker
from service.domain.clock import Clock, utcnow
from service.domain.usage import NO_USE, Use
from service.domain.vault import KeyVault
from service.domain.verdicts import Refusal, Verdict, unusable
from service.storage.caches import VerifiedKeys
from service.storage.repository import KeyRepository


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
        where from). A use that names no workflow (a request to this service's own API) is
        refused by a key restricted to workflows: such a key exists to run them."""
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
        now = self._clock()
        refusal = unusable(
            revoked=match.revoked,
            expires_at=match.expires_at,
            now=now,
            retired_until=match.retired_until,
        ) or match.scope.refusal(use.workflow_id, use.client_address)
        if refusal is not None:
            return Verdict(refusal)
        self._tracker.record(match.key_id, now, use)
        return Verdict(
            key_id=match.key_id,
            owner_id=match.owner_id,
            name=match.name,
            workflow_ids=match.scope.workflow_ids,
        )
