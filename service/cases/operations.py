"""What the operations endpoints ask of the store: whether it is ready for traffic, and how many
keys it holds."""

from __future__ import annotations

from service.storage.engines import Engine
from service.storage.migrations import pending_migrations
from service.storage.repository import KeyRepository


class Operations:
    def __init__(self, engine: Engine, repository: KeyRepository) -> None:
        self._engine = engine
        self._repo = repository

    async def pending_migrations(self) -> list[str]:
        """The migrations the database lacks; raises `Unavailable` when it cannot be reached."""
        return await pending_migrations(self._engine)

    async def keys_stored(self) -> int:
        return await self._repo.count_keys()
