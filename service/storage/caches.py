"""What a process remembers of the keys, so that the requests the platform repeats all day cost no
database round trip: recently verified secrets (`VerifiedKeys`: the gateway verifies the same
keys on every request) and users' key lists (`KeyLists`: the settings page and the workflow
editor list them).

Neither may ever answer for a key that changed. Four rules keep them so:
- every change to a key (creation, rename, rotation, deletion) invalidates its entries and its
  owner's list: at once in the process that made it, and in every other process through
  PostgreSQL's LISTEN/NOTIFY (`service.storage.listener`), the notification being sent in the
  change's own transaction, so it is delivered exactly when the change commits; so does every
  flush of
  "last used" times, for the owners whose keys it touched;
- a lookup that began before an invalidation is not cached afterwards (the generation check), so a
  slow reader cannot put back what a change just removed;
- the caches are used only under a `Lease`: while this process has heard from the database, on
  its listening connection, within the last `lease_seconds` (see `service.storage.listener`);
- after the listening connection is lost, both start empty (notifications sent in between are
  lost).
Entries also expire after `ttl_seconds`, bounding any staleness nobody foresaw.

SQLite runs without the caches: several processes could share its file with no way to tell each
other.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Sequence

from service.domain.records import SecretMatch, StoredKey


class Lease:
    """Until when (`time.monotonic()`) this process may answer from its caches."""

    __slots__ = ("until",)

    def __init__(self) -> None:
        self.until = -math.inf

    def held(self) -> bool:
        return time.monotonic() < self.until

    def renew(self, since: float, seconds: float) -> None:
        self.until = max(self.until, since + seconds)

    def end(self) -> None:
        self.until = -math.inf


class VerifiedKeys:
    def __init__(self, ttl_seconds: float, lease: Lease, max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self.lease = lease
        self._entries: dict[str, tuple[SecretMatch, float]] = {}  # lookup hash -> match, stored at
        self._hashes_of: dict[str, set[str]] = {}  # key id -> its cached lookup hashes
        self.generation = 0

    @property
    def live(self) -> bool:
        """Whether it may be used now: its lease is held."""
        return self.lease.held()

    def get(self, key_hash: str) -> SecretMatch | None:
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        now = time.monotonic()
        if now >= self.lease.until:
            return None
        match, stored_at = entry
        if now - stored_at > self._ttl:
            self._forget(key_hash, match.key_id)
            return None
        return match

    def put(self, key_hash: str, match: SecretMatch, generation: int) -> None:
        """Remember a lookup, unless a key changed since it began (`generation`)."""
        if generation != self.generation or not self.lease.held():
            return
        if len(self._entries) >= self._max:
            # Making room is no invalidation: the generation (and this lookup) stays valid.
            self._entries.clear()
            self._hashes_of.clear()
        self._entries[key_hash] = (match, time.monotonic())
        self._hashes_of.setdefault(match.key_id, set()).add(key_hash)

    def invalidate(self, key_id: str) -> None:
        self.generation += 1
        for key_hash in self._hashes_of.pop(key_id, ()):
            self._entries.pop(key_hash, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
        self._hashes_of.clear()

    def _forget(self, key_hash: str, key_id: str) -> None:
        self._entries.pop(key_hash, None)
        hashes = self._hashes_of.get(key_id)
        if hashes is not None:
            hashes.discard(key_hash)
            if not hashes:
                del self._hashes_of[key_id]


class KeyLists:
    """Users' key lists, as the repository last read them (owner id -> keys)."""

    def __init__(self, ttl_seconds: float, lease: Lease, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self.lease = lease
        self._entries: dict[str, tuple[Sequence[StoredKey], float]] = {}
        self.generation = 0

    @property
    def live(self) -> bool:
        return self.lease.held()

    def get(self, owner_id: str) -> Sequence[StoredKey] | None:
        entry = self._entries.get(owner_id)
        if entry is None:
            return None
        now = time.monotonic()
        if now >= self.lease.until:
            return None
        keys, stored_at = entry
        if now - stored_at > self._ttl:
            del self._entries[owner_id]
            return None
        return keys

    def put(self, owner_id: str, keys: Sequence[StoredKey], generation: int) -> None:
        """Remember a list, unless a list changed since it was read (`generation`)."""
        if generation != self.generation or not self.lease.held():
            return
        if len(self._entries) >= self._max:
            self._entries.clear()  # making room is no invalidation
        self._entries[owner_id] = (tuple(keys), time.monotonic())

    def invalidate(self, owner_ids: Iterable[str]) -> None:
        self.generation += 1
        for owner_id in owner_ids:
            self._entries.pop(owner_id, None)

    def clear(self) -> None:
        self.generation += 1
        self._entries.clear()
