"""The service as benchmarked: `service.app.create_app` plus a floor route, in one process.

uvicorn imports `create_bench_app` as a factory. The floor (`GET /bench/floor`) answers a fixed
JSON body shaped and sized like the apiKeys response for five keys: the cost of uvicorn, Starlette
routing, the application's middleware (which wraps every route, this one included) and one JSON
response, and nothing of an endpoint's own. Sharing the process (and the event loop, and the CPU
it is pinned to) is what makes "requests/s relative to the floor" a fair measure of what each
endpoint adds.

`BENCH_TRACKER_OFF=1` makes the last-used tracker's `record()` a no-op, so that verify can be
measured with and without tracking on the same code, without a switch in the service itself.
"""

from __future__ import annotations

import json
import os
from datetime import datetime

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from service.app import create_app
from service.settings import Settings
from service.tracker import UsageTracker

FLOOR_PATH = "/bench/floor"
_FLOOR_NAMES = ("Default", "Key 2", "Key 3", "Key 4", "Key 5")


def floor_body() -> bytes:
    """Five keys' worth of apiKeys response, with the same fields and value lengths."""
    keys = [
        {
            "id": f"00000000-0000-4000-8000-00000000000{i}",
            "name": name,
            "description": "seeded by bench" if i % 2 else None,
            "maskedKey": "blk_****abcd",
            "isDefault": i == 0,
            "createdAt": "2026-11-26T15:53:57.599820+00:00",
            "lastUsedAt": "2026-11-26T15:54:03.120042+00:00",
        }
        for i, name in enumerate(_FLOOR_NAMES)
    ]
    return json.dumps({"data": {"apiKeys": keys}}, separators=(",", ":")).encode()


_FLOOR = floor_body()


async def floor(request: Request) -> Response:
    return Response(_FLOOR, media_type="application/json")


def _record_nothing(self: UsageTracker, key_id: str, at: datetime | None = None) -> None:
    """Stands in for `UsageTracker.record` when tracking is switched off for a comparison."""


def create_bench_app() -> Starlette:
    if os.environ.get("BENCH_TRACKER_OFF") == "1":
        UsageTracker.record = _record_nothing  # type: ignore[method-assign]
    app = create_app(Settings.from_env())
    # In front of the static-files mount at "/", which would otherwise answer the path.
    app.router.routes.insert(0, Route(FLOOR_PATH, floor, methods=["GET"]))
    return app
