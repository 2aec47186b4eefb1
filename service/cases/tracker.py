"""The usage tracker: records every use of a key, writes them in batches.

Writing on every verification would put a write (and a row lock) on the hot path of every
request the platform serves; Unkey moved away from exactly that because of lock contention.
Instead, uses go into in-memory buffers that a background task flushes every `flush_seconds`
(at most 5 s), or earlier once `max_buffered_keys` entries are waiting. Per key the buffers hold:
- the latest use, and where it came from (client address, user agent): `last_used_at`;
- uses per UTC day;
- per workflow (when the gateway names one) and day, uses and the latest time.
A flush writes each touched key, (key, day) and (key, workflow, day) once, however many uses it
saw, in one transaction (see `UsageStore.record_usage` in `service.storage.usage_store`).

Writes are monotonic or additive (`last_used_at` only moves forward; day and workflow counts
are added to), so several server processes flushing into one database agree.

What a failure costs:
- The database cannot be reached: the batch goes back, merged with newer uses, and is tried
  again after a pause that doubles with each failure (at most a minute): nothing is dropped, and
  a database that is away is not asked again on every request.
- The database refuses an entry for what it holds: the batch is split in halves until the entry
  at fault stands alone; the rest is written, that entry dropped, logged and counted
  (`dropped`, `apikeys_tracker_dropped_total`). Nothing is tried forever because of one entry.
- A graceful stop (SIGTERM, Ctrl-C) flushes what is left before the process exits, so it loses
  nothing. A kill -9 or a crash loses the uses recorded since the last flush: at most one
  interval (`APIKEYS_TRACKER_FLUSH_SECONDS`) of usage, never a key.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Protocol

from service.domain.background import background
from service.domain.clock import Clock, utcnow
from service.domain.errors import Unavailable
from service.domain.limits import USAGE_DAYS_KEPT
from service.domain.usage import NO_USE, UsageBatch, Use

logger = logging.getLogger("apikeys.tracker")

_SHUTDOWN_ATTEMPTS = 3
_PRUNE_SECONDS = 3600.0  # usage older than USAGE_DAYS_KEPT is pruned at most this often
_MAX_PAUSE_SECONDS = 60.0  # the longest wait between two failed flushes


class UsageStore(Protocol):
    async def record_usage(self, batch: UsageBatch) -> None: ...

    async def prune_usage(self, before: date) -> None: ...


class UsageTracker:
    def __init__(
        self,
        store: UsageStore,
        *,
        flush_seconds: float,
        max_buffered_keys: int,
        clock: Clock = utcnow,
        on_dropped: Callable[[int], None] | None = None,
    ) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._max_buffered = max_buffered_keys
        self._clock = clock
        self._on_dropped = on_dropped
        self._batch = UsageBatch()
        self._wake = asyncio.Event()
        self.flushes = 0
        self.failed_flushes = 0
        self.dropped = 0  # entries the database refused, since start
        self._failing = 0  # flushes failed in a row
        self._last_success = time.monotonic()
        self._next_prune = time.monotonic()

    @property
    def buffered(self) -> int:
        """Keys whose uses wait to be written."""
        return len(self._batch.latest)

    def seconds_since_flush(self) -> float:
        """How far behind the database is: time since the last successful flush (or start)."""
        return time.monotonic() - self._last_success

    def record(self, key_id: str, at: datetime | None = None, use: Use = NO_USE) -> None:
        """Remember a use of a key; cheap, synchronous, never touches the database. The
        early-flush limit counts every entry waiting: keys, days and workflows."""
        self._batch.add(key_id, at or self._clock(), use)
        if len(self._batch) >= self._max_buffered:
            self._wake.set()

    async def flush(self) -> int:
        """Write every buffered use; returns how many keys' latest uses were written.

        One transaction, or, for a buffer that grew while the database was away, one per part
        of twice the early-flush limit (transactions of about the usual size, each well within
        the statement timeout). Raises when the database cannot be reached, with every
        unwritten entry back in the buffer."""
        if not self._batch:
            self._last_success = time.monotonic()  # nothing owed: the database is up to date
            return 0
        batch, self._batch = self._batch, UsageBatch()
        waiting = collections.deque(batch.parts(2 * self._max_buffered))
        written = 0
        while waiting:
            part = waiting.popleft()
            try:
                await self._store.record_usage(part)
            except Exception as exc:
                if isinstance(exc, Unavailable):
                    self._failed((part, *waiting))
                    raise
                if len(part) > 1:  # which entry is at fault: each half on its own
                    waiting.extendleft(reversed(part.parts((len(part) + 1) // 2)))
                else:
                    self._drop(part, exc)
                continue
            except BaseException:  # cancelled: keep what is unwritten
                self._failed((part, *waiting))
                raise
            written += len(part.latest)
        self.flushes += 1
        self._failing = 0
        self._last_success = time.monotonic()
        await self._prune()
        return written

    def _failed(self, unwritten: Iterable[UsageBatch]) -> None:
        """Put what was not written back in front of newer uses."""
        back = UsageBatch()
        for part in (*unwritten, self._batch):
            back.merge(part)
        self._batch = back
        self.failed_flushes += 1
        self._failing += 1

    def _drop(self, entry: UsageBatch, exc: Exception) -> None:
        key_id = ", ".join(sorted(entry.key_ids()))
        # The entry itself is not logged: its user agent is whatever a client sent.
        logger.error(
            "Dropped a usage entry of key %s that the database refuses (%s)",
            key_id,
            type(exc).__name__,
        )
        self.dropped += 1
        if self._on_dropped is not None:
            self._on_dropped(1)

    async def _prune(self) -> None:
        """Usage older than `USAGE_DAYS_KEPT` days is deleted, at most once an hour; a failure
        is logged and tried again at the next flush (it never holds up the writes)."""
        if time.monotonic() < self._next_prune:
            return
        try:
            await self._store.prune_usage(self._clock().date() - timedelta(days=USAGE_DAYS_KEPT))
        except Exception:
            logger.warning("Pruning old usage failed; trying again later", exc_info=True)
            return
        self._next_prune = time.monotonic() + _PRUNE_SECONDS

    def _pause(self) -> float:
        """How long the loop waits before its next flush: the interval, doubled for each flush
        that failed in a row (early flushes wait too), at most a minute."""
        if not self._failing:
            return self._flush_seconds
        return min(self._flush_seconds * 2.0**self._failing, _MAX_PAUSE_SECONDS)

    async def run(self) -> None:
        """Flush every interval, or early when the buffer is full, until cancelled."""
        while True:
            if self._failing:
                await asyncio.sleep(self._pause())
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._flush_seconds):
                        await self._wake.wait()
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                logger.warning(
                    "Flushing the usage of %d keys failed; trying again in %.1f s",
                    len(self._batch.latest),
                    self._pause(),
                    exc_info=True,
                )

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[UsageTracker]:
        """The flush loop for the application's lifetime; flushes what is left when it ends."""
        try:
            async with background(self.run, "apikeys-tracker"):
                yield self
        finally:
            await self._flush_before_exit()

    async def _flush_before_exit(self) -> None:
        for attempt in range(1, _SHUTDOWN_ATTEMPTS + 1):
            try:
                await self.flush()
                return
            except Exception:
                logger.warning("Final flush failed (attempt %d)", attempt, exc_info=True)
                await asyncio.sleep(0.5 * attempt)
        logger.error("Lost the usage of %d keys at shutdown", len(self._batch.latest))
