"""On PostgreSQL a process remembers users' key lists, and never shows one that changed.

The other process is a real `apikeys serve`; this test's own app is the one that changes keys.
A change is answered only once every process has forgotten the lists it touched, so the very
next list, wherever it is asked for, shows it. A flush of "last used" times is announced the
same way, without the wait: the other process shows it within moments.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette

from service.storage.notifications import KEY_CHANGES_CHANNEL, KEY_LISTS_CHANNEL, LISTENER_NAME
from tests.api.documents import CREATE, DELETE, UPDATE
from tests.api.test_verify import POSTGRES_ONLY, rotate, verify, wait_for_cache
from tests.helpers import Api, Database, StatementLog
from tests.servers import Server

LIST = "{ apiKeys { id name maskedKey lastUsedAt } }"


@POSTGRES_ONLY
async def test_a_list_asked_for_again_costs_no_query(
    app: Starlette, api: Api, sql: StatementLog
) -> None:
    await wait_for_cache(app)
    await api.data(LIST)  # a first visit: the default key is made, and the list changes
    first = await api.data(LIST)
    sql.clear()
    for _ in range(3):
        assert await api.data(LIST) == first
    assert sql.matching(r"(?i)^\s*SELECT") == []


@pytest.fixture
def other_process(database: Database, tmp_path: Path) -> Iterator[Server]:
    server = Server(database.url, tmp_path).wait_ready()
    try:
        yield server
    finally:
        server.stop()


async def listeners(database: Database) -> int:
    connection = await asyncpg.connect(database.url)
    try:
        return int(
            await connection.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1"
                " AND datname = current_database()",
                LISTENER_NAME,
            )
        )
    finally:
        await connection.close()


async def listed_there(server: Server, api: Api) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=server.url) as client:
        response = await client.post(
            "/graphql",
            json={"query": LIST},
            headers={"Authorization": f"Bearer {api.token('alice')}"},
        )
    keys: list[dict[str, Any]] = response.json()["data"]["apiKeys"]
    return keys


@POSTGRES_ONLY
async def test_every_change_shows_at_once_in_the_other_process(
    app: Starlette, api: Api, database: Database, other_process: Server
) -> None:
    await wait_for_cache(app)
    for _ in range(100):  # both processes listening: changes wait for both to acknowledge
        if await listeners(database) == 2:
            break
        await asyncio.sleep(0.05)
    default = (await api.data(LIST))["apiKeys"][0]
    assert [k["id"] for k in await listed_there(other_process, api)] == [default["id"]]

    created = (await api.data(CREATE, name="CI"))["createApiKey"]
    assert [k["name"] for k in await listed_there(other_process, api)] == ["Default", "CI"]

    await api.data(UPDATE, input={"id": created["id"], "name": "CI (prod)"})
    assert [k["name"] for k in await listed_there(other_process, api)] == ["Default", "CI (prod)"]

    rotated = await rotate(api, default["id"])
    there = await listed_there(other_process, api)
    assert there[0]["maskedKey"] == rotated["maskedKey"] != default["maskedKey"]

    await api.data(DELETE, id=created["id"])
    assert [k["name"] for k in await listed_there(other_process, api)] == ["Default"]

    # "Last used", written by this process's tracker, reaches the other process's list.
    assert (await verify(api, rotated["key"])).json()["valid"] is True
    await app.state.tracker.flush()
    for _ in range(100):
        if (await listed_there(other_process, api))[0]["lastUsedAt"] is not None:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the other process never showed the flushed last use")


@POSTGRES_ONLY
async def test_a_change_is_announced_in_the_format_every_process_reads(
    app: Starlette, api: Api, database: Database
) -> None:
    """`<token>:<key id>` on the change channel (as processes of earlier releases read it: the
    token is opaque to them, and names its writer to this release), the owner's list on a
    channel of its own, before it."""
    await wait_for_cache(app)
    await api.data(LIST)  # the default key exists before anything is heard
    heard: list[tuple[str, str]] = []
    connection = await asyncpg.connect(database.url)
    try:
        for channel in (KEY_CHANGES_CHANNEL, KEY_LISTS_CHANNEL):
            await connection.add_listener(
                channel, lambda _c, _p, channel, payload: heard.append((channel, payload))
            )
        created = (await api.data(CREATE, name="announced"))["createApiKey"]
        await api.data(DELETE, id=created["id"])
        for _ in range(50):
            if len(heard) >= 4:
                break
            await asyncio.sleep(0.02)
    finally:
        await connection.close()
    change = re.compile(r"[0-9a-f]{16}\.[0-9a-f]{16}:" + re.escape(created["id"]))
    for n in (0, 2):  # the creation's pair, then the deletion's
        assert heard[n] == (KEY_LISTS_CHANNEL, '["alice"]'), heard
        assert heard[n + 1][0] == KEY_CHANGES_CHANNEL and change.fullmatch(heard[n + 1][1])
