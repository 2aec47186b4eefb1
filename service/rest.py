"""`POST /v1/keys/verify`: the platform's gateway asks whether a key is good.

The endpoint itself is protected by a service token (`Authorization: Bearer <token>`), compared
in constant time. A client address that keeps failing is answered 429 with `Retry-After` before
any work is done. The gateway may pass the end client's address as `clientAddress`, so that one
abusive client is slowed down without slowing the gateway's other users.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
from typing import Any

import orjson
from prometheus_client import Counter
from starlette.requests import Request
from starlette.responses import Response

from service.db import is_unavailable
from service.ratelimit import FailureLimiter
from service.verification import KeyVerifier

MAX_BODY_BYTES = 4096

logger = logging.getLogger("apikeys.verify")


class VerifyEndpoint:
    def __init__(
        self,
        verifier: KeyVerifier,
        service_token: bytes,
        limiter: FailureLimiter,
        outcomes: Counter | None = None,
    ) -> None:
        self._verifier = verifier
        self._expected = b"Bearer " + service_token
        self._limiter = limiter
        self._outcomes = outcomes

    def _count(self, result: str) -> None:
        if self._outcomes is not None:
            self._outcomes.labels(result).inc()

    async def handle(self, request: Request) -> Response:
        peer = request.client.host if request.client else "unknown"
        presented = request.headers.get("authorization", "").encode()
        if not hmac.compare_digest(presented, self._expected):
            if (wait := self._limiter.retry_after(peer)) is not None:
                self._count("RATE_LIMITED")
                return _too_many(wait)
            self._limiter.record_failure(peer)
            self._count("UNAUTHORIZED")
            return _error(401, "UNAUTHORIZED", "A valid service token is required.")

        body = await _json_body(request)
        if isinstance(body, Response):
            return body
        key = body.get("key")
        if not isinstance(key, str):
            return _error(400, "BAD_REQUEST", 'The body must be {"key": "<api key>"}.')
        client = _client_address(body.get("clientAddress")) or peer
        if (wait := self._limiter.retry_after(client)) is not None:
            self._count("RATE_LIMITED")
            return _too_many(wait)

        try:
            verdict = await self._verifier.verify(key)
        except Exception as exc:
            if not is_unavailable(exc):
                raise
            logger.warning("Verification failed: database unavailable (%r)", exc)
            self._count("UNAVAILABLE")
            response = _error(503, "UNAVAILABLE", "Keys cannot be checked right now; retry.")
            response.headers["Retry-After"] = "1"
            return response
        self._count(verdict.refusal.value if verdict.refusal else "valid")
        if verdict.refusal is not None:
            self._limiter.record_failure(client)
            return JSONResponse({"valid": False, "reason": verdict.refusal.value})
        return JSONResponse(
            {
                "valid": True,
                "keyId": verdict.key_id,
                "ownerId": verdict.owner_id,
                "name": verdict.name,
            }
        )


async def _json_body(request: Request) -> dict[str, Any] | Response:
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return _error(413, "TOO_LARGE", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    raw = b""
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > MAX_BODY_BYTES:
            return _error(413, "TOO_LARGE", f"The body must be at most {MAX_BODY_BYTES} bytes.")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return _error(400, "BAD_REQUEST", "The body must be JSON.")
    if not isinstance(body, dict):
        return _error(400, "BAD_REQUEST", 'The body must be {"key": "<api key>"}.')
    return body


def _client_address(value: object) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:
        return None


class JSONResponse(Response):
    """Starlette's JSONResponse, encoded with orjson: this endpoint is on every request's path."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def _too_many(retry_after: int) -> JSONResponse:
    response = _error(429, "TOO_MANY_FAILURES", "Too many failed verifications; slow down.")
    response.headers["Retry-After"] = str(retry_after)
    return response
