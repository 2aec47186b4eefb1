"""GraphQL input types. Shape only: what a name or description may be is
`service.domain.validation`."""

from __future__ import annotations

from datetime import datetime

import strawberry


@strawberry.input
class CreateApiKeyInput:
    name: str
    description: str | None = None
    expires_at: datetime | None = strawberry.field(
        default=None,
        description="When the key stops working: in the future, at most 366 days ahead."
        " Omitted or null: never.",
    )


@strawberry.input(description="Omitted fields stay unchanged; `description: null` clears it.")
class UpdateApiKeyInput:
    id: strawberry.ID
    name: strawberry.Maybe[str | None]  # null is answered with a ValidationError
    description: strawberry.Maybe[str | None]


@strawberry.input
class RotateApiKeyInput:
    id: strawberry.ID
    expire_old_key_in_seconds: int = strawberry.field(
        default=0,
        description="How long the old secret keeps working: 0 (at once) to 604800 (7 days).",
    )


@strawberry.input
class DeleteApiKeyInput:
    id: strawberry.ID


@strawberry.input
class DismissLeakInput:
    id: strawberry.ID
