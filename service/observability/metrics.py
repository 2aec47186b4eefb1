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
import time
from bisect import bisect_left
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Protocol

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString

from service.domain.background import background

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


class RequestCounter(Protocol):
    """A labelled counter on the path of every request."""

    def inc(self, labels: tuple[str, ...]) -> None: ...


class RequestHistogram(Protocol):
    """A histogram with one label, on the path of every request."""

    def observe(self, label: str, value: float) -> None: ...


class TalliedCounter:
    """A Prometheus counter for the request path, in one process: each event is one dict
    increment, and the samples are made when `/metrics` is scraped (a custom collector).
    prometheus-client's own `Counter` takes a lock and three Python calls per increment, which
    cost as much as a whole cached verification. Same samples as a `Counter` with the same
    name and labels (`_total`, `_created`); a test holds them equal. With `TalliedHistogram`,
    it saves 4.6% of a verification's instructions and 3.5% of a key list's against
    prometheus-client's children (`python -m bench.instructions`; bench/README.md)."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: tuple[str, ...],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelnames = labelnames
        self._counts: dict[tuple[str, ...], int] = {}
        self._created: dict[tuple[str, ...], float] = {}
        registry.register(self)

    def inc(self, labels: tuple[str, ...]) -> None:
        counts = self._counts
        if labels in counts:
            counts[labels] += 1
        else:
            self._created[labels] = time.time()  # before the count: collect() reads both
            counts[labels] = 1

    def describe(self) -> list[Metric]:
        return [CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)]

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(self._name, self._documentation, labels=self._labelnames)
        for labels, count in list(self._counts.items()):
            family.add_metric(labels, float(count), created=self._created[labels])
        yield family


class TalliedHistogram:
    """A Prometheus histogram with one label for the request path, in one process: each
    observation is a bisection and two increments, and the samples (`_bucket`, `_count`,
    `_sum`, `_created`, as a `Histogram` gives) are made when `/metrics` is scraped."""

    def __init__(
        self,
        name: str,
        documentation: str,
        labelname: str,
        buckets: tuple[float, ...],
        registry: CollectorRegistry,
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._labelname = labelname
        self._bounds = buckets  # +Inf is the slot past the last bound
        names: list[str] = [floatToGoString(b) for b in buckets]  # type: ignore[no-untyped-call]
        self._bucket_names = [*names, "+Inf"]
        self._counts: dict[str, list[int]] = {}  # label -> observations per bucket
        self._sums: dict[str, float] = {}
        self._created: dict[str, float] = {}
        registry.register(self)

    def observe(self, label: str, value: float) -> None:
        counts = self._counts.get(label)
        if counts is None:
            self._sums[label] = 0.0  # before the counts: collect() reads all three
            self._created[label] = time.time()
            counts = self._counts[label] = [0] * (len(self._bounds) + 1)
        # The first bucket whose upper bound is at least the value, as `Histogram.observe`.
        counts[bisect_left(self._bounds, value)] += 1
        self._sums[label] += value

    def _family(self) -> HistogramMetricFamily:
        return HistogramMetricFamily(self._name, self._documentation, labels=[self._labelname])

    def describe(self) -> list[Metric]:
        return [self._family()]

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for label, counts in list(self._counts.items()):
            cumulative = 0
            buckets: list[tuple[str, float]] = []
            for bucket_name, count in zip(self._bucket_names, counts, strict=True):
                cumulative += count
                buckets.append((bucket_name, float(cumulative)))
            family.add_metric([label], buckets, self._sums[label])
            labels = {self._labelname: label}
            family.samples.append(
                Sample(f"{self._name}_created", labels, self._created[label], None, None)
            )
        yield family


class SharedCounter:
    """A prometheus-client `Counter` behind the same interface (several workers: its figures
    go through prometheus-client's multiprocess files). Children are bound once per labels."""

    def __init__(self, counter: Counter) -> None:
        self._counter = counter
        self._children: dict[tuple[str, ...], Counter] = {}

    def inc(self, labels: tuple[str, ...]) -> None:
        child = self._children.get(labels)
        if child is None:
            child = self._children[labels] = self._counter.labels(*labels)
        child.inc()


class SharedHistogram:
    """A prometheus-client `Histogram` behind the same interface (several workers)."""

    def __init__(self, histogram: Histogram) -> None:
        self._histogram = histogram
        self._children: dict[str, Histogram] = {}

    def observe(self, label: str, value: float) -> None:
        child = self._children.get(label)
        if child is None:
            child = self._children[label] = self._histogram.labels(label)
        child.observe(value)


class TrackerFigures(Protocol):
    """What the usage tracker tells about itself."""

    @property
    def buffered(self) -> int: ...

    flushes: int
    failed_flushes: int

    def seconds_since_flush(self) -> float: ...


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=True)
        self._multiprocess = multiprocess_mode()
        self.requests = self._counter(
            "apikeys_http_requests",
            "HTTP requests by route, method and status.",
            ("route", "method", "status"),
        )
        self.request_seconds = self._histogram(
            "apikeys_http_request_duration_seconds", "HTTP request latency by route.", "route"
        )
        self.operations = self._counter(
            "apikeys_graphql_operations",
            "GraphQL operations by root field(s) and outcome (ok or error).",
            ("operation", "outcome"),
        )
        self.operation_seconds = self._histogram(
            "apikeys_graphql_operation_duration_seconds",
            "GraphQL operation latency by root field(s).",
            "operation",
        )
        self.verifications = self._counter(
            "apikeys_verifications",
            "Key verifications at /v1/keys/verify by result: valid, MALFORMED, UNKNOWN,"
            " EXPIRED, REVOKED, WORKFLOW_NOT_ALLOWED, ADDRESS_NOT_ALLOWED (outside the key's"
            " scope), UNAUTHORIZED (bad service token), RATE_LIMITED or UNAVAILABLE (database).",
            ("result",),
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
        self.tracker_dropped = Counter(
            "apikeys_tracker_dropped",
            "Usage entries the database refused for what they hold, dropped by the tracker.",
            registry=registry,
        )
        self._tracker_gauges: list[tuple[Gauge, Callable[[], float]]] = []

    def watch_tracker(self, tracker: TrackerFigures) -> None:
        """The tracker's gauges, read from it at scrape time (several workers: set every
        second), so the request path never touches them."""
        registry = self.registry
        self._tracker_gauges = [
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

    def _counter(self, name: str, documentation: str, labels: tuple[str, ...]) -> RequestCounter:
        """A counter for the request path: tallied in memory (one process), or prometheus-
        client's own (several workers, whose figures must meet in its files)."""
        if not self._multiprocess:
            return TalliedCounter(name, documentation, labels, self.registry)
        return SharedCounter(Counter(name, documentation, labels, registry=self.registry))

    def _histogram(self, name: str, documentation: str, label: str) -> RequestHistogram:
        if not self._multiprocess:
            return TalliedHistogram(name, documentation, label, LATENCY_BUCKETS, self.registry)
        histogram = Histogram(
            name, documentation, [label], buckets=LATENCY_BUCKETS, registry=self.registry
        )
        return SharedHistogram(histogram)

    def request_done(self, route: str, method: str, status: int, seconds: float) -> None:
        """Counts and times one HTTP request."""
        label = method if method in _METHODS else "OTHER"  # a closed set, like routes
        self.requests.inc((route, label, str(status)))
        self.request_seconds.observe(route, seconds)

    def verification_done(self, result: str) -> None:
        self.verifications.inc((result,))

    def operation_done(self, operation: str, failed: bool, seconds: float) -> None:
        """Counts and times one GraphQL operation."""
        self.operations.inc((operation, "error" if failed else "ok"))
        self.operation_seconds.observe(operation, seconds)

    def render(self) -> bytes:
        if not self._multiprocess:
            return generate_latest(self.registry)
        self.set_gauges()  # this worker's, fresh; the others' are at most a second old
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
