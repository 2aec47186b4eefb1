"""The server subprocesses: the service and the bare floor app. Start, wait until they answer,
read their peak RSS, stop them gracefully."""

from __future__ import annotations

import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import FrameType

import asyncpg

from bench.bare import FLOOR_PATH

REPO_ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = 0
LOAD_CPU = 1
_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 30.0


def can_pin() -> bool:
    """Pinning needs taskset and both CPUs 0 and 1 available to this process."""
    return shutil.which("taskset") is not None and {SERVER_CPU, LOAD_CPU} <= os.sched_getaffinity(0)


def pinned(command: list[str], cpu: int, pin: bool) -> list[str]:
    return ["taskset", "-c", str(cpu), *command] if pin else command


def cpu_stall_microseconds() -> int | None:
    """Total time some task waited for a CPU (Linux PSI), or None where the kernel has no PSI:
    its growth over a run says how much other processes competed with the benchmark."""
    try:
        first = Path("/proc/pressure/cpu").read_text().splitlines()[0]
    except (OSError, IndexError):
        return None
    fields = dict(part.split("=", 1) for part in first.split()[1:])
    return int(fields["total"])


def cpu_seconds(pid: int) -> float:
    """CPU time a process has used so far, user and system, all its threads (those ended too),
    from /proc/<pid>/stat (in clock ticks: 10 ms steps, fine over a run of seconds)."""
    return sum(cpu_times(pid))


def cpu_times(pid: int) -> tuple[float, float]:
    """`cpu_seconds` as (user, system): the system part is the kernel's work for the process,
    its socket round trips among it."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    # After the command's closing parenthesis: state is field 3, utime 14 and stime 15.
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def cpu_nanoseconds(pid: int) -> int:
    """CPU time the live threads of a process have used so far, to the nanosecond (the
    scheduler's own count, /proc/<pid>/task/*/schedstat): fine enough for one request."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, IndexError, ValueError):
            pass  # a thread that ended meanwhile
    return total


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class ServerError(RuntimeError):
    """The server did not start, or died; the message carries the end of its log."""


def migrate(env: Mapping[str, str]) -> None:
    """`apikeys migrate` with the service's environment, as a deployment runs it."""
    result = subprocess.run(
        [sys.executable, "-m", "service.cli", "migrate"],
        cwd=REPO_ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"migrate failed: {result.stderr[-2000:]}")


def service_server(
    env: Mapping[str, str], workdir: Path, role: str, *, pin: bool, under: Sequence[str] = ()
) -> Server:
    """The service as users start it, `apikeys serve`, through the bench's launcher (see
    bench/serve.py): its JSON log (stderr) goes to `<role>.log`, its stdout to `<role>.out`."""
    port = free_port()
    command = [sys.executable, "-m", "bench.serve", "--host", "127.0.0.1", "--port", str(port)]
    return Server(
        [*under, *command], port, env, workdir / f"{role}.log", ready_path="/healthz", pin=pin
    )


def bare_server(workdir: Path, *, pin: bool, under: Sequence[str] = ()) -> Server:
    """The floor: bench/bare.py under uvicorn with the service's settings spelled out. `apikeys
    serve` leaves the loop and the HTTP parser to uvicorn's "auto", which picks these two when
    they are installed (bench.serve prints what it picked, and the report shows it)."""
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "bench.bare:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--workers",
        "1",
        "--no-access-log",
        "--timeout-graceful-shutdown",
        "10",
    ]
    # Nothing of the service's configuration: the bare app reads none.
    env = {k: v for k, v in os.environ.items() if not k.startswith("APIKEYS_")}
    return Server(
        [*under, *command], port, env, workdir / "bare.log", ready_path=FLOOR_PATH, pin=pin
    )


class Server:
    """One server process, pinned to the server CPU when `pin`."""

    def __init__(
        self,
        command: list[str],
        port: int,
        env: Mapping[str, str],
        log_path: Path,
        *,
        ready_path: str,
        pin: bool,
    ) -> None:
        self.port = port
        self.log_path = log_path
        self.out_path = log_path.with_suffix(".out")
        self.ready_path = ready_path
        with log_path.open("ab") as log, self.out_path.open("ab") as out:
            # taskset execs the command, so the pid is the server's own.
            self._process = subprocess.Popen(
                pinned(command, SERVER_CPU, pin),
                cwd=REPO_ROOT,
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=log,
            )
        self.pid = self._process.pid

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout: float = _START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise ServerError(f"the server exited ({self._process.returncode}): {self.tail()}")
            if self._answers():
                return
            time.sleep(0.1)
        raise ServerError(f"the server did not answer within {timeout:.0f} s: {self.tail()}")

    def _answers(self) -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request("GET", self.ready_path)
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    def peak_rss_mb(self) -> float:
        """VmHWM, the resident set's high-water mark since the process started, in MB (10^6)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
        raise ServerError("no VmHWM in /proc status")

    def stop(self, timeout: float = _STOP_TIMEOUT) -> int | None:
        """SIGTERM (the service flushes its tracker on a graceful stop), then wait; kill as a
        last resort. Returns the exit code."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGTERM)
            try:
                self._process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        return self._process.returncode

    def printed(self) -> list[str]:
        """What the server printed on stdout (not its log)."""
        try:
            return self.out_path.read_text(errors="replace").splitlines()
        except OSError:
            return []

    def tail(self, lines: int = 20) -> str:
        """The end of its stdout and of its log, for an error message."""
        texts = []
        for path in (self.out_path, self.log_path):
            try:
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
            except OSError:
                pass
        return "\n".join(texts)


def run_command(main: Callable[[], int]) -> None:
    """Runs a bench command's `main` and exits with its status. SIGTERM and SIGINT unwind like
    Ctrl-C, through every cleanup in `main` (SIGINT set explicitly: a shell starts background
    jobs with it ignored); a failure that cleanup has already followed is one line, exit 1."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    signal.signal(signal.SIGINT, _raise_interrupt)
    try:
        status = main()
    except KeyboardInterrupt:
        print("interrupted; servers stopped and temporary data removed", file=sys.stderr)
        raise SystemExit(130) from None
    except (RuntimeError, OSError, asyncpg.PostgresError) as exc:
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    raise SystemExit(status)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
