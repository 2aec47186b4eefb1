"""`POST /v1/keys/verify`: the platform's gateway asks whether a key is good.

The endpoint itself is protected by a service token (`Authorization: Bearer <token>`), compared
in constant time. A client address that keeps failing is answered 429 with `Retry-After` before
any work is done. The gateway may pass the end client's address as `clientAddress`, so that one
abusive client is slowed down without slowing the gateway's other users.

The gateway asks this on every request the platform serves, so the endpoint is a plain ASGI
application: it reads the two headers it needs straight from the scope and answers with
pre-encoded JSON, without a Request object or a Response class in between.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Callable
from typing import Any

import orjson
from starlette.types import Receive, Scope, Send

from service.cases.verification import KeyVerifier
from service.domain.errors import Unavailable
from service.domain.limits import VERIFY_BODY_MAX
from service.domain.origins import client_address, peer_address, user_agent
from service.domain.usage import Use, usage_workflow_id
from service.domain.verdicts import OUT_OF_SCOPE, Refusal
from service.web.answers import (
    Answer,
    encoded_answer,
    error,
    json_answer,
    read_body,
    send_answer,
    too_many_failures,
    unavailable,
)
from service.web.failure_limits import FailureLimits

# The refusals, encoded once: a client guessing keys gets them again and again.
_REFUSED = {refusal: orjson.dumps({"valid": False, "reason": refusal.value}) for refusal in Refusal}

logger = logging.getLogger("apikeys.verify")


class VerifyEndpoint:
    def __init__(
        self,
        verifier: KeyVerifier,
        service_token: bytes,
        limits: FailureLimits,
        count: Callable[[str], None] | None = None,
    ) -> None:
        self._verifier = verifier
        self._expected = b"Bearer " + service_token
        self._limits = limits
        self._count = count or _count_nothing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_answer(send, await self._answer(scope, receive))

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        peer = peer_address(scope)
        presented = b""
        declared: bytes | None = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                presented = value
            elif name == b"content-length":
                declared = value
        if not hmac.compare_digest(presented, self._expected):
            if (wait := await self._limits.check(peer)) is not None:
                self._count("RATE_LIMITED")
                return too_many_failures(wait)
            await self._limits.failed(peer)
            self._count("UNAUTHORIZED")
            return error(401, "UNAUTHORIZED", "A valid service token is required.")

        body = await _json_body(declared, receive)
        if not isinstance(body, dict):
            return body
        key = body.get("key")
        if not isinstance(key, str):
            return error(400, "BAD_REQUEST", 'The body must be {"key": "<api key>"}.')
        client = client_address(body.get("clientAddress")) or peer
        if (wait := await self._limits.check(client)) is not None:
            self._count("RATE_LIMITED")
            return too_many_failures(wait)

        use = Use(
            usage_workflow_id(body.get("workflowId")),
            client,
            user_agent(body.get("userAgent")),
        )
        try:
            verdict = await self._verifier.verify(key, use)
        except Unavailable as exc:
            logger.warning("Verification failed: database unavailable (%r)", exc.__cause__)
            self._count("UNAVAILABLE")
            return unavailable()
        if verdict.refusal is not None:
            self._count(verdict.refusal.value)
            if verdict.refusal not in OUT_OF_SCOPE:
                if (wait := await self._limits.failed(client)) is not None:
                    return too_many_failures(wait)
            return encoded_answer(200, _REFUSED[verdict.refusal])
        self._count("valid")
        return json_answer(
            200,
            {
                "valid": True,
                "keyId": verdict.key_id,
                "ownerId": verdict.owner_id,
                "name": verdict.name,
                "workflowIds": verdict.workflow_ids,
            },
        )


async def _json_body(declared: bytes | None, receive: Receive) -> dict[str, Any] | Answer:
    raw = await read_body(declared, receive, VERIFY_BODY_MAX)
    if not isinstance(raw, bytes):
        return raw
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return error(400, "BAD_REQUEST", "The body must be JSON.")
    if not isinstance(body, dict):
        return error(400, "BAD_REQUEST", 'The body must be {"key": "<api key>"}.')
    return body


def _count_nothing(result: str) -> None:
    pass
