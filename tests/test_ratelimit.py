"""The failure limiter, on a clock the test controls."""

from __future__ import annotations

from service.ratelimit import FailureLimiter


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


def test_failures_spread_over_windows_do_not_add_up() -> None:
    clock = Clock()
    limiter = FailureLimiter(max_failures=2, window_seconds=10, monotonic=clock)
    limiter.record_failure("a")
    clock.now += 11
    limiter.record_failure("a")
    assert limiter.retry_after("a") is None
