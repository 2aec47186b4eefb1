"""The log's format: one JSON object per line, one line per request with its id, operation,
status and duration, and never a secret."""

from __future__ import annotations

import io
import json
import logging
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from service.observability.logs import JsonFormatter, RequestLog
from tests.api.documents import LIST
from tests.helpers import Api
from tests.report import REQUEST_LOGS


async def test_one_log_line_per_request_with_id_operation_status_and_duration(
    app: Starlette, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.request_log.flush()
    start = REQUEST_LOGS.tell()
    with caplog.at_level(logging.INFO, logger="apikeys.request"):
        response = await api.post(
            {"query": LIST}, {"Authorization": f"Bearer {api.token('alice')}"}
        )
    app.state.request_log.flush()
    lines = REQUEST_LOGS.getvalue()[start:].decode().splitlines()
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert list(line) == [
        *("ts", "level", "logger", "msg", "request_id", "method", "path", "status"),
        *("duration_ms", "operation"),
    ]
    assert (line["level"], line["logger"], line["msg"]) == ("info", "apikeys.request", "request")
    assert datetime.fromisoformat(line["ts"]).tzinfo is not None
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert (line["method"], line["path"], line["status"]) == ("POST", "/graphql", 200)
    assert line["operation"] == "query apiKeys"
    assert line["duration_ms"] > 0
    assert response.json()["data"]["apiKeys"][0]["key"] not in json.dumps(line)


async def test_the_request_log_follows_the_logging_configuration(
    app: Starlette, api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    app.state.request_log.flush()
    start = REQUEST_LOGS.tell()
    with caplog.at_level(logging.WARNING, logger="apikeys.request"):
        await api.client.get("/healthz")
    app.state.request_log.flush()
    assert REQUEST_LOGS.getvalue()[start:] == b""


def test_request_log_timestamps_are_utc_to_the_millisecond() -> None:
    stream = io.BytesIO()
    log = RequestLog(stream)
    before = datetime.now(UTC)
    log.write({"request_id": "a"})
    stamp = datetime.fromisoformat(json.loads(stream.getvalue())["ts"])
    assert timedelta(0) <= stamp - before.replace(microsecond=before.microsecond // 1000 * 1000)
    assert stamp - before < timedelta(seconds=5)
    assert stamp.utcoffset() == timedelta(0)


def test_the_json_formatter_writes_one_object_per_line() -> None:
    record = logging.LogRecord(
        "apikeys.x", logging.WARNING, __file__, 1, "hello %s", ("you",), None
    )
    record.request_id = "abc"
    line = JsonFormatter().format(record)
    assert "\n" not in line
    parsed = json.loads(line)
    assert (parsed["level"], parsed["msg"], parsed["request_id"]) == ("warning", "hello you", "abc")
