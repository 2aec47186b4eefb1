"""Slows down a client that keeps presenting bad keys: after `max_failures` failed
verifications within a window, its requests are refused with 429 until the window ends.

Counted per client (`subject`): an IPv4 address, or an IPv6 network of `ipv6_prefix` bits (a
/64 by default: one subscriber usually holds a whole /64, so counting single IPv6 addresses
would give them unlimited tries). `FailureLimiter` keeps the counts in this process's memory (a
fixed window: enough to make guessing pointless, keys carry 190 bits, for one dict look-up on the
hot path). With `APIKEYS_REDIS_URL`, `SharedLimits` counts across every process and host in
Redis.
"""

from __future__ import annotations

import functools
import ipaddress
import itertools
import logging
import math
import time
from collections.abc import Callable
from typing import Any, Protocol

import coredis
from coredis.retry import NoRetryPolicy
from limits import RateLimitItemPerSecond
from limits.aio.storage import RedisStorage
from limits.aio.strategies import MovingWindowRateLimiter
from prometheus_client import Counter

logger = logging.getLogger("apikeys.ratelimit")

_MAX_TRACKED = 100_000
_NAMESPACE = "verify-failures"
_REDIS_TIMEOUT = 0.25  # seconds
UNKNOWN_CLIENT = "unknown"  # every request whose address cannot be told is one client


@functools.lru_cache(maxsize=4096)
def subject(address: str | None, ipv6_prefix: int = 64) -> str:
    """Who a failure is counted against: an IPv4 address (an IPv4-mapped IPv6 one included),
    or the IPv6 network of `ipv6_prefix` bits holding the address. `address` is canonical
    (`service.domain.origins`); None counts as one unknown client."""
    if address is None:
        return UNKNOWN_CLIENT
    if ":" not in address:
        return address  # IPv4, already canonical
    parsed = ipaddress.IPv6Address(address.partition("%")[0])
    if parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(ipaddress.IPv6Network((parsed, ipv6_prefix), strict=False))


class FailureLimiter:
    """Failures per subject in fixed windows, in this process's memory, for at most
    `max_tracked` subjects. When the table is full, the quiet subjects (under the limit) that
    started their windows longest ago make room, never one that is being slowed down: a flood
    of new addresses cannot buy an offender a clean slate."""

    def __init__(
        self,
        max_failures: int,
        window_seconds: int,
        monotonic: Callable[[], float] = time.monotonic,
        *,
        ipv6_prefix: int = 64,
        max_tracked: int = _MAX_TRACKED,
    ) -> None:
        self._max = max_failures
        self._window = window_seconds
        self._now = monotonic
        self.ipv6_prefix = ipv6_prefix
        self._max_tracked = max_tracked
        # subject -> (window start, failures), in the order the windows started
        self._windows: dict[str, tuple[float, int]] = {}

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

    def has_failed(self, address: str) -> bool:
        """Whether `address` failed here within the current window."""
        entry = self._windows.get(address)
        return entry is not None and self._now() - entry[0] < self._window

    def record_failure(self, address: str) -> None:
        now = self._now()
        windows = self._windows
        entry = windows.get(address)
        if entry is not None and now - entry[0] < self._window:
            windows[address] = (entry[0], entry[1] + 1)
            return
        if entry is not None:
            del windows[address]  # a new window: to the end of the order
        elif len(windows) >= self._max_tracked and not self._make_room(now):
            return  # every subject tracked is over the limit: they stay, this one is not counted
        windows[address] = (now, 1)

    def _make_room(self, now: float) -> bool:
        """Forget expired windows; if none, the oldest tenth of the quiet ones."""
        windows = self._windows
        expired = [a for a, (start, _) in windows.items() if now - start >= self._window]
        if not expired:
            quiet = (a for a, (_, failures) in windows.items() if failures < self._max)
            expired = list(itertools.islice(quiet, max(1, self._max_tracked // 10)))
        for address in expired:
            del windows[address]
        return bool(expired)


class FailureLimits(Protocol):
    """What the endpoints ask of a failure limiter, wherever its counts are kept. `address` is a
    canonical client address (`service.domain.origins`), None when the request's cannot be
    told; it is counted against its `subject`."""

    async def check(self, address: str | None) -> int | None:
        """Seconds until `address` may try again, or None when it is not being slowed down."""

    async def failed(self, address: str | None) -> int | None:
        """Count a failure; the seconds to wait when this one went over the limit, else None."""

    async def aclose(self) -> None:
        """Release what the counts are kept in (at the application's stop)."""


class InProcessLimits:
    """Counts kept by this process alone (the default, without Redis): with several processes
    behind a load balancer, a client gets the limit once per process."""

    def __init__(self, limiter: FailureLimiter) -> None:
        self._limiter = limiter

    async def check(self, address: str | None) -> int | None:
        return self._limiter.retry_after(subject(address, self._limiter.ipv6_prefix))

    async def failed(self, address: str | None) -> int | None:
        self._limiter.record_failure(subject(address, self._limiter.ipv6_prefix))
        return None

    async def aclose(self) -> None:
        pass


class SharedLimits:
    """Counts shared by every process and host, in Redis, through the `limits` library (a
    moving window per address).

    A Redis round trip costs more than a whole cached verification, so Redis is asked only
    about addresses this process has itself seen fail within the window (its in-process counts
    say which); the others, nearly every client, never wait for it. A client that fails in one
    process and moves to another is caught by its first failure there: the failure is counted in
    Redis, and if that goes over the limit the answer is 429 at once.

    Redis being unreachable must not stop verification: the limiter then falls back to this
    process's own counts (fails open to the embedded default), logs once per outage, counts each
    error in `apikeys_ratelimit_errors_total`, leaves Redis alone for `retry_seconds`, and goes
    back to it by itself.
    """

    def __init__(
        self,
        storage: Any,
        *,
        max_failures: int,
        window_seconds: int,
        local: FailureLimiter,
        errors: Counter | None = None,
        retry_seconds: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limiter = MovingWindowRateLimiter(storage)
        self._item = RateLimitItemPerSecond(max_failures, window_seconds)
        self._local = local
        self._errors = errors
        self._retry = retry_seconds
        self._now = monotonic
        self._down_until: float | None = None  # set while Redis is being left alone
        self._pool: coredis.ConnectionPool | None = None

    @classmethod
    def from_url(
        cls, url: str, key_prefix: str, *, max_failures: int, window_seconds: int, **kwargs: Any
    ) -> SharedLimits:
        # A pool of our own, so that the application's stop can close it. An unreachable
        # Redis must cost a verification little: it fails fast, then the limits fall back.
        pool = coredis.ConnectionPool.from_url(
            url.replace("redis+unix://", "unix://", 1),
            connect_timeout=_REDIS_TIMEOUT,
            stream_timeout=_REDIS_TIMEOUT,
        )
        # (limits passes these on to coredis; its stubs type only scalar options.) No retries:
        # a failed call falls back at once, and Redis is tried again after `retry_seconds`.
        storage = RedisStorage(
            "async+redis://",
            key_prefix=key_prefix,
            connection_pool=pool,  # type: ignore[arg-type]
            retry_policy=NoRetryPolicy(),  # type: ignore[arg-type]
        )
        limits = cls(storage, max_failures=max_failures, window_seconds=window_seconds, **kwargs)
        limits._pool = pool
        return limits

    async def aclose(self) -> None:
        if self._pool is not None:
            self._pool.disconnect()

    async def check(self, address: str | None) -> int | None:
        counted = subject(address, self._local.ipv6_prefix)
        local_wait = self._local.retry_after(counted)
        if not self._local.has_failed(counted) or not self._available():
            return local_wait
        try:
            stats = await self._limiter.get_window_stats(self._item, _NAMESPACE, counted)
        except Exception as exc:  # noqa: BLE001 - whatever the client raises, fail open
            self._lost(exc)
            return local_wait
        self._back()
        if stats.remaining > 0:
            return None
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def failed(self, address: str | None) -> int | None:
        counted = subject(address, self._local.ipv6_prefix)
        self._local.record_failure(counted)
        if not self._available():
            return None
        try:
            within = await self._limiter.hit(self._item, _NAMESPACE, counted)
            if within:
                self._back()
                return None
            stats = await self._limiter.get_window_stats(self._item, _NAMESPACE, counted)
        except Exception as exc:  # noqa: BLE001
            self._lost(exc)
            return None
        self._back()
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _available(self) -> bool:
        return self._down_until is None or self._now() >= self._down_until

    def _lost(self, exc: Exception) -> None:
        if self._errors is not None:
            self._errors.inc()
        if self._down_until is None:
            logger.warning(
                "Redis is unreachable (%s): failure limits are counted per process until it"
                " is back",
                type(exc).__name__,
            )
        self._down_until = self._now() + self._retry

    def _back(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            logger.warning("Redis is reachable again: failure limits are shared again")
