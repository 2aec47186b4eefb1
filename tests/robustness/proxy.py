"""A TCP proxy in front of PostgreSQL that a test can break in the ways networks break, without
stopping the real server that other tests share:

- `cut()`: every connection dropped and new ones refused, as a dead database would;
- `silence()`: a silent partition: connections stay open, and nothing more crosses them in
  either direction (new ones are accepted, then hear nothing);
- `silence_after_notification()`: everything passes until the database sends one notification
  (a LISTEN/NOTIFY message) on some connection; that message is delivered, and then that
  connection goes silent, as a middlebox that drops a flow mid-stream would make it.

`restore()` ends the fault: connections still open are dropped (their peers reconnect) and
new ones pass again. The service under test must talk to the proxy without TLS
(`PGSSLMODE=disable`): the proxy reads the server's messages to find notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading

from tests.servers import free_port


class CuttableProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.port = free_port()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._silent = False  # every connection, new ones included
        self._silent_pipes: set[asyncio.StreamWriter] = set()
        self._armed = False  # silence the connection that carries the next notification
        self.cuts = 0

    def __enter__(self) -> CuttableProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *exc: object) -> None:
        self._call(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def cut(self) -> None:
        """Drop every open connection and refuse new ones, as a dead database would."""
        self.cuts += 1
        self._call(self._close_all())

    def silence(self) -> None:
        """A silent partition: nothing crosses any connection any more, and nothing says so."""
        self._silent = True

    def silence_after_notification(self) -> None:
        """Deliver the next notification the database sends, then silence its connection."""
        self._armed = True

    def went_silent(self) -> bool:
        return self._silent or bool(self._silent_pipes)

    def restore(self) -> None:
        self._silent = self._armed = False
        self._call(self._reset())

    def _call(self, coroutine: object) -> None:
        asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)  # type: ignore[arg-type]

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)

    async def _reset(self) -> None:
        await self._close_all()
        self._silent_pipes.clear()
        await self._listen()

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        self._pipes |= {writer, up_writer}
        pair = {writer, up_writer}
        await asyncio.gather(
            self._pump(reader, up_writer, pair, None),
            self._pump(up_reader, writer, pair, _Notifications()),
        )

    async def _pump(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: set[asyncio.StreamWriter],
        notifications: _Notifications | None,
    ) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while data := await reader.read(65536):
                if self._silent or pair & self._silent_pipes:
                    continue  # dropped on the floor, as a partition drops packets
                ends = notifications.ends(data) if notifications is not None else []
                if ends and self._armed:
                    self._armed = False
                    self._silent_pipes |= pair
                    data = data[: ends[0]]
                writer.write(data)
                await writer.drain()
        writer.transport.abort()
        self._pipes.discard(writer)


class _Notifications:
    """Follows a PostgreSQL server's messages (a type byte, then a length that counts itself)
    to find where a NotificationResponse ('A') ends."""

    def __init__(self) -> None:
        self._header = b""
        self._remaining = 0
        self._in_notification = False

    def ends(self, data: bytes) -> list[int]:
        """The offsets in `data` just past the end of each notification that ends in it."""
        ends = []
        at = 0
        while at < len(data):
            if not self._remaining:
                taken = data[at : at + 5 - len(self._header)]
                self._header += taken
                at += len(taken)
                if len(self._header) < 5:
                    break
                kind, length = self._header[:1], int.from_bytes(self._header[1:], "big")
                self._header = b""
                self._remaining = length - 4
                self._in_notification = kind == b"A"
            taken_body = min(self._remaining, len(data) - at)
            self._remaining -= taken_body
            at += taken_body
            if not self._remaining and self._in_notification:
                ends.append(at)
                self._in_notification = False
        return ends
