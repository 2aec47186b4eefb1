"""One engine's benchmark, start to finish: database, seed, servers, scenarios, extra figures.

The main scenarios run on one service process while the bare floor (bench/bare.py) runs in
another, both pinned to the same CPU. Their measured rounds alternate, floor / scenario / floor /
next scenario / floor ..., so each scenario is compared with the floor rounds just before and
just after it: a machine that gets busier or quieter during the run moves both alike. The idle
server meanwhile waits in its event loop and costs nothing.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench import client, logs, profile, scenarios
from bench.bare import FLOOR_PATH, floor_body
from bench.databases import Database, RowWrites
from bench.options import Options
from bench.processes import (
    Server,
    bare_server,
    cpu_seconds,
    cpu_stall_microseconds,
    migrate,
    service_server,
)
from bench.seed import (
    SeededUser,
    ServiceSecrets,
    filler_keys,
    filler_owners,
    real_users,
    session_tokens,
    utc_now,
)
from bench.serve import SERVER_LINE
from bench.writes import CD_OWNER_PREFIX, WriteFigures, WriteRows
from bench.wrk import Load, WrkResult, measure, running, write_data

TRACKER_FLUSH_SECONDS = 5  # the service's default interval, which the benchmark keeps
# The service's scenarios, in the order they run; "floor (ours)" is the bare floor's route served
# by the service itself, behind its middleware: the base of the "on our stack" column.
OUR_FLOOR = "floor (ours)"
SCENARIOS = (OUR_FLOOR, "stack", "verify", "verify-bad", "dropdown", "apiKeys")


@dataclass(frozen=True)
class WritesFigure:
    verifications: int
    keys: int
    seconds: float
    failures: int
    writes: RowWrites


@dataclass(frozen=True)
class VerifyAndList:
    """verify and apiKeys measured on one fresh server, with `keys` keys stored."""

    keys: int
    verify: WrkResult
    api_keys: WrkResult


@dataclass(frozen=True)
class ScaleFigure:
    seed_seconds: float
    settle_seconds: float
    measured: VerifyAndList


@dataclass
class EngineReport:
    label: str
    pinned: bool
    list_users: int
    create_delete_users: int
    seed_seconds: float = 0.0
    stored_keys: int = 0
    floor_bytes: int = 0
    api_keys_bytes: int = 0
    results: dict[str, WrkResult] = field(default_factory=dict)
    # The bare floor's rounds just before and just after each scenario of `results`.
    bare_around: dict[str, tuple[WrkResult, WrkResult]] = field(default_factory=dict)
    bare_rounds: list[WrkResult] = field(default_factory=list)
    server_line: str = ""  # the event loop and HTTP protocol uvicorn picked for the service
    fresh: VerifyAndList | None = None  # the scale baseline
    # Verify with the tracker and without, on two servers side by side, rounds interleaved.
    tracker_on: WrkResult | None = None
    tracker_off: WrkResult | None = None
    tracker_rounds: int = 0
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute, at the start and at the end
    cpu_stall_share: float | None = None  # of the run's time, some task was waiting for a CPU
    writes: WritesFigure | None = None
    scale: ScaleFigure | None = None
    peak_rss_mb: dict[str, float] = field(default_factory=dict)  # service role -> VmHWM
    write_rows: WriteFigures | None = None
    profiles: dict[str, str] = field(default_factory=dict)  # scenario -> summary
    server_logs: dict[str, logs.LogSummary] = field(default_factory=dict)  # role -> its log
    served: Counter[str] = field(default_factory=Counter)  # role -> requests wrk counted
    runs: list[tuple[str, WrkResult]] = field(default_factory=list)  # every measured wrk run

    def bare_rps(self, name: str) -> float:
        """The bare floor next to scenario `name`: the mean of the rounds either side of it."""
        before, after = self.bare_around[name]
        return (before.rps + after.rps) / 2

    def vs_bare(self, name: str) -> float:
        floor = self.bare_rps(name)
        return self.results[name].rps / floor if floor else 0.0

    def on_our_stack(self, name: str) -> float | None:
        """Relative to our own floor route, each measured against the bare floor around it:
        what an endpoint costs beyond the service's middleware, logging and metrics."""
        if OUR_FLOOR not in self.results:
            return None
        ours = self.vs_bare(OUR_FLOOR)
        return self.vs_bare(name) / ours if ours else 0.0


class EngineBench:
    def __init__(
        self,
        options: Options,
        database: Database,
        secrets: ServiceSecrets,
        workdir: Path,
        *,
        pin: bool,
        progress: bool = True,
    ) -> None:
        self.options = options
        self.db = database
        self.secrets = secrets
        self.workdir = workdir
        self.pin = pin
        self.progress = progress
        self.env = secrets.env(database.url, str(workdir / "state"))
        per_thread = options.connections // options.threads
        # Two users per connection: see bench/lua/create_delete.lua.
        self.users_per_thread = 2 * per_thread
        self.report = EngineReport(
            label=database.label,
            pinned=pin,
            list_users=options.list_users,
            create_delete_users=options.threads * self.users_per_thread,
        )
        self.users: list[SeededUser] = []
        self.data_files: dict[str, Path] = {}
        self.documents = scenarios.PageDocuments.read()

    def run(self) -> EngineReport:
        start_load = os.getloadavg()[0]
        start_stall, started = cpu_stall_microseconds(), time.monotonic()
        self.step("migrating")
        migrate(self.env)
        self.step(f"seeding {self.options.list_users} users with 5 keys each")
        self._seed()
        self._main_scenarios()
        if not self.options.writes_only:
            self.report.fresh = self._verify_and_list()
            self._tracker_cost()
            self._count_writes()
            if self.options.scale_keys > self.report.stored_keys:
                self._scale()
        self.report.load_average = (start_load, os.getloadavg()[0])
        end_stall = cpu_stall_microseconds()
        if start_stall is not None and end_stall is not None:
            elapsed_us = (time.monotonic() - started) * 1e6
            self.report.cpu_stall_share = (end_stall - start_stall) / elapsed_us
        return self.report

    # -- setup ---------------------------------------------------------------------------------

    def _seed(self) -> None:
        started = time.monotonic()
        batch = real_users(self.secrets.vault(), self.options.list_users, utc_now())
        self.db.insert(batch.owners, batch.keys)
        self.report.seed_seconds = time.monotonic() - started
        self.users = batch.users
        # Statistics now, rather than autovacuum's ANALYZE of the new rows landing (on either
        # CPU) in the middle of a measured round.
        self.db.settle()

    @contextmanager
    def server(self, role: str, **extra_env: str) -> Iterator[Server]:
        """A fresh service process for one role; its peak RSS is read just before it is stopped,
        its log summarized just after."""
        server = service_server({**self.env, **extra_env}, self.workdir, role, pin=self.pin)
        try:
            server.wait_ready()
            if not self.report.server_line:
                printed = [line for line in server.printed() if line.startswith(SERVER_LINE)]
                self.report.server_line = printed[0][len(SERVER_LINE) :] if printed else ""
            yield server
            self.report.peak_rss_mb[role] = server.peak_rss_mb()
        finally:
            server.stop()
            self.report.server_logs[role] = logs.summarize(server.log_path)

    @contextmanager
    def _bare(self) -> Iterator[Server]:
        server = bare_server(self.workdir, pin=self.pin)
        try:
            server.wait_ready()
            yield server
        finally:
            server.stop()
            self.report.server_logs["bare floor"] = logs.summarize(server.log_path)

    def load(self, server: Server) -> Load:
        o = self.options
        return Load(
            server.base_url, o.warmup, o.duration, o.connections, o.threads, self.pin, o.repeat
        )

    def _measure(
        self, label: str, role: str, load: Load, script: str, data: Path, *, warm_up: bool = True
    ) -> WrkResult:
        """A wrk measurement, remembered for the smoke's verdict and the log's line count."""
        result = measure(load, script, data, warm_up=warm_up)
        self.report.runs.append((label, result))
        self.report.served[role] += result.requests
        return result

    def data(self, name: str, data: dict[str, object]) -> Path:
        return write_data(self.workdir / f"{name}.lua", data)

    def step(self, message: str) -> None:
        if self.progress:
            print(f"  [{self.db.label}] {message}", file=sys.stderr, flush=True)

    # -- the scenarios -------------------------------------------------------------------------

    def _main_scenarios(self) -> None:
        sessions = self.secrets.sessions()
        list_tokens = session_tokens(sessions, [u.owner_id for u in self.users])
        cd_owners = [f"{CD_OWNER_PREFIX}{n:04d}" for n in range(self.report.create_delete_users)]
        cd_tokens = session_tokens(sessions, cd_owners)
        all_keys = [key for user in self.users for key in user.secrets]
        token = self.secrets.service_token
        key_format = self.secrets.vault().format
        payloads = {
            OUR_FLOOR: ("requests.lua", scenarios.floor()),
            "stack": ("requests.lua", scenarios.stack()),
            "verify": ("requests.lua", scenarios.verify(all_keys, token)),
            "verify-bad": ("requests.lua", scenarios.verify_bad(all_keys, token, key_format)),
            "dropdown": ("requests.lua", scenarios.graphql(list_tokens, scenarios.DROPDOWN_QUERY)),
            "apiKeys": ("requests.lua", scenarios.graphql(list_tokens, self.documents.list_keys)),
        }
        for name, (_, payload) in payloads.items():
            self.data_files[name] = self.data(name, payload)
        # For the profile under writes.
        self.data_files["create+delete"] = self.data(
            "create+delete",
            scenarios.create_delete(cd_tokens, self.users_per_thread, self.documents),
        )

        with self.server("main") as server, self._bare() as bare:
            holders = self._check_through_api(server, bare, list_tokens[0], cd_tokens)
            self.report.stored_keys = self.db.count_keys()
            load, bare_load = self.load(server), self.load(bare)
            seconds = self.options.duration

            def bare_round(warm_up: bool = False) -> WrkResult:
                result = self._measure(
                    "bare floor",
                    "bare floor",
                    bare_load,
                    "requests.lua",
                    self.data_files[OUR_FLOOR],
                    warm_up=warm_up,
                )
                self.report.bare_rounds.append(result)
                return result

            reads = () if self.options.writes_only else SCENARIOS
            if reads:
                self.step(f"bare floor: {self.options.warmup} s warm-up + {seconds} s")
                before = bare_round(warm_up=True)
            for name in reads:
                script, _ = payloads[name]
                self.step(f"{name}: {self.options.warmup} s warm-up + {seconds} s, bare floor")
                self.report.results[name] = self._measure(
                    name, "main", load, script, self.data_files[name]
                )
                if name == "verify" and not self.options.smoke:
                    # Let the tracker write what verify left in its buffer now, rather than
                    # charge that flush to the next floor round (it shares the CPU).
                    time.sleep(TRACKER_FLUSH_SECONDS + 1)
                after = bare_round()
                self.report.bare_around[name] = (before, after)
                before = after
            self.report.write_rows = WriteRows(self, holders).run(server)
            if self.options.profile_dir:
                self._profile(server, load)
            # Sizes as during the apiKeys load, when verify has filled in lastUsedAt.
            _, self.report.api_keys_bytes = client.graphql(
                server.base_url, list_tokens[0], self.documents.list_keys
            )
            self.report.floor_bytes = len(client.get(bare.base_url, FLOOR_PATH))

    def _profile(self, server: Server, load: Load) -> None:
        """py-spy on the server under a steady load of create+delete pairs, then apiKeys, then
        verify: a flame graph, then collapsed stacks for the printed summary, each over one
        scenario duration (under writes, also the breakdown by step of a write)."""
        if not profile.available():
            self.report.profiles["py-spy"] = "not installed (pip install py-spy): skipped"
            return
        directory = Path(self.options.profile_dir or ".").resolve()
        directory.mkdir(parents=True, exist_ok=True)
        seconds = self.options.duration
        settle = max(1, self.options.warmup)
        engine = self.db.label.lower()
        # apiKeys before verify: verify's last tracker flush would otherwise land in its profile.
        names = (
            ("create+delete",)
            if self.options.writes_only
            else ("create+delete", "apiKeys", "verify")
        )
        for name in names:
            self.step(f"profiling the server under {name} ({2 * seconds} s)")
            file_name = name.replace("+", "-")
            svg = directory / f"profile-{engine}-{file_name}.svg"
            raw = directory / f"profile-{engine}-{file_name}.txt"
            length = settle + 2 * seconds + 5
            writing = name == "create+delete"
            if writing:
                self.db.remove_extra_keys(CD_OWNER_PREFIX)
            script = "create_delete.lua" if writing else "requests.lua"
            cpu_before = cpu_seconds(server.pid)
            with running(load, script, self.data_files[name], length) as finish:
                time.sleep(settle)
                profile.record(server.pid, seconds, svg, raw=False, pin=self.pin)
                profile.record(server.pid, seconds, raw, raw=True, pin=self.pin)
                result = finish()
            cpu = cpu_seconds(server.pid) - cpu_before
            rate = f"{result.pairs / result.seconds:,.0f} pairs/s, " if writing else ""
            summary = (
                f"{svg} and {raw}; wrk meanwhile {rate}{result.rps:,.0f} req/s"
                f" ({length} s, under profiling), server CPU {1000 * cpu / result.requests:.2f}"
                " ms per request\n" + profile.summarize(raw).render()
            )
            if writing:
                summary += "\n" + profile.write_breakdown(raw).render()
            self.report.profiles[name] = summary

    def _check_through_api(
        self, server: Server, bare: Server, list_token: str, cd_tokens: list[str]
    ) -> list[scenarios.KeyHolder]:
        """The seeded rows read back through the real service with the page's own list, the
        floors answering alike, and the write rows' users' default keys made by the service
        (their first apiKeys call creates one): returned with their ids."""
        answer, _ = client.graphql(server.base_url, list_token, self.documents.list_keys)
        if len(answer["apiKeys"]) != 5:
            raise client.ClientError("a seeded user does not have 5 keys")
        verdict = client.verify(
            server.base_url, self.secrets.service_token, self.users[0].secrets[2]
        )
        if verdict.get("valid") is not True:
            raise client.ClientError("a seeded key does not verify")
        for base_url in (server.base_url, bare.base_url):
            if client.get(base_url, FLOOR_PATH) != floor_body():
                raise client.ClientError(f"{base_url}{FLOOR_PATH} is not the floor's body")
        holders = []
        for token in cd_tokens:
            listed, _ = client.graphql(server.base_url, token, scenarios.DROPDOWN_QUERY)
            default = next(key for key in listed["apiKeys"] if key["isDefault"])
            holders.append(scenarios.KeyHolder(token, default["id"]))
        return holders

    def _verify_and_list(self) -> VerifyAndList:
        """apiKeys, then verify, on a fresh server: the baseline of the scale comparison."""
        stored = self.db.count_keys()
        self.step(f"apiKeys and verify on a fresh server, {stored:,} keys stored")
        role = f"{stored:,} keys"
        with self.server(role) as server:
            load = self.load(server)
            api_keys = self._measure(
                f"apiKeys, {role}", role, load, "requests.lua", self.data_files["apiKeys"]
            )
            verify = self._measure(
                f"verify, {role}", role, load, "requests.lua", self.data_files["verify"]
            )
        return VerifyAndList(stored, verify, api_keys)

    def _tracker_cost(self) -> None:
        """Verify with the tracker and with its record() a no-op, on two fresh servers up side by
        side (the one not measured waits in its event loop), their rounds interleaved, so that
        a machine getting busier or quieter moves both alike."""
        rounds = 1 if self.options.smoke else 3
        self.step(f"verify with the tracker and without (record() a no-op), {rounds} rounds each")
        data = self.data_files["verify"]
        measured: dict[str, list[WrkResult]] = {"tracker on": [], "tracker off": []}
        with (
            self.server("tracker on") as on,
            self.server("tracker off", BENCH_TRACKER_OFF="1") as off,
        ):
            loads = {"tracker on": self.load(on), "tracker off": self.load(off)}
            for n in range(rounds):
                for role, load in loads.items():
                    label = f"verify, {role}, round {n + 1}"
                    result = self._measure(label, role, load, "requests.lua", data, warm_up=n == 0)
                    measured[role].append(result)
        self.report.tracker_on = combined(measured["tracker on"])
        self.report.tracker_off = combined(measured["tracker off"])
        self.report.tracker_rounds = rounds

    def _count_writes(self) -> None:
        keys = [user.secrets[0] for user in self.users][: self.options.writes_keys]
        total = self.options.writes_verifications
        self.step(f"{total} verifications over {len(keys)} keys, counting database writes")
        self.db.start_counting_writes()
        with self.server("writes") as server:
            run = client.verify_exactly(server.base_url, self.secrets.service_token, keys, total)
        self.report.served["writes"] += run.requests
        # Stopped with SIGTERM: the tracker's final flush is in the count.
        self.report.writes = WritesFigure(
            run.requests, len(keys), run.seconds, run.failures, self.db.counted_writes()
        )

    def _scale(self) -> None:
        filler = self.options.scale_keys - self.db.count_keys()
        self.step(f"bulk-loading {filler:,} filler keys")
        now = utc_now()
        started = time.monotonic()
        self.db.insert(filler_owners(filler, now), filler_keys(filler, now))
        seeded = time.monotonic() - started
        started = time.monotonic()
        self.db.settle()
        settled = time.monotonic() - started
        self.report.scale = ScaleFigure(seeded, settled, self._verify_and_list())


def combined(rounds: list[WrkResult]) -> WrkResult:
    """Several rounds of one measurement as one: requests and time summed, the median round's
    p50, the worst p99."""
    p50s = sorted(r.p50_ms for r in rounds)
    return WrkResult(
        requests=sum(r.requests for r in rounds),
        seconds=sum(r.seconds for r in rounds),
        p50_ms=p50s[len(p50s) // 2],
        p99_ms=max(r.p99_ms for r in rounds),
        bad=sum(r.bad for r in rounds),
        pairs=0,
    )
