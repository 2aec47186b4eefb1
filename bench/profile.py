"""py-spy profiles of the server under load, and a plain-text summary of where the time goes.

py-spy samples the server's Python stacks (idle time in the event loop is left out), so the
summary's percentages are shares of the time the server was busy.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.processes import LOAD_CPU, pinned

# What a sample is charged to: the frame nearest the leaf whose file matches, checked in order.
CATEGORIES = (
    ("graphql-core validation", "graphql/validation/"),
    ("graphql-core parsing", "graphql/language/"),
    ("graphql-core execution", "graphql/execution/"),
    ("graphql-core other", "graphql/"),
    ("strawberry", "strawberry/"),
    ("tortoise (ORM)", "tortoise/"),
    ("pypika (SQL building)", "pypika"),
    ("asyncpg", "asyncpg/"),
    ("aiosqlite/sqlite3", "sqlite"),
    ("PyJWT", "jwt/"),
    ("cryptography", "cryptography/"),
    ("hmac/hashlib", "hmac.py"),
    ("json", "json/"),
    ("starlette", "starlette/"),
    ("uvicorn", "uvicorn/"),
    ("logging", "logging/"),
    ("the service (service/)", "service/"),
    ("ipaddress", "ipaddress.py"),
    ("asyncio + uvloop (the event loop itself)", "asyncio/"),
)
# Frames nearly every sample passes through (entry points, the ASGI and middleware chain): left
# out of the inclusive list, where they would only crowd out what the requests spend time on.
SCAFFOLDING = (
    "<frozen runpy>",
    "<module>",
    "click/",
    "uvicorn/",
    "starlette/",
    "asyncio/",
    "contextlib.py",
    "service/web/middleware.py",
)


def available() -> bool:
    return shutil.which("py-spy") is not None


def record(pid: int, seconds: int, output: Path, *, raw: bool, pin: bool) -> None:
    """`py-spy record` for `seconds`: a flame graph (SVG), or collapsed stacks when `raw`."""
    command = [
        "py-spy",
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(seconds),
        "--rate",
        "100",
        "--function",  # one entry per function, not per line
        "--format",
        "raw" if raw else "flamegraph",
        "--output",
        str(output),
    ]
    subprocess.run(
        pinned(command, LOAD_CPU, pin), capture_output=True, text=True, check=True, timeout=120
    )


@dataclass(frozen=True)
class Summary:
    samples: int
    categories: list[tuple[str, int]]
    self_time: list[tuple[str, int]]
    inclusive: list[tuple[str, int]]

    def render(self, top: int = 12) -> str:
        def pct(n: int) -> str:
            return f"{100 * n / self.samples:5.1f}%" if self.samples else "  n/a"

        lines = [f"{self.samples} busy samples; by library (leaf-most match):"]
        lines += [f"  {pct(n)}  {name}" for name, n in self.categories]
        lines.append("top functions by self time:")
        lines += [f"  {pct(n)}  {frame}" for frame, n in self.self_time[:top]]
        lines.append("top functions by inclusive time:")
        lines += [f"  {pct(n)}  {frame}" for frame, n in self.inclusive[:top]]
        return "\n".join(lines)


def summarize(collapsed: Path) -> Summary:
    """Collapsed stacks ("root;...;leaf count" per line) -> shares by library and function."""
    categories: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        total += count
        self_time[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
        categories[_category(frames)] += count
    return Summary(
        total,
        categories.most_common(),
        self_time.most_common(),
        [(f, n) for f, n in inclusive.most_common() if not _is_scaffolding(f)],
    )


def _category(frames: list[str]) -> str:
    for frame in reversed(frames):
        for name, marker in CATEGORIES:
            if marker in frame:
                return name
    return "other"


def _is_scaffolding(frame: str) -> bool:
    return any(marker in frame for marker in SCAFFOLDING)
