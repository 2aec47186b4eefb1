"""`python -m bench.serve --host H --port P`: the service as users run it, plus the bench's route.

It runs `apikeys serve` itself (`service.cli.main`), so the service starts exactly as in
production: migrations checked, uvicorn with the service's JSON log config, `access_log=False`,
loop and HTTP parser left to uvicorn's "auto". With one worker uvicorn serves in this process, so
patches applied here before `main()` reach the application:

- `GET /bench/floor` is added to the service's own routes (the floor "on our stack": the bare
  floor's body behind the service's middleware), by wrapping `service.app.app_from_env`;
- `BENCH_TRACKER_OFF=1` makes `UsageTracker.record` a no-op, so verify can be measured with and
  without tracking on the same code, without a switch in the service itself.

It also prints (on stdout, which the bench keeps apart from the JSON log on stderr) which event
loop and HTTP protocol uvicorn picked, read from uvicorn's own config once it is loaded, so the
report can say so rather than assume it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime

from starlette.applications import Starlette
from starlette.routing import Mount, Route
from uvicorn.config import Config

import service.app
from bench.bare import FLOOR_PATH, floor
from service import cli
from service.cases.tracker import UsageTracker
from service.domain.usage import NO_USE, Use

SERVER_LINE = "bench.serve: "


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serve")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    if os.environ.get("BENCH_TRACKER_OFF") == "1":
        UsageTracker.record = _record_nothing  # type: ignore[method-assign]
    service.app.app_from_env = _with_floor(service.app.app_from_env)
    Config.load = _printing_choices(Config.load)  # type: ignore[method-assign,assignment]
    return cli.main(["serve", "--host", args.host, "--port", str(args.port)])


def _with_floor(original: Callable[[], Starlette]) -> Callable[[], Starlette]:
    def app_from_env() -> Starlette:
        app = original()
        routes = app.router.routes
        # After the service's own routes (matching them costs no extra step), before the static
        # files mounted at "/" (which would otherwise answer the path).
        mount = next((i for i, route in enumerate(routes) if isinstance(route, Mount)), len(routes))
        routes.insert(mount, Route(FLOOR_PATH, floor, methods=["GET"]))
        return app

    return app_from_env


def _printing_choices(load: Callable[[Config], None]) -> Callable[[Config], None]:
    def load_and_print(config: Config) -> None:
        load(config)
        # uvicorn loads its config inside the loop it serves with.
        loop = type(asyncio.get_running_loop())
        protocol = config.http_protocol_class
        print(
            f"{SERVER_LINE}loop {loop.__module__}.{loop.__qualname__},"
            f" http {protocol.__module__}.{protocol.__qualname__}",
            flush=True,
        )

    return load_and_print


def _record_nothing(
    self: UsageTracker, key_id: str, at: datetime | None = None, use: Use = NO_USE
) -> None:
    """Stands in for `UsageTracker.record` when tracking is switched off for a comparison."""


if __name__ == "__main__":
    sys.exit(main())
