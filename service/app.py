"""The ASGI application, wired: every layer's pieces built once from the settings, the routes,
and a lifespan that owns the database connections, the tracker and the key-change listener."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from tortoise.contrib.starlette import RegisterTortoise

from service.cases.keys import KeyService
from service.cases.leaks import LeakReports
from service.cases.operations import Operations
from service.cases.tracker import UsageTracker
from service.cases.verification import KeyVerifier
from service.domain.clock import Clock, utcnow
from service.domain.limits import GRAPHQL_BODY_MAX, MAX_KEYS_PER_USER
from service.graphql.schema import build_schema
from service.graphql.view import GraphQLView
from service.observability.logs import RequestLog
from service.observability.metrics import Metrics
from service.settings import Settings
from service.storage.caches import KeyLists, Lease, VerifiedKeys
from service.storage.engines import engine_of, tortoise_config
from service.storage.listener import KeyChangeListener
from service.storage.repository import KeyRepository
from service.storage.usage_store import UsageStore
from service.web.auth import Authenticator
from service.web.failure_limits import FailureLimiter, FailureLimits, InProcessLimits, SharedLimits
from service.web.health import Health
from service.web.middleware import BodySizeLimit, HotRoutes, RequestObserver
from service.web.page import SettingsPage
from service.web.secret_scanning import SecretScanningEndpoint
from service.web.verify import VerifyEndpoint

STATIC_DIR = Path(__file__).resolve().parent / "static"


def create_app(
    settings: Settings, *, clock: Clock = utcnow, request_log: RequestLog | None = None
) -> Starlette:
    vault = settings.key_vault()
    engine = engine_of(settings.database_url)
    # Verified keys and key lists are cached only where every process hears of every change
    # (PostgreSQL).
    caching = engine == "postgres" and settings.verify_cache_seconds > 0
    lease = Lease()
    cache = VerifiedKeys(settings.verify_cache_seconds, lease) if caching else None
    lists = KeyLists(settings.verify_cache_seconds, lease) if caching else None
    listener = (
        KeyChangeListener(settings.database_url.split("?", 1)[0], cache, lists, engine)
        if cache is not None and lists is not None
        else None
    )
    repository = KeyRepository(engine, observer=listener)
    metrics = Metrics()
    tracker = UsageTracker(
        UsageStore(engine, observer=listener),
        flush_seconds=settings.tracker.flush_seconds,
        max_buffered_keys=settings.tracker.max_buffered_keys,
        clock=clock,
        on_dropped=metrics.tracker_dropped.inc,
    )
    metrics.watch_tracker(tracker)
    verifier = KeyVerifier(repository, vault, tracker, clock=clock, cache=cache)
    keys = KeyService(
        repository, vault, max_keys=settings.max_keys_per_user, clock=clock, lists=lists
    )
    log = request_log or RequestLog()
    health = Health(
        Operations(engine, repository),
        metrics,
        production=settings.production,
        metrics_token=settings.metrics_token.reveal() if settings.metrics_token else None,
    )
    limits = _failure_limits(settings, metrics)
    graphql = GraphQLView(
        build_schema(production=settings.production, metrics=metrics),
        keys=keys,
        sessions=Authenticator(settings.jwt),
        verifier=verifier,
        limits=limits,
        run_commands=settings.run_commands,
        graphiql=not settings.production,
        metrics=metrics,
    )
    verify = VerifyEndpoint(
        verifier, settings.service_token.reveal(), limits, count=metrics.verification_done
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Tortoise keeps its state per task; uvicorn runs the lifespan in another task than the
        # requests, hence the global fallback context. The tracker stops (and flushes what it
        # holds) before the database connections close.
        async with contextlib.AsyncExitStack() as stack:
            # Entered first, so closed last: the request log outlives everything it may record.
            stack.callback(log.close)
            await stack.enter_async_context(
                RegisterTortoise(
                    app,
                    config=tortoise_config(
                        settings.database_url,
                        statement_timeout=settings.database_timeout_seconds,
                    ),
                    _enable_global_fallback=True,
                )
            )
            await stack.enter_async_context(metrics.running())
            await stack.enter_async_context(tracker.running())
            if listener is not None:
                await stack.enter_async_context(listener.running())
            stack.push_async_callback(limits.aclose)
            yield

    page = SettingsPage(
        STATIC_DIR / "index.html",
        default_limit=MAX_KEYS_PER_USER,
        max_keys=settings.max_keys_per_user,
    )

    # The only route that reads large bodies under this limit: the verify endpoint holds its
    # own to 4 KiB, the secret-scanning endpoint to 1 MiB, and nothing else reads a body.
    graphql_endpoint = BodySizeLimit(graphql, max_bytes=GRAPHQL_BODY_MAX)
    app = Starlette(
        routes=[
            Route("/graphql", graphql_endpoint, methods=["GET", "POST"]),
            Route("/v1/keys/verify", verify, methods=["POST"]),
            Route(
                "/v1/secret-scanning",
                SecretScanningEndpoint(
                    LeakReports(repository, vault, clock=clock), settings.secret_scanning_keys
                ),
                methods=["POST"],
            ),
            Route("/healthz", health.live, methods=["GET"]),
            Route("/readyz", health.ready, methods=["GET"]),
            Route("/metrics", health.metrics, methods=["GET"]),
            # The settings page: static files that talk only to /graphql, and its index with the
            # key limit in it.
            Route("/", page, methods=["GET", "HEAD"]),
            Route("/index.html", page, methods=["GET", "HEAD"]),
            Mount("/", StaticFiles(directory=STATIC_DIR, html=True), name="static"),
        ],
        lifespan=lifespan,
        middleware=[
            Middleware(RequestObserver, metrics=metrics, log=log),
            *_cors(settings.cors_origins),
            Middleware(
                HotRoutes,
                routes={
                    ("POST", "/v1/keys/verify"): verify,
                    ("GET", "/healthz"): health.live,
                    ("POST", "/graphql"): graphql_endpoint,
                },
            ),
        ],
    )
    # For operations (metrics, tests): the live tracker and verifier of this application.
    app.state.keys = keys
    app.state.tracker = tracker
    app.state.verifier = verifier
    app.state.verified_keys = cache
    app.state.key_lists = lists
    app.state.request_log = log
    return app


def _failure_limits(settings: Settings, metrics: Metrics) -> FailureLimits:
    """Failed key checks counted per client address: in Redis across every process when it is
    configured, else in this process."""
    limit = settings.verify_failures
    local = FailureLimiter(limit.max_failures, limit.window_seconds, ipv6_prefix=limit.ipv6_prefix)
    if settings.redis_url is None:
        return InProcessLimits(local)
    return SharedLimits.from_url(
        settings.redis_url,
        settings.redis_key_prefix,
        max_failures=limit.max_failures,
        window_seconds=limit.window_seconds,
        local=local,
        errors=metrics.ratelimit_errors,
    )


def _cors(origins: tuple[str, ...]) -> list[Middleware]:
    """The single-page app may be served from another origin; only those listed may call."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(origins),
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
            expose_headers=["X-Request-Id"],
            max_age=600,
        )
    ]


def app_from_env() -> Starlette:
    """The application factory uvicorn's workers import (`apikeys serve --workers N`)."""
    app = create_app(Settings.from_env())
    # What exists now (modules, the schema, the application) lives as long as the process: out
    # of the garbage collector's sight, a full collection, which pauses every request, no longer
    # walks a hundred thousand objects that can never be garbage.
    gc.collect()
    gc.freeze()
    return app
