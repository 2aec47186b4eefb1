"""Operations endpoints: liveness, readiness and metrics."""

from __future__ import annotations

import hmac
import logging
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from service.cases.operations import Operations
from service.domain.errors import Unavailable
from service.observability.metrics import Metrics

logger = logging.getLogger("apikeys.health")
KEY_COUNT_SECONDS = 60.0
_LIVE = b'{"status":"ok"}'
_LIVE_HEADERS = [
    (b"content-length", str(len(_LIVE)).encode()),
    (b"content-type", b"application/json"),
]


class Liveness:
    """`GET /healthz`: the process is up and serving; says nothing about the database. Load
    balancers ask constantly, so the answer is encoded once and sent as is (a plain ASGI
    application, like the other endpoints on every request's path)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # A fresh header list: middleware (CORS) may add to it in place.
        start = {"type": "http.response.start", "status": 200, "headers": list(_LIVE_HEADERS)}
        await send(start)
        await send({"type": "http.response.body", "body": _LIVE})


class Health:
    def __init__(
        self,
        operations: Operations,
        metrics: Metrics,
        *,
        production: bool = False,
        metrics_token: bytes | None = None,
    ) -> None:
        self._operations = operations
        self._metrics = metrics
        # In production /metrics answers only Prometheus (its bearer token), or nobody: the
        # figures (keys stored, failures, traffic) are nobody else's business.
        self._scrapers_only = production
        self._scraper = b"Bearer " + metrics_token if metrics_token is not None else None
        # In production the answer is a status word: what is wrong goes to the log, not to
        # whoever asks.
        self._detailed = not production
        self.live = Liveness()
        self._counted_at: float | None = None

    async def ready(self, request: Request) -> Response:
        """Ready for traffic: the database answers and every migration has been applied."""
        try:
            pending = await self._operations.pending_migrations()
        except Unavailable as exc:
            logger.warning("Readiness check: database unreachable (%r)", exc.__cause__)
            return self._unavailable({"database": "unreachable"})
        if pending:
            logger.warning("Readiness check: migrations pending: %s", ", ".join(pending))
            return self._unavailable({"pendingMigrations": pending})
        return JSONResponse({"status": "ok"})

    def _unavailable(self, details: dict[str, object]) -> Response:
        body = {"status": "unavailable", **(details if self._detailed else {})}
        return JSONResponse(body, 503)

    async def metrics(self, request: Request) -> Response:
        if self._scrapers_only:
            if self._scraper is None:
                return JSONResponse(
                    {"error": {"code": "NOT_FOUND", "message": "Not found."}}, status_code=404
                )
            presented = request.headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(presented, self._scraper):
                return JSONResponse(
                    {"error": {"code": "UNAUTHORIZED", "message": "A metrics token is required."}},
                    status_code=401,
                    headers={"WWW-Authenticate": "Bearer"},
                )
        # Counting is a scan of the keys table: at most once a minute, not on every scrape.
        now = time.monotonic()
        if self._counted_at is None or now - self._counted_at >= KEY_COUNT_SECONDS:
            try:
                self._metrics.keys_stored.set(await self._operations.keys_stored())
                self._counted_at = now
            except Exception:
                logger.warning("Could not count stored keys for /metrics", exc_info=True)
        return Response(
            self._metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )
