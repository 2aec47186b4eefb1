"""Use case of a secret-scanning partner: a string matching our key pattern was found in public.
If it is one of our keys' secrets, it stops working at once, in every process, before the
partner is answered."""

from __future__ import annotations

from service.cases.keys import issue_new_secret, leak_fields
from service.domain.audit import Actor, EventKind
from service.domain.clock import Clock, utcnow
from service.domain.records import Leak, StoredKey
from service.domain.vault import KeyVault
from service.storage.repository import KeyRepository


class LeakReports:
    def __init__(self, repository: KeyRepository, vault: KeyVault, clock: Clock = utcnow) -> None:
        self._repo = repository
        self._vault = vault
        self._clock = clock

    async def report(
        self, reporter: Actor, token: str, *, url: str | None, source: str | None
    ) -> bool:
        """True when `token` is one of our keys' secrets (current, or retired after a
        rotation), which then stops working at once, in every process, before this returns:
        - a key other than the default is revoked (it stays listed, marked, until deleted);
        - the default key gets a new secret (a user always has one usable key), the leaked one
          answering REVOKED, and keeps the report until its next rotation;
        - an old secret still in a rotation's grace period has its grace ended.
        Reporting the same secret again changes nothing and answers the same. `reporter` is
        who told us (its address and user agent go into the owner's audit trail)."""
        if not self._vault.format.is_well_formed(token):
            return False
        hashes = self._vault.lookup_hashes(token)
        found = await self._repo.find_by_secret_hash(hashes)
        if found is None:
            return False
        actor = Actor(found.owner_id, reporter.client_address, reporter.user_agent)
        async with self._repo.locked(found.owner_id) as owner:
            # Looked up again under the owner's lock: what the keys hold now (a rotation, a
            # deletion or another report of the same secret may have come first).
            match = await owner.find_secret(hashes)
            if match is None:  # deleted meanwhile: it works no more
                return False
            if match.revoked:
                return True  # reported before
            target = next(k for k in owner.keys() if k.id == match.key_id)
            now = self._clock()
            leak = Leak(url, source, now)
            if match.retired_until is not None:
                # A secret the key had before a rotation: it stops; the key's current secret
                # is not the one found, so the key itself is not marked.
                await owner.revoke_retired_secret(target.id, match.secret_hash, at=now)
                reported: StoredKey | None = target
            elif target.is_default:
                reported = await issue_new_secret(
                    owner, self._vault, target, now=now, until=now, revoked=True, leak=leak
                )
            else:
                reported = await owner.update(target.id, revoked_at=now, **leak_fields(leak))
            assert reported is not None  # found above, under the owner's lock
            await owner.record_event(actor, EventKind.LEAKED, reported, at=now, leak=leak)
            return True
