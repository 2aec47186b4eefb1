"""How every process hears of every key change, over PostgreSQL's LISTEN/NOTIFY, and how the
process that made a change waits until no process can answer from the old state. The wire
format is `service.storage.notifications`; the whole protocol, step by step, is in
docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import AsyncIterator, Collection

import asyncpg
from tortoise import connections

from service.domain.background import background
from service.storage.caches import KeyLists, VerifiedKeys
from service.storage.notifications import (
    ACK_CHANNEL,
    ACKNOWLEDGE,
    KEY_CHANGES_CHANNEL,
    KEY_LISTS_CHANNEL,
    LISTENER_NAME,
    LISTENERS,
    ack_channel,
    new_token,
    new_writer,
    parse_change,
    parse_lists,
    writer_channel,
)

logger = logging.getLogger("apikeys.keycache")

_CONNECT_SECONDS = 5.0


class KeyChangeListener:
    """Keeps this process's caches in step with every process's key changes, over PostgreSQL,
    and makes this process's own changes wait until no process can answer from the old state.

    Runs on a connection of its own (LISTEN needs a session that stays open), named
    `apikeys-key-cache` so that the processes can find each other in `pg_stat_activity`.
    - A change notification (sent by the changing transaction, delivered when it commits)
      invalidates the key here, then is acknowledged on its writer's channel.
    - A lists notification invalidates the lists of the owners it names: sent by a key change
      just before its change notification (so processed before the acknowledgement), and by a
      tracker flush for the owners whose "last used" times it wrote (nobody waits for those).
    - The process that made a change (`committed`) waits until every listening session has
      acknowledged it, or `ack_timeout` has passed, before it answers its client (a session
      that did not acknowledge is logged). Which sessions listen, it knows from its own probes
      (below); a session that has not answered after `look_again_seconds` is looked for again,
      in case it has ended, and again at doubling intervals while it stays silent.
    - One task owns the listening connection: it sends the acknowledgements owed (all of them,
      to every writer, in one statement) and, when there are none, a probe every
      `probe_seconds`, which also reads who listens; one round trip at a time, each bounded by
      `operation_seconds`. A round trip that fails or times out ends the connection (the caches
      are off until the next one). Every answered round trip renews the `Lease` for
      `lease_seconds` from when it was *sent*; a new connection's caches wait `warm_up_seconds`
      first.

    Why "the change was answered" means no process answers from the old state any more: a
    process P uses its caches at time t only if a round trip it sent at some s > t -
    lease_seconds was answered. PostgreSQL sends a listening session the notifications of every
    transaction committed before it reads a statement, ahead of that statement's answer, and
    asyncpg runs their callbacks before the answer's awaiter. The writer answers at t_a, after
    its commit at t_c, either once P acknowledged (P had forgotten the old state) or:
    - having waited for P in vain, at t_a >= t_c + ack_timeout: for every t > t_a,
      s > t_a - lease_seconds > t_c because lease_seconds < ack_timeout, so P's round trip was
      sent after the commit and P had heard of the change before it renewed its lease;
    - not having waited for P, because the writer's view of who listens, at most
      `probe_seconds + operation_seconds` old, was taken before P's session began at t_p:
      t_p > t_c - (probe_seconds + operation_seconds). P uses its caches only from
      t_p + warm_up_seconds on, with warm_up_seconds >= probe_seconds + operation_seconds +
      lease_seconds, so for such t, s > t - lease_seconds > t_c: P had heard of the change.
    A process whose session PostgreSQL has already ended is not waited for; it hears of the end
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
        look_again_seconds: float = 0.05,
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
        self._look_again = look_again_seconds
        # How old a view of who listens may be when a writer trusts it; how long a new
        # connection's caches wait (see the argument above).
        self._view_seconds = probe_seconds + operation_seconds
        self._warm_up = self._view_seconds + lease_seconds
        self._writer = new_writer()
        self._owed: list[tuple[str, str]] = []  # (channel, token) acknowledgements to send
        self._wake = asyncio.Event()  # an acknowledgement is owed, or the connection was lost
        self._acks: dict[str, tuple[set[int], asyncio.Event]] = {}
        self._waiting_for: dict[str, set[int]] = {}
        self._listening: frozenset[int] = frozenset()  # the sessions that listen, as last read
        self._listening_read_at = -math.inf
        self.connected = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[KeyChangeListener]:
        try:
            async with background(self._run, "apikeys-key-change-listener"):
                yield self
        finally:
            self._lease.end()

    def new_token(self) -> str:
        return new_token(self._writer)

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
        self._acks.setdefault(token, (set(), asyncio.Event()))
        try:
            async with asyncio.timeout(self._ack_timeout):
                expected, wait = await self._listeners(), self._look_again
                while not await self._acknowledged(token, expected, wait):
                    # Some session is silent: it may have ended (its process killed, say) since
                    # the view was read. Looked for again less and less often while it stays.
                    expected, wait = await self._listeners(fresh=True), 2 * wait
        except TimeoutError:
            acked, _ = self._acks[token]
            missing = self._waiting_for.get(token, set()) - acked
            logger.warning("%d cache listener(s) did not acknowledge a key change", len(missing))
        finally:
            self._acks.pop(token, None)
            self._waiting_for.pop(token, None)

    async def _acknowledged(self, token: str, expected: frozenset[int], within: float) -> bool:
        """Whether every session in `expected` acknowledged `token`, waiting at most `within`
        seconds."""
        acked, done = self._acks[token]
        self._waiting_for[token] = set(expected)
        if expected <= acked:
            return True
        done.clear()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(within):
                await done.wait()
        return expected <= acked

    async def _listeners(self, *, fresh: bool = False) -> frozenset[int]:
        """The sessions that listen: as this process's probes last read them, or, when asked
        for, or when that view is too old to trust, as the database says now."""
        if not fresh and time.monotonic() - self._listening_read_at <= self._view_seconds:
            return self._listening
        _, rows = await connections.get(self._engine).execute_query(LISTENERS)
        return frozenset(int(row["pid"]) for row in rows)

    async def _run(self) -> None:
        while True:
            try:
                connection = await asyncpg.connect(
                    self._dsn,
                    timeout=_CONNECT_SECONDS,
                    # An acknowledgement is a NOTIFY, so a commit: one that nobody needs after
                    # a crash, so it need not wait for the disk.
                    server_settings={
                        "application_name": LISTENER_NAME,
                        "synchronous_commit": "off",
                    },
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
                self._owed.clear()  # their writers stop waiting by themselves
                self._listening_read_at = -math.inf
                if not connection.is_closed():
                    connection.terminate()
            await asyncio.sleep(self._retry)

    async def _listen(self, connection: asyncpg.Connection) -> None:
        # The session exists by now: its caches may serve once every writer's view has seen it.
        warm_from = time.monotonic() + self._warm_up
        connection.add_termination_listener(self._lost)
        for channel, callback in (
            (KEY_CHANGES_CHANNEL, self._on_change),
            (KEY_LISTS_CHANNEL, self._on_lists),
            (writer_channel(self._writer), self._on_ack),
            (ACK_CHANNEL, self._on_ack),
        ):
            async with asyncio.timeout(self._operation_seconds):
                await connection.add_listener(channel, callback)
        self._cache.clear()
        self._lists.clear()
        self.connected.set()
        await self._keep(connection, warm_from)

    async def _keep(self, connection: asyncpg.Connection, warm_from: float) -> None:
        """Owns the connection until it is lost or a round trip on it fails: acknowledgements,
        else a probe every `probe_seconds` (reading who listens), each answered one renewing
        the lease once the connection is warm."""
        while not connection.is_closed():
            if not self._owed:
                # (asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow the
                # cancellation that stops this loop when it races with the wake-up.)
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._probe_seconds):
                        await self._wake.wait()
            self._wake.clear()
            if connection.is_closed():
                return
            owed, self._owed = self._owed, []
            sent = time.monotonic()
            try:
                if owed:
                    channels, tokens = zip(*owed, strict=True)
                    await connection.execute(
                        ACKNOWLEDGE, list(channels), list(tokens), timeout=self._operation_seconds
                    )
                # Who listens is read every `probe_seconds`, however busy: writers trust the
                # view only while it is fresh.
                if sent - self._listening_read_at >= self._probe_seconds:
                    rows = await connection.fetch(LISTENERS, timeout=self._operation_seconds)
                    self._listening = frozenset(int(row["pid"]) for row in rows)
                    self._listening_read_at = sent
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                if owed:
                    logger.warning("Could not acknowledge %d key change(s)", len(owed))
                raise
            if sent >= warm_from:
                self._lease.renew(sent, self._lease_seconds)

    def _lost(self, connection: object) -> None:
        self._lease.end()
        self._wake.set()

    def used(self, owner_ids: Collection[str]) -> None:
        """Called by this process's tracker when a flush of "last used" times committed."""
        self._lists.invalidate(owner_ids)

    def _on_change(self, connection: object, pid: int, channel: str, payload: str) -> None:
        token, key_id = parse_change(payload)
        self._cache.invalidate(key_id)
        self._owed.append((ack_channel(token), token))
        self._wake.set()

    def _on_lists(self, connection: object, pid: int, channel: str, payload: str) -> None:
        owners = parse_lists(payload)
        if owners is None:
            self._lists.clear()
        else:
            self._lists.invalidate(owners)

    def _on_ack(self, connection: object, pid: int, channel: str, payload: str) -> None:
        waiting = self._acks.get(payload)
        if waiting is None:
            return
        acked, done = waiting
        acked.add(pid)
        expected = self._waiting_for.get(payload)
        if expected is not None and expected <= acked:
            done.set()
