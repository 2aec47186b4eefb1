"""Structured logs: one JSON object per line, on stderr.

Nothing here ever sees a key or a token: request logs carry the method, path, route, status,
duration, request id and GraphQL operation, never headers, query strings or bodies.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Attributes every LogRecord has; anything else was passed in `extra=` and belongs in the line.
# (uvicorn adds a `color_message` copy of each message for terminals.)
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "taskName",
    "color_message",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """A `logging.config.dictConfig` for the service and uvicorn alike."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": handler},
        "root": {"handlers": ["stderr"], "level": level},
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": level, "propagate": False},
            "uvicorn.error": {"level": level},
            # Requests are logged by the service itself, with their request id.
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            # Tortoise logs every statement with its parameters at DEBUG: keep it above that.
            "tortoise": {"level": "WARNING"},
            "aiosqlite": {"level": "WARNING"},
        },
    }
