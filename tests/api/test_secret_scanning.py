"""A leaked key stops working within seconds: `POST /v1/secret-scanning`, signed as GitHub's
secret scanning partner program signs, with a key pair these tests make."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette

from service.app import create_app
from service.domain.key_format import BASE62, KeyFormat
from service.settings import ConfigError, Settings
from service.storage.repository import KeyRepository
from service.web.auth import Authenticator
from service.web.secret_scanning import PartnerKeys
from tests.api.documents import CREATE, DELETE, LIST, ROTATE, UPDATE
from tests.api.test_audit import EVENTS
from tests.helpers import TEST_SERVICE_TOKEN, Api, Database, empty_tables, make_settings

ENDPOINT = "/v1/secret-scanning"
SERVICE = {"Authorization": f"Bearer {TEST_SERVICE_TOKEN}"}
LEAK_LIST = "{ apiKeys { id name isDefault maskedKey revokedAt leak { url source reportedAt } } }"
URL = "https://github.com/someone/repo/blob/abc123/deploy.sh"


class Partner:
    """The partner's side: a P-256 key pair, published in GitHub's format, signing reports."""

    def __init__(self, keys_file: Path, key_id: str = "partner-key-1") -> None:
        self.key_id = key_id
        self.private = ec.generate_private_key(ec.SECP256R1())
        self.keys_file = keys_file

    def publish(self, *partners: Partner) -> None:
        """Writes the keys file with these partners' public keys (this one's first)."""
        partners = (self, *partners)
        entries = [
            {
                "key_identifier": p.key_id,
                "key": p.private.public_key()
                .public_bytes(
                    serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
                )
                .decode(),
                "is_current": True,
            }
            for p in partners
        ]
        self.keys_file.write_text(json.dumps({"public_keys": entries}))

    def signed(self, body: bytes, key_id: str | None = None) -> dict[str, str]:
        signature = self.private.sign(body, ec.ECDSA(hashes.SHA256()))
        return {
            "Github-Public-Key-Identifier": key_id or self.key_id,
            "Github-Public-Key-Signature": base64.b64encode(signature).decode(),
            "Content-Type": "application/json",
        }


def report(*tokens: str, url: str | None = URL, source: str = "content") -> bytes:
    return orjson.dumps(
        [{"token": t, "type": "blk_api_key", "url": url, "source": source} for t in tokens]
    )


@dataclass
class Scanning:
    api: Api
    partner: Partner

    async def send(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        headers = self.partner.signed(body) if headers is None else headers
        return await self.api.client.post(ENDPOINT, content=body, headers=headers)

    async def verify(self, key: str) -> dict[str, Any]:
        answer = await self.api.client.post("/v1/keys/verify", json={"key": key}, headers=SERVICE)
        verdict: dict[str, Any] = answer.json()
        return verdict


@asynccontextmanager
async def scanning_app(settings: Settings) -> AsyncIterator[Starlette]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def scanning(database: Database, tmp_path: Path) -> AsyncIterator[Scanning]:
    partner = Partner(tmp_path / "secret-scanning-keys.json")
    partner.publish()
    settings = make_settings(database, APIKEYS_SECRET_SCANNING_KEYS=str(partner.keys_file))
    async with scanning_app(settings) as app:
        await empty_tables(database.backend)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            yield Scanning(Api(client, Authenticator(settings.jwt)), partner)


async def keys_of(api: Api, user: str = "alice") -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = (await api.data(LIST, user=user))["apiKeys"]
    return listed


def look_alike(key: str) -> str:
    """Our prefix and length, a wrong checksum."""
    return key[:-1] + BASE62[(BASE62.index(key[-1]) + 1) % 62]


async def test_without_partner_keys_the_endpoint_is_not_there(api: Api) -> None:
    answer = await api.client.post(ENDPOINT, content=b"[]")
    assert answer.status_code == 404


async def test_unsigned_or_badly_signed_reports_change_nothing(scanning: Scanning) -> None:
    key = (await keys_of(scanning.api))[0]["key"]
    body = report(key)
    good = scanning.partner.signed(body)
    other = Partner(Path("unpublished"))
    cases: list[dict[str, str]] = [
        {},
        {k: v for k, v in good.items() if k != "Github-Public-Key-Signature"},
        {k: v for k, v in good.items() if k != "Github-Public-Key-Identifier"},
        {**good, "Github-Public-Key-Identifier": "unknown-key"},
        {**good, "Github-Public-Key-Signature": base64.b64encode(b"nonsense").decode()},
        {**good, "Github-Public-Key-Signature": "not base64 !"},
        other.signed(body, key_id=scanning.partner.key_id),  # signed by someone else
        scanning.partner.signed(report(look_alike(key))),  # the signature of another body
    ]
    for headers in cases:
        answer = await scanning.send(body, headers)
        assert answer.status_code == 401, headers
        assert key[len("blk_") :] not in answer.text
    assert (await scanning.verify(key))["valid"] is True
    assert all(k["revokedAt"] is None for k in (await scanning.api.data(LEAK_LIST))["apiKeys"])


class Trickle:
    """A request body sent 16 bytes at a time, counting what the server has asked for."""

    def __init__(self, body: bytes) -> None:
        self.body = body
        self.pieces_read = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self.body), 16):
            self.pieces_read += 1
            yield self.body[start : start + 16]


@pytest.mark.parametrize("signed", ["no headers", "unknown key", "no signature"])
async def test_an_unsigned_report_is_refused_before_its_body_is_read(
    scanning: Scanning, signed: str
) -> None:
    body = report(*(f"blk_{n:038d}" for n in range(1000)))[: 1024 * 1024]
    good = scanning.partner.signed(body)
    headers = {
        "no headers": {"Content-Type": "application/json"},
        "unknown key": {**good, "Github-Public-Key-Identifier": "unknown-key"},
        "no signature": {k: v for k, v in good.items() if k != "Github-Public-Key-Signature"},
    }[signed]
    trickle = Trickle(body)
    answer = await scanning.api.client.post(ENDPOINT, content=trickle, headers=headers)
    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "BAD_SIGNATURE"
    assert trickle.pieces_read <= 1, f"{trickle.pieces_read} pieces read before refusing"


async def test_a_signed_report_trickled_in_small_pieces_is_read_whole(scanning: Scanning) -> None:
    key = (await keys_of(scanning.api))[0]["key"]
    body = report(key, *(f"blk_{n:038d}" for n in range(200)))
    trickle = Trickle(body)
    answer = await scanning.api.client.post(
        ENDPOINT, content=trickle, headers=scanning.partner.signed(body)
    )
    assert answer.status_code == 200
    assert trickle.pieces_read == -(-len(body) // 16)
    assert answer.json()[0]["label"] == "true_positive"


@pytest.mark.parametrize(
    "body",
    [
        b"{}",
        b"not json",
        b'"x"',
        b"[1]",
        b'[{"type": "t"}]',
        b'[{"token": 1, "type": "t"}]',
        b'[{"token": "t"}]',
        b'[{"token": "t", "type": "t", "url": 3}]',
    ],
)
async def test_a_report_that_is_not_an_array_of_tokens_is_400(
    scanning: Scanning, body: bytes
) -> None:
    assert (await scanning.send(body)).status_code == 400


async def test_too_much_is_413(scanning: Scanning) -> None:
    many = report(*(f"blk_{n:038d}" for n in range(1001)))
    assert (await scanning.send(many)).status_code == 413
    huge = b"[" + b" " * (1024 * 1024) + b"]"
    assert (await scanning.send(huge)).status_code == 413


async def test_a_mixed_report_gets_the_right_labels_and_revokes_the_real_key(
    scanning: Scanning,
) -> None:
    api = scanning.api
    created = (await api.data(CREATE, name="CI"))["createApiKey"]
    doomed = (await api.data(CREATE, name="doomed"))["createApiKey"]
    await api.data(DELETE, id=doomed["id"])
    tokens = [created["key"], look_alike(created["key"]), KeyFormat("blk_").generate()]
    tokens.append(doomed["key"])
    answer = await scanning.send(report(*tokens))
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "token_hash": hashlib.sha256(token.encode()).hexdigest(),
            "token_type": "blk_api_key",
            "label": label,
        }
        for token, label in zip(
            tokens,
            ["true_positive", "false_positive", "false_positive", "false_positive"],
            strict=True,
        )
    ]
    # Revoked at once, and said so everywhere it is used.
    assert await scanning.verify(created["key"]) == {"valid": False, "reason": "REVOKED"}
    by_key = await api.client.post(
        "/graphql", json={"query": "{ apiKeys { id } }"}, headers={"X-API-Key": created["key"]}
    )
    assert by_key.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    run = await api.gql(
        'query($id: ID) { workflowRunCommand(workflowId: "wf", method: CLI, apiKeyId: $id)'
        " { maskedCommand } }",
        id=created["id"],
    )
    assert run["errors"][0]["extensions"]["code"] == "KEY_REVOKED"
    # Still listed, marked, with the report.
    listed = {k["id"]: k for k in (await api.data(LEAK_LIST))["apiKeys"]}
    revoked = listed[created["id"]]
    assert revoked["revokedAt"] is not None
    assert revoked["leak"]["url"] == URL and revoked["leak"]["source"] == "content"
    assert listed[next(k for k in listed if listed[k]["isDefault"])]["leak"] is None
    # In the audit trail, with where it was found.
    leaked = [e for e in await audit(api) if e["kind"] == "LEAKED"]
    assert [(e["keyId"], e["leakUrl"], e["leakSource"]) for e in leaked] == [
        (created["id"], URL, "content")
    ]


async def test_a_revoked_key_can_be_renamed_or_deleted_never_used_and_counts_toward_five(
    scanning: Scanning,
) -> None:
    api = scanning.api
    created = (await api.data(CREATE, name="CI"))["createApiKey"]
    await scanning.send(report(created["key"]))
    renamed = await api.data(UPDATE, input={"id": created["id"], "name": "CI (leaked)"})
    assert renamed["updateApiKey"]["name"] == "CI (leaked)"
    rotated = (await api.data(ROTATE, id=created["id"]))["rotateApiKey"]
    assert rotated["code"] == "NOT_DEFAULT_KEY"
    assert await scanning.verify(created["key"]) == {"valid": False, "reason": "REVOKED"}
    for n in range(3):
        await api.data(CREATE, name=f"more {n}")
    over = (await api.data(CREATE, name="one too many"))["createApiKey"]
    assert over["code"] == "KEY_LIMIT_REACHED"
    deleted = (await api.data(DELETE, id=created["id"]))["deleteApiKey"]
    assert deleted["__typename"] == "DeletedApiKey"
    assert await scanning.verify(created["key"]) == {"valid": False, "reason": "UNKNOWN"}


async def test_a_leaked_default_key_gets_a_new_secret_at_once(scanning: Scanning) -> None:
    api = scanning.api
    default = (await keys_of(api))[0]
    answer = await scanning.send(report(default["key"]))
    assert answer.json()[0]["label"] == "true_positive"
    assert await scanning.verify(default["key"]) == {"valid": False, "reason": "REVOKED"}
    now = (await keys_of(api))[0]
    assert now["id"] == default["id"] and now["key"] != default["key"]
    assert (await scanning.verify(now["key"]))["valid"] is True, "the user keeps a working key"
    listed = (await api.data(LEAK_LIST))["apiKeys"][0]
    assert listed["revokedAt"] is None and listed["leak"]["url"] == URL
    # Reported again: the same answer, nothing changes.
    events_before = await audit(api)
    again = await scanning.send(report(default["key"]))
    assert again.json() == answer.json()
    assert (await keys_of(api))[0]["key"] == now["key"]
    assert [e for e in await audit(api) if e["kind"] != "REVEALED"] == [
        e for e in events_before if e["kind"] != "REVEALED"
    ]
    # The report stays on the default key until its next rotation.
    await api.data(ROTATE, id=default["id"])
    assert (await api.data(LEAK_LIST))["apiKeys"][0]["leak"] is None


async def test_an_old_secret_in_its_grace_period_stops_at_once(scanning: Scanning) -> None:
    api = scanning.api
    default = (await keys_of(api))[0]
    graced = ROTATE.replace("{id: $id}", "{id: $id, expireOldKeyInSeconds: 3600}")
    current = (await api.data(graced, id=default["id"]))["rotateApiKey"]["key"]
    assert (await scanning.verify(default["key"]))["valid"] is True
    answer = await scanning.send(report(default["key"]))
    assert answer.json()[0]["label"] == "true_positive"
    assert await scanning.verify(default["key"]) == {"valid": False, "reason": "REVOKED"}
    assert (await scanning.verify(current))["valid"] is True


async def test_new_partner_keys_are_read_without_a_restart(scanning: Scanning) -> None:
    key = (await keys_of(scanning.api))[0]["key"]
    newer = Partner(Path("unpublished"), key_id="partner-key-2")
    body = report(look_alike(key))
    assert (await scanning.send(body, newer.signed(body))).status_code == 401
    scanning.partner.publish(newer)
    assert (await scanning.send(body, newer.signed(body))).status_code == 200
    assert (await scanning.send(body)).status_code == 200  # the first key still counts


@pytest.mark.parametrize(
    "content",
    [
        "{}",
        '{"public_keys": []}',
        '{"public_keys": [{"key_identifier": "k", "key": "x"}]}',
        "not json",
    ],
)
def test_a_bad_keys_file_stops_the_service_from_starting(
    database: Database, tmp_path: Path, content: str
) -> None:
    keys_file = tmp_path / "keys.json"
    keys_file.write_text(content)
    settings = make_settings(database, APIKEYS_SECRET_SCANNING_KEYS=str(keys_file))
    with pytest.raises(ConfigError, match="APIKEYS_SECRET_SCANNING_KEYS"):
        create_app(settings)


async def audit(api: Api) -> list[dict[str, Any]]:
    query = EVENTS.replace("clientAddress", "clientAddress leakUrl leakSource")
    connection = (await api.data(query, first=100))["apiKeyEvents"]
    return [edge["node"] for edge in connection["edges"]]


async def test_concurrent_reports_of_one_default_secret_reissue_it_once(
    scanning: Scanning,
) -> None:
    api = scanning.api
    default = (await keys_of(api))[0]
    body = report(default["key"])
    answers = await asyncio.gather(*(scanning.send(body) for _ in range(3)))
    assert [a.json()[0]["label"] for a in answers] == ["true_positive"] * 3
    now = (await keys_of(api))[0]["key"]
    assert (await scanning.verify(now))["valid"] is True, "the one re-issued secret works"
    assert len([e for e in await audit(api) if e["kind"] == "LEAKED"]) == 1


async def test_a_report_decides_on_what_the_key_holds_under_its_owners_lock(
    scanning: Scanning, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user rotates (with a grace period) between the report's first look-up and its
    lock: the reported secret is now a retired one, and that is what stops, not the new one."""
    api = scanning.api
    default = (await keys_of(api))[0]
    graced = ROTATE.replace("{id: $id}", "{id: $id, expireOldKeyInSeconds: 3600}")
    lookup = KeyRepository.find_by_secret_hash
    rotated: list[str] = []

    async def rotating_first(self: KeyRepository, hashes: Any) -> Any:
        found = await lookup(self, hashes)  # the look-up before the lock (the one after is its own)
        if not rotated:
            rotated.append((await api.data(graced, id=default["id"]))["rotateApiKey"]["key"])
        return found

    monkeypatch.setattr(KeyRepository, "find_by_secret_hash", rotating_first)
    answer = await scanning.send(report(default["key"]))
    assert answer.json()[0]["label"] == "true_positive"
    assert await scanning.verify(default["key"]) == {"valid": False, "reason": "REVOKED"}
    assert (await scanning.verify(rotated[0]))["valid"] is True
    assert (await api.data(LEAK_LIST))["apiKeys"][0]["leak"] is None


async def test_only_a_web_address_is_kept_as_where_a_key_was_found(scanning: Scanning) -> None:
    api = scanning.api
    created = (await api.data(CREATE, name="CI"))["createApiKey"]
    await scanning.send(report(created["key"], url="javascript:alert(document.domain)"))
    leak = (await api.data(LEAK_LIST))["apiKeys"][1]["leak"]
    assert leak["url"] is None and leak["source"] == "content"


def test_a_partner_key_file_that_turns_bad_keeps_the_keys_read_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    partner = Partner(tmp_path / "keys.json")
    partner.publish()
    keys = PartnerKeys(partner.keys_file)
    ed25519 = (
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    partner.keys_file.write_text(
        json.dumps({"public_keys": [{"key_identifier": "x", "key": ed25519.decode()}]})
    )
    assert keys.get(partner.key_id) is not None
    assert "not reloaded" in caplog.text
