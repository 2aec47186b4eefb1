"""What a process remembers of the keys, so that the requests the platform repeats all day cost no
database round trip: recently verified secrets (`VerifiedKeys`: the gateway verifies the same
keys on every request) and users' key lists (`KeyLists`: the settings page and the workflow
editor list them).

Neither may ever answer for a key that changed. Four rules keep them so:
- every change to a key (creation, rename, rotation, deletion) invalidates its entries and its
  owner's list: at once in the process that made it, and in every other process through
  PostgreSQL's LISTEN/NOTIFY (`KeyChangeListener`), the notification being sent in the change's
  own transaction, so it is delivered exactly when the change commits; so does every flush of
  "last used" times, for the owners whose keys it touched;
- a lookup that began before an invalidation is not cached afterwards (the generation check), so a
  slow reader cannot put back what a change just removed;
- the caches are used only under a `Lease`: while this process has heard from the database, on
  its listening connection, within the last `lease_seconds` (see `KeyChangeListener`);
- after the listening connection is lost, both start empty (notifications sent in between are
  lost).
Entries also expire after `ttl_seconds`, bounding any staleness nobody foresaw.

SQLite runs without the caches: several processes could share its file with no way to tell each
other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
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
# Every acknowledgement waiting, sent in one statement (one commit, one round trip).
_ACKNOWLEDGE = "SELECT pg_notify($1, token) FROM unnest($2::text[]) AS token"
_CONNECT_SECONDS = 5.0


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


class KeyChangeListener:
    """Keeps this process's caches in step with every process's key changes, over PostgreSQL.

    Runs on a connection of its own (LISTEN needs a session that stays open), named
    `apikeys-key-cache` so that the processes can find each other in `pg_stat_activity`.
    - A change notification (sent by the changing transaction, delivered when it commits)
      invalidates the key here, then is acknowledged on the acknowledgement channel.
    - A lists notification invalidates the lists of the owners it names: sent by a key change
      just before its change notification (so processed before the acknowledgement), and by a
      tracker flush for the owners whose "last used" times it wrote (nobody waits for those).
    - The process that made a change (`committed`) waits until every process listening (as
      `pg_stat_activity` shows them) has acknowledged it, or `ack_timeout` has passed, before
      it answers its client (a process that did not acknowledge is logged).
    - One task owns the listening connection: it sends the acknowledgements waiting (all in
      one statement) and, when there are none, a probe (`SELECT 1`) every `probe_seconds`; one
      round trip at a time, each bounded by `operation_seconds`. A round trip that fails or
      times out ends the connection (the caches are off until the next one). Every answered
      round trip renews the `Lease` for `lease_seconds` from when it was *sent*.

    Why "the change was answered" means no process answers from the old state any more: a
    process P uses its caches at time t only if a round trip it sent at some s > t -
    lease_seconds was answered. PostgreSQL sends a listening session the notifications of every
    transaction committed before it reads a statement, ahead of that statement's answer, and
    asyncpg runs their callbacks before the answer's awaiter. The writer answers at t_a, either
    once P acknowledged (P had forgotten the old state), or at t_a >= t_c + ack_timeout after
    its commit t_c. In the second case, for every t > t_a, s > t_a - lease_seconds > t_c,
    because lease_seconds < ack_timeout: P's probe or acknowledgement was sent after the commit,
    so P had heard of the change, and forgotten the old state, before it renewed its lease. A
    process whose session PostgreSQL has already ended is not waited for; it hears of the end
    when its socket closes, and at worst (a partition hiding the close) stops using its caches
    within `lease_seconds` of its last answered round trip.
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
        lease_seconds: float = 1.5,
        probe_seconds: float = 0.5,
        operation_seconds: float = 1.0,
    ) -> None:
        if not probe_seconds < lease_seconds < ack_timeout:
            raise ValueError("a lease must outlast a probe interval and end before ack_timeout")
        if cache.lease is not lists.lease:
            raise ValueError("both caches must hold the listener's lease")
        self._dsn = dsn
        self._cache = cache
        self._lists = lists
        self._lease = cache.lease
        self._engine = engine
        self._retry = retry_seconds
        self._ack_timeout = ack_timeout
        self._lease_seconds = lease_seconds
        self._probe_seconds = probe_seconds
        self._operation_seconds = operation_seconds
        self._unacknowledged: list[str] = []
        self._wake = asyncio.Event()  # an acknowledgement waits, or the connection was lost
        self._acks: dict[str, tuple[set[int], asyncio.Event]] = {}
        self._waiting_for: dict[str, set[int]] = {}
        self.connected = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[KeyChangeListener]:
        try:
            async with background(self._run, "apikeys-key-change-listener"):
                yield self
        finally:
            self._lease.end()

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
                async with asyncio.timeout(self._ack_timeout):
                    await done.wait()
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
                    self._dsn,
                    timeout=_CONNECT_SECONDS,
                    server_settings={"application_name": LISTENER_NAME},
                )
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                logger.warning("Key change listener cannot connect; cache off", exc_info=True)
                await asyncio.sleep(self._retry)
                continue
            try:
                await self._listen(connection)
                logger.warning("Key change listener lost its connection; cache off")
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                logger.warning("Key change listener failed; cache off", exc_info=True)
            finally:
                self._lease.end()
                self.connected.clear()
                self._unacknowledged.clear()  # their writers stop waiting by themselves
                if not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self._retry)

    async def _listen(self, connection: asyncpg.Connection) -> None:
        started = time.monotonic()
        connection.add_termination_listener(self._lost)
        for channel, callback in (
            (CHANNEL, self._on_change),
            (KEY_LISTS_CHANNEL, self._on_lists),
            (ACK_CHANNEL, self._on_ack),
        ):
            async with asyncio.timeout(self._operation_seconds):
                await connection.add_listener(channel, callback)
        self._cache.clear()
        self._lists.clear()
        self._lease.renew(started, self._lease_seconds)
        self.connected.set()
        await self._keep(connection)

    async def _keep(self, connection: asyncpg.Connection) -> None:
        """Owns the connection until it is lost or a round trip on it fails: acknowledgements,
        else a probe every `probe_seconds`, each answered one renewing the lease."""
        while not connection.is_closed():
            if not self._unacknowledged:
                # (asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that stops this loop when it races with the wake-up.)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._probe_seconds):
                        await self._wake.wait()
            self._wake.clear()
            if connection.is_closed():
                return
            tokens, self._unacknowledged = self._unacknowledged, []
            sent = time.monotonic()
            try:
                if tokens:
                    await connection.execute(
                        _ACKNOWLEDGE, ACK_CHANNEL, tokens, timeout=self._operation_seconds
                    )
                else:
                    await connection.fetchval("SELECT 1", timeout=self._operation_seconds)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                if tokens:
                    logger.warning("Could not acknowledge %d key change(s)", len(tokens))
                raise
            self._lease.renew(sent, self._lease_seconds)

    def _lost(self, connection: object) -> None:
        self._lease.end()
        self._wake.set()

    def used(self, owner_ids: Collection[str]) -> None:
        """Called by this process's tracker when a flush of "last used" times committed."""
        self._lists.invalidate(owner_ids)

    def _on_change(self, connection: object, pid: int, channel: str, payload: str) -> None:
        token, _, key_id = payload.partition(":")
        self._cache.invalidate(key_id)
        self._unacknowledged.append(token)
        self._wake.set()

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
