"""GraphQL output types: the key, its usage, run commands, the audit trail, and the typed errors
every mutation can answer with."""

from __future__ import annotations

import datetime as dt
from datetime import datetime

import strawberry

from service.cases.keys import KeyService
from service.domain.audit import Event, EventKind, RevealedIn
from service.domain.errors import ApiKeyError
from service.domain.records import StoredKey
from service.domain.run_commands import RunMethod as RunMethodValue
from service.graphql.context import Info
from service.graphql.errors import QueryRefused


@strawberry.type(description="A key's uses on one UTC day.")
class ApiKeyUsageDay:
    date: dt.date
    uses: int


@strawberry.type(description="A workflow that used a key: how often, and when last.")
class ApiKeyWorkflowUse:
    workflow_id: strawberry.ID
    uses: int
    last_used_at: dt.datetime


@strawberry.type(description="Where a key's latest use came from.")
class ApiKeyUseOrigin:
    client_address: str | None
    user_agent: str | None


@strawberry.type(description="Where a secret-scanning partner found a key in public.")
class ApiKeyLeak:
    url: str | None = strawberry.field(description="Where it was found, when the report says.")
    source: str | None = strawberry.field(
        description="What kind of place it was found in (e.g. content, commit), as reported."
    )
    reported_at: datetime
    dismissed_at: datetime | None = strawberry.field(
        description="When you dismissed the warning of this report (`dismissLeak`); null until"
        " then. A new report starts undismissed."
    )


@strawberry.type(description="A personal API key.")
class ApiKey:
    id: strawberry.ID
    name: str
    description: str | None
    masked_key: str = strawberry.field(
        description="The key's prefix and last four characters, safe to display."
    )
    is_default: bool
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None = strawberry.field(description="Null when never used.")
    rotated_at: datetime | None = strawberry.field(description="Null when never rotated.")
    expires_at: datetime | None = strawberry.field(
        description="When the key stops working; null for a key that never expires (the"
        " default key never does)."
    )
    last_used_from: ApiKeyUseOrigin | None = strawberry.field(
        description="Where the latest use came from; null when the key was never used."
    )
    revoked_at: datetime | None = strawberry.field(
        description="When the key was revoked, having been found in public; null while it works."
        " A revoked key can be renamed or deleted, never used again."
    )
    leak: ApiKeyLeak | None = strawberry.field(
        description="The report of this key found in public: set on a revoked key, and on the"
        " default key (which got a new secret at once) until its next rotation."
    )
    workflow_ids: list[strawberry.ID] | None = strawberry.field(
        description="The workflows this key may run; null: every workflow of its owner. A key"
        " restricted to workflows cannot be used with this API."
    )
    allowed_addresses: list[str] | None = strawberry.field(
        description="The networks this key may be used from, as `ipaddress` prints them (an"
        " address as a /32 or /128); null: anywhere."
    )
    stored: strawberry.Private[StoredKey]

    @strawberry.field(
        description="The full secret. Only its owner, signed in with a session token, can read"
        " it; every read is recorded in the audit trail."
    )
    async def key(self, info: Info) -> str:
        actor = info.context.session_actor()
        return await info.context.keys.reveal(actor, self.stored, RevealedIn.API_KEY)

    @strawberry.field(
        description="Uses per UTC day over the last `days` (1 to 90), oldest first, today"
        " included, days without use too."
    )
    async def usage(self, info: Info, days: int = 30) -> list[ApiKeyUsageDay]:
        try:
            found = await info.context.usage(self.stored.id, days)
        except ApiKeyError as exc:
            raise QueryRefused(exc) from None
        return [ApiKeyUsageDay(date=day, uses=uses) for day, uses in found]

    @strawberry.field(
        description="The workflows that used the key in the last `days` (1 to 90), most"
        " recently used first, at most 50."
    )
    async def used_by(self, info: Info, days: int = 30) -> list[ApiKeyWorkflowUse]:
        try:
            found = await info.context.used_by(self.stored.id, days)
        except ApiKeyError as exc:
            raise QueryRefused(exc) from None
        return [
            ApiKeyWorkflowUse(
                workflow_id=strawberry.ID(use.workflow_id),
                uses=use.uses,
                last_used_at=use.last_used_at,
            )
            for use in found
        ]

    @strawberry.field(
        description="The narrowest workflow scope that would have served the key's use: the"
        " workflows that used it in the last `days` (1 to 90), most recently used first, at"
        " most 50."
    )
    async def suggested_workflow_ids(self, info: Info, days: int = 30) -> list[strawberry.ID]:
        try:
            found = await info.context.used_by(self.stored.id, days)
        except ApiKeyError as exc:
            raise QueryRefused(exc) from None
        return [strawberry.ID(use.workflow_id) for use in found]

    @classmethod
    def of(cls, stored: StoredKey, keys: KeyService) -> ApiKey:
        return cls(
            id=strawberry.ID(stored.id),
            name=stored.name,
            description=stored.description,
            masked_key=keys.masked(stored),
            is_default=stored.is_default,
            created_at=stored.created_at,
            updated_at=stored.updated_at,
            last_used_at=stored.last_used_at,
            rotated_at=stored.rotated_at,
            expires_at=stored.expires_at,
            last_used_from=(
                ApiKeyUseOrigin(
                    client_address=stored.last_used_from.client_address,
                    user_agent=stored.last_used_from.user_agent,
                )
                if stored.last_used_from
                else None
            ),
            revoked_at=stored.revoked_at,
            leak=(
                ApiKeyLeak(
                    url=stored.leak.url,
                    source=stored.leak.source,
                    reported_at=stored.leak.reported_at,
                    dismissed_at=stored.leak.dismissed_at,
                )
                if stored.leak
                else None
            ),
            workflow_ids=_ids(stored.workflow_ids),
            allowed_addresses=list(stored.allowed_addresses)
            if stored.allowed_addresses is not None
            else None,
            stored=stored,
        )


def _ids(values: tuple[str, ...] | None) -> list[strawberry.ID] | None:
    return None if values is None else [strawberry.ID(value) for value in values]


@strawberry.type
class DeletedApiKey:
    id: strawberry.ID


RunMethod = strawberry.enum(RunMethodValue, name="RunMethod", description="How a workflow is run.")


@strawberry.type(description="A workflow's run command with one of your keys in it.")
class RunCommand:
    api_key: ApiKey
    method: strawberry.Private[RunMethodValue]
    workflow_id: strawberry.Private[str]

    @strawberry.field(
        description="The command with the full key, ready to paste. Recorded as a reveal."
    )
    async def command(self, info: Info) -> str:
        actor = info.context.session_actor()
        secret = await info.context.keys.reveal(actor, self.api_key.stored, RevealedIn.RUN_COMMAND)
        return info.context.run_commands.render(self.method, self.workflow_id, secret)

    @strawberry.field(description="The same command with the masked key, for display.")
    def masked_command(self, info: Info) -> str:
        return info.context.run_commands.render(
            self.method, self.workflow_id, self.api_key.masked_key
        )


ApiKeyEventKind = strawberry.enum(EventKind, name="ApiKeyEventKind")
ApiKeyRevealedIn = strawberry.enum(RevealedIn, name="ApiKeyRevealedIn")


@strawberry.type(description="One change to, or reveal of, one of your keys.")
class ApiKeyEvent:
    id: strawberry.ID
    kind: ApiKeyEventKind  # type: ignore[valid-type]
    key_id: strawberry.ID = strawberry.field(description="The key; it may since have been deleted.")
    key_name: str = strawberry.field(description="The key's name at the time.")
    changed_fields: list[str] = strawberry.field(description="UPDATED: which fields changed.")
    expire_old_key_in_seconds: int | None = strawberry.field(
        description="ROTATED: the grace period the old secret was given."
    )
    revealed_in: ApiKeyRevealedIn | None = strawberry.field(  # type: ignore[valid-type]
        description="REVEALED: where the full key was shown."
    )
    client_address: str | None
    user_agent: str | None
    occurred_at: datetime
    leak_url: str | None = strawberry.field(description="LEAKED: where the key was found.")
    leak_source: str | None = strawberry.field(
        description="LEAKED: what kind of place it was found in."
    )
    key_expires_at: datetime | None = strawberry.field(
        description="CREATED: when the key expires (null: never)."
    )
    workflow_ids: list[strawberry.ID] | None = strawberry.field(
        description="CREATED, and UPDATED when `changedFields` names `workflowIds`: the workflows"
        " the key may run from then on (null: every workflow)."
    )
    allowed_addresses: list[str] | None = strawberry.field(
        description="CREATED, and UPDATED when `changedFields` names `allowedAddresses`: the"
        " networks the key may be used from from then on (null: anywhere)."
    )

    @classmethod
    def of(cls, event: Event) -> ApiKeyEvent:
        return cls(
            id=strawberry.ID(str(event.id)),
            kind=event.kind,
            key_id=strawberry.ID(event.key_id),
            key_name=event.key_name,
            changed_fields=list(event.changed_fields),
            expire_old_key_in_seconds=event.grace_seconds,
            revealed_in=event.revealed_in,
            client_address=event.client_address,
            user_agent=event.user_agent,
            occurred_at=event.occurred_at,
            leak_url=event.leak_url,
            leak_source=event.leak_source,
            key_expires_at=event.key_expires_at,
            workflow_ids=_ids(event.workflow_ids),
            allowed_addresses=list(event.allowed_addresses)
            if event.allowed_addresses is not None
            else None,
        )


@strawberry.type
class ApiKeyEventEdge:
    cursor: str
    node: ApiKeyEvent


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class ApiKeyEventConnection:
    edges: list[ApiKeyEventEdge]
    page_info: PageInfo
