"""Prometheus metrics, one registry per application (so tests never share one).

With several worker processes (`apikeys serve --workers N`, N > 1), `apikeys serve` points
prometheus-client's multiprocess mode at a directory of its own (`PROMETHEUS_MULTIPROC_DIR`,
created empty at start, removed at stop): every worker writes its figures there, and `/metrics`,
whichever worker answers it, reports the sum over all of them. Gauges say how they combine
across workers (`multiprocess_mode`), and since a worker cannot compute another's gauge at scrape
time, each worker sets its own every second. One worker keeps plain in-memory figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

from service.background import background
from service.tracker import UsageTracker

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
_GAUGE_SECONDS = 1.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _forget_dead_workers(directory: str) -> None:
    """A worker that was killed (and restarted by uvicorn) never marked itself dead: its live
    gauges would count forever. Each new worker marks those of processes that are gone."""
    pids: set[int] = set()
    for path in Path(directory).glob("*.db"):
        number = path.stem.rpartition("_")[2]
        if number.isdigit():
            pids.add(int(number))
    for pid in pids:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            multiprocess.mark_process_dead(pid, directory)  # type: ignore[no-untyped-call]
        except PermissionError:
            pass  # alive, someone else's


def multiprocess_mode() -> bool:
    """Whether this process is one of several workers sharing their metrics (the variable is
    read by prometheus-client when it is first imported, so it is set before the workers
    start)."""
    return bool(os.environ.get(MULTIPROCESS_DIR))


class Metrics:
    def __init__(self, tracker: UsageTracker) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._operation_children: dict[tuple[str, bool], tuple[Counter, Histogram]] = {}
        self.requests = Counter(
            "apikeys_http_requests",
            "HTTP requests by route, method and status.",
            ["route", "method", "status"],
            registry=registry,
        )
        self.request_seconds = Histogram(
            "apikeys_http_request_duration_seconds",
            "HTTP request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.operations = Counter(
            "apikeys_graphql_operations",
            "GraphQL operations by root field(s) and outcome (ok or error).",
            ["operation", "outcome"],
            registry=registry,
        )
        self.operation_seconds = Histogram(
            "apikeys_graphql_operation_duration_seconds",
            "GraphQL operation latency by root field(s).",
            ["operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.verifications = Counter(
            "apikeys_verifications",
            "Key verifications at /v1/keys/verify by result: valid, MALFORMED, UNKNOWN,"
            " EXPIRED, REVOKED, UNAUTHORIZED (bad service token), RATE_LIMITED or UNAVAILABLE"
            " (database).",
            ["result"],
            registry=registry,
        )
        self.ratelimit_errors = Counter(
            "apikeys_ratelimit_errors",
            "Failure-limit checks that could not reach Redis (the limits fell back to this"
            " process's own counts).",
            registry=registry,
        )
        self.keys_stored = Gauge(
            "apikeys_keys_stored",
            "API keys stored, counted at most once a minute.",
            registry=registry,
            multiprocess_mode="mostrecent",
        )
        self._multiprocess = multiprocess_mode()
        self._tracker = tracker
        # Read from the tracker at scrape time (several workers: set every second), so the
        # request path never touches them.
        self._tracker_gauges: list[tuple[Gauge, Callable[[], float]]] = [
            (
                Gauge(
                    "apikeys_tracker_buffered_keys",
                    "Keys whose last use waits in the tracker's buffer.",
                    registry=registry,
                    multiprocess_mode="livesum",
                ),
                lambda: tracker.buffered,
            ),
            (
                Gauge(
                    "apikeys_tracker_flushes",
                    "Successful tracker flushes since start.",
                    registry=registry,
                    multiprocess_mode="livesum",
                ),
                lambda: tracker.flushes,
            ),
            (
                Gauge(
                    "apikeys_tracker_flush_failures",
                    "Failed tracker flushes since start (each is retried).",
                    registry=registry,
                    multiprocess_mode="livesum",
                ),
                lambda: tracker.failed_flushes,
            ),
            (
                Gauge(
                    "apikeys_tracker_flush_lag_seconds",
                    "Seconds since the tracker last flushed successfully (or since start).",
                    registry=registry,
                    multiprocess_mode="livemax",
                ),
                tracker.seconds_since_flush,
            ),
        ]
        if not self._multiprocess:
            for gauge, read in self._tracker_gauges:
                gauge.set_function(read)

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """For the application's lifetime: with several workers, this worker's gauges are set
        every second, and marked dead (its live gauges dropped) when it stops."""
        if not self._multiprocess:
            yield
            return
        _forget_dead_workers(os.environ[MULTIPROCESS_DIR])
        try:
            async with background(self._set_gauges_every_second, "apikeys-metrics"):
                yield
        finally:
            multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]

    async def _set_gauges_every_second(self) -> None:
        while True:
            self.set_gauges()
            await asyncio.sleep(_GAUGE_SECONDS)

    def set_gauges(self) -> None:
        for gauge, read in self._tracker_gauges:
            gauge.set(read())

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Counts and times one HTTP request. The labelled children are looked up once per
        route, method and status, then kept: `labels()` costs a lock and a dict build."""
        label = method if method in _METHODS else "OTHER"  # a closed set, like routes
        key = (route, label, status)
        counted = self._request_children.get(key)
        if counted is None:
            counted = self._request_children[key] = (
                self.requests.labels(route, label, str(status)),
                self.request_seconds.labels(route),
            )
        counter, histogram = counted
        counter.inc()
        histogram.observe(seconds)

    def operation_done(self, operation: str, failed: bool, seconds: float) -> None:
        """Counts and times one GraphQL operation (bound children kept, as for requests)."""
        key = (operation, failed)
        counted = self._operation_children.get(key)
        if counted is None:
            counted = self._operation_children[key] = (
                self.operations.labels(operation, "error" if failed else "ok"),
                self.operation_seconds.labels(operation),
            )
        counter, histogram = counted
        counter.inc()
        histogram.observe(seconds)

    def render(self) -> bytes:
        if not self._multiprocess:
            return generate_latest(self.registry)
        self.set_gauges()  # this worker's, fresh; the others' are at most a second old
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
