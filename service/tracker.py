"""The usage tracker: records every use of a key, writes them in batches.

Writing on every verification would put a write (and a row lock) on the hot path of every
request the platform serves; Unkey moved away from exactly that because of lock contention.
Instead, uses go into in-memory buffers that a background task flushes every `flush_seconds`
(at most 5 s), or earlier once `max_buffered_keys` entries are waiting. Per key the buffers hold:
- the latest use, and where it came from (client address, user agent): `last_used_at`;
- uses per UTC day;
- per workflow (when the gateway names one) and day, uses and the latest time.
A flush writes each touched key, (key, day) and (key, workflow, day) once, however many uses it
saw, in one transaction (see `KeyRepository.record_usage`).

Writes are monotonic or additive (`last_used_at` only moves forward; day and workflow counts
are added to), so several server processes flushing into one database agree. A failed flush
puts its batch back, merged with newer uses, to be retried on the next tick: nothing is
dropped, and the buffers stay bounded by the early-flush limit.

What a stop can lose: a graceful stop (SIGTERM, Ctrl-C) flushes what is left before the process
exits, so it loses nothing. A kill -9 or a crash loses the uses recorded since the last flush:
at most one interval (`APIKEYS_TRACKER_FLUSH_SECONDS`) of usage, never a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Protocol

from service.background import background
from service.clock import Clock, utcnow
from service.usage import NO_USE, UsageBatch, Use

logger = logging.getLogger("apikeys.tracker")

_SHUTDOWN_ATTEMPTS = 3
USAGE_DAYS_KEPT = 90
_PRUNE_SECONDS = 3600.0  # usage older than USAGE_DAYS_KEPT is pruned at most this often


class UsageStore(Protocol):
    async def record_usage(self, batch: UsageBatch, *, prune_before: date | None) -> None: ...


class UsageTracker:
    def __init__(
        self,
        store: UsageStore,
        *,
        flush_seconds: float,
        max_buffered_keys: int,
        clock: Clock = utcnow,
    ) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._max_buffered = max_buffered_keys
        self._clock = clock
        self._batch = UsageBatch()
        self._wake = asyncio.Event()
        self.flushes = 0
        self.failed_flushes = 0
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
        """Write every buffered use; returns how many keys were written."""
        if not self._batch.latest:
            self._last_success = time.monotonic()  # nothing owed: the database is up to date
            return 0
        batch, self._batch = self._batch, UsageBatch()
        prune = time.monotonic() >= self._next_prune
        prune_before = self._clock().date() - timedelta(days=USAGE_DAYS_KEPT) if prune else None
        try:
            await self._store.record_usage(batch, prune_before=prune_before)
        except BaseException:
            # Put the batch back (cancellation included) so the next flush retries it.
            batch.merge(self._batch)
            self._batch = batch
            self.failed_flushes += 1
            raise
        if prune:
            self._next_prune = time.monotonic() + _PRUNE_SECONDS
        self.flushes += 1
        self._last_success = time.monotonic()
        return len(batch.latest)

    async def run(self) -> None:
        """Flush every interval, or early when the buffer is full, until cancelled."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._flush_seconds)
            self._wake.clear()
            try:
                await self.flush()
            except Exception:
                logger.warning(
                    "Flushing the usage of %d keys failed; retrying in %.1f s",
                    len(self._batch.latest),
                    self._flush_seconds,
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
