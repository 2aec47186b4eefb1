"""Query root: the caller's keys, run commands, and audit trail."""

from __future__ import annotations

import base64
import binascii
import re

import strawberry

from service.domain.errors import ApiKeyError, NotFound, ValidationFailed
from service.domain.limits import MAX_EVENTS_PAGE
from service.domain.run_commands import RunMethod as RunMethodValue
from service.domain.run_commands import clean_workflow_id
from service.graphql.context import Info
from service.graphql.errors import QueryRefused
from service.graphql.types import (
    ApiKey,
    ApiKeyEvent,
    ApiKeyEventConnection,
    ApiKeyEventEdge,
    PageInfo,
    RunCommand,
    RunMethod,
)

_CURSOR_PREFIX = "event:"
_CURSOR = re.compile(r"event:([0-9]{1,19})")  # ASCII digits only; ids are 64-bit
_MAX_EVENT_ID = 2**63 - 1


@strawberry.type
class Query:
    @strawberry.field(
        description="Your keys, default first, then oldest first. Your default key is created"
        " the first time you ask. With `usableFor`, only the keys that can run that workflow"
        " now: not revoked, not expired, the workflow in their scope (the workflow editor's"
        " dropdown)."
    )
    async def api_keys(self, info: Info, usable_for: strawberry.ID | None = None) -> list[ApiKey]:
        keys = info.context.keys
        actor = info.context.actor()
        if usable_for is None:
            return [ApiKey.of(stored, keys) for stored in await keys.list_keys(actor)]
        try:
            usable = await keys.usable_keys(actor, usable_for)
        except ValidationFailed as refused:
            raise QueryRefused(ValidationFailed("usableFor", refused.message)) from None
        return [ApiKey.of(stored, keys) for stored in usable]

    @strawberry.field(description="One of your keys; null when it does not exist or is not yours.")
    async def api_key(self, info: Info, id: strawberry.ID) -> ApiKey | None:
        keys = info.context.keys
        stored = await keys.get_key(info.context.actor(), id)
        return ApiKey.of(stored, keys) if stored else None

    @strawberry.field(
        description="The command that runs a workflow with one of your keys (the default key"
        " when `apiKeyId` is omitted). Errors: NOT_FOUND for a key that is not yours,"
        " KEY_REVOKED for a key found in public, KEY_EXPIRED for a key past its expiry,"
        " WORKFLOW_NOT_ALLOWED for a key restricted to other workflows, VALIDATION_FAILED for an"
        " unusable workflow id."
    )
    async def workflow_run_command(
        self,
        info: Info,
        workflow_id: strawberry.ID,
        method: RunMethod,  # type: ignore[valid-type]
        api_key_id: strawberry.ID | None = None,
    ) -> RunCommand:
        actor = info.context.actor()
        keys = info.context.keys
        try:
            workflow = clean_workflow_id(workflow_id)
            if api_key_id is None:
                stored = (await keys.list_keys(actor))[0]  # the default comes first
            elif (found := await keys.get_key(actor, api_key_id)) is not None:
                stored = found
            else:
                raise NotFound()
            keys.check_usable(stored, workflow)
        except ApiKeyError as exc:
            raise QueryRefused(exc) from None
        return RunCommand(
            api_key=ApiKey.of(stored, keys), method=RunMethodValue(method), workflow_id=workflow
        )

    @strawberry.field(description="Your audit trail, newest first.")
    async def api_key_events(
        self, info: Info, first: int = 20, after: str | None = None
    ) -> ApiKeyEventConnection:
        actor = info.context.actor()
        try:
            if not 1 <= first <= MAX_EVENTS_PAGE:
                raise ValidationFailed("first", f"first must be between 1 and {MAX_EVENTS_PAGE}.")
            before_id = None if after is None else _decode_cursor(after)
        except ApiKeyError as exc:
            raise QueryRefused(exc) from None
        events = await info.context.keys.events(actor, limit=first + 1, before_id=before_id)
        edges = [
            ApiKeyEventEdge(cursor=_encode_cursor(e.id), node=ApiKeyEvent.of(e))
            for e in events[:first]
        ]
        return ApiKeyEventConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=len(events) > first,
                end_cursor=edges[-1].cursor if edges else None,
            ),
        )


def _encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{event_id}".encode()).decode()


def _decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor.encode()).decode()
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    found = _CURSOR.fullmatch(text)
    if found is None or int(found[1]) > _MAX_EVENT_ID:
        raise ValidationFailed("after", "This cursor does not come from this list.")
    return int(found[1])
