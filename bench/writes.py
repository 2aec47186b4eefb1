"""The write rows: the service's writes under load, each beside raw asyncpg doing the same SQL.

Rows: create+delete pairs (the page's CREATE_KEY then DELETE_KEY), rename (UPDATE_KEY with a
new name), rotate (ROTATE_KEY on the default key) and first visit (LIST_KEYS from a user never
seen, which creates their default key); on PostgreSQL also create+delete on a second server
with the caches off (`APIKEYS_VERIFY_CACHE_SECONDS=0`: no announcement, no acknowledgement
wait), which says what the key-change protocol costs.

Each row is measured like the read rows: the service pinned to CPU 0, wrk (`-t1 -c32`) on CPU 1,
and, on PostgreSQL, the baseline (bench/baseline.py: the same statements from one asyncpg
process, 32 tasks over a pool the size of the service's) pinned to CPU 0 too, its rounds just
before and just after the service's, so that the ratio service/baseline compares like with like
on a machine that gets busier or quieter. Then each write alone: creates and deletes one at a
time, and first visits, timed on the client (the service) or around the transaction (the
baseline), with the CPU time the server spent on each.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from bench import scenarios
from bench.baseline import SERVICE_POOL_SIZE
from bench.processes import (
    LOAD_CPU,
    REPO_ROOT,
    SERVER_CPU,
    Server,
    cpu_nanoseconds,
    cpu_times,
    pinned,
)
from bench.scenarios import KeyHolder, PageDocuments
from bench.seed import session_tokens
from bench.wrk import WrkResult, run

if TYPE_CHECKING:
    from bench.run import EngineBench

CREATE_DELETE = "create+delete"
RENAME = "rename"
ROTATE = "rotate"
FIRST_VISIT = "first visit"
NO_CACHES = "caches off: create+delete"
ROWS = (CREATE_DELETE, RENAME, ROTATE, FIRST_VISIT)
# The users of the create+delete, rename and rotate rows, whose leftover keys are removed.
CD_OWNER_PREFIX = "bench-cd-"
# The users made along the way (first visits, writes alone, the baseline's), removed after.
MADE_OWNER_PREFIXES = ("bench-fv-", "bench-alone-", "bench-base-")
# First visits a run may need at most, per second: tokens are minted for that many (about
# 50 us each); a run that outlasts them counts the extra requests as unexpected.
FIRST_VISIT_RATE_CAP = 3000
SMOKE_BASELINE_SECONDS = 0.5
_SCRIPTS = {
    CREATE_DELETE: "create_delete.lua",
    RENAME: "rename.lua",
    ROTATE: "requests.lua",
    FIRST_VISIT: "first_visit.lua",
    NO_CACHES: "create_delete.lua",
}


@dataclass(frozen=True)
class BaselineRound:
    """One round of bench/baseline.py under load (its own figures, as it printed them)."""

    operations: int
    pairs: int
    seconds: float
    cpu_seconds: float
    failures: int
    p50_ms: float
    p99_ms: float
    first_failure: str = ""

    def rate(self, row: str) -> float:
        done = self.pairs if row in (CREATE_DELETE, NO_CACHES) else self.operations
        return done / self.seconds if self.seconds else 0.0

    @property
    def cpu_ms_per_operation(self) -> float:
        return 1000 * self.cpu_seconds / self.operations if self.operations else 0.0


@dataclass(frozen=True)
class ServiceRound:
    """The service's measured wrk run of a row, with the server's CPU time over it."""

    result: WrkResult
    cpu_seconds: float
    system_seconds: float  # of which the kernel's

    def rate(self, row: str) -> float:
        r = self.result
        if row in (CREATE_DELETE, NO_CACHES):
            return r.pairs / r.seconds if r.seconds else 0.0
        return r.rps

    @property
    def cpu_ms_per_request(self) -> float:
        return 1000 * self.cpu_seconds / self.result.requests if self.result.requests else 0.0

    @property
    def system_ms_per_request(self) -> float:
        return 1000 * self.system_seconds / self.result.requests if self.result.requests else 0.0


@dataclass(frozen=True)
class Alone:
    """Writes one at a time: latency percentiles, and the server's CPU time per write."""

    count: int
    p50_ms: float
    p99_ms: float
    cpu_ms: float


@dataclass
class WriteFigures:
    pool_size: int
    tasks: int
    pinned: bool
    service: dict[str, ServiceRound] = field(default_factory=dict)
    # The baseline's rounds just before and just after each row of `service` (PostgreSQL).
    baseline_around: dict[str, tuple[BaselineRound, BaselineRound]] = field(default_factory=dict)
    alone: dict[str, Alone] = field(default_factory=dict)  # "create", "delete", ...
    baseline_alone: dict[str, Alone] = field(default_factory=dict)
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute, before and after the rows

    def baseline_rate(self, row: str) -> float | None:
        around = self.baseline_around.get(row)
        if around is None:
            return None
        before, after = around
        return (before.rate(row) + after.rate(row)) / 2

    def vs_baseline(self, row: str) -> float | None:
        floor = self.baseline_rate(row)
        return self.service[row].rate(row) / floor if floor else None


class BaselineProcess:
    """bench/baseline.py in its own process, pinned to the service's CPU, up for all the rows."""

    def __init__(self, dsn: str, tasks: int, *, pin: bool, pool_size: int = SERVICE_POOL_SIZE):
        command = [
            sys.executable,
            "-m",
            "bench.baseline",
            "--dsn",
            dsn,
            "--pool",
            str(pool_size),
            "--tasks",
            str(tasks),
        ]
        self._process = subprocess.Popen(
            pinned(command, SERVER_CPU, pin),
            cwd=REPO_ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def ask(self, command: dict[str, Any]) -> dict[str, Any]:
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(command) + "\n")
        self._process.stdin.flush()
        line = self._process.stdout.readline()
        if not line:
            raise RuntimeError(f"the baseline exited ({self._process.wait()}) on {command}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"the baseline failed on {command}: {answer['error']}")
        return answer

    def load(self, row: str, warmup: float, seconds: float) -> BaselineRound:
        answer = self.ask({"do": "load", "row": row, "warmup": warmup, "seconds": seconds})
        return BaselineRound(
            operations=answer["operations"],
            pairs=answer["pairs"],
            seconds=answer["seconds"],
            cpu_seconds=answer["cpu_seconds"],
            failures=answer["failures"],
            p50_ms=answer["p50_ms"],
            p99_ms=answer["p99_ms"],
            first_failure=answer["first_failure"],
        )

    def alone(self, count: int) -> dict[str, Alone]:
        answer = self.ask({"do": "latency", "count": count})
        return {
            kind: Alone(figures["count"], figures["p50_ms"], figures["p99_ms"], figures["cpu_ms"])
            for kind, figures in answer.items()
        }

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self.ask({"do": "quit"})
            except (OSError, RuntimeError):
                pass
            try:
                self._process.wait(30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class WriteRows:
    """The write rows of one engine, on the main service (and a second one, caches off)."""

    def __init__(self, bench: EngineBench, holders: Sequence[KeyHolder]) -> None:
        self.bench = bench
        self.options = bench.options
        self.holders = list(holders)
        self.documents: PageDocuments = bench.documents
        self.postgres = bench.db.label == "PostgreSQL"
        self.figures = WriteFigures(
            pool_size=SERVICE_POOL_SIZE, tasks=self.options.connections, pinned=bench.pin
        )
        self._runs = 0  # data files numbered on, first visits' tokens never reused

    def run(self, server: Server) -> WriteFigures:
        o = self.options
        self.figures.load_average = (os.getloadavg()[0], self.figures.load_average[1])
        baseline = None
        if self.postgres:
            baseline = BaselineProcess(self.bench.db.url, o.connections, pin=self.bench.pin)
        try:
            if baseline is not None:
                self.bench.step("baseline: giving its users their default key")
                baseline.ask({"do": "setup", "users": len(self.holders)})
            for row in ROWS:
                self._row(row, server, baseline)
            self.bench.step(f"writes alone: {self._alone_count()} creates, deletes, first visits")
            self.figures.alone.update(self._alone(server, caches=True))
            if baseline is not None:
                self.figures.baseline_alone = baseline.alone(self._alone_count())
            if baseline is not None and not o.smoke:
                # The protocol's cost: the same writes on a server that announces nothing and
                # waits for no acknowledgement (its writes alone first: they warm it up).
                with self.bench.server("caches off", APIKEYS_VERIFY_CACHE_SECONDS="0") as off:
                    self.figures.alone.update(self._alone(off, caches=False))
                    self._row(NO_CACHES, off, baseline)
        finally:
            if baseline is not None:
                baseline.close()
            for prefix in MADE_OWNER_PREFIXES:
                self.bench.db.remove_owners(prefix)
        self.figures.load_average = (self.figures.load_average[0], os.getloadavg()[0])
        return self.figures

    # -- under load ----------------------------------------------------------------------------

    def _row(self, row: str, server: Server, baseline: BaselineProcess | None) -> None:
        o = self.options
        # The smoke only checks that each side works: one short raw asyncpg round per row.
        around = {None: "", True: ", raw asyncpg before", False: ", raw asyncpg before and after"}
        rounds = None if baseline is None else o.smoke
        self.bench.step(f"{row}: {o.warmup} s warm-up + {o.duration} s{around[rounds]}")
        seconds = SMOKE_BASELINE_SECONDS if o.smoke else o.duration
        before = None if baseline is None else baseline.load(_baseline_row(row), o.warmup, seconds)
        self.figures.service[row] = self._service_round(row, server, before)
        if baseline is not None and before is not None:
            after = before if o.smoke else baseline.load(_baseline_row(row), o.warmup, seconds)
            self.figures.baseline_around[row] = (before, after)
            for side in (before, after):
                if side.failures or not side.operations:
                    self.bench.report.runs.append((f"raw asyncpg {row}", _failed_baseline(side)))

    def _service_round(
        self, row: str, server: Server, baseline: BaselineRound | None
    ) -> ServiceRound:
        """wrk's warm-up, then the measured run(s) with the server's CPU time read around them;
        with --repeat, the best run, and the CPU time per request over all of them."""
        load = self.bench.load(server)
        script = _SCRIPTS[row]
        if load.warmup:
            self._fresh_state(row)
            run(load, script, self._data(row, load.warmup, baseline), load.warmup)
        results = []
        user = system = 0.0
        for _ in range(max(1, load.repeat)):
            self._fresh_state(row)
            data = self._data(row, load.duration, baseline)
            user_before, system_before = cpu_times(server.pid)
            results.append(run(load, script, data, load.duration))
            user_after, system_after = cpu_times(server.pid)
            user += user_after - user_before
            system += system_after - system_before
        for result in results:
            self.bench.report.runs.append((row, result))
            self.bench.report.served["main" if row != NO_CACHES else "caches off"] += (
                result.requests
            )
        best = max(results, key=lambda r: r.rps)
        # CPU per request over every measured run; the figures of the best.
        requests = sum(r.requests for r in results)
        share = best.requests / requests if requests else 0.0
        return ServiceRound(best, (user + system) * share, system * share)

    def _fresh_state(self, row: str) -> None:
        if row in (CREATE_DELETE, NO_CACHES):
            self.bench.db.remove_extra_keys(CD_OWNER_PREFIX)

    def _data(self, row: str, seconds: int, baseline: BaselineRound | None) -> Path:
        """The row's wrk data; for first visits, tokens of users never seen, enough for the
        run (at most FIRST_VISIT_RATE_CAP/s, or twice the baseline's rate if that is more)."""
        self._runs += 1
        threads = self.options.threads
        per_thread = self.options.connections // threads
        if row in (CREATE_DELETE, NO_CACHES):
            tokens = [holder.token for holder in self.holders]
            payload = scenarios.create_delete(tokens, 2 * per_thread, self.documents)
        elif row == RENAME:
            payload = scenarios.rename(self.holders, self.documents)
        elif row == ROTATE:
            payload = scenarios.rotate(self.holders, self.documents)
        else:
            rate = max(FIRST_VISIT_RATE_CAP, 2 * baseline.rate(row) if baseline else 0.0)
            count = int(rate * seconds) + 100
            owners = [f"bench-fv-{self._runs:03d}-{n:07d}" for n in range(count)]
            tokens = session_tokens(self.bench.secrets.sessions(), owners)
            payload = scenarios.first_visit(tokens, threads, self.documents)
        name = row.replace("+", "-").replace(" ", "-").replace(",", "")
        return self.bench.data(f"{name}-{self._runs}", payload)

    # -- alone ---------------------------------------------------------------------------------

    def _alone_count(self) -> int:
        return 5 if self.options.smoke else 200

    def _alone(self, server: Server, *, caches: bool) -> dict[str, Alone]:
        """After a VACUUM ANALYZE and a checkpoint, creates and deletes alternating, one at a time
        on one keep-alive connection, then first visits (caches on only), each timed on the
        client; the server's CPU time for each read from the scheduler's count just before and
        just after it."""
        # The rows before leave thousands of dead rows behind: vacuumed first, so that neither
        # server's writes alone run beside autovacuum or over a bloated table (the servers'
        # alone steps come at different points of the run).
        self.bench.db.settle()
        count = self._alone_count()
        suffix = "" if caches else ", caches off"
        sessions = self.bench.secrets.sessions()
        tag = f"{int(time.time())}-{'on' if caches else 'off'}"
        token = session_tokens(sessions, [f"bench-alone-{tag}"])[0]
        timed: dict[str, list[tuple[float, int]]] = {"create": [], "delete": []}
        with _on_load_cpu(self.bench.pin), _Connection(server.base_url) as connection:
            connection.graphql(token, self.documents.list_keys, {})  # the default key made
            for n in range(count):
                with _timed(server.pid, timed["create"]):
                    created = connection.graphql(
                        token,
                        self.documents.create_key,
                        {"input": {"name": f"alone {n}", "description": None}},
                    )
                key_id = created["createApiKey"]["id"]
                with _timed(server.pid, timed["delete"]):
                    connection.graphql(token, self.documents.delete_key, {"input": {"id": key_id}})
            if caches:
                timed["first visit"] = []
                owners = [f"bench-alone-fv-{tag}-{n:05d}" for n in range(count)]
                for visitor in session_tokens(sessions, owners):
                    with _timed(server.pid, timed["first visit"]):
                        connection.graphql(visitor, self.documents.list_keys, {})
        return {kind + suffix: _alone_figures(values) for kind, values in timed.items()}


def _baseline_row(row: str) -> str:
    return CREATE_DELETE if row == NO_CACHES else row


def _failed_baseline(side: BaselineRound) -> WrkResult:
    """A baseline round that failed, in the form the smoke's verdict reads."""
    return WrkResult(
        requests=side.operations,
        seconds=side.seconds,
        p50_ms=side.p50_ms,
        p99_ms=side.p99_ms,
        bad=side.failures,
        pairs=side.pairs,
    )


def _alone_figures(values: list[tuple[float, int]]) -> Alone:
    latencies = sorted(ms for ms, _ in values)
    cpu_ns = sum(ns for _, ns in values)
    count = len(values)
    return Alone(
        count,
        latencies[count // 2] if count else 0.0,
        latencies[min(count - 1, int(count * 0.99))] if count else 0.0,
        cpu_ns / 1e6 / count if count else 0.0,
    )


@contextmanager
def _timed(pid: int, into: list[tuple[float, int]]) -> Iterator[None]:
    cpu, started = cpu_nanoseconds(pid), time.perf_counter()
    yield
    elapsed = (time.perf_counter() - started) * 1000
    into.append((elapsed, cpu_nanoseconds(pid) - cpu))


@contextmanager
def _on_load_cpu(pin: bool) -> Iterator[None]:
    """This thread on wrk's CPU while it sends the writes one at a time, off the server's."""
    if not pin:
        yield
        return
    previous = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {LOAD_CPU})
    try:
        yield
    finally:
        os.sched_setaffinity(0, previous)


class _Connection:
    """One keep-alive connection sending the page's documents; an answer with errors raises."""

    def __init__(self, base_url: str) -> None:
        parts = urlsplit(base_url)
        self._http = http.client.HTTPConnection(
            parts.hostname or "127.0.0.1", parts.port, timeout=30
        )

    def __enter__(self) -> _Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.close()

    def graphql(self, token: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables})
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        }
        self._http.request("POST", "/graphql", body=body, headers=headers)
        response = self._http.getresponse()
        answer = json.loads(response.read())
        data = answer.get("data") or {}
        failed = [v for v in data.values() if isinstance(v, dict) and "code" in v]
        if response.status != 200 or answer.get("errors") or failed:
            raise RuntimeError(f"a write alone was answered {response.status}: {answer}")
        result: dict[str, Any] = data
        return result


def rate_label(row: str) -> str:
    return "pairs/s" if row in (CREATE_DELETE, NO_CACHES) else "writes/s"
