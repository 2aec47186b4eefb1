"""py-spy profiles of the server under load, and a plain-text summary of where the time goes.

py-spy samples the server's Python stacks (idle time in the event loop is left out), so the
summary's percentages are shares of the time the server was busy. Under writes, each sample is
also charged to the step of a write it was spent in (`WRITE_STEPS`), with the libraries it was
spent in within that step.
"""

from __future__ import annotations

import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench.processes import LOAD_CPU, pinned

SERVICE_CATEGORY = "the service (service/)"
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
    (SERVICE_CATEGORY, "service/"),
    ("ipaddress", "ipaddress.py"),
    ("asyncio + uvloop (the event loop itself)", "asyncio/"),
)
# `KeyRepository.locked` split by what it was calling: (part, callee name fragments).
_LOCK_STEP = "owner lock: BEGIN, lock, COMMIT"
_LOCK_PARTS = (
    ("owner lock: BEGIN", ("__aenter__", "in_transaction")),
    ("owner lock: COMMIT", ("__aexit__",)),
)
# The steps of a write (create, rename, rotate, delete, first visit), each named by the
# service's functions that make it, as (step, function, file): a sample is charged to the
# step of the frame nearest the leaf that is one of them. So the key row's INSERT is "key row
# insert" down to asyncpg, and "owner lock" is what `KeyRepository.locked` spends itself: BEGIN
# and COMMIT (the lock statement and the owner's keys are `_lock`). What no step claims is
# charged to its library (strawberry, uvicorn, ...), as in the summary by library.
WRITE_STEPS = (
    ("listener: ack wait", "committed", "service/storage/listener.py"),
    ("listener: hearing, acknowledging", "_on_change", "service/storage/listener.py"),
    ("listener: hearing, acknowledging", "_on_ack", "service/storage/listener.py"),
    ("listener: hearing, acknowledging", "_on_lists", "service/storage/listener.py"),
    ("listener: hearing, acknowledging", "_keep", "service/storage/listener.py"),
    ("announce: NOTIFYs of a change without an audit row", "finish", "service/storage/owner.py"),
    ("audit row + its NOTIFYs (one statement)", "record_event", "service/storage/owner.py"),
    ("crypto: key generation, HMAC, AES-GCM", "issue", "service/domain/vault.py"),
    ("key row insert (one INSERT)", "insert", "service/storage/owner.py"),
    ("key row update (one UPDATE ... RETURNING)", "update", "service/storage/owner.py"),
    ("key row delete (one DELETE)", "delete", "service/storage/owner.py"),
    ("retired secret", "retire_secret", "service/storage/owner.py"),
    (
        "owner lock: lock row, owner's keys (SELECT ... FOR UPDATE, SELECT)",
        "_lock",
        "service/storage/repository.py",
    ),
    ("first visit's list (raw SQL)", "list_keys", "service/storage/repository.py"),
    (_LOCK_STEP, "locked", "service/storage/repository.py"),
    ("rows into records", "stored_row", "service/storage/rows.py"),
    ("answer's fields (ApiKey.of)", "", "service/graphql/types.py"),
    ("use case (service/cases/keys.py itself)", "", "service/cases/keys.py"),
    ("session token (PyJWT)", "authenticate", "service/web/auth.py"),
    ("request log, metrics", "", "service/observability/"),
    ("prepared plan: arguments in, answer out", "", "service/graphql/prepared.py"),
    ("request body, context", "", "service/graphql/view.py"),
)
# Libraries charged within a step, and what no step claims.
_STEP_LIBRARIES = (
    ("graphql-core", "graphql/"),
    ("strawberry", "strawberry/"),
    ("tortoise", "tortoise/"),
    ("pypika", "pypika"),
    ("asyncpg", "asyncpg/"),
    ("cryptography", "cryptography/"),
    ("hmac/hashlib", "hmac.py"),
    ("secrets/random", "random.py"),
    ("PyJWT", "jwt/"),
    ("starlette", "starlette/"),
    ("uvicorn", "uvicorn/"),
    ("logging", "logging/"),
    ("asyncio/uvloop", "asyncio/"),
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


@dataclass(frozen=True)
class WriteBreakdown:
    samples: int
    steps: list[tuple[str, int, list[tuple[str, int]]]]  # step, samples, its libraries

    def render(self) -> str:
        def pct(n: int) -> str:
            return f"{100 * n / self.samples:5.1f}%" if self.samples else "  n/a"

        lines = [
            f"{self.samples} busy samples by step of a write (nearest the leaf), then by library:"
        ]
        for step, count, libraries in self.steps:
            within = ", ".join(f"{name} {100 * n / count:.0f}%" for name, n in libraries[:4])
            lines.append(f"  {pct(count)}  {step}" + (f"  ({within})" if within else ""))
        return "\n".join(lines)


def write_breakdown(collapsed: Path) -> WriteBreakdown:
    """Collapsed stacks -> shares by step of a write (`WRITE_STEPS`), each by library."""
    steps: Counter[str] = Counter()
    libraries: dict[str, Counter[str]] = {}
    total = 0
    for frames, count in _stacks(collapsed):
        total += count
        step = write_step(frames)
        spent_in = library(frames)
        if step is None:
            step = f"outside the steps: {spent_in}"
        steps[step] += count
        libraries.setdefault(step, Counter())[spent_in] += count
    return WriteBreakdown(
        total,
        [(step, n, libraries[step].most_common()) for step, n in steps.most_common()],
    )


def _stacks(collapsed: Path) -> list[tuple[list[str], int]]:
    stacks = []
    for line in collapsed.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if stack and count_text.isdigit():
            stacks.append((stack.split(";"), int(count_text)))
    return stacks


def write_step(frames: list[str]) -> str | None:
    for depth in range(len(frames) - 1, -1, -1):
        frame = frames[depth]
        if not is_service(frame):
            continue
        name, _, file = frame.partition(" (")
        for step, function, marker in WRITE_STEPS:
            # py-spy names a method by its qualified name on recent Pythons.
            named = not function or name == function or name.endswith("." + function)
            if named and marker in file:
                return _lock_part(frames[depth + 1 :]) if step == _LOCK_STEP else step
    return None


def _lock_part(callees: list[str]) -> str:
    """What the owner's locked transaction was doing: BEGIN or COMMIT."""
    if not callees:
        return "owner lock: the repository's own code"  # its token, its error translation
    callee = callees[0].partition(" (")[0]
    for part, fragments in _LOCK_PARTS:
        if any(fragment in callee for fragment in fragments):
            return part
    return _LOCK_STEP


def library(frames: list[str]) -> str:
    """The library of the frame nearest the leaf that is in one; else the service's own code."""
    for frame in reversed(frames):
        if is_service(frame):
            return "the service's own code"
        for name, marker in _STEP_LIBRARIES:
            if marker in frame:
                return name
    return "other"


def is_service(frame: str) -> bool:
    """A frame of the service's own code (`service/graphql/` is not graphql-core)."""
    return "service/" in frame and "site-packages" not in frame


def summarize(collapsed: Path) -> Summary:
    """Collapsed stacks ("root;...;leaf count" per line) -> shares by library and function."""
    categories: Counter[str] = Counter()
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for frames, count in _stacks(collapsed):
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
        if is_service(frame):
            return SERVICE_CATEGORY
        for name, marker in CATEGORIES:
            if marker in frame:
                return name
    return "other"


def _is_scaffolding(frame: str) -> bool:
    return any(marker in frame for marker in SCAFFOLDING)
