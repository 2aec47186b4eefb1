"""Structured logs: one JSON object per line, on stderr.

Nothing here ever sees a key or a token: request logs carry the method, path, route, status,
duration, request id and GraphQL operation, never headers, query strings or bodies.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any, BinaryIO

import orjson

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


REQUEST_LOGGER = "apikeys.request"
_LINE_START = b'{"ts":"'
# What follows the timestamp: the fields every line has (encoded once, by the same encoder as the
# request's own), then those of the request.
_HEAD_FIELDS = {"level": "info", "logger": REQUEST_LOGGER, "msg": "request"}
_LINE_HEAD_ALONE = b'",' + orjson.dumps(_HEAD_FIELDS)[1:-1]
_LINE_HEAD_FIELDS = _LINE_HEAD_ALONE + b","


class RequestLog:
    """The request log: one JSON line per HTTP request, in the same shape as `JsonFormatter`'s
    (`ts`, `level`, `logger`, `msg`, then the request's fields).

    It is on the path of every request the service answers, so it skips the logging module's
    per-record machinery (a LogRecord, a formatter, a handler lock): the line is encoded once
    with orjson. Lines are written in batches, whole lines only and at most `PIPE_BUF` bytes per
    write (so the lines of several worker processes sharing one pipe never interleave), at the
    latest `FLUSH_SECONDS` after they were logged, and when the application stops: a process
    that is killed outright loses at most that much of its request log. Whether lines are
    logged at all still follows the logging configuration: the `apikeys.request` logger must be
    enabled for INFO. Against the cheapest stdlib way that writes the same line (a logger with
    `JsonFormatter` behind a `QueueHandler`), it saves a fifth of a verification's instructions
    (`python -m bench.instructions`; bench/README.md).
    """

    NAME = REQUEST_LOGGER
    FLUSH_SECONDS = 0.1
    PIPE_BUF = 4096

    def __init__(self, stream: BinaryIO | None = None) -> None:
        # Resolved now, not at import: the stream is whatever stderr is when the app is built.
        self._stream = stream if stream is not None else sys.stderr.buffer
        self._logger = logging.getLogger(self.NAME)
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._flush_scheduled = False
        self._closed = False
        self._second = -1
        self._second_text = ""
        self._millis = -1
        self._stamp = b""

    def enabled(self) -> bool:
        return self._logger.isEnabledFor(logging.INFO)

    def write(self, fields: dict[str, Any]) -> None:
        # The line's fixed head is spliced in front of the request's own fields: one small
        # dict encoded per request, not a merged copy of it.
        encoded = orjson.dumps(fields, option=orjson.OPT_APPEND_NEWLINE)
        head = _LINE_HEAD_FIELDS if len(encoded) > 3 else _LINE_HEAD_ALONE
        encoded = b"".join((_LINE_START, self._timestamp(time.time()), head, encoded[1:]))
        self._pending.append(encoded)
        self._pending_bytes += len(encoded)
        if self._pending_bytes >= self.PIPE_BUF or self._closed:
            self.flush()
        elif not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop to flush later: now, then
                self.flush()
                return
            self._flush_scheduled = True
            loop.call_later(self.FLUSH_SECONDS, self.flush)

    def close(self) -> None:
        """The application is stopping: write what is pending, and any later line at once (a
        timer might never fire again)."""
        self._closed = True
        self.flush()

    def flush(self) -> None:
        self._flush_scheduled = False
        lines, self._pending, self._pending_bytes = self._pending, [], 0
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            if chunk and size + len(line) > self.PIPE_BUF:
                self._write(b"".join(chunk))
                chunk, size = [], 0
            chunk.append(line)
            size += len(line)
        if chunk:
            self._write(b"".join(chunk))

    def _write(self, chunk: bytes) -> None:
        self._stream.write(chunk)
        self._stream.flush()  # one system call per chunk, not one per buffer's worth

    def _timestamp(self, now: float) -> bytes:
        """`datetime.isoformat(timespec="milliseconds")` in UTC, encoded: formatted once per
        millisecond (a busy process logs several lines in one), its date and time once per
        second."""
        millis = int(now * 1000)
        if millis != self._millis:
            self._millis = millis
            second, milli = divmod(millis, 1000)
            if second != self._second:
                self._second = second
                self._second_text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
            self._stamp = f"{self._second_text}.{milli:03d}+00:00".encode()
        return self._stamp
