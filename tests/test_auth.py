"""Session tokens: only a well-signed, current token with a subject gets in."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from service.settings import ConfigError, JwtSettings, Secret
from service.web.auth import Authenticator, Principal

SECRET = b"s" * 32


def hs256(secret: bytes = SECRET, **overrides: Any) -> Authenticator:
    fields: dict[str, Any] = {
        "secret": Secret(secret),
        "public_key": None,
        "issuer": None,
        "audience": None,
        **overrides,
    }
    return Authenticator(JwtSettings(**fields))


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": "alice", "iat": now, "exp": now + 300, **overrides}


def bearer(token: str) -> str:
    return f"Bearer {token}"


def pem(public_key: Any) -> str:
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def test_a_valid_token_names_its_subject() -> None:
    token = jwt.encode(claims(), SECRET, algorithm="HS256")
    assert hs256().authenticate(bearer(token)) == Principal(owner_id="alice")


def test_issued_tokens_are_accepted() -> None:
    auth = hs256(issuer="idp", audience="apikeys")
    assert auth.authenticate(bearer(auth.issue("bob"))) == Principal(owner_id="bob")


@pytest.mark.parametrize(
    "header", [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "bearer-token", "Token abc"]
)
def test_missing_or_malformed_headers_are_nobody(header: str | None) -> None:
    assert hs256().authenticate(header) is None


def test_alg_none_is_refused() -> None:
    token = jwt.encode(claims(), None, algorithm="none")  # type: ignore[arg-type]
    assert hs256().authenticate(bearer(token)) is None


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = jwt.encode(claims(), b"x" * 32, algorithm="HS256")
    assert hs256().authenticate(bearer(token)) is None


def test_expired_tokens_are_refused() -> None:
    token = jwt.encode(claims(exp=int(time.time()) - 120), SECRET, algorithm="HS256")
    assert hs256().authenticate(bearer(token)) is None


def test_tokens_without_expiry_are_refused() -> None:
    body = claims()
    del body["exp"]
    assert hs256().authenticate(bearer(jwt.encode(body, SECRET, algorithm="HS256"))) is None


def test_not_yet_valid_tokens_are_refused() -> None:
    token = jwt.encode(claims(nbf=int(time.time()) + 600), SECRET, algorithm="HS256")
    assert hs256().authenticate(bearer(token)) is None


@pytest.mark.parametrize("sub", [None, "", " alice", "a" * 256, "nul\x00", 42])
def test_a_missing_or_unusable_subject_is_refused(sub: object) -> None:
    body = claims(sub=sub)
    if sub is None:
        del body["sub"]
    token = jwt.encode(body, SECRET, algorithm="HS256")
    assert hs256().authenticate(bearer(token)) is None


def test_issuer_and_audience_are_enforced_when_configured() -> None:
    auth = hs256(issuer="idp", audience="apikeys")
    good = claims(iss="idp", aud="apikeys")
    assert auth.authenticate(bearer(jwt.encode(good, SECRET, algorithm="HS256")))
    for bad in (claims(iss="evil", aud="apikeys"), claims(iss="idp", aud="other"), claims()):
        assert auth.authenticate(bearer(jwt.encode(bad, SECRET, algorithm="HS256"))) is None


def test_rs256_public_key_verification() -> None:
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    auth = Authenticator(JwtSettings(None, pem(private.public_key()), None, None))
    good = jwt.encode(claims(), private, algorithm="RS256")
    assert auth.authenticate(bearer(good)) == Principal(owner_id="alice")
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert auth.authenticate(bearer(jwt.encode(claims(), other, algorithm="RS256"))) is None


def test_hs256_signed_with_the_public_key_is_refused() -> None:
    """Algorithm confusion: the public key is public, so it must never work as an HMAC secret."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = pem(private.public_key())
    auth = Authenticator(JwtSettings(None, public_pem, None, None))
    header = jwt.utils.base64url_encode(b'{"alg":"HS256","typ":"JWT"}')
    payload = jwt.utils.base64url_encode(jwt.api_jws.json.dumps(claims()).encode())
    import hashlib
    import hmac

    signing_input = header + b"." + payload
    signature = hmac.new(public_pem.encode(), signing_input, hashlib.sha256).digest()
    forged = (signing_input + b"." + jwt.utils.base64url_encode(signature)).decode()
    assert auth.authenticate(bearer(forged)) is None


def test_es256_public_key_verification() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    auth = Authenticator(JwtSettings(None, pem(private.public_key()), None, None))
    assert auth.authenticate(bearer(jwt.encode(claims(), private, algorithm="ES256")))
    # A token claiming RS256 or HS256 is refused even if otherwise well formed.
    assert auth.authenticate(bearer(jwt.encode(claims(), SECRET, algorithm="HS256"))) is None


def test_a_public_key_deployment_cannot_issue_tokens() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    auth = Authenticator(JwtSettings(None, pem(private.public_key()), None, None))
    with pytest.raises(ConfigError):
        auth.issue("alice")


def test_an_unusable_public_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="APIKEYS_JWT_PUBLIC_KEY"):
        Authenticator(JwtSettings(None, "not a pem", None, None))


def test_a_remembered_token_still_expires() -> None:
    auth = hs256(leeway_seconds=0)
    token = jwt.encode(claims(exp=time.time() + 1.0), SECRET, algorithm="HS256")
    assert auth.authenticate(bearer(token)) is not None
    assert auth.authenticate(bearer(token)) is not None  # answered from memory
    time.sleep(1.1)
    assert auth.authenticate(bearer(token)) is None
