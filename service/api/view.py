"""The HTTP side of GraphQL: request -> context, and strict request bodies."""

from __future__ import annotations

from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.schema import BaseSchema

from service.api.context import Context
from service.auth import Authenticator, identify
from service.keys import KeyService
from service.run_commands import RunCommands
from service.verification import KeyVerifier


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: BaseSchema,
        *,
        keys: KeyService,
        sessions: Authenticator,
        verifier: KeyVerifier,
        run_commands: RunCommands,
        graphiql: bool,
    ) -> None:
        super().__init__(
            schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False
        )
        self._keys = keys
        self._sessions = sessions
        self._verifier = verifier
        self._run_commands = run_commands

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)  # no subscriptions, so never a WebSocket
        principal = await identify(request.headers, self._sessions, self._verifier)
        return Context(
            request=request, principal=principal, keys=self._keys, run_commands=self._run_commands
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        # strawberry answers a body of `null` or `42` with a 500; it is the client's mistake.
        value = super().parse_json(data)
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value
