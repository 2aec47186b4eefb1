"""The floor: a bare Starlette app, run by uvicorn in a process of its own.

One route answers a fixed JSON body shaped and sized like the settings page's apiKeys answer for
five keys. Nothing here may import `service`: the floor is what uvicorn and Starlette cost on
their own, so that "requests/s relative to the floor" says what the whole service adds, its
middleware, logging and metrics included. The benchmark serves it with the service's uvicorn
settings (uvloop, httptools, one worker, no access log), pinned to the service's CPU.
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

# The same path on the bare app and (behind the service's middleware) on the service, so that one
# wrk script measures both floors.
FLOOR_PATH = "/bench/floor"
_FLOOR_NAMES = ("Default", "Key 2", "Key 3", "Key 4", "Key 5")


def floor_body() -> bytes:
    """Five keys' worth of the page's apiKeys answer, with its fields and value lengths (keys
    that were never rotated: `rotatedAt` is null)."""
    keys = [
        {
            "id": f"00000000-0000-4000-8000-00000000000{i}",
            "name": name,
            "description": "seeded by bench" if i % 2 else None,
            "maskedKey": "blk_****abcd",
            "isDefault": i == 0,
            "createdAt": "2026-11-26T15:53:57.599820+00:00",
            "updatedAt": "2026-11-26T15:53:57.599820+00:00",
            "lastUsedAt": "2026-11-26T15:54:03.120042+00:00",
            "rotatedAt": None,
        }
        for i, name in enumerate(_FLOOR_NAMES)
    ]
    return json.dumps({"data": {"apiKeys": keys}}, separators=(",", ":")).encode()


_FLOOR = floor_body()


async def floor(request: Request) -> Response:
    return Response(_FLOOR, media_type="application/json")


app = Starlette(routes=[Route(FLOOR_PATH, floor, methods=["GET"])])
