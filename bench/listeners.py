"""`python -m bench.listeners`: write throughput and latency with N processes listening.

Every change is acknowledged by every listening process before it is answered (see
docs/architecture.md, "The key-change protocol"), and each acknowledgement is a NOTIFY commit,
which PostgreSQL up to 18 wakes every listening session for: N acknowledgement commits and about
N² wake-ups per change. This measures what
that costs as N grows: one `apikeys serve` (production settings, pinned to CPU 0) takes 32
users creating and deleting keys at once through /graphql (the page's CREATE_KEY and DELETE_KEY,
wrk `-t1 -c32` on CPU 1, as in `python -m bench`), while N - 1 more listeners run the service's
own `KeyChangeListener` (bench/listener_host.py), spread over a few helper processes pinned to
CPU 1. N counts the service's own listener: N = 1 is the service alone.

Printed per N: pairs/s, wrk's latency per request, the ratio to N = 1, the CPU time each party
used per second (the service, the helpers, every PostgreSQL process on the machine), how busy
both CPUs were, the helpers' event-loop lag (a late acknowledgement caused by a helper short of
CPU measures the simulation, not PostgreSQL), and the acknowledgements the service gave up
waiting for (its 2 s timeout, logged). With `--rounds 2` the Ns run up, then down again, and the
table gives each N's mean. With `--deaf` the N - 1 helpers' listeners hear every change but
acknowledge nothing, and the service does not wait for them (bench/listener_host.py): the floor
any acknowledgement protocol works above, delivery alone.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

from bench import client, scenarios, wrk
from bench.databases import PostgresDatabase
from bench.listener_host import DEAF_NAME
from bench.options import DEFAULT_ADMIN_URL
from bench.processes import (
    LOAD_CPU,
    REPO_ROOT,
    Server,
    can_pin,
    cpu_seconds,
    migrate,
    pinned,
    run_command,
    service_server,
)
from bench.seed import ServiceSecrets, session_tokens
from bench.writes import CD_OWNER_PREFIX
from bench.wrk import Load, WrkResult
from service.storage.notifications import LISTENER_NAME

DEFAULT_COUNTS = (1, 8, 32, 64)
ACK_TIMEOUT_LINE = "did not acknowledge a key change"  # service/storage/listener.py's warning
_READY_SECONDS = 60.0


@dataclass(frozen=True)
class Measured:
    listeners: int
    result: WrkResult
    # CPU seconds over the measured run
    service_cpu: float
    helpers_cpu: float
    backends_cpu: float  # the PostgreSQL backends serving this run's database
    postgres_cpu: float  # every postgres process on the machine, other work's too
    machine_busy: float  # share of both CPUs' time not idle
    lag_p99_ms: float  # the helpers' worst p99 event-loop lag
    ack_timeouts: int

    @property
    def pairs_per_second(self) -> float:
        r = self.result
        return r.pairs / r.seconds if r.seconds else 0.0

    def per_change_ms(self, cpu_seconds: float) -> float:
        """CPU milliseconds per change: a pair is two changes (a creation, a deletion)."""
        return 1000 * cpu_seconds / (2 * self.result.pairs) if self.result.pairs else 0.0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listeners", description=__doc__)
    parser.add_argument(
        "--listeners",
        default=",".join(str(n) for n in DEFAULT_COUNTS),
        help="comma-separated Ns, the service's own listener counted (1,8,32,64)",
    )
    parser.add_argument("--hosts", type=int, default=4, help="helper processes at most (4)")
    parser.add_argument("--duration", type=int, default=10, help="seconds measured per N (10)")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per N (2)")
    parser.add_argument("--rounds", type=int, default=1, help="passes over the Ns (1)")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections (32)")
    parser.add_argument(
        "--helpers-anywhere",
        action="store_true",
        help="leave the helper processes unpinned (both CPUs: more CPU for them, shared with"
        " the service) instead of on CPU 1 with wrk",
    )
    parser.add_argument(
        "--deaf",
        action="store_true",
        help="the helpers' listeners hear every change but acknowledge nothing, and are not"
        " waited for: delivery alone, the floor under any acknowledgement protocol",
    )
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.listeners.split(",") if n.strip()]
    if not counts or min(counts) < 1:
        parser.error("--listeners takes numbers of listeners, 1 or more")
    if not wrk.available():
        print("wrk not found: install it with `apt-get install wrk`", file=sys.stderr)
        return 2
    pin = can_pin()
    print(
        f"apikeys listeners benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M UTC}; wrk"
        f" {wrk.version()}; {os.cpu_count()} CPUs; 1-min load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    service_secrets = ServiceSecrets.generate()
    with ExitStack() as cleanup:
        workdir = Path(tempfile.mkdtemp(prefix="apikeys-listeners-"))
        cleanup.callback(shutil.rmtree, workdir, ignore_errors=True)
        database = PostgresDatabase(
            args.postgres_url, f"apikeys_listeners_{os.getpid()}_{secrets.token_hex(4)}"
        )
        database.create()
        cleanup.callback(database.drop)
        env = service_secrets.env(database.url, str(workdir / "state"))
        migrate(env)
        server = service_server(env, workdir, "listeners", pin=pin)
        cleanup.callback(server.stop)
        server.wait_ready()
        _check_room(database.url, max(counts))
        tokens = session_tokens(
            service_secrets.sessions(),
            [f"{CD_OWNER_PREFIX}{n:04d}" for n in range(2 * args.connections)],
        )
        for token in tokens:  # each user's default key, made by the service
            client.graphql(server.base_url, token, scenarios.DROPDOWN_QUERY)
        data = wrk.write_data(
            workdir / "create-delete.lua",
            scenarios.create_delete(tokens, 2 * args.connections, scenarios.PageDocuments.read()),
        )
        load = Load(server.base_url, args.warmup, args.duration, args.connections, 1, pin)
        measured: list[Measured] = []
        load_before = os.getloadavg()[0]
        for round_number in range(args.rounds):
            order = counts if round_number % 2 == 0 else list(reversed(counts))
            for count in order:
                print(f"  {count} listener(s)", file=sys.stderr, flush=True)
                helpers_pinned = pin and not args.helpers_anywhere
                measured.append(
                    _measure(
                        count, args.hosts, database, server, load, data, helpers_pinned, args.deaf
                    )
                )
        print(_table(measured, counts, args, pin, (load_before, os.getloadavg()[0])))
    return 0


def _measure(
    count: int,
    hosts: int,
    database: PostgresDatabase,
    server: Server,
    load: Load,
    data: Path,
    pin_helpers: bool,
    deaf: bool,
) -> Measured:
    with _helpers(database.url, count - 1, hosts, pin_helpers, deaf) as helpers:
        _wait_for_listeners(database.url, count)
        database.remove_extra_keys(CD_OWNER_PREFIX)
        if load.warmup:
            wrk.run(load, "create_delete.lua", data, load.warmup)
        database.remove_extra_keys(CD_OWNER_PREFIX)
        for helper in helpers:
            helper.report()  # the lag from here on
        timeouts = _count_lines(server.log_path, ACK_TIMEOUT_LINE)
        pids = [h.pid for h in helpers]
        before = _cpu_now(server.pid, pids, database.name)
        result = wrk.run(load, "create_delete.lua", data, load.duration)
        after = _cpu_now(server.pid, pids, database.name)
        lags = [helper.report()["lag_p99_ms"] for helper in helpers]
        timeouts = _count_lines(server.log_path, ACK_TIMEOUT_LINE) - timeouts
    busy = after.busy - before.busy
    total = (after.busy + after.idle) - (before.busy + before.idle)
    return Measured(
        listeners=count,
        result=result,
        service_cpu=after.service - before.service,
        helpers_cpu=after.helpers - before.helpers,
        backends_cpu=after.backends - before.backends,
        postgres_cpu=after.postgres - before.postgres,
        machine_busy=busy / total if total else 0.0,
        lag_p99_ms=max(lags, default=0.0),
        ack_timeouts=timeouts,
    )


class _Helper:
    """One bench/listener_host.py process with its share of the listeners."""

    def __init__(self, dsn: str, count: int, pin: bool, deaf: bool) -> None:
        command = [sys.executable, "-m", "bench.listener_host", "--dsn", dsn, "--count", str(count)]
        if deaf:
            command.append("--deaf")
        self._process = subprocess.Popen(
            pinned(command, LOAD_CPU, pin),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.pid = self._process.pid

    def wait_ready(self) -> None:
        assert self._process.stdout is not None
        line = self._process.stdout.readline().strip()
        if line != "ready":
            raise RuntimeError(f"a listener host did not start ({self._process.poll()}): {line}")

    def report(self) -> dict[str, float]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write("report\n")
        self._process.stdin.flush()
        answer: dict[str, float] = json.loads(self._process.stdout.readline())
        return answer

    def stop(self) -> None:
        if self._process.poll() is None:
            try:
                assert self._process.stdin is not None
                self._process.stdin.write("quit\n")
                self._process.stdin.flush()
                self._process.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()


@contextmanager
def _helpers(
    dsn: str, listeners: int, hosts: int, pin: bool, deaf: bool
) -> Iterator[list[_Helper]]:
    """`listeners` listeners over at most `hosts` processes, as evenly as they go."""
    processes = max(0, min(hosts, listeners))
    if not processes:
        yield []
        return
    shares = [listeners // processes + (i < listeners % processes) for i in range(processes)]
    # (no helper at all for N = 1: the service's own listener is the only one)
    helpers: list[_Helper] = []
    try:
        for share in shares:
            helpers.append(_Helper(dsn, share, pin, deaf))
        for helper in helpers:
            helper.wait_ready()
        yield helpers
    finally:
        for helper in helpers:
            helper.stop()


@dataclass(frozen=True)
class _Cpu:
    at: float
    service: float
    helpers: float
    backends: float
    postgres: float
    busy: float  # both CPUs' time not idle, seconds (from /proc/stat)
    idle: float


def _cpu_now(service_pid: int, helper_pids: list[int], database: str) -> _Cpu:
    tick = os.sysconf("SC_CLK_TCK")
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    backends, postgres = _postgres_cpu(database)
    return _Cpu(
        at=time.monotonic(),
        service=cpu_seconds(service_pid),
        helpers=sum(cpu_seconds(pid) for pid in helper_pids),
        backends=backends,
        postgres=postgres,
        busy=(sum(fields[:8]) - idle) / tick,
        idle=idle / tick,
    )


def _postgres_cpu(database: str) -> tuple[float, float]:
    """CPU seconds of the backends serving `database` (PostgreSQL names the database in each
    backend's process title), and of every `postgres` process on the machine."""
    ours = total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            used = cpu_seconds(int(entry.name))
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except (OSError, ValueError):
            continue  # a backend that ended meanwhile
        total += used
        if f" {database} " in title:
            ours += used
    return ours, total


def _wait_for_listeners(url: str, count: int) -> None:
    """Until `count` listening sessions (the service's and the helpers', deaf or not) are
    connected to the run's database."""
    deadline = time.monotonic() + _READY_SECONDS
    while time.monotonic() < deadline:
        if _listening(url) >= count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{count} listeners never connected ({_listening(url)} did)")


def _listening(url: str) -> int:
    async def count() -> int:
        connection = await asyncpg.connect(url)
        try:
            found: int = await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE application_name IN ($1, $2) AND datname = current_database()",
                LISTENER_NAME,
                DEAF_NAME,
            )
            return found
        finally:
            await connection.close()

    return asyncio.run(count())


def _check_room(url: str, most: int) -> None:
    """Each listener is a connection: the largest N must fit under max_connections, beside the
    connections already open (other work on the machine) and the service's pool."""

    async def room() -> tuple[int, int]:
        connection = await asyncpg.connect(url)
        try:
            limit = int(await connection.fetchval("SHOW max_connections"))
            used = int(await connection.fetchval("SELECT count(*) FROM pg_stat_activity"))
            return limit, used
        finally:
            await connection.close()

    limit, used = asyncio.run(room())
    if used + most + 8 > limit:
        raise RuntimeError(
            f"{most} listeners do not fit: max_connections {limit}, {used} connections open"
        )


def _count_lines(path: Path, text: str) -> int:
    try:
        with path.open(errors="replace") as handle:
            return sum(text in line for line in handle)
    except OSError:
        return 0


def _table(
    measured: list[Measured],
    counts: list[int],
    args: argparse.Namespace,
    pin: bool,
    load_average: tuple[float, float],
) -> str:
    helpers = "the helper processes unpinned" if args.helpers_anywhere else "the helpers on CPU 1"
    pinning = (
        f"service on CPU 0; wrk on CPU 1; {helpers}; PostgreSQL unpinned"
        if pin
        else "no CPU pinning (taskset or a second CPU missing)"
    )
    lines = [
        "",
        f"N listeners, create+delete pairs through /graphql ({pinning}; {args.duration} s per N"
        f" after {args.warmup} s of warm-up, {args.connections} connections, {args.rounds}"
        f" round(s), helpers: at most {args.hosts} processes"
        + (
            ", deaf: hearing every change, acknowledging none, not waited for)"
            if args.deaf
            else ")"
        ),
        f"1-min load average {load_average[0]:.1f} at the start, {load_average[1]:.1f} at the end",
        "",
        f"{'':>39}{'CPU ms per change':^27}{'CPU s per s':^18}",
        f"{'N':>4}{'pairs/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs N=1':>8}{'service':>9}"
        f"{'helpers':>9}{'backends':>9}{'helpers':>9}{'postgres':>9}{'busy':>6}{'lag p99':>9}"
        f"{'timeouts':>10}{'bad':>5}",
    ]
    by_count = {n: [m for m in measured if m.listeners == n] for n in counts}
    base = _mean([m.pairs_per_second for m in by_count.get(1, [])])
    for n in counts:
        runs = by_count[n]
        rate = _mean([m.pairs_per_second for m in runs])
        ratio = f"{rate / base:.3f}" if base else "-"
        seconds = sum(m.result.seconds for m in runs)
        lines.append(
            f"{n:>4}{rate:>9.1f}{_mean([m.result.p50_ms for m in runs]):>9.1f}"
            f"{max(m.result.p99_ms for m in runs):>9.1f}{ratio:>8}"
            f"{_mean([m.per_change_ms(m.service_cpu) for m in runs]):>9.2f}"
            f"{_mean([m.per_change_ms(m.helpers_cpu) for m in runs]):>9.2f}"
            f"{_mean([m.per_change_ms(m.backends_cpu) for m in runs]):>9.2f}"
            f"{sum(m.helpers_cpu for m in runs) / seconds:>9.2f}"
            f"{sum(m.postgres_cpu for m in runs) / seconds:>9.2f}"
            f"{100 * _mean([m.machine_busy for m in runs]):>5.0f}%"
            f"{max(m.lag_p99_ms for m in runs):>9.1f}{sum(m.ack_timeouts for m in runs):>10}"
            f"{sum(m.result.bad for m in runs):>5}"
        )
    if base and max(counts) >= 64 and 64 in by_count:
        at_64 = _mean([m.pairs_per_second for m in by_count[64]]) / base
        if args.deaf:  # no acknowledgement at all: the ceiling, not the protocol's figure
            lines.append(f"N=64 with deaf listeners (delivery alone): {at_64:.3f}x N=1")
        else:
            verdict = "met" if at_64 >= 0.5 else "MISSED"
            lines.append(f"target: N=64 >= 0.5x N=1: {at_64:.3f}  {verdict}")
    lines += [
        "  N: listening processes, the service's own included; pairs/s: create+delete pairs"
        " completed per second; p50/p99: wrk's, per request",
        "  CPU ms per change (a pair is two): the service's process, the helpers', and the"
        " PostgreSQL backends serving this database (the listeners', the pool's)",
        "  CPU s per s: the helpers' (1.00 is a whole CPU) and every postgres process's on the"
        " machine (other work's too, and the WAL writer's)",
        "  busy: both CPUs, from /proc/stat; lag p99: the helpers' event loops, how late a 10 ms"
        " sleep woke (p99, the worst helper): high lag means the simulation, not PostgreSQL,"
        " delayed acknowledgements",
        "  timeouts: changes the service answered after waiting 2 s for some acknowledgement",
    ]
    return "\n".join(lines)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


if __name__ == "__main__":
    run_command(main)
