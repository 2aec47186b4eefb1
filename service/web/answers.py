"""The JSON answers of the plain HTTP endpoints (verify, secret scanning, and refusals before
GraphQL): `{"error": {"code", "message"}}` with a status, encoded once with orjson. The one 413
and the one 503 every endpoint answers are here.

An answer is (status, body, headers), sent as two ASGI messages, without a Response object:
these endpoints are on the path of every request the platform serves.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.types import Receive, Send

Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]

_JSON_TYPE = (b"content-type", b"application/json")


def json_answer(status: int, content: Any) -> Answer:
    return encoded_answer(status, orjson.dumps(content))


def encoded_answer(status: int, body: bytes) -> Answer:
    """An answer whose JSON body is already encoded (a fresh header list each time: outer
    middleware may add to it)."""
    return status, body, [(b"content-length", str(len(body)).encode()), _JSON_TYPE]


def error(status: int, code: str, message: str) -> Answer:
    return json_answer(status, {"error": {"code": code, "message": message}})


def with_retry_after(answer: Answer, seconds: int) -> Answer:
    status, body, headers = answer
    return status, body, [*headers, (b"retry-after", str(seconds).encode())]


def unavailable() -> Answer:
    """The database cannot be reached right now (`service.domain.errors.Unavailable`)."""
    return with_retry_after(
        error(503, "UNAVAILABLE", "Keys cannot be checked right now; retry."), 1
    )


def too_large(limit: int) -> Answer:
    """A body over `limit` bytes, declared or sent."""
    return error(413, "TOO_LARGE", f"Request bodies are limited to {limit} bytes.")


def too_many_failures(retry_after: int) -> Answer:
    answer = error(429, "TOO_MANY_FAILURES", "Too many failed verifications; slow down.")
    return with_retry_after(answer, retry_after)


async def read_body(declared: bytes | None, receive: Receive, limit: int) -> bytes | Answer:
    """The request body, or 413 when it is (or is declared) over `limit` bytes."""
    if declared is not None and (not declared.isdigit() or int(declared) > limit):
        return too_large(limit)
    chunks: list[bytes] = []  # joined once: appending bytes to bytes is quadratic
    size = 0
    more = True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return error(400, "BAD_REQUEST", "The request ended before its body did.")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return too_large(limit)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def send_answer(send: Send, answer: Answer) -> None:
    status, body, headers = answer
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
