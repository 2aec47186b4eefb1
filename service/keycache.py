"""What a process remembers of the keys, so that the requests the platform repeats all day cost no
database round trip: recently verified secrets (`VerifiedKeys`: the gateway verifies the same
keys on every request) and users' key lists (`KeyLists`: the settings page and the workflow
editor list them).

Neither may ever answer for a key that changed. Three rules keep them so:
- every change to a key (creation, rename, rotation, deletion) invalidates its entries and its
  owner's list: at once in the process that made it, and in every other process through
  PostgreSQL's LISTEN/NOTIFY (`KeyChangeListener`), the notification being sent in the change's
  own transaction, so it is delivered exactly when the change commits; so does every flush of
  "last used" times, for the owners whose keys it touched;
- a lookup that began before an invalidation is not cached afterwards (the generation check), so a
  slow reader cannot put back what a change just removed;
- while the listener is not connected, nothing is served from or stored in either.
Entries also expire after `ttl_seconds`, bounding any staleness nobody foresaw.

What remains is the time a notification takes to reach the other processes once the change has
committed: the same order as one local network round trip. SQLite runs without the cache: several
processes could share its file with no way to tell each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterator, Collection, Iterable, Sequence

import asyncpg
import orjson
from tortoise import connections

from service.background import background
from service.repository import KEY_CHANGES_CHANNEL, KEY_LISTS_CHANNEL, SecretMatch, StoredKey

logger = logging.getLogger("apikeys.keycache")

CHANNEL = KEY_CHANGES_CHANNEL
ACK_CHANNEL = "apikeys_key_change_acks"
LISTENER_NAME = "apikeys-key-cache"
_PROBE_SECONDS = 2.0


class VerifiedKeys:
    def __init__(self, ttl_seconds: float, max_entries: int = 100_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, tuple[SecretMatch, float]] = {}  # lookup hash -> match, stored at
        self._hashes_of: dict[str, set[str]] = {}  # key id -> its cached lookup hashes
        self.generation = 0
        self.live = False  # True only while invalidations are guaranteed to arrive

    def get(self, key_hash: str) -> SecretMatch | None:
        if not self.live:
            return None
        entry = self._entries.get(key_hash)
        if entry is None:
            return None
        match, stored_at = entry
        if time.monotonic() - stored_at > self._ttl:
            self._forget(key_hash, match.key_id)
            return None
        return match

    def put(self, key_hash: str, match: SecretMatch, generation: int) -> None:
        """Remember a lookup, unless a key changed since it began (`generation`)."""
        if not self.live or generation != self.generation:
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

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._entries: dict[str, tuple[Sequence[StoredKey], float]] = {}
        self.generation = 0
        self.live = False  # True only while invalidations are guaranteed to arrive

    def get(self, owner_id: str) -> Sequence[StoredKey] | None:
        if not self.live:
            return None
        entry = self._entries.get(owner_id)
        if entry is None:
            return None
        keys, stored_at = entry
        if time.monotonic() - stored_at > self._ttl:
            del self._entries[owner_id]
            return None
        return keys

    def put(self, owner_id: str, keys: Sequence[StoredKey], generation: int) -> None:
        """Remember a list, unless a list changed since it was read (`generation`)."""
        if not self.live or generation != self.generation:
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


class KeyChangeListener:
    """Keeps this process's caches in step with every process's key changes, over PostgreSQL.

    Runs on a connection of its own (LISTEN needs a session that stays open), named
    `apikeys-key-cache` so that the processes can find each other in `pg_stat_activity`.
    - A change notification (sent by the changing transaction, delivered when it commits)
      invalidates the key here, then is acknowledged on the acknowledgement channel.
    - A lists notification invalidates the lists of the owners it names: sent by a key change
      just before its change notification (so processed before the acknowledgement), and by a
      tracker flush for the owners whose "last used" times it wrote (nobody waits for those).
    - The process that made a change (`committed`) waits until every listening process has
      acknowledged it before it answers its client: so when a client learns that a key is
      deleted or rotated, no process will answer for the old secret any more. A process that
      does not acknowledge within `ack_timeout` is waited for no longer (and logged).
    - While the connection is down, this process's cache is off; after a reconnection it starts
      empty, since notifications sent in between are lost.
    """

    def __init__(
        self,
        dsn: str,
        cache: VerifiedKeys,
        lists: KeyLists,
        engine: str,
        *,
        retry_seconds: float = 1.0,
        ack_timeout: float = 2.0,
    ) -> None:
        self._dsn = dsn
        self._cache = cache
        self._lists = lists
        self._engine = engine
        self._retry = retry_seconds
        self._ack_timeout = ack_timeout
        self._connection: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()  # one operation at a time on the listening connection
        self._acks: dict[str, tuple[set[int], asyncio.Event]] = {}
        self._waiting_for: dict[str, set[int]] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.connected = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[KeyChangeListener]:
        try:
            async with background(self._run, "apikeys-key-change-listener"):
                yield self
        finally:
            self._live(False)

    def _live(self, live: bool) -> None:
        self._cache.live = self._lists.live = live

    def expect(self, token: str) -> None:
        """Called before the change is announced: acknowledgements may arrive before
        `committed` is, while the commit is still being confirmed."""
        self._acks[token] = (set(), asyncio.Event())

    def abandoned(self, token: str) -> None:
        self._acks.pop(token, None)

    async def committed(self, owner_id: str, key_ids: Collection[str], token: str) -> None:
        """Called by the process that made the change, after its transaction committed."""
        for key_id in key_ids:
            self._cache.invalidate(key_id)
        self._lists.invalidate((owner_id,))
        acked, done = self._acks.setdefault(token, (set(), asyncio.Event()))
        try:
            _, rows = await connections.get(self._engine).execute_query(_LISTENERS)
            expected = {int(row["pid"]) for row in rows}
            self._waiting_for[token] = expected
            if not expected <= acked:
                await asyncio.wait_for(done.wait(), timeout=self._ack_timeout)
        except TimeoutError:
            missing = self._waiting_for.get(token, set()) - acked
            logger.warning("%d cache listener(s) did not acknowledge a key change", len(missing))
        finally:
            self._acks.pop(token, None)
            self._waiting_for.pop(token, None)

    async def _run(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(
                    self._dsn, timeout=5, server_settings={"application_name": LISTENER_NAME}
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                logger.warning("Key change listener cannot connect; cache off", exc_info=True)
                await asyncio.sleep(self._retry)
                continue
            try:
                lost = asyncio.Event()
                connection.add_termination_listener(functools.partial(_set, lost))
                await connection.add_listener(CHANNEL, self._on_change)
                await connection.add_listener(KEY_LISTS_CHANNEL, self._on_lists)
                await connection.add_listener(ACK_CHANNEL, self._on_ack)
                self._connection = connection
                self._cache.clear()
                self._lists.clear()
                self._live(True)
                self.connected.set()
                await self._until_lost(connection, lost)
                logger.warning("Key change listener lost its connection; cache off")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                logger.warning("Key change listener failed; cache off", exc_info=True)
            finally:
                self._live(False)
                self.connected.clear()
                self._connection = None
                if not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self._retry)

    async def _until_lost(self, connection: asyncpg.Connection, lost: asyncio.Event) -> None:
        """Returns when the connection is gone. A dead peer does not always close the socket,
        so the connection is also probed now and then."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), timeout=_PROBE_SECONDS)
                return
            try:
                async with self._lock:
                    await connection.fetchval("SELECT 1", timeout=_PROBE_SECONDS)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                return

    def used(self, owner_ids: Collection[str]) -> None:
        """Called by this process's tracker when a flush of "last used" times committed."""
        self._lists.invalidate(owner_ids)

    def _on_change(self, connection: object, pid: int, channel: str, payload: str) -> None:
        token, _, key_id = payload.partition(":")
        self._cache.invalidate(key_id)
        task = asyncio.get_running_loop().create_task(self._acknowledge(token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _acknowledge(self, token: str) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            async with self._lock:
                await connection.execute("SELECT pg_notify($1, $2)", ACK_CHANNEL, token)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            logger.warning("Could not acknowledge a key change", exc_info=True)

    def _on_lists(self, connection: object, pid: int, channel: str, payload: str) -> None:
        try:
            owners = orjson.loads(payload)
        except orjson.JSONDecodeError:
            owners = None
        if isinstance(owners, list):
            self._lists.invalidate(str(owner) for owner in owners)
        else:
            self._lists.clear()

    def _on_ack(self, connection: object, pid: int, channel: str, payload: str) -> None:
        waiting = self._acks.get(payload)
        if waiting is None:
            return
        acked, done = waiting
        acked.add(pid)
        expected = self._waiting_for.get(payload)
        if expected is not None and expected <= acked:
            done.set()


_LISTENERS = (
    "SELECT pid FROM pg_stat_activity"
    f" WHERE application_name = '{LISTENER_NAME}' AND datname = current_database()"
)


def _set(event: asyncio.Event, *_: object) -> None:
    event.set()
