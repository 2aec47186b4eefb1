"""Running wrk: data files for the Lua scripts, a warm-up, a measured run, its figures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.processes import LOAD_CPU, pinned

LUA_DIR = Path(__file__).resolve().parent / "lua"
_RESULT_MARK = "BENCH_RESULT "


class WrkError(RuntimeError):
    pass


def available() -> bool:
    return shutil.which("wrk") is not None


def version() -> str:
    # `wrk -v` prints its version and exits 1.
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False).stdout
    return out.split()[1] if out.startswith("wrk ") else "?"


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    bad: int  # socket errors, timeouts, HTTP >= 400, and answers the script did not expect
    pairs: int  # create+delete only

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class Load:
    """What every scenario shares: where, how long, how many connections, pinned or not."""

    base_url: str
    warmup: int
    duration: int
    connections: int
    threads: int
    pin: bool
    repeat: int = 1


def write_data(path: Path, data: dict[str, Any]) -> Path:
    """A Lua file returning `data`, readable by this user only: it holds keys and tokens."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write("return " + lua_literal(data) + "\n")
    return path


def lua_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _lua_string(value)
    if isinstance(value, list | tuple):
        return "{" + ",".join(lua_literal(v) for v in value) + "}"
    if isinstance(value, dict):
        return (
            "{" + ",".join(f"[{lua_literal(k)}]={lua_literal(v)}" for k, v in value.items()) + "}"
        )
    raise TypeError(f"no Lua literal for {type(value).__name__}")


def _lua_string(text: str) -> str:
    # Printable ASCII as is; anything else as a three-digit decimal byte escape, which every Lua
    # (LuaJIT included) reads the same way.
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def measure(load: Load, script: str, data: Path, *, warm_up: bool = True) -> WrkResult:
    """A warm-up run whose figures are thrown away, then the measured run(s): with
    `load.repeat` > 1, the one with the most requests/s. Other processes on the machine can only
    slow a run down, so the best of several is the closest to what the service can do."""
    if warm_up and load.warmup:
        run(load, script, data, load.warmup)
    runs = [run(load, script, data, load.duration) for _ in range(max(1, load.repeat))]
    return max(runs, key=lambda r: r.rps)


@contextmanager
def running(load: Load, script: str, data: Path, seconds: int) -> Iterator[Callable[[], WrkResult]]:
    """wrk in the background (for profiling the server meanwhile); yields a function that waits
    for it and returns its figures. Stopped on the way out if it is still running."""
    process = subprocess.Popen(
        _command(load, script, seconds),
        env=_env(data),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def finish() -> WrkResult:
        stdout, stderr = process.communicate(timeout=seconds + 60)
        return _result(stdout, stderr, process.returncode)

    try:
        yield finish
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def run(load: Load, script: str, data: Path, seconds: int) -> WrkResult:
    """One wrk run of `seconds`, its figures."""
    result = subprocess.run(
        _command(load, script, seconds),
        env=_env(data),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=False,
    )
    return _result(result.stdout, result.stderr, result.returncode)


def _command(load: Load, script: str, seconds: int) -> list[str]:
    command = [
        "wrk",
        "--latency",
        "--threads",
        str(load.threads),
        "--connections",
        str(load.connections),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--script",
        str(LUA_DIR / script),
        load.base_url,  # the scripts build every request, path included
    ]
    return pinned(command, LOAD_CPU, load.pin)


def _env(data: Path) -> dict[str, str]:
    return {**os.environ, "BENCH_WRK_DATA": str(data)}


def _result(stdout: str, stderr: str, returncode: int) -> WrkResult:
    if os.environ.get("BENCH_WRK_DEBUG") == "1" and stderr:
        print(stderr, file=sys.stderr, end="")
    for line in stdout.splitlines():
        if line.startswith(_RESULT_MARK):
            return _parse(json.loads(line[len(_RESULT_MARK) :]))
    raise WrkError(f"wrk exited {returncode} without a result: {stderr[-2000:]}")


def _parse(raw: dict[str, int]) -> WrkResult:
    return WrkResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        bad=raw["socket_errors"] + raw["status_errors"] + raw["timeouts"] + raw["unexpected"],
        pairs=raw["pairs"],
    )
