"""What the database holds: a dump alone yields no usable key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import subprocess
from pathlib import Path

import asyncpg
import pytest
from starlette.applications import Starlette
from tortoise import connections

from service.settings import Settings
from service.storage.engines import engine_of
from tests.api.documents import CREATE, LIST, ROTATE
from tests.helpers import Api


def dump(settings: Settings) -> bytes:
    """Everything the database stores, as an attacker with a backup would see it."""
    url = settings.database_url
    if engine_of(url) == "sqlite":
        path = Path(url.removeprefix("sqlite://"))
        return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    result = subprocess.run(
        ["pg_dump", "--data-only", url.replace("postgres://", "postgresql://", 1)],
        capture_output=True,
        check=True,
        timeout=60,
    )
    return result.stdout


async def test_a_database_dump_contains_no_key(api: Api, settings: Settings) -> None:
    issued = [k["key"] for k in (await api.data(LIST))["apiKeys"]]
    for n in range(3):
        issued.append((await api.data(CREATE, name=f"k{n}"))["createApiKey"]["key"])
    default_id = (await api.data(LIST))["apiKeys"][0]["id"]
    issued.append((await api.data(ROTATE, id=default_id))["rotateApiKey"]["key"])

    data = dump(settings)
    assert b"k0" in data and b"alice" in data, "the dump should hold the rows"
    for key in issued:
        random_part = key[4:36].encode()
        assert random_part not in data
        assert random_part.hex().encode() not in data  # PostgreSQL dumps bytea as hex
        assert key[4:20].encode() not in data


POSTGRES_ONLY = pytest.mark.parametrize("database", ["postgres"], indirect=True)


@POSTGRES_ONLY
async def test_pooled_connections_go_back_to_the_pool_without_a_reset_query(
    app: Starlette, settings: Settings
) -> None:
    """asyncpg's default reset query would be a second round trip for every query."""
    marker = f"pool-probe-{secrets.token_hex(4)}"
    await connections.get("postgres").execute_query(f"SELECT '{marker}' AS probe")
    inspector = await asyncpg.connect(settings.database_url)
    try:
        last_queries = await inspector.fetch(
            "SELECT query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await inspector.close()
    assert any(marker in row["query"] for row in last_queries)


@POSTGRES_ONLY
async def test_a_transaction_left_open_is_still_rolled_back_on_release(
    app: Starlette, caplog: pytest.LogCaptureFixture
) -> None:
    client = connections.get("postgres")
    async with client.acquire_connection() as connection:
        await connection.execute("BEGIN")
        await connection.execute("INSERT INTO owners (id, created_at) VALUES ('left-open', now())")
    _, rows = await client.execute_query("SELECT id FROM owners WHERE id = 'left-open'")
    assert rows == []


async def test_a_stored_key_is_its_hmac_under_the_pepper_and_a_ciphertext(
    api: Api, settings: Settings
) -> None:
    created = (await api.data(CREATE, name="stored"))["createApiKey"]
    engine = engine_of(settings.database_url)
    mark = "$1" if engine == "postgres" else "?"
    _, rows = await connections.get(engine).execute_query(
        'SELECT "key_hash", "key_ciphertext", "key_last_four" FROM "api_keys"'
        f' WHERE "name" = {mark}',
        ["stored"],
    )
    (row,) = rows
    key = created["key"]
    pepper = settings.pepper.reveal()
    assert row["key_hash"] == hmac.new(pepper, key.encode(), hashlib.sha256).hexdigest()
    assert row["key_last_four"] == key[-4:]
    ciphertext = bytes(row["key_ciphertext"])
    assert key.encode() not in ciphertext and key[4:36].encode() not in ciphertext
    vault = settings.key_vault()
    assert vault.reveal(ciphertext, owner_id="alice", key_id=created["id"]) == key
