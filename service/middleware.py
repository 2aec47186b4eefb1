"""ASGI middleware: request ids, one log line and the metrics of every HTTP request."""

from __future__ import annotations

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.metrics import Metrics

logger = logging.getLogger("apikeys.request")

# Route labels are a closed set, so that a client cannot grow the metrics without bound.
ROUTES = frozenset({"/graphql", "/v1/keys/verify", "/healthz", "/readyz", "/metrics"})
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def route_label(path: str) -> str:
    return path if path in ROUTES else "static"


class RequestObserver:
    """Gives every request an id (the caller's `X-Request-Id` when it is sane), returns it in
    the response, logs one line when the request ends, and counts it."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message).append("X-Request-Id", request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = route_label(scope["path"])
            self.metrics.requests.labels(route, scope["method"], str(status)).inc()
            self.metrics.request_seconds.labels(route).observe(elapsed)
            logger.info(
                "request",
                extra={
                    "request_id": request_id,
                    "method": scope["method"],
                    "path": scope["path"] if route != "static" else route,
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 3),
                    "operation": scope["state"].get("graphql_operation"),
                },
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope["headers"]:
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex
