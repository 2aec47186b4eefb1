"""Who is calling: request headers -> a `Principal`, or nobody.

Two kinds of credential are accepted:
- a session token (`Authorization: Bearer <jwt>`), as the platform's single-page app sends;
- one of the user's API keys (`Authorization: Bearer <key>` or `X-API-Key: <key>`), as scripts and
  the CLI send. A key identifies its owner for reading only: a leaked key must not mint, reveal or
  delete others, so the GraphQL layer refuses mutations and the full `key` field to it.

Session tokens are JWTs from the platform's identity provider; `sub` is the user id. The accepted
algorithm is fixed by the configured key, never taken from the token: HS256 for a shared secret,
RS256 or ES256 for a PEM public key. That refuses `alg: none` and algorithm confusion (a token
"signed" with HS256 using the public key as the secret) without any special case.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from service.domain.limits import SUBJECT_MAX
from service.domain.text import has_control_characters
from service.settings import ConfigError, JwtSettings

_VERIFIED_TOKENS_MAX = 10_000


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the platform user whose keys they may see, and the API key
    they presented, if that is how they signed in."""

    owner_id: str
    api_key_id: str | None = None

    @property
    def read_only(self) -> bool:
        return self.api_key_id is not None


def presented_key(headers: Mapping[str, str], prefix: str) -> str | None:
    """The API key a request presents (`X-API-Key`, or a bearer token with the key prefix),
    or None when it presents none (a session token, or nothing)."""
    api_key = headers.get("x-api-key")
    if api_key is not None:
        return api_key.strip()
    scheme, _, credential = (headers.get("authorization") or "").partition(" ")
    if scheme.lower() == "bearer" and credential.startswith(prefix):
        return credential.strip()
    return None


class Authenticator:
    def __init__(self, settings: JwtSettings) -> None:
        self._settings = settings
        self._key: Any
        if settings.secret is not None:
            self._key, self._algorithms = settings.secret.reveal(), ["HS256"]
        elif settings.public_key is not None:
            self._key, self._algorithms = _public_key(settings.public_key)
        else:
            raise ConfigError("APIKEYS_JWT_SECRET or APIKEYS_JWT_PUBLIC_KEY must be set.")
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._options: Any = {
            "require": ["exp", "sub"],
            "verify_aud": settings.audience is not None,
        }

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal for an `Authorization` header; None when absent or not valid."""
        if not authorization:
            return None
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return self.session(token.strip())

    def session(self, token: str) -> Principal | None:
        # A token is immutable: once its signature and claims checked out, only its expiry can
        # change the answer. The settings page sends the same token with every request.
        cached = self._verified.get(token)
        if cached is not None:
            principal, expires = cached
            if time.time() < expires:
                return principal
            del self._verified[token]
        decoded = self._decode(token)
        if decoded is None:
            return None
        if len(self._verified) >= _VERIFIED_TOKENS_MAX:
            self._verified.clear()
        self._verified[token] = decoded
        return decoded[0]

    def _decode(self, token: str) -> tuple[Principal, float] | None:
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                issuer=self._settings.issuer,
                audience=self._settings.audience,
                leeway=self._settings.leeway_seconds,
                options=self._options,
            )
        except jwt.PyJWTError:
            return None
        subject = claims.get("sub")
        if not isinstance(subject, str) or not _valid_subject(subject):
            return None
        return Principal(owner_id=subject), float(claims["exp"]) + self._settings.leeway_seconds

    def issue(self, user_id: str, *, ttl_seconds: int = 3600) -> str:
        """A session token for local development and tests (HS256 deployments only)."""
        if self._settings.secret is None:
            raise ConfigError(
                "Tokens can only be issued with APIKEYS_JWT_SECRET; with a public key, ask the"
                " identity provider for one."
            )
        if not _valid_subject(user_id):
            raise ValueError("A user id is 1-255 characters without control characters.")
        now = int(time.time())
        claims: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + ttl_seconds}
        if self._settings.issuer:
            claims["iss"] = self._settings.issuer
        if self._settings.audience:
            claims["aud"] = self._settings.audience
        return jwt.encode(claims, self._settings.secret.reveal(), algorithm="HS256")


def _valid_subject(subject: object) -> bool:
    return (
        isinstance(subject, str)
        and 0 < len(subject) <= SUBJECT_MAX
        and subject.strip() == subject
        and not has_control_characters(subject)
    )


def _public_key(pem: str) -> tuple[Any, list[str]]:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError:
        raise ConfigError("APIKEYS_JWT_PUBLIC_KEY is not a PEM public key.") from None
    if isinstance(key, rsa.RSAPublicKey):
        return key, ["RS256"]
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key, ["ES256"]
    raise ConfigError("APIKEYS_JWT_PUBLIC_KEY must be an RSA or P-256 (ES256) public key.")
