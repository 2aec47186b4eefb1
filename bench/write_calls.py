"""`python -m bench.write_calls`: the Python function calls one write makes, step by step.

Requests per second move with whatever else the machine runs; the number of Python calls a
write makes does not. This runs the real application in this process (`service.app.create_app`,
production settings, PostgreSQL, its lifespan: pool, tracker, key-change listener), sends it the
page's own documents through httpx's ASGI transport, one at a time, and counts every Python
function call the application makes for each (`sys.setprofile`, the listener's share of the
write included), each charged to the step of a write it was made in (the steps of the py-spy
breakdown, `bench.profile.WRITE_STEPS`). The client's own calls are not counted: only calls
with a frame of the service on their stack; nor are uvicorn's (the transport calls the application
itself). A tool for comparing two versions of the write path, like `python -m bench.instructions`
for the reads; needs PostgreSQL, takes about a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import httpx

from bench import profile
from bench.databases import PostgresDatabase
from bench.documents import page_documents
from bench.options import DEFAULT_ADMIN_URL
from bench.processes import REPO_ROOT, migrate
from bench.seed import ServiceSecrets, session_tokens

KINDS = ("create", "delete", "rename", "rotate", "first visit")
_ROOT = str(REPO_ROOT) + "/"
_WARM_UP = 5


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.write_calls", description=__doc__)
    parser.add_argument("--writes", type=int, default=50, help="writes of each kind (50)")
    parser.add_argument("--postgres-url", default=DEFAULT_ADMIN_URL)
    args = parser.parse_args(argv)
    service_secrets = ServiceSecrets.generate()
    workdir = Path(tempfile.mkdtemp(prefix="apikeys-write-calls-"))
    database = PostgresDatabase(
        args.postgres_url, f"apikeys_calls_{os.getpid()}_{secrets.token_hex(4)}"
    )
    database.create()
    try:
        env = service_secrets.env(database.url, str(workdir / "state"))
        migrate(env)
        import uvloop  # the loop `apikeys serve` runs on

        counts = uvloop.run(_count(env, service_secrets, args.writes))
    finally:
        database.drop()
        shutil.rmtree(workdir, ignore_errors=True)
    print(_table(counts, args.writes))
    return 0


async def _count(
    env: dict[str, str], service_secrets: ServiceSecrets, writes: int
) -> dict[str, Counter[str]]:
    from service.app import create_app
    from service.settings import Settings

    app = create_app(Settings.from_env(env))
    documents = page_documents(
        required=("LIST_KEYS", "CREATE_KEY", "DELETE_KEY", "UPDATE_KEY", "ROTATE_KEY")
    )
    sessions = service_secrets.sessions()
    owner = f"bench-calls-{os.getpid()}"
    token = session_tokens(sessions, [owner])[0]
    visitors = iter(session_tokens(sessions, [f"{owner}-fv-{n}" for n in range(writes + _WARM_UP)]))
    counts: dict[str, Counter[str]] = {kind: Counter() for kind in KINDS}
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://bench.invalid"
        ) as client,
    ):
        await _listening(app)

        async def send(document: str, variables: dict[str, Any], as_token: str = token) -> Any:
            response = await client.post(
                "/graphql",
                json={"query": document, "variables": variables},
                headers={"Authorization": f"Bearer {as_token}", "Accept": "application/json"},
            )
            answer = response.json()
            if response.status_code != 200 or answer.get("errors"):
                raise RuntimeError(f"a write was answered {response.status_code}: {answer}")
            return answer["data"]

        listed = await send(documents["LIST_KEYS"], {})
        default = listed["apiKeys"][0]["id"]
        names = iter(range(10**9))

        async def one_of_each(counting: bool) -> None:
            async def counted(kind: str, write: Callable[[], Awaitable[Any]]) -> Any:
                if not counting:
                    return await write()
                with _Calls(counts[kind]):
                    return await write()

            created = await counted(
                "create",
                lambda: send(
                    documents["CREATE_KEY"],
                    {"input": {"name": f"c{next(names)}", "description": None}},
                ),
            )
            key_id = created["createApiKey"]["id"]
            await counted(
                "rename",
                lambda: send(
                    documents["UPDATE_KEY"], {"input": {"id": key_id, "name": f"r{next(names)}"}}
                ),
            )
            await counted(
                "delete", lambda: send(documents["DELETE_KEY"], {"input": {"id": key_id}})
            )
            await counted(
                "rotate", lambda: send(documents["ROTATE_KEY"], {"input": {"id": default}})
            )
            visitor = next(visitors)
            await counted("first visit", lambda: send(documents["LIST_KEYS"], {}, visitor))

        for _ in range(_WARM_UP):
            await one_of_each(counting=False)
        for _ in range(writes):
            await one_of_each(counting=True)
    return counts


async def _listening(app: Any) -> None:
    """Until the key-change listener holds its lease: the writes then wait for it, as served."""
    deadline = time.monotonic() + 30
    while not app.state.verified_keys.live:
        if time.monotonic() > deadline:
            raise RuntimeError("the key-change listener did not connect")
        await asyncio.sleep(0.05)


class _Calls:
    """Counts the Python calls made while it is entered, by step of a write."""

    def __init__(self, into: Counter[str]) -> None:
        self.into = into

    def __enter__(self) -> None:
        sys.setprofile(self._on_event)

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(None)

    def _on_event(self, frame: FrameType, event: str, arg: object) -> None:
        if event != "call":
            return
        frames = _stack(frame)
        if not any(profile.is_service(name) for name in frames):
            return  # the client's side of the request
        step = profile.write_step(frames)
        self.into[step or f"outside the steps: {profile.library(frames)}"] += 1


def _stack(frame: FrameType | None) -> list[str]:
    """Root first, named as py-spy names frames: `qualified name (path)`."""
    names = []
    while frame is not None:
        code = frame.f_code
        path = code.co_filename.removeprefix(_ROOT).rpartition("site-packages/")[2]
        names.append(f"{code.co_qualname} ({path})")
        frame = frame.f_back
    names.reverse()
    return names


def _table(counts: dict[str, Counter[str]], writes: int) -> str:
    steps = sorted(
        {step for counter in counts.values() for step in counter},
        key=lambda step: -sum(counter[step] for counter in counts.values()),
    )
    width = max(len(step) for step in steps) + 2
    lines = [
        f"Python calls per write, by step ({writes} of each, one at a time, PostgreSQL,"
        " production settings; the listener's share included, the client's not)",
        "",
        f"{'step':<{width}}" + "".join(f"{kind:>13}" for kind in KINDS),
        f"{'all':<{width}}"
        + "".join(f"{sum(counts[kind].values()) / writes:>13,.0f}" for kind in KINDS),
    ]
    for step in steps:
        lines.append(
            f"{step:<{width}}" + "".join(f"{counts[kind][step] / writes:>13,.0f}" for kind in KINDS)
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
