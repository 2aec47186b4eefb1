"""A task that runs for as long as an `async with` block: started on entry, stopped on exit."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable


@contextlib.asynccontextmanager
async def background(run: Callable[[], Awaitable[None]], name: str) -> AsyncIterator[None]:
    task = asyncio.ensure_future(run())
    task.set_name(name)
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
