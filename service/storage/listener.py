"""How every process hears of every key change, over PostgreSQL's LISTEN/NOTIFY, and how the
process that made a change waits until no process can answer from the old state. The wire
format is `service.storage.notifications`; the whole protocol, step by step, is in
docs/architecture.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
    parse_change,
    parse_lists,
)

logger = logging.getLogger("apikeys.keycache")

_CONNECT_SECONDS = 5.0


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
            _, rows = await connections.get(self._engine).execute_query(LISTENERS)
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
            (KEY_CHANGES_CHANNEL, self._on_change),
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
                        ACKNOWLEDGE, ACK_CHANNEL, tokens, timeout=self._operation_seconds
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
        token, key_id = parse_change(payload)
        self._cache.invalidate(key_id)
        self._unacknowledged.append(token)
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
