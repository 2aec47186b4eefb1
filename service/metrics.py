"""Prometheus metrics, one registry per application (so tests and workers never share one).

With several worker processes each keeps its own figures; scrape each worker, or run one worker
per container, as is usual with prometheus-client.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from service.tracker import UsageTracker

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


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
            " EXPIRED, UNAUTHORIZED (bad service token), RATE_LIMITED or UNAVAILABLE (database).",
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
            "apikeys_keys_stored", "API keys stored, counted at scrape time.", registry=registry
        )
        # Read from the tracker at scrape time, so the request path never touches them.
        tracker_gauges: list[tuple[str, str, Callable[[], float]]] = [
            (
                "apikeys_tracker_buffered_keys",
                "Keys whose last use waits in the tracker's buffer.",
                lambda: tracker.buffered,
            ),
            (
                "apikeys_tracker_flushes",
                "Successful tracker flushes since start.",
                lambda: tracker.flushes,
            ),
            (
                "apikeys_tracker_flush_failures",
                "Failed tracker flushes since start (each is retried).",
                lambda: tracker.failed_flushes,
            ),
            (
                "apikeys_tracker_flush_lag_seconds",
                "Seconds since the tracker last flushed successfully (or since start).",
                tracker.seconds_since_flush,
            ),
        ]
        for name, description, read in tracker_gauges:
            Gauge(name, description, registry=registry).set_function(read)

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
        return generate_latest(self.registry)
