"""The write rows' table: the service's writes beside raw asyncpg doing the same SQL, with the
issue's targets, then each write alone."""

from __future__ import annotations

from bench.writes import (
    CREATE_DELETE,
    FIRST_VISIT,
    NO_CACHES,
    ROWS,
    Alone,
    WriteFigures,
)

# Service/baseline, at least (PostgreSQL); the next mark to beat beyond it.
BASELINE_TARGETS = {CREATE_DELETE: 0.30}
BASELINE_MARKS = {CREATE_DELETE: 0.50}
ALONE_TARGET_MS = {"create": 2.0, "delete": 2.0}  # p50 of one write alone, at most
FIRST_VISIT_FACTOR = 2.0  # a first visit alone (p50) costs at most this many creates alone
_BASELINE_HEADER = f"{'asyncpg':>9}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}{'vs asyncpg':>11}"


def write_table(figures: WriteFigures, label: str, with_targets: bool) -> list[str]:
    has_baseline = bool(figures.baseline_around)
    pinning = (
        "pinned to CPU 0 with taskset, as the service"
        if figures.pinned
        else "unpinned (taskset or a second CPU missing)"
    )
    start, end = figures.load_average
    lines = [
        f"writes ({label}): the service's writes under load"
        + (", beside raw asyncpg doing the same SQL in the same run" if has_baseline else ""),
        f"  load: wrk, {figures.tasks} connections, each user with its own token; 1-min load"
        f" average {start:.1f} before the write rows, {end:.1f} after",
    ]
    if has_baseline:
        lines.append(
            f"  raw asyncpg (bench/baseline.py): one Python process on uvloop, {figures.tasks}"
            f" tasks over a pool of {figures.pool_size} connections (the service's pool),"
            f" {pinning};"
            " per write the service's statements in its transaction, without its"
            " pg_stat_activity look-up and acknowledgement wait"
        )
    lines += [
        "",
        f"{'row':<27}{'service':>9}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}{'sys':>6}"
        + (
            f"{'asyncpg':>9}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}{'vs asyncpg':>11}"
            if has_baseline
            else ""
        )
        + f"{'target':>10}  {'':<7}{'bad':>5}",
    ]
    for row in (*ROWS, NO_CACHES):
        if row not in figures.service:
            continue
        service = figures.service[row]
        result = service.result
        text = (
            f"{row:<27}{service.rate(row):>9,.1f}{result.p50_ms:>8.2f}"
            f"{result.p99_ms:>8.2f}{service.cpu_ms_per_request:>8.2f}"
            f"{service.system_ms_per_request:>6.2f}"
        )
        target_text, verdict, mark_text = "-", "", ""
        if has_baseline:
            before, after = figures.baseline_around[row]
            ratio = figures.vs_baseline(row) or 0.0
            floor = figures.baseline_rate(row) or 0.0
            text += (
                f"{floor:>9,.1f}{_mean(before.p50_ms, after.p50_ms):>8.2f}"
                f"{max(before.p99_ms, after.p99_ms):>8.2f}"
                f"{_mean(before.cpu_ms_per_operation, after.cpu_ms_per_operation):>8.2f}"
                f"{ratio:>11.3f}"
            )
            target = BASELINE_TARGETS.get(row) if with_targets else None
            if target is not None:
                target_text, verdict = f">= {target:.2f}", _verdict(ratio >= target)
            mark = BASELINE_MARKS.get(row) if with_targets else None
            if mark is not None:
                mark_text = f"  mark to beat {mark:.2f}"
        lines.append(f"{text}{target_text:>10}  {verdict:<7}{result.bad:>5}{mark_text}")
    lines += _load_notes(figures, has_baseline)
    lines += ["", *_alone_table(figures, with_targets)]
    return lines


def _load_notes(figures: WriteFigures, has_baseline: bool) -> list[str]:
    lines = [
        "  service: writes/s, pairs/s for create+delete (one pair is two requests), and wrk's"
        " latency per request; CPU ms: the server's CPU time (/proc/<pid>/stat) over the"
        " measured run, per request; sys: the kernel's part of it",
    ]
    if has_baseline:
        rounds = [r for around in figures.baseline_around.values() for r in around]
        lines += [
            "  asyncpg: the mean of its rounds just before and just after the service's; latency"
            " per transaction (pool wait included); CPU ms: its process's CPU time per write",
            "  vs asyncpg: the service's rate over that mean",
            f"  asyncpg rounds: {sum(r.failures for r in rounds)} failed writes" + _spread(figures),
        ]
    if NO_CACHES in figures.service:
        lines.append(
            f"  {NO_CACHES}: a second server with APIKEYS_VERIFY_CACHE_SECONDS=0 (no NOTIFY, no"
            " pg_stat_activity look-up, no acknowledgement wait): what the key-change protocol"
            " costs a write"
        )
    return lines


def _spread(figures: WriteFigures) -> str:
    parts = []
    for row, (before, after) in figures.baseline_around.items():
        if before is after:
            continue
        low, high = sorted((before.rate(row), after.rate(row)))
        parts.append(f"{row} {low:,.0f}-{high:,.0f}")
    return ("; before/after: " + ", ".join(parts)) if parts else ""


def _alone_table(figures: WriteFigures, with_targets: bool) -> list[str]:
    if not figures.alone:
        return []
    has_baseline = bool(figures.baseline_alone)
    any_alone = next(iter(figures.alone.values()))
    lines = [
        f"one at a time ({any_alone.count} each, sequential, one keep-alive connection from CPU 1;"
        " creates and deletes alternating)",
        f"{'write':<27}{'p50 ms':>8}{'p99 ms':>8}{'CPU ms':>8}"
        + (f"{'asyncpg p50':>13}{'p99 ms':>8}{'CPU ms':>8}" if has_baseline else "")
        + "  target",
    ]
    create = figures.alone.get("create")
    for kind, alone in figures.alone.items():
        text = f"{kind:<27}{alone.p50_ms:>8.2f}{alone.p99_ms:>8.2f}{alone.cpu_ms:>8.2f}"
        if has_baseline:
            floor = figures.baseline_alone.get(kind.removesuffix(", caches off"))
            text += _baseline_alone(floor)
        text += "  " + _alone_target(kind, alone, create, with_targets)
        lines.append(text.rstrip())
    lines += [
        "  service: from sending the request to reading the whole answer, on the client; CPU ms:"
        " the server's CPU time for that request (its threads' scheduler counts, just before and"
        " after)",
    ]
    if has_baseline:
        lines.append(
            "  asyncpg: the transaction (and a first visit's list before it), timed in its"
            " process; CPU ms: that process's"
        )
    return lines


def _baseline_alone(floor: Alone | None) -> str:
    if floor is None:
        return f"{'-':>13}{'-':>8}{'-':>8}"
    return f"{floor.p50_ms:>13.2f}{floor.p99_ms:>8.2f}{floor.cpu_ms:>8.2f}"


def _alone_target(kind: str, alone: Alone, create: Alone | None, with_targets: bool) -> str:
    if not with_targets:
        return ""
    limit = ALONE_TARGET_MS.get(kind)
    if limit is not None:
        return f"p50 <= {limit:.0f} ms  {_verdict(alone.p50_ms <= limit)}"
    if kind == FIRST_VISIT and create is not None:
        limit = FIRST_VISIT_FACTOR * create.p50_ms
        return (
            f"p50 <= {FIRST_VISIT_FACTOR:.0f}x a create's ({limit:.2f} ms)"
            f"  {_verdict(alone.p50_ms <= limit)}"
        )
    return ""


def problems(figures: WriteFigures, label: str) -> list[str]:
    found = []
    for row in (CREATE_DELETE, NO_CACHES):
        service = figures.service.get(row)
        if service is not None and service.result.requests and not service.result.pairs:
            found.append(f"{label} {row}: no pair completed")
    for row, around in figures.baseline_around.items():
        for side in around:
            if side.first_failure:
                found.append(f"{label} raw asyncpg {row}: {side.first_failure}")
    return found


def _mean(a: float, b: float) -> float:
    return (a + b) / 2


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"
