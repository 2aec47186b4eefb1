"""The request log: whole JSON lines, batched, never lost at a graceful stop."""

from __future__ import annotations

import asyncio
import io
import json

import httpx
import pytest

from service.app import create_app
from service.observability.logs import RequestLog
from service.settings import Settings


class Writes(io.BytesIO):
    """A stream that remembers each write separately."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.calls.append(bytes(data))
        return super().write(data)


async def test_lines_are_written_within_the_flush_interval_not_one_by_one() -> None:
    stream = Writes()
    log = RequestLog(stream)
    for n in range(3):
        log.write({"request_id": str(n)})
    assert stream.calls == []
    await asyncio.sleep(RequestLog.FLUSH_SECONDS * 2)
    assert len(stream.calls) == 1
    assert [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()] == [
        "0",
        "1",
        "2",
    ]


async def test_each_write_is_whole_lines_within_pipe_buf() -> None:
    stream = Writes()
    log = RequestLog(stream)
    for n in range(500):
        log.write({"request_id": f"{n:04d}", "path": "/graphql" + "x" * (n % 50)})
    log.flush()
    assert len(stream.calls) > 1
    for call in stream.calls:
        assert len(call) <= RequestLog.PIPE_BUF
        assert call.endswith(b"\n")
    ids = [json.loads(line)["request_id"] for line in stream.getvalue().splitlines()]
    assert ids == [f"{n:04d}" for n in range(500)]


@pytest.mark.parametrize(
    "fields",
    [
        {},
        {"request_id": "a"},
        {
            "request_id": "4d75796c084898cb000000000001e460",
            "method": "POST",
            "path": "/graphql",
            "status": 200,
            "duration_ms": 0.032,
            "operation": 'ListKeys"\n\u2028',
        },
    ],
)
def test_a_line_is_the_head_fields_then_the_requests_in_order(fields: dict[str, object]) -> None:
    stream = Writes()
    RequestLog(stream).write(fields)
    line = stream.getvalue()
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    parsed = json.loads(line)
    head = {"ts": parsed["ts"], "level": "info", "logger": RequestLog.NAME, "msg": "request"}
    assert list(parsed.items()) == [*head.items(), *fields.items()]


def test_without_an_event_loop_a_line_is_written_at_once() -> None:
    stream = Writes()
    RequestLog(stream).write({"request_id": "a"})
    assert json.loads(stream.getvalue())["request_id"] == "a"


async def test_a_graceful_stop_writes_what_is_pending(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    stream = Writes()
    app = create_app(settings, request_log=RequestLog(stream))
    with caplog.at_level("INFO", logger=RequestLog.NAME):
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                response = await client.get("/healthz")
            assert stream.calls == []
    line = json.loads(stream.getvalue())
    assert line["request_id"] == response.headers["X-Request-Id"]
    assert (line["path"], line["status"]) == ("/healthz", 200)
