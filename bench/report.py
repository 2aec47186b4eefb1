"""The printed tables: one per engine, with the issue's targets beside the figures."""

from __future__ import annotations

from bench.run import SCENARIOS, TRACKER_FLUSH_SECONDS, EngineReport
from bench.seed import VERIFY_MAX_FAILURES
from bench.wrk import WrkResult

# Requests/s as a fraction of the floor's, at least.
FLOOR_TARGETS = {"verify": 0.5, "verify-bad": 0.7, "apiKeys": 0.25, "dropdown": 0.3}
TRACKER_TARGET = 0.95  # verify with tracking / without, at least
SCALE_TARGET = 1.2  # p50 with 1M keys / with 1k keys, at most
RSS_TARGET_MB = 150.0


def header(wrk_version: str, cpus: int, when: str, duration: int, warmup: int) -> str:
    return "\n".join(
        [
            f"apikeys benchmark, {when}; wrk {wrk_version}; {cpus} CPUs",
            f"each scenario: {warmup} s warm-up (discarded), then {duration} s measured;"
            " p50/p99 from wrk --latency",
            f"verify rate limit raised to APIKEYS_VERIFY_MAX_FAILURES={VERIFY_MAX_FAILURES:,},"
            " so the verify-bad load is never answered 429",
        ]
    )


def engine_table(report: EngineReport, connections: int, threads: int, duration: int) -> str:
    lines = [_title(report, connections, threads, duration), *_data_lines(report), ""]
    lines.append(
        f"{'scenario':<15}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs floor':>10}"
        f"{'target':>10}  {'':<7}{'bad':>5}"
    )
    floor = floor_rps(report)
    rows = [(name, report.results[name]) for name in SCENARIOS if name in report.results]
    if report.floor_after is not None:
        rows.append(("floor (again)", report.floor_after))
    for name, result in rows:
        ratio = result.rps / floor if floor else 0.0
        target = FLOOR_TARGETS.get(name)
        verdict = _verdict(ratio >= target) if target is not None else ""
        target_text = f">= {target:.2f}" if target is not None else "-"
        lines.append(
            f"{name:<15}{result.rps:>9,.0f}{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
            f"{ratio:>10.3f}{target_text:>10}  {verdict:<7}{result.bad:>5}"
        )
    pairs = report.results.get("create+delete")
    if pairs is not None:
        lines.append(
            f"  create+delete: each request is one mutation; {pairs.pairs:,} complete pairs,"
            f" {pairs.pairs / pairs.seconds:,.0f} pairs/s"
        )
    lines.append(
        "  vs floor: req/s over the mean of the two floor runs, first and last on this server;"
        " bad: errors, timeouts and unexpected answers"
    )
    lines.append(
        f"  floor body {report.floor_bytes} bytes; apiKeys body for 5 keys"
        f" {report.api_keys_bytes} bytes"
    )
    lines.append("")
    lines.extend(_extras(report))
    return "\n".join(lines)


def floor_rps(report: EngineReport) -> float:
    """The floor both before and after the other scenarios, so that a machine that got busier
    (or quieter) in between skews every ratio less."""
    runs = [report.results["floor"]]
    if report.floor_after is not None:
        runs.append(report.floor_after)
    return sum(r.rps for r in runs) / len(runs)


def _title(report: EngineReport, connections: int, threads: int, duration: int) -> str:
    pinning = (
        "server pinned to CPU 0, wrk to CPU 1"
        if report.pinned
        else "no CPU pinning (taskset or a second CPU missing)"
    )
    database = "; PostgreSQL's own processes unpinned" if report.label == "PostgreSQL" else ""
    return (
        f"{report.label} ({pinning}{database}; {duration} s per scenario,"
        f" {connections} connections, {threads} wrk threads)"
    )


def _data_lines(report: EngineReport) -> list[str]:
    start, end = report.load_average
    stall = report.cpu_stall_share
    contention = (
        f"; some task (this benchmark's included) waited for a CPU {100 * stall:.0f}% of the time"
        if stall is not None
        else ""
    )
    return [
        f"data: {report.stored_keys:,} keys stored: {report.list_users} users x 5 keys"
        f" bulk-seeded in {report.seed_seconds:.1f} s, {report.create_delete_users}"
        " create+delete users whose default key the service created",
        f"machine: 1-min load average {start:.1f} at the start, {end:.1f} at the end{contention}",
    ]


_INDENT = " " * 15


def _extras(report: EngineReport) -> list[str]:
    lines = _tracker(report)
    lines.extend(_writes(report))
    lines.extend(_scale(report))
    lines.extend(_rss(report))
    lines.extend(_logs(report))
    for name, summary in report.profiles.items():
        lines.append(f"profile under {name}: {summary}")
    return lines


def _tracker(report: EngineReport) -> list[str]:
    on = report.fresh.verify if report.fresh else None
    off = report.tracker_off
    if on is None or off is None:
        return ["tracker cost   n/a: needs a switch"]
    ratio = on.rps / off.rps if off.rps else 0.0
    return [
        f"tracker cost   {ratio:.3f} = verify {on.rps:,.0f} req/s with tracking /"
        f" {off.rps:,.0f} without   target >= {TRACKER_TARGET}"
        f"  {_verdict(ratio >= TRACKER_TARGET)}{_bad(on)}{_bad(off)}",
        f"{_INDENT}fresh servers back to back; without = UsageTracker.record() a no-op"
        " (BENCH_TRACKER_OFF=1 in bench/server.py)",
    ]


def _writes(report: EngineReport) -> list[str]:
    figure = report.writes
    if figure is None:
        return []
    api_keys = figure.writes.updated("api_keys")
    how = (
        "pg_stat_user_tables (n_tup_ins + n_tup_upd + n_tup_del, all tables)"
        if report.label == "PostgreSQL"
        else "row triggers on every table"
    )
    return [
        f"db writes      {figure.writes.total:,} rows written for {figure.verifications:,}"
        f" verifications over {figure.keys} keys ({api_keys:,} api_keys updates,"
        f" {figure.writes.total - api_keys} other rows)",
        f"{_INDENT}{figure.seconds:.1f} s of load, {figure.failures} failed; the tracker flushes"
        f" every {TRACKER_FLUSH_SECONDS} s and at SIGTERM (counted after it); counted by {how}",
    ]


def _scale(report: EngineReport) -> list[str]:
    scale, small = report.scale, report.fresh
    if scale is None or small is None:
        return ["scale          skipped (--scale-keys not above the keys already stored)"]
    big = scale.measured
    lines = []
    for name, before, after in (
        ("verify", small.verify, big.verify),
        ("apiKeys", small.api_keys, big.api_keys),
    ):
        ratio = after.p50_ms / before.p50_ms if before.p50_ms else 0.0
        lines.append(
            f"{'scale p50':<15}{name} {before.p50_ms:.2f} ms at {small.keys:,} keys ->"
            f" {after.p50_ms:.2f} ms at {big.keys:,}: x{ratio:.3f}   target <= {SCALE_TARGET}"
            f"  {_verdict(ratio <= SCALE_TARGET)}{_bad(before)}{_bad(after)}"
            f"   (req/s {before.rps:,.0f} -> {after.rps:,.0f})"
        )
    settle = " + VACUUM ANALYZE, CHECKPOINT" if report.label == "PostgreSQL" else ""
    lines.append(
        f"{_INDENT}fresh servers, apiKeys then verify each; filler rows bulk-loaded in"
        f" {scale.seed_seconds:.1f} s ({scale.settle_seconds:.1f} s{settle})"
    )
    return lines


def _rss(report: EngineReport) -> list[str]:
    if not report.peak_rss_mb:
        return []
    peak = max(report.peak_rss_mb.values())
    each = ", ".join(f"{role} {mb:.1f}" for role, mb in report.peak_rss_mb.items())
    return [
        f"peak RSS       {peak:.1f} MB   target < {RSS_TARGET_MB:.0f} MB"
        f"  {_verdict(peak < RSS_TARGET_MB)}",
        f"{_INDENT}VmHWM of each server just before its stop, MB: {each}",
    ]


def _logs(report: EngineReport) -> list[str]:
    if not report.server_logs:
        return ["server logs    nothing logged (level warning and above)"]
    return [
        f"server logs    {role}: {len(logged)} lines, the first: {logged[0].strip()[:160]}"
        for role, logged in report.server_logs.items()
    ]


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _bad(result: WrkResult) -> str:
    return f" ({result.bad} bad answers)" if result.bad else ""
