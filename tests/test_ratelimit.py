"""The failure limiter, on a clock the test controls."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from limits.aio.storage import MemoryStorage
from prometheus_client import CollectorRegistry, Counter

from service.web.failure_limits import UNKNOWN_CLIENT, FailureLimiter, SharedLimits, subject


class Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_an_address_is_slowed_down_after_too_many_failures() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, window_seconds=60, monotonic=clock)
    for _ in range(2):
        limiter.record_failure("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") is None
    limiter.record_failure("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") == 60
    clock.now += 45.5
    assert limiter.retry_after("1.2.3.4") == 15


def test_other_addresses_are_not_affected() -> None:
    limiter = FailureLimiter(max_failures=1, window_seconds=60, monotonic=Clock())
    limiter.record_failure("1.2.3.4")
    assert limiter.retry_after("1.2.3.4") is not None
    assert limiter.retry_after("5.6.7.8") is None


def test_the_window_ends() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=1, window_seconds=10, monotonic=clock)
    limiter.record_failure("a")
    clock.now += 10
    assert limiter.retry_after("a") is None
    limiter.record_failure("a")
    assert limiter.retry_after("a") == 10


def test_ipv6_clients_are_counted_per_network_of_the_configured_size() -> None:
    assert subject("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert subject("2001:db8:1:2:ffff:ffff:ffff:ffff") == "2001:db8:1:2::/64"
    assert subject("2001:db8:1:3::1") == "2001:db8:1:3::/64"
    assert subject("2001:db8:1:2:aaaa::1", 48) == "2001:db8:1::/48"
    assert subject("2001:db8::1", 128) == "2001:db8::1/128"
    assert subject("fe80::1%eth0") == "fe80::/64"  # a zone names no other network


def test_ipv4_clients_are_counted_per_address_even_when_mapped_into_ipv6() -> None:
    assert subject("203.0.113.7") == "203.0.113.7"
    assert subject("::ffff:cb00:7107") == "203.0.113.7"
    assert subject(None) == UNKNOWN_CLIENT


def test_a_full_table_makes_room_from_its_quiet_clients_never_from_offenders() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=3, window_seconds=60, monotonic=clock, max_tracked=100)
    for _ in range(3):
        limiter.record_failure("offender")
    assert limiter.retry_after("offender") is not None
    for n in range(10_000):  # a flood of fresh addresses, one failure each
        clock.now += 0.001
        limiter.record_failure(f"flood-{n}")
    assert limiter.retry_after("offender") is not None, "the flood bought the offender a reset"
    limiter.record_failure("latest")
    assert limiter.has_failed("latest")
    assert not limiter.has_failed("flood-0"), "the oldest quiet clients made room"


def test_a_table_full_of_offenders_keeps_them_all() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=1, window_seconds=60, monotonic=clock, max_tracked=10)
    for n in range(10):
        limiter.record_failure(f"offender-{n}")
    limiter.record_failure("newcomer")
    assert all(limiter.retry_after(f"offender-{n}") is not None for n in range(10))
    assert not limiter.has_failed("newcomer")
    clock.now += 60  # their windows end: room again
    limiter.record_failure("newcomer")
    assert limiter.has_failed("newcomer")


def test_failures_spread_over_windows_do_not_add_up() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=2, window_seconds=10, monotonic=clock)
    limiter.record_failure("a")
    clock.now += 11
    limiter.record_failure("a")
    assert limiter.retry_after("a") is None


# -- shared limits (Redis) ------------------------------------------------------------------------


def shared(url: str, prefix: str, limit: int = 5, **kwargs: Any) -> SharedLimits:
    return SharedLimits.from_url(
        url,
        prefix,
        max_failures=limit,
        window_seconds=60,
        local=FailureLimiter(limit, 60),
        **kwargs,
    )


async def answered_without_429(processes: list[SharedLimits], attempts: int) -> int:
    """`attempts` failed checks from one address, round-robin over `processes`."""
    answered = 0
    for n in range(attempts):
        limits = processes[n % len(processes)]
        if await limits.check("203.0.113.9") is not None:
            continue
        if await limits.failed("203.0.113.9") is None:
            answered += 1
    return answered


@pytest.fixture
async def opened() -> AsyncIterator[list[SharedLimits]]:
    """Every SharedLimits a test makes, closed at its end."""
    made: list[SharedLimits] = []
    yield made
    for limits in made:
        await limits.aclose()


async def test_processes_share_one_count_through_redis(
    redis_url: str, redis_prefix: str, opened: list[SharedLimits]
) -> None:
    two = [shared(redis_url, redis_prefix, limit=5), shared(redis_url, redis_prefix, limit=5)]
    opened.extend(two)
    assert await answered_without_429(two, 20) == 5
    wait = await two[1].check("203.0.113.9")
    assert wait is not None and 55 <= wait <= 60
    # Another address, and another deployment's prefix, have counts of their own.
    assert await two[0].check("203.0.113.10") is None
    other = shared(redis_url, redis_prefix + "-other")
    opened.append(other)
    assert await answered_without_429([other], 3) == 3


async def test_a_client_new_to_a_process_is_caught_by_its_first_failure_there(
    redis_url: str, redis_prefix: str, opened: list[SharedLimits]
) -> None:
    first, second = shared(redis_url, redis_prefix, 3), shared(redis_url, redis_prefix, 3)
    opened.extend([first, second])
    assert await answered_without_429([first], 10) == 3
    # `second` has never seen the address fail, so it does not ask Redis before verifying...
    assert await second.check("203.0.113.9") is None
    # ...but the failure it then counts is over the shared limit: 429 instead of an answer.
    assert await second.failed("203.0.113.9") is not None
    assert await second.check("203.0.113.9") is not None


class FlakyStorage(MemoryStorage):
    """limits' in-memory storage, made to fail like an unreachable Redis while `down`."""

    down = True

    async def acquire_entry(self, *args: Any, **kwargs: Any) -> bool:
        if self.down:
            raise ConnectionError("Connection refused")
        return await super().acquire_entry(*args, **kwargs)

    async def get_moving_window(self, *args: Any, **kwargs: Any) -> tuple[float, int]:
        if self.down:
            raise ConnectionError("Connection refused")
        return await super().get_moving_window(*args, **kwargs)


async def test_without_redis_the_limits_fall_back_to_this_process_and_recover(
    caplog: pytest.LogCaptureFixture,
) -> None:
    storage, clock = FlakyStorage(), Clock()
    registry = CollectorRegistry()
    errors = Counter("errors", "test", registry=registry)
    limits = SharedLimits(
        storage,
        max_failures=3,
        window_seconds=60,
        local=FailureLimiter(3, 60, monotonic=clock),
        errors=errors,
        retry_seconds=1.0,
        monotonic=clock,
    )
    with caplog.at_level(logging.WARNING, logger="apikeys.ratelimit"):
        # Down: still limited, by this process's own counts; one line for the whole outage.
        assert await answered_without_429([limits], 10) == 3
        clock.now += 2  # Redis is tried again, and fails again
        await limits.check("203.0.113.9")
        storage.down = False
        clock.now += 2
        await limits.check("203.0.113.9")  # back: the shared counts answer again
    warnings = [r.getMessage() for r in caplog.records if r.name == "apikeys.ratelimit"]
    assert len(warnings) == 2, warnings
    assert "unreachable" in warnings[0] and "reachable again" in warnings[1]
    assert errors._value.get() >= 2
    assert await limits.failed("198.51.100.1") is None  # counted in the storage now
    assert (
        await storage.get_moving_window("LIMITER/verify-failures/198.51.100.1/3/60/second", 3, 60)
    )[1] in (0, 1)
