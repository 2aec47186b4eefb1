"""ASGI middleware: request ids, one log line and the metrics of every HTTP request."""

from __future__ import annotations

import itertools
import re
import secrets
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.observability.logs import RequestLog
from service.observability.metrics import Metrics
from service.web.answers import Answer, send_answer, too_large

# Route labels are a closed set, so that a client cannot grow the metrics without bound.
ROUTES = frozenset(
    {"/graphql", "/v1/keys/verify", "/v1/secret-scanning", "/healthz", "/readyz", "/metrics"}
)
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


def route_label(path: str) -> str:
    return path if path in ROUTES else "static"


class RequestIds:
    """Request ids for requests that come without a usable one: 32 hex characters, a random
    prefix drawn once per process then a counter. Unique across processes and restarts (the
    prefix has 64 random bits) at the cost of an increment, where `uuid4` costs a system call.
    Request ids correlate log lines; they are not secrets."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count()

    def __call__(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFF_FFFF_FFFF_FFFF:016x}"


class RequestObserver:
    """Gives every request an id (the caller's `X-Request-Id` when it is sane), returns it in
    the response, logs one line when the request ends, and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log: RequestLog) -> None:
        self.app = app
        self.metrics = metrics
        self.log = log
        self.new_id = RequestIds()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = self._request_id(scope)
        header = (b"x-request-id", request_id.encode())
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            path = scope["path"]
            route = route_label(path)
            self.metrics.request_done(route, scope["method"], status, elapsed)
            if self.log.enabled():
                self.log.write(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": path if route != "static" else route,
                        "status": status,
                        # Rounded to the microsecond; `round(x, 3)` costs several times more.
                        "duration_ms": int(elapsed * 1_000_000 + 0.5) / 1000,
                        "operation": scope["state"].get("graphql_operation"),
                    }
                )

    def _request_id(self, scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                candidate: str = value.decode("latin-1")
                if _REQUEST_ID.fullmatch(candidate):
                    return candidate
        return self.new_id()


class HotRoutes:
    """The requests the platform sends constantly (the gateway's verifications, the load
    balancer's liveness checks, the page's GraphQL posts) go straight to their endpoint.

    Starlette's exception middleware, router, route and request/response wrapper cost a fifth of
    an empty request; these endpoints are plain ASGI applications that handle their own errors,
    so they need none of it. Everything else, and these paths with any other method, goes through
    the full application. (Its outer layers, the request observer, CORS and Starlette's
    server-error middleware, wrap both alike.) Against Starlette's router it saves 13.5% of a
    verification's instructions and 3.5% of a key list's (`python -m bench.instructions`;
    bench/README.md).
    """

    def __init__(self, app: ASGIApp, routes: dict[tuple[str, str], ASGIApp]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            endpoint = self.routes.get((scope["method"], scope["path"]))
            if endpoint is not None:
                await endpoint(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodySizeLimit:
    """Refuses request bodies over `max_bytes` with 413 before anything parses them.

    A declared Content-Length is checked and the request passes through untouched: the HTTP
    server delivers exactly that many bytes, never more. A chunked body is read here, up to the
    limit, and replayed to the application, so both are held to the same limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not (declared.isascii() and declared.isdigit()) or int(declared) > self.max_bytes:
                await send_answer(send, _closing(too_large(self.max_bytes)))
                return
            # With both headers, HTTP/1.1 says the chunked framing wins (h11 follows it): the
            # declared length is then no bound, and the body is counted below.
            if _header(scope, b"transfer-encoding") is None:
                await self.app(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_answer(send, _closing(too_large(self.max_bytes)))
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def _closing(answer: Answer) -> Answer:
    """An answer after which the connection closes: the body left unread would be taken for
    the next request."""
    status, body, headers = answer
    return status, body, [*headers, (b"connection", b"close")]
