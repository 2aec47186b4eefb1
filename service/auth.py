"""Who is calling: an `Authorization` header -> a `Principal`, or nobody.

Session tokens are JWTs from the platform's identity provider; `sub` is the user id. The accepted
algorithm is fixed by the configured key, never taken from the token: HS256 for a shared secret,
RS256 or ES256 for a PEM public key. That refuses `alg: none` and algorithm confusion (a token
"signed" with HS256 using the public key as the secret) without any special case.
"""

from __future__ import annotations

import time
import unicodedata
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from service.settings import ConfigError, JwtSettings

MAX_SUBJECT_LENGTH = 255


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the platform user whose keys they may see."""

    owner_id: str


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
        return Principal(owner_id=subject)

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
        and 0 < len(subject) <= MAX_SUBJECT_LENGTH
        and subject.strip() == subject
        and not any(unicodedata.category(ch) in ("Cc", "Cs") for ch in subject)
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
