"""The ASGI application: routes, and a lifespan that owns the database connections."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Route
from tortoise.contrib.starlette import RegisterTortoise

from service.api.schema import build_schema
from service.api.view import GraphQLView
from service.auth import Authenticator
from service.db import tortoise_config
from service.keys import KeyService
from service.repository import KeyRepository
from service.security import KeyFormat, KeyVault
from service.settings import Settings


def create_app(settings: Settings) -> Starlette:
    vault = KeyVault(
        KeyFormat(settings.key_prefix), settings.pepper.reveal(), settings.encryption_key.reveal()
    )
    keys = KeyService(KeyRepository(), vault, max_keys=settings.max_keys_per_user)
    graphql = GraphQLView(
        build_schema(production=settings.production),
        keys=keys,
        authenticator=Authenticator(settings.jwt),
        graphiql=not settings.production,
    )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Tortoise keeps its state per task; uvicorn runs the lifespan in another task than the
        # requests, hence the global fallback context.
        async with RegisterTortoise(
            app, config=tortoise_config(settings.database_url), _enable_global_fallback=True
        ):
            yield

    return Starlette(
        routes=[Route("/graphql", graphql, methods=["GET", "POST"])],
        lifespan=lifespan,
    )


def app_from_env() -> Starlette:
    """The application factory uvicorn's workers import (`apikeys serve --workers N`)."""
    return create_app(Settings.from_env())
