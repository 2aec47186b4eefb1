"""`POST /v1/secret-scanning`: a secret-scanning partner (GitHub's program, or one speaking its
format) reports strings matching our key pattern that it found in public.

The body is a JSON array of `{"token", "type", "url", "source"}`, signed: the base64 DER ECDSA
(P-256, SHA-256) signature of the raw body in `Github-Public-Key-Signature`, the signing key's id
in `Github-Public-Key-Identifier`. The partner's public keys come from the JSON file named by
`APIKEYS_SECRET_SCANNING_KEYS`, in the format GitHub publishes them
(`{"public_keys": [{"key_identifier", "key", "is_current"}]}`), read again whenever it changes.

The answer is the partner's false-positive report, one entry per token in order: the SHA-256 of
the token, its type as sent, and `true_positive` when it is one of our keys' secrets, which is
then revoked, in every process, before the answer goes out (`service.cases.leaks`). Nothing
is done for a request that is not signed by a known key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from starlette.types import Receive, Scope, Send

from service.cases.leaks import LeakReports
from service.domain.audit import Actor
from service.domain.limits import (
    LEAK_SOURCE_MAX,
    LEAK_URL_MAX,
    SCANNING_BODY_MAX,
    SCANNING_TOKENS_MAX,
)
from service.domain.origins import peer_address, user_agent
from service.domain.text import without_control_characters
from service.settings import ConfigError
from service.web.answers import Answer, error, json_answer, read_body, send_answer

logger = logging.getLogger("apikeys.secret_scanning")


class PartnerKeys:
    """The partner's public signing keys, by id, from a file read again when it changes (the
    partner publishes new keys ahead of using them; refreshing the file needs no restart)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._seen: tuple[int, int, int] | None = None
        self._keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self.refresh(strict=True)

    def get(self, key_id: str) -> ec.EllipticCurvePublicKey | None:
        self.refresh(strict=False)
        return self._keys.get(key_id)

    def refresh(self, *, strict: bool) -> None:
        """Reads the file if it changed. At start (`strict`) a bad file is a configuration
        error; later, the keys read before stay in use and the problem is logged."""
        try:
            stat = os.stat(self._path)
            seen = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
            if seen == self._seen:
                return
            keys = _parse_keys(self._path.read_bytes())
        except (OSError, ValueError, UnsupportedAlgorithm) as exc:
            if strict:
                raise ConfigError(f"APIKEYS_SECRET_SCANNING_KEYS: {exc}") from None
            logger.warning("Secret-scanning keys not reloaded: %s", exc)
            return
        self._keys, self._seen = keys, seen


def _parse_keys(raw: bytes) -> dict[str, ec.EllipticCurvePublicKey]:
    try:
        document = json.loads(raw)
        entries = document["public_keys"]
        keys: dict[str, ec.EllipticCurvePublicKey] = {}
        for entry in entries:
            key = load_pem_public_key(entry["key"].encode())
            if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(
                key.curve, ec.SECP256R1
            ):
                raise ValueError(f"key {entry['key_identifier']!r} is not a P-256 public key")
            keys[str(entry["key_identifier"])] = key
    except (KeyError, TypeError, AttributeError, json.JSONDecodeError) as exc:
        raise ValueError(
            'expected {"public_keys": [{"key_identifier": ..., "key": "<PEM>"}, ...]}'
            f" ({type(exc).__name__})"
        ) from None
    if not keys:
        raise ValueError("no public keys in the file")
    return keys


class SecretScanningEndpoint:
    def __init__(self, leaks: LeakReports, partner_keys: Path | None) -> None:
        self._leaks = leaks
        self._partner = PartnerKeys(partner_keys) if partner_keys is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send_answer(send, await self._answer(scope, receive))

    async def _answer(self, scope: Scope, receive: Receive) -> Answer:
        if self._partner is None:
            return error(404, "NOT_FOUND", "Secret scanning is not configured here.")
        headers = {name: value for name, value in scope["headers"]}
        # Who signed it is known from the headers alone: a request that names no known key, or
        # carries no signature, is refused before a byte of its body is read.
        signer = self._signer(headers)
        if signer is None:
            return _not_signed()
        body = await read_body(headers.get(b"content-length"), receive, SCANNING_BODY_MAX)
        if not isinstance(body, bytes):
            return body
        key, signature = signer
        if not _verified(key, signature, body):
            return _not_signed()
        reports = _reports(body)
        if reports is None:
            return error(
                400,
                "BAD_REQUEST",
                'The body must be a JSON array of {"token", "type", "url", "source"} objects.',
            )
        if len(reports) > SCANNING_TOKENS_MAX:
            return error(413, "TOO_LARGE", f"A report holds at most {SCANNING_TOKENS_MAX} tokens.")
        reporter = Actor(
            owner_id="",
            client_address=peer_address(scope),
            user_agent=user_agent(headers.get(b"user-agent", b"").decode("latin-1")),
        )
        labels = []
        for report in reports:
            token = report["token"]
            true_positive = await self._leaks.report(
                reporter,
                token,
                url=_web_address(_clean(report.get("url"), LEAK_URL_MAX)),
                source=_clean(report.get("source"), LEAK_SOURCE_MAX),
            )
            labels.append(
                {
                    "token_hash": hashlib.sha256(token.encode()).hexdigest(),
                    "token_type": report["type"],
                    "label": "true_positive" if true_positive else "false_positive",
                }
            )
        return json_answer(200, labels)

    def _signer(
        self, headers: dict[bytes, bytes]
    ) -> tuple[ec.EllipticCurvePublicKey, bytes] | None:
        """The partner key the request names and the signature it carries, or None when it
        names no known key or carries no signature that could be one."""
        assert self._partner is not None
        key_id = headers.get(b"github-public-key-identifier", b"").decode("latin-1")
        key = self._partner.get(key_id) if key_id else None
        try:
            signature = base64.b64decode(
                headers.get(b"github-public-key-signature", b""), validate=True
            )
        except (binascii.Error, ValueError):
            return None
        if key is None or not signature:
            return None
        return key, signature


def _verified(key: ec.EllipticCurvePublicKey, signature: bytes, body: bytes) -> bool:
    try:
        key.verify(signature, body, _ECDSA_SHA256)
    except (InvalidSignature, ValueError):
        return False
    return True


_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())


def _not_signed() -> Answer:
    return error(401, "BAD_SIGNATURE", "The report is not signed by a known key.")


def _reports(body: bytes) -> list[dict[str, Any]] | None:
    try:
        reports = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(reports, list):
        return None
    for report in reports:
        if not (
            isinstance(report, dict)
            and isinstance(report.get("token"), str)
            and isinstance(report.get("type"), str)
            and isinstance(report.get("url"), str | None)
            and isinstance(report.get("source"), str | None)
        ):
            return None
    return reports


def _web_address(url: str | None) -> str | None:
    """Only an http(s) address is kept as where a key was found: it is shown as a link."""
    if url is None:
        return None
    scheme = urlsplit(url).scheme.lower()
    return url if scheme in ("http", "https") else None


def _clean(value: str | None, limit: int) -> str | None:
    """What is kept of a reported url or source: at most `limit` characters, without control
    characters, nor invisible ones (the url is shown as a link, and a bidirectional override
    could make it read as another address)."""
    if value is None:
        return None
    return without_control_characters(value, invisible=True)[:limit] or None
