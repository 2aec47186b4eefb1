"""Query root: the caller's keys."""

from __future__ import annotations

import strawberry

from service.api.context import Info
from service.api.types import ApiKey


@strawberry.type
class Query:
    @strawberry.field(
        description="Your keys, default first, then oldest first. Your default key is created"
        " the first time you ask."
    )
    async def api_keys(self, info: Info) -> list[ApiKey]:
        keys = info.context.keys
        return [ApiKey.of(stored, keys) for stored in await keys.list_keys(info.context.owner_id())]

    @strawberry.field(description="One of your keys; null when it does not exist or is not yours.")
    async def api_key(self, info: Info, id: strawberry.ID) -> ApiKey | None:
        keys = info.context.keys
        stored = await keys.get_key(info.context.owner_id(), id)
        return ApiKey.of(stored, keys) if stored else None
