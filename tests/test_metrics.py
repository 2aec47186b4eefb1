"""The request path's tallied metrics expose what prometheus-client's own would; with several
workers, a worker that was killed does not count forever in the live gauges."""

from __future__ import annotations

import random
import re
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from service.observability.metrics import (
    LATENCY_BUCKETS,
    TalliedCounter,
    TalliedHistogram,
    _forget_dead_workers,
)


def samples(registry: CollectorRegistry) -> tuple[list[tuple[str, str, str]], set[tuple[str, str]]]:
    """Every sample but the `_created` ones (name, sorted labels, value), in exposition order,
    and the `_created` series that exist (their values are the moment each began)."""
    text = generate_latest(registry).decode()
    found: list[tuple[str, str, str]] = []
    created: set[tuple[str, str]] = set()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            if sample.name.endswith("_created"):
                created.add((sample.name, labels))
            else:
                found.append((sample.name, labels, repr(sample.value)))
    return found, created


def test_tallied_counter_and_histogram_expose_what_prometheus_client_would() -> None:
    ours, theirs = CollectorRegistry(), CollectorRegistry()
    counter = TalliedCounter("t_requests", "Requests.", ("route", "status"), ours)
    histogram = TalliedHistogram("t_seconds", "Latency.", "route", LATENCY_BUCKETS, ours)
    reference_counter = Counter("t_requests", "Requests.", ["route", "status"], registry=theirs)
    reference_histogram = Histogram(
        "t_seconds", "Latency.", ["route"], buckets=LATENCY_BUCKETS, registry=theirs
    )
    assert samples(ours) == samples(theirs) == ([], set())
    rng = random.Random(7)
    # Values on every bucket's bound, either side of it, and past the last.
    values = [*LATENCY_BUCKETS, *(b * 0.999 for b in LATENCY_BUCKETS), 0.0, 7.5, 1e-9]
    values += [rng.uniform(0, 6) for _ in range(300)]
    for n, value in enumerate(values):
        route, status = ("/graphql", "/v1/keys/verify", "/healthz")[n % 3], str(200 + n % 2)
        counter.inc((route, status))
        reference_counter.labels(route, status).inc()
        histogram.observe(route, value)
        reference_histogram.labels(route).observe(value)
    found, created = samples(ours)
    assert (found, created) == samples(theirs)
    assert ("t_seconds_bucket", "le=+Inf,route=/graphql", repr(float(len(values[::3])))) in found
    assert ("t_requests_created", "route=/healthz,status=200") in created
    # And the exposition itself, byte for byte, but for the moments series began.
    began = re.compile(rb"(_created\{[^}]*\}) \S+")
    assert began.sub(rb"\1 T", generate_latest(ours)) == began.sub(
        rb"\1 T", generate_latest(theirs)
    )


def test_a_dead_workers_live_gauges_are_dropped_its_counters_kept(tmp_path: Path) -> None:
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    dead = int(gone.stdout)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for pid in (dead, alive.pid):
            for kind in ("gauge_livesum", "gauge_livemax", "counter"):
                (tmp_path / f"{kind}_{pid}.db").write_bytes(b"")
        _forget_dead_workers(str(tmp_path))
        left = sorted(p.name for p in tmp_path.iterdir())
    finally:
        alive.kill()
        alive.wait()
    assert left == sorted(
        [f"counter_{dead}.db"]
        + [f"{kind}_{alive.pid}.db" for kind in ("gauge_livesum", "gauge_livemax", "counter")]
    )
