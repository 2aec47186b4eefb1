"""The printed tables: one per engine, with the issue's targets beside the figures; and the smoke
run's verdict."""

from __future__ import annotations

from bench import write_report
from bench.logs import LogSummary
from bench.run import OUR_FLOOR, SCENARIOS, TRACKER_FLUSH_SECONDS, EngineReport
from bench.seed import VERIFY_MAX_FAILURES
from bench.wrk import WrkResult

# Requests/s as a fraction of the bare floor's, at least; on PostgreSQL, the production engine.
BARE_TARGETS = {
    "stack": 0.80,
    "verify": 0.60,
    "verify-bad": 0.70,
    "dropdown": 0.15,
    "apiKeys": 0.12,
}
TARGETS_ENGINE = "PostgreSQL"
MARKS = {"verify": 0.70}  # the next mark to beat, beyond the target
TRACKER_TARGET = 0.95  # verify with tracking / without, at least
SCALE_TARGET = 1.2  # p50 with 1M keys / with 1k keys, at most
RSS_TARGET_MB = 150.0
_INDENT = " " * 15


def header(wrk_version: str, cpus: int, when: str, duration: int, warmup: int, smoke: bool) -> str:
    warm = f"{warmup} s warm-up (discarded), then " if warmup else "no warm-up, "
    lines = [
        f"apikeys benchmark, {when}; wrk {wrk_version}; {cpus} CPUs",
        f"each scenario: {warm}{duration} s measured, between two rounds of the bare floor;"
        " p50/p99 from wrk --latency",
        f"verify rate limit raised to APIKEYS_VERIFY_MAX_FAILURES={VERIFY_MAX_FAILURES:,},"
        " so the verify-bad load is never answered 429",
    ]
    if smoke:
        lines.append(
            "smoke run: it checks that every scenario is answered, and answered right; figures"
            " from runs this short say little"
        )
    return "\n".join(lines)


def engine_table(report: EngineReport, connections: int, threads: int, duration: int) -> str:
    lines = [_title(report, connections, threads, duration), *_setup_lines(report), ""]
    with_targets = report.label == TARGETS_ENGINE
    if report.results:
        lines.extend(_read_table(report, with_targets))
    if report.write_rows is not None:
        lines += ["", *write_report.write_table(report.write_rows, report.label, with_targets)]
    lines.append("")
    lines.extend(_extras(report))
    return "\n".join(lines)


def _read_table(report: EngineReport, with_targets: bool) -> list[str]:
    lines = [
        f"{'scenario':<15}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'bare req/s':>12}"
        f"{'vs bare':>9}{'target':>10}  {'':<7}{'on our stack':>13}{'bad':>6}"
    ]
    for name in SCENARIOS:
        if name not in report.results:
            continue
        result, ratio, ours = report.results[name], report.vs_bare(name), report.on_our_stack(name)
        target = BARE_TARGETS.get(name) if with_targets else None
        target_text = f">= {target:.2f}" if target is not None else "-"
        verdict = _verdict(ratio >= target) if target is not None else ""
        ours_text = f"{ours:.3f}" if ours is not None else "-"
        mark = MARKS.get(name) if with_targets else None
        mark_text = f"  mark to beat {mark:.2f}" if mark is not None else ""
        lines.append(
            f"{name:<15}{result.rps:>9,.0f}{result.p50_ms:>8.2f}{result.p99_ms:>8.2f}"
            f"{report.bare_rps(name):>12,.0f}{ratio:>9.3f}{target_text:>10}  {verdict:<7}"
            f"{ours_text:>13}{result.bad:>6}{mark_text}"
        )
    lines.extend(_notes(report, with_targets))
    return lines


def _title(report: EngineReport, connections: int, threads: int, duration: int) -> str:
    pinning = (
        "service and bare floor pinned to CPU 0, wrk to CPU 1"
        if report.pinned
        else "no CPU pinning (taskset or a second CPU missing)"
    )
    database = "; PostgreSQL's own processes unpinned" if report.label == "PostgreSQL" else ""
    return (
        f"{report.label} ({pinning}{database}; {duration} s per scenario,"
        f" {connections} connections, {threads} wrk thread{'s' if threads != 1 else ''})"
    )


def _setup_lines(report: EngineReport) -> list[str]:
    start, end = report.load_average
    stall = report.cpu_stall_share
    contention = (
        f"; some task (this benchmark's included) waited for a CPU {100 * stall:.0f}% of the time"
        if stall is not None
        else ""
    )
    picked = report.server_line or "not reported"
    if report.server_line and not ("uvloop" in picked and "httptools" in picked):
        picked += "  <- NOT uvloop + httptools, as the bare floor: unlike servers compared"
    return [
        "service: `apikeys serve` (via bench/serve.py), APIKEYS_ENV=production, request log on"
        " (stderr to a file), metrics on; uvicorn picked: " + picked,
        "floor: bench/bare.py, bare Starlette in its own process, uvicorn --loop uvloop"
        " --http httptools --workers 1 --no-access-log",
        f"data: {report.stored_keys:,} keys stored: {report.list_users} users x 5 keys"
        f" bulk-seeded in {report.seed_seconds:.1f} s, {report.create_delete_users}"
        " users of the write rows whose default key the service created",
        f"machine: 1-min load average {start:.1f} at the start, {end:.1f} at the end{contention}",
    ]


def _notes(report: EngineReport, with_targets: bool) -> list[str]:
    lines = []
    rounds = [r.rps for r in report.bare_rounds]
    mean = sum(rounds) / len(rounds) if rounds else 0.0
    if mean:
        lines.append(
            f"  bare floor: {len(rounds)} rounds, {min(rounds):,.0f} to {max(rounds):,.0f} req/s"
            f" (mean {mean:,.0f}, spread {100 * (max(rounds) - min(rounds)) / mean:.0f}%),"
            f" {sum(r.bad for r in report.bare_rounds)} bad answers"
        )
    lines += [
        "  vs bare: req/s over bare req/s, the mean of the bare floor's rounds just before and"
        " after",
        f"  on our stack: vs bare over `{OUR_FLOOR}`'s vs bare, that is relative to the floor's"
        " route served by the service itself, behind its middleware (request log, metrics)",
        "  bad: socket errors, timeouts, non-2xx and unexpected answers",
        "  stack: GET /healthz; verify: valid keys"
        + (" (cache hits)" if report.label == "PostgreSQL" else "")
        + "; verify-bad: malformed keys; apiKeys: the settings page's LIST_KEYS"
        " (service/static/js/documents.js)",
        f"  floor body {report.floor_bytes} bytes; apiKeys body for 5 keys"
        f" {report.api_keys_bytes} bytes",
    ]
    if not with_targets:
        lines.append(f"  targets are for {TARGETS_ENGINE}; here the figures only")
    return lines


def _extras(report: EngineReport) -> list[str]:
    lines = []
    if report.results:  # else --writes-only: none of the steps after the read rows ran
        lines.extend(_tracker(report))
        lines.extend(_writes(report))
        lines.extend(_scale(report))
    lines.extend(_rss(report))
    lines.extend(_logs(report))
    for name, summary in report.profiles.items():
        lines.append(f"profile under {name}: {summary}")
    return lines


def _tracker(report: EngineReport) -> list[str]:
    on, off = report.tracker_on, report.tracker_off
    if on is None or off is None:
        return ["tracker cost   n/a: not measured"]
    ratio = on.rps / off.rps if off.rps else 0.0
    return [
        f"tracker cost   {ratio:.3f} = verify {on.rps:,.0f} req/s with tracking /"
        f" {off.rps:,.0f} without   target >= {TRACKER_TARGET}"
        f"  {_verdict(ratio >= TRACKER_TARGET)}{_bad(on)}{_bad(off)}",
        f"{_INDENT}two fresh servers side by side, {report.tracker_rounds} interleaved round(s)"
        " each; without = UsageTracker.record() a no-op (BENCH_TRACKER_OFF=1, in bench/serve.py)",
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
        f"{_INDENT}VmHWM of each service process just before its stop, MB: {each}",
    ]


def _logs(report: EngineReport) -> list[str]:
    lines: list[str] = []
    for role, summary in report.server_logs.items():
        label = "server logs" if not lines else ""
        lines.append(f"{label:<15}{role}: {_log_figures(role, summary, report)}")
        lines.extend(f"{_INDENT}  {line[:200]}" for line in summary.unusual)
    return lines


def _log_figures(role: str, summary: LogSummary, report: EngineReport) -> str:
    text = f"{summary.lines:,} lines, {summary.size_bytes / 1e6:.1f} MB"
    if role != "bare floor":
        served = report.served[role]
        text += (
            f"; {summary.request_lines:,} request lines for {served:,} requests wrk counted"
            " (warm-ups and checks aside)"
        )
        if served and not summary.request_lines:
            text += "  <- NO request log: not what production pays"
    unusual = summary.unusual_count
    return text + (
        f"; {unusual:,} at warning or above (or of no level), the first:"
        if unusual
        else "; none at warning or above"
    )


def problems(report: EngineReport) -> list[str]:
    """What makes a smoke run fail: a wrong answer, a non-2xx, a socket error or a timeout
    (wrk's `bad`), or a scenario that served nothing."""
    found = []
    for label, result in report.runs:
        if result.requests == 0:
            found.append(f"{report.label} {label}: no requests completed")
        if result.bad:
            found.append(f"{report.label} {label}: {result.bad} bad answers")
    if report.write_rows is not None:
        found.extend(write_report.problems(report.write_rows, report.label))
    if report.writes is not None and (report.writes.failures or not report.writes.verifications):
        found.append(
            f"{report.label} writes: {report.writes.failures} of"
            f" {report.writes.verifications} verifications failed"
        )
    return found


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _bad(result: WrkResult) -> str:
    return f" ({result.bad} bad answers)" if result.bad else ""
