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
    workflow_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="The workflows the key may run: 1 to 50 workflow ids. Omitted or null:"
        " every workflow.",
    )
    allowed_addresses: list[str] | None = strawberry.field(
        default=None,
        description="The networks the key may be used from: 1 to 20 IPv4 or IPv6 addresses or"
        " networks (203.0.113.7, 198.51.100.0/24, 2001:db8::/32). Omitted or null: anywhere.",
    )


@strawberry.input(
    description="Omitted fields stay unchanged; `description: null` clears it, and"
    " `workflowIds: null` or `allowedAddresses: null` lifts that restriction."
)
class UpdateApiKeyInput:
    id: strawberry.ID
    name: strawberry.Maybe[str | None]  # null is answered with a ValidationError
    description: strawberry.Maybe[str | None]
    workflow_ids: strawberry.Maybe[list[strawberry.ID] | None]
    allowed_addresses: strawberry.Maybe[list[str] | None]


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
