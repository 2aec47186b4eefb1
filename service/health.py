"""Operations endpoints: liveness, readiness and metrics."""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise import connections

from service.db import Engine, applied_migrations, migration_files
from service.metrics import Metrics
from service.models import ApiKey

logger = logging.getLogger("apikeys.health")
_LIVE = b'{"status":"ok"}'  # load balancers ask constantly: encoded once


class Health:
    def __init__(self, engine: Engine, metrics: Metrics) -> None:
        self._engine = engine
        self._metrics = metrics
        self._expected = migration_files(engine)

    async def live(self, request: Request) -> Response:
        """The process is up and serving; says nothing about the database."""
        return Response(_LIVE, media_type="application/json")

    async def ready(self, request: Request) -> Response:
        """Ready for traffic: the database answers and every migration has been applied."""
        conn = connections.get(self._engine)
        try:
            await conn.execute_query("SELECT 1")
        except Exception as exc:
            logger.warning("Readiness check: database unreachable (%s)", type(exc).__name__)
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, 503)
        try:
            applied = await applied_migrations(conn)
        except Exception:  # no migrations table yet: nothing has been applied
            applied = []
        pending = sorted(set(self._expected) - set(applied))
        if pending:
            return JSONResponse({"status": "unavailable", "pendingMigrations": pending}, 503)
        return JSONResponse({"status": "ok"})

    async def metrics(self, request: Request) -> Response:
        try:
            self._metrics.keys_stored.set(await ApiKey.all().count())
        except Exception:
            logger.warning("Could not count stored keys for /metrics", exc_info=True)
        return Response(
            self._metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
        )
