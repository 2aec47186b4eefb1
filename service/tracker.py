"""The last-used tracker: records every use of a key, writes them in batches.

Writing `last_used_at` on every verification would put a write (and a row lock) on the hot path
of every request the platform serves; Unkey moved away from exactly that because of lock
contention. Instead, uses go into an in-memory buffer (key id -> latest use) that a background
task flushes every `flush_seconds` (at most 5 s), or earlier once `max_buffered_keys` distinct
keys are waiting. A flush writes each touched key once, however many times it was used.

The write is monotonic (`last_used_at` only moves forward), so several server processes flushing
into one PostgreSQL database agree, and replaying a batch is harmless. A failed flush puts its
batch back to be retried on the next tick, merged with newer uses; nothing is dropped, so while
the database is down the buffer holds at most one entry per existing key.

What a stop can lose: a graceful stop (SIGTERM, Ctrl-C) flushes what is left before the process
exits, so it loses nothing. A kill -9 or a crash loses the uses recorded since the last flush:
at most one interval (`APIKEYS_TRACKER_FLUSH_SECONDS`) of "last used" times, never a key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Protocol

from service.background import background
from service.clock import Clock, utcnow

logger = logging.getLogger("apikeys.tracker")

_SHUTDOWN_ATTEMPTS = 3


class LastUsedStore(Protocol):
    async def record_last_used(self, uses: Mapping[str, datetime]) -> None: ...


class UsageTracker:
    def __init__(
        self,
        store: LastUsedStore,
        *,
        flush_seconds: float,
        max_buffered_keys: int,
        clock: Clock = utcnow,
    ) -> None:
        self._store = store
        self._flush_seconds = flush_seconds
        self._max_buffered_keys = max_buffered_keys
        self._clock = clock
        self._buffer: dict[str, datetime] = {}
        self._wake = asyncio.Event()
        self.flushes = 0
        self.failed_flushes = 0
        self._last_success = time.monotonic()

    @property
    def buffered(self) -> int:
        return len(self._buffer)

    def seconds_since_flush(self) -> float:
        """How far behind the database is: time since the last successful flush (or start)."""
        return time.monotonic() - self._last_success

    def record(self, key_id: str, at: datetime | None = None) -> None:
        """Remember a use of a key; cheap, synchronous, never touches the database."""
        at = at or self._clock()
        previous = self._buffer.get(key_id)
        if previous is None or at > previous:
            self._buffer[key_id] = at
        if len(self._buffer) >= self._max_buffered_keys:
            self._wake.set()

    async def flush(self) -> int:
        """Write every buffered use; returns how many keys were written."""
        if not self._buffer:
            self._last_success = time.monotonic()  # nothing owed: the database is up to date
            return 0
        batch, self._buffer = self._buffer, {}
        try:
            await self._store.record_last_used(batch)
        except BaseException:
            # Put the batch back (cancellation included) so the next flush retries it.
            for key_id, at in batch.items():
                self.record(key_id, at)
            self.failed_flushes += 1
            raise
        self.flushes += 1
        self._last_success = time.monotonic()
        return len(batch)

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
                    "Flushing %d last-used times failed; retrying in %.1f s",
                    len(self._buffer),
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
        logger.error("Lost the last-used times of %d keys at shutdown", len(self._buffer))
