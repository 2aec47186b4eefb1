"""Slows down a client that keeps presenting bad keys: after `max_failures` failed
verifications within a window, its requests are refused with 429 until the window ends.

Counted per client address, in memory, per process: a fixed window is enough to make guessing
pointless (keys carry 190 bits) while costing one dict lookup on the hot path.
"""

from __future__ import annotations

import time
from collections.abc import Callable

_MAX_TRACKED_ADDRESSES = 100_000


class FailureLimiter:
    def __init__(
        self,
        max_failures: int,
        window_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._now = monotonic
        self._windows: dict[str, tuple[float, int]] = {}  # address -> (window start, failures)

    def retry_after(self, address: str) -> int | None:
        """Seconds until `address` may try again, or None when it is not being slowed down."""
        entry = self._windows.get(address)
        if entry is None:
            return None
        start, failures = entry
        remaining = start + self._window - self._now()
        if remaining <= 0:
            del self._windows[address]
            return None
        return max(1, int(remaining + 0.999)) if failures >= self._max else None

    def record_failure(self, address: str) -> None:
        now = self._now()
        start, failures = self._windows.get(address, (now, 0))
        if now - start >= self._window:
            start, failures = now, 0
        if len(self._windows) >= _MAX_TRACKED_ADDRESSES and address not in self._windows:
            self._forget_expired(now)
        self._windows[address] = (start, failures + 1)

    def _forget_expired(self, now: float) -> None:
        expired = [a for a, (s, _) in self._windows.items() if now - s >= self._window]
        for address in expired or list(self._windows)[: _MAX_TRACKED_ADDRESSES // 10]:
            del self._windows[address]
