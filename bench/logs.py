"""What a server logged: its JSON lines counted by logger and level, the unusual ones kept.

The service runs with its request log on, as in production (one line per request on stderr,
written to a file here), so a log holds about as many lines as the server answered requests.
It is read line by line, never whole.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

REQUEST_LOGGER = "apikeys.request"
_QUIET_LEVELS = frozenset({"debug", "info"})
_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})
_KEPT = 3  # unusual lines quoted in the report, at most


@dataclass
class LogSummary:
    lines: int = 0
    size_bytes: int = 0
    request_lines: int = 0
    by_level: Counter[str] = field(default_factory=Counter)
    unusual: list[str] = field(default_factory=list)  # the first lines at warning or above,
    unusual_count: int = 0  # or of no level at all


def summarize(path: Path) -> LogSummary:
    summary = LogSummary()
    try:
        summary.size_bytes = path.stat().st_size
        handle = path.open(errors="replace")
    except OSError:
        return summary
    with handle:
        for line in handle:
            if not line.strip():
                continue
            summary.lines += 1
            try:
                record = json.loads(line)
                level = str(record.get("level", "?")).lower()
                logger = record.get("logger")
            except (ValueError, AttributeError):
                level, logger = _plain_level(line), None
            summary.by_level[level] += 1
            if logger == REQUEST_LOGGER:
                summary.request_lines += 1
            if level not in _QUIET_LEVELS:
                summary.unusual_count += 1
                if len(summary.unusual) < _KEPT:
                    summary.unusual.append(line.strip())
    return summary


def _plain_level(line: str) -> str:
    """The level of a line in uvicorn's own format ("INFO:     Started server process"), as the
    bare floor logs; "not JSON" for anything else."""
    head, colon, _ = line.partition(":")
    level = head.strip().lower()
    return level if colon and level in _LEVELS else "not JSON"
