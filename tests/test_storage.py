"""What the database holds: a dump alone yields no usable key."""

from __future__ import annotations

import subprocess
from pathlib import Path

from service.db import engine_of
from service.settings import Settings
from tests.api.documents import CREATE, LIST, ROTATE
from tests.conftest import Api


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
