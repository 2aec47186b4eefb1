"""Rotating the service's own secrets: every stored secret rewritten under the current pepper
and encryption key, while the service serves.

The pepper (the HMAC key of lookup hashes) and the encryption key (of the stored ciphertexts)
can change. With the previous values configured beside the new current ones, a key stored under
any of them still verifies and reveals, and everything written anew is under the current ones.
`SecretRotation.rotate` then rewrites what is still stored under previous values: the current
secret of every key, and the secrets keys had before a rotation of their own (those still in
their grace period verify; later ones answer EXPIRED). Afterwards the previous values can go.

- In batches of `batch_size` keys (their current and retired secrets, one transaction each), in
  key order: memory stays flat.
- Idempotent: a secret already under the current values is left alone, so running it again
  (after a crash, say) resumes by skipping what is done.
- Safe beside live traffic: each row is rewritten only if it still holds the hash it was read
  with, so a user's rotation or deletion meanwhile wins (no lost update), and the next pass
  looks at the row again. A verification finds the secret under its old hash or its new one,
  whichever it meets, since every process knows both values: no key is ever unverifiable.
- Secrets retired before the ciphertexts of retired secrets were kept cannot be rewritten; those
  still in their grace period are counted apart (they end within 7 days).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from service.domain.clock import Clock, utcnow
from service.domain.vault import DecryptionError, KeyVault
from service.storage.stored_secrets import StoredSecrets

_MAX_PASSES = 5


@dataclass
class RotationCount:
    checked: int = 0
    rewritten: int = 0
    current: int = 0  # already under the current pepper and encryption key
    raced: int = 0  # changed by a user meanwhile (after `rotate`: still left after its passes)
    unrewritable: int = 0  # retired without a ciphertext, still in their grace period
    unreadable: int = 0  # a ciphertext no configured encryption key opens: needs a person
    pending: list[str] = field(default_factory=list)

    @property
    def still_dependent(self) -> int:
        """Stored secrets that still need a previous pepper or encryption key."""
        return len(self.pending) + self.raced + self.unrewritable + self.unreadable


class SecretRotation:
    def __init__(
        self,
        stored: StoredSecrets,
        vault: KeyVault,
        *,
        batch_size: int = 500,
        clock: Clock = utcnow,
    ) -> None:
        self._stored = stored
        self._vault = vault
        self._batch = batch_size
        self._clock = clock

    async def check(self) -> RotationCount:
        """How many stored secrets still depend on a previous value; nothing is written."""
        return await self._pass(write=False)

    async def rotate(
        self, progress: Callable[[RotationCount], None] = lambda count: None
    ) -> RotationCount:
        """Rewrite every stored secret that needs it. Rows a user changed meanwhile are looked
        at again, in further passes, until none is left (or a few passes went by)."""
        total = await self._pass(write=True, progress=progress)
        for _ in range(_MAX_PASSES - 1):
            if not total.raced:
                break
            again = await self._pass(write=True)
            total.rewritten += again.rewritten
            total.raced = again.raced
        return total

    async def _pass(
        self, *, write: bool, progress: Callable[[RotationCount], None] = lambda count: None
    ) -> RotationCount:
        count = RotationCount()
        now = self._clock()
        after: str | None = None
        while True:
            batch, after = await self._stored.batch(after, self._batch)
            if after is None:
                return count
            rewrites = []
            for stored in batch:
                count.checked += 1
                if stored.ciphertext is None:
                    # Its hash may be under a previous pepper; with none configured, it cannot.
                    grace = stored.retired_until is not None and stored.retired_until > now
                    if grace and self._vault.has_previous_secrets:
                        count.unrewritable += 1
                    continue
                try:
                    new = self._vault.rewritten(
                        stored.key_hash,
                        stored.ciphertext,
                        owner_id=stored.owner_id,
                        key_id=stored.key_id,
                    )
                except DecryptionError:
                    count.unreadable += 1  # counted, and the rotation goes on past it
                    continue
                if new is None:
                    count.current += 1
                elif write:
                    rewrites.append((stored, *new))
                else:
                    count.pending.append(stored.key_id)
            if rewrites:
                done = await self._stored.rewrite(rewrites)
                count.rewritten += len(done)
                count.raced += len(rewrites) - len(done)
            progress(count)
