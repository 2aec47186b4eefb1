"""`python -m bench.listener_host --dsn URL --count K`: K of the service's own key-change
listeners in one process, standing in for K other processes of the service (bench/listeners.py).

Each is a `service.storage.listener.KeyChangeListener` with caches of its own, on a connection
of its own named `apikeys-key-cache` as in production: it hears every change and every list
notification, forgets, and acknowledges on the acknowledgement channel, exactly as a serving
process does (it serves no HTTP, and makes no change of its own). One asyncio loop (uvloop, as
`apikeys serve` runs) carries them all, so the process also measures how late its loop runs: a
listener that acknowledges late because its process is short of CPU measures this simulation,
not PostgreSQL, and the lag says when that happens.

With `--deaf`, each is instead a bare connection listening on the same two channels, under
another name (`DEAF_NAME`), that forgets what it hears in caches of its own and acknowledges
nothing: no writer counts or waits for it. What PostgreSQL and the helpers spend then is the
floor of any acknowledgement protocol, the cost of delivering every change to N sessions.

Prints `ready` once every listener is connected; then, on stdin: `report` (one JSON line: the
loop's lag percentiles since the last report, CPU seconds so far), `quit`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections.abc import AsyncIterator, Sequence

import asyncpg

from service.storage.caches import KeyLists, Lease, VerifiedKeys
from service.storage.listener import KeyChangeListener
from service.storage.notifications import (
    KEY_CHANGES_CHANNEL,
    KEY_LISTS_CHANNEL,
    parse_change,
    parse_lists,
)

CACHE_SECONDS = 60.0  # the service's default APIKEYS_VERIFY_CACHE_SECONDS
_TICK = 0.01  # the lag probe's sleep
DEAF_NAME = "apikeys-bench-deaf"  # a deaf listener's session: no writer waits for it


def listener(dsn: str) -> KeyChangeListener:
    lease = Lease()
    return KeyChangeListener(
        dsn, VerifiedKeys(CACHE_SECONDS, lease), KeyLists(CACHE_SECONDS, lease), "postgres"
    )


class DeafListener:
    """Hears and forgets like a listener, acknowledges nothing, and is not counted by writers."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        lease = Lease()
        lease.renew(float("inf"), 0.0)
        self._keys = VerifiedKeys(CACHE_SECONDS, lease)
        self._lists = KeyLists(CACHE_SECONDS, lease)
        self.connected = asyncio.Event()

    @contextlib.asynccontextmanager
    async def running(self) -> AsyncIterator[DeafListener]:
        connection = await asyncpg.connect(
            self._dsn, server_settings={"application_name": DEAF_NAME}
        )
        try:
            await connection.add_listener(KEY_CHANGES_CHANNEL, self._on_change)
            await connection.add_listener(KEY_LISTS_CHANNEL, self._on_lists)
            self.connected.set()
            yield self
        finally:
            await connection.close()

    def _on_change(self, connection: object, pid: int, channel: str, payload: str) -> None:
        self._keys.invalidate(parse_change(payload)[1])

    def _on_lists(self, connection: object, pid: int, channel: str, payload: str) -> None:
        owners = parse_lists(payload)
        if owners is None:
            self._lists.clear()
        else:
            self._lists.invalidate(owners)


async def host(dsn: str, count: int, deaf: bool = False) -> None:
    listeners: list[KeyChangeListener] | list[DeafListener]
    if deaf:
        listeners = [DeafListener(dsn) for _ in range(count)]
    else:
        listeners = [listener(dsn) for _ in range(count)]
    lags: list[float] = []

    async def probe() -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(_TICK)
            lags.append(time.perf_counter() - started - _TICK)

    async with contextlib.AsyncExitStack() as stack:
        for each in listeners:
            await stack.enter_async_context(each.running())
        await asyncio.gather(*(each.connected.wait() for each in listeners))
        print("ready", flush=True)
        probing = asyncio.ensure_future(probe())
        loop = asyncio.get_running_loop()
        try:
            while True:
                line = (await loop.run_in_executor(None, sys.stdin.readline)).strip()
                if line in ("", "quit"):
                    return
                if line == "report":
                    taken, lags[:] = sorted(lags), []
                    print(json.dumps(_report(taken)), flush=True)
        finally:
            probing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await probing


def _report(lags: list[float]) -> dict[str, float]:
    def at(share: float) -> float:
        return 1000 * lags[min(len(lags) - 1, int(len(lags) * share))] if lags else 0.0

    return {
        "lag_p50_ms": at(0.5),
        "lag_p99_ms": at(0.99),
        "lag_max_ms": 1000 * lags[-1] if lags else 0.0,
        "cpu_seconds": time.process_time(),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.listener_host")
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--deaf", action="store_true", help="listeners that acknowledge nothing")
    args = parser.parse_args(argv)
    import uvloop

    uvloop.run(host(args.dsn, args.count, args.deaf))
    return 0


if __name__ == "__main__":
    sys.exit(main())
