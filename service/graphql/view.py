"""The HTTP side of GraphQL: request -> context, and strict request bodies.

The documents the settings page and the workflow editor send all day are answered by prepared
plans (`service.graphql.prepared`); everything else, and anything a plan cannot finish, by
strawberry.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from service.cases.keys import KeyService
from service.cases.verification import KeyVerifier
from service.domain.errors import ApiKeyError, Unavailable
from service.domain.origins import peer_address, user_agent
from service.domain.run_commands import RunCommands
from service.domain.usage import Use
from service.domain.verdicts import OUT_OF_SCOPE, Refusal
from service.graphql.context import Context
from service.graphql.prepared import MutationPlan, PreparedQueries
from service.graphql.schema import Schema
from service.graphql.selections import Unprepared
from service.graphql.types import ApiKey
from service.observability.metrics import Metrics
from service.web.answers import Answer, send_answer, too_many_failures, unavailable
from service.web.auth import Authenticator, Principal, presented_key
from service.web.failure_limits import FailureLimits

logger = logging.getLogger("apikeys.graphql")


class GraphQLView(GraphQL[Context, None]):
    def __init__(
        self,
        schema: Schema,
        *,
        keys: KeyService,
        sessions: Authenticator,
        verifier: KeyVerifier,
        limits: FailureLimits,
        run_commands: RunCommands,
        graphiql: bool,
        metrics: Metrics | None = None,
    ) -> None:
        super().__init__(
            schema, graphql_ide="graphiql" if graphiql else None, allow_queries_via_get=False
        )
        self._keys = keys
        self._sessions = sessions
        self._verifier = verifier
        self._limits = limits
        self._run_commands = run_commands
        self.prepared = PreparedQueries(schema, metrics)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().__call__(scope, receive, send)
            return
        request = Request(scope, receive)
        refusal = await self._identify(request)
        if refusal is not None:
            await send_answer(send, refusal)
            return
        body = await self._prepared_answer(request) if request.method == "POST" else None
        if body is not None:
            response: Response = Response(body, media_type="application/json")
        else:
            # As strawberry's own __call__ does, with the same Request (its body is read once).
            try:
                response = await self.run(request)
            except HTTPException as exc:
                response = PlainTextResponse(exc.reason, status_code=exc.status_code)
        await response(scope, receive, send)

    async def _identify(self, request: Request) -> Answer | None:
        """Who is calling, kept in the request's state for the context. A client that keeps
        presenting bad API keys is slowed down here, before any GraphQL, on the same failure
        limits as the gateway's verifications."""
        request.state.key_refusal = None
        key = presented_key(request.headers, self._verifier.prefix)
        if key is None:
            request.state.principal = self._sessions.authenticate(
                request.headers.get("authorization")
            )
            return None
        client = peer_address(request.scope)
        if (wait := await self._limits.check(client)) is not None:
            return too_many_failures(wait)
        try:
            use = Use(None, client, user_agent(request.headers.get("user-agent")))
            verdict = await self._verifier.verify(key, use)
        except Unavailable as exc:
            logger.warning(
                "API key authentication failed: database unavailable (%r)", exc.__cause__
            )
            return unavailable()
        # A malformed key is no guess at a real one, nor is a key used outside its scope: only
        # well-formed refusals of what the key is count.
        if verdict.refusal in OUT_OF_SCOPE:
            request.state.key_refusal = verdict.refusal
        elif verdict.refusal not in (None, Refusal.MALFORMED):
            if (wait := await self._limits.failed(client)) is not None:
                return too_many_failures(wait)
        request.state.principal = (
            None
            if verdict.owner_id is None
            else Principal(owner_id=verdict.owner_id, api_key_id=verdict.key_id)
        )
        return None

    async def _prepared_answer(self, request: Request) -> bytes | None:
        """The answer of a prepared plan, or None for the general executor."""
        if request.state.principal is None:
            return None  # strawberry words the refusal
        headers = request.headers
        # Strawberry takes any media type containing application/json, case kept; this path
        # takes only plain application/json (with parameters), which strawberry takes too.
        media_type = headers.get("content-type", "").partition(";")[0]
        if media_type.strip() != "application/json":
            return None
        accept = headers.get("accept", "")
        if "multipart" in accept or "text/event-stream" in accept:
            return None  # a streaming transport: strawberry's to negotiate
        try:
            data = decode_body(await request.body())
        except ValueError:  # (orjson's and json's decoding errors are ValueErrors)
            return None
        if not isinstance(data, dict):
            return None
        query, variables = data.get("query"), data.get("variables")
        operation_name, extensions = data.get("operationName"), data.get("extensions")
        if not (
            isinstance(query, str)
            and isinstance(variables, dict | None)
            and isinstance(operation_name, str | None)
            and isinstance(extensions, dict | None)
        ):
            return None
        found = self.prepared.plan(query, operation_name, variables)
        if found is None:
            return None
        context = await self.get_context(request, Response())
        plan, label, values = found
        if isinstance(plan, MutationPlan):
            if request.state.principal.read_only:
                return None  # strawberry words the refusal
            try:
                body = await self.prepared.mutate(plan, label, context, values)
            except Unprepared:
                return None
            request.state.graphql_operation = label
            return body

        async def load_keys(usable_for: str | None) -> Sequence[ApiKey]:
            actor = context.actor()
            if usable_for is None:
                stored = await self._keys.list_keys(actor)
            else:
                stored = await self._keys.usable_keys(actor, usable_for)
            return [ApiKey.of(key, self._keys) for key in stored]

        try:
            body = await self.prepared.answer(plan, label, load_keys)
        except (Unprepared, ApiKeyError):  # a null where the schema promises a value; a refusal
            return None
        except Exception as exc:
            # The general executor runs the request again and answers it as it answers every
            # failure (an unreachable database: UNAVAILABLE). Anything else is a fault here.
            if not isinstance(exc, Unavailable):
                logger.warning("A prepared plan failed; the general executor answers", exc_info=exc)
            return None
        request.state.graphql_operation = label
        return body

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        assert isinstance(request, Request)  # no subscriptions, so never a WebSocket
        return Context(
            request=request,
            principal=request.state.principal,  # see _identify
            key_refusal=request.state.key_refusal,
            keys=self._keys,
            run_commands=self._run_commands,
        )

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return decode_body(data)

    def parse_json(self, data: str | bytes) -> Any:
        # strawberry answers a body of `null` or `42` with a 500; it is the client's mistake.
        value = super().parse_json(data)
        if not isinstance(value, dict):
            raise HTTPException(400, "The request body must be a JSON object.")
        return value


def decode_body(data: str | bytes) -> Any:
    """A request body's JSON. orjson reads an integer beyond 64 bits as a float, which an `ID`
    would then take, rounded, for another id; the schema has no Float, so a body holding one is
    read again by the standard library, which keeps every integer exact."""
    value = orjson.loads(data)
    if not _holds_float(value):
        return value
    try:
        return json.loads(data)
    except (ValueError, RecursionError):  # past the standard library's limits: orjson's reading
        return value


def _holds_float(value: Any) -> bool:
    waiting = [value]  # (a loop, not recursion: a body may nest as deep as orjson allows)
    while waiting:
        item = waiting.pop()
        if isinstance(item, float):
            return True
        if isinstance(item, dict):
            waiting.extend(item.values())
        elif isinstance(item, list):
            waiting.extend(item)
    return False
