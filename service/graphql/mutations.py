"""Mutation root. Each mutation answers with its success type or a typed `UserError`; each is a
function of the request's context and its input, which the resolver and the prepared path
(`service.graphql.prepared`) both run."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from service.cases.keys import UNCHANGED
from service.domain.errors import ApiKeyError, ValidationFailed
from service.graphql.context import Context, Info
from service.graphql.errors import (
    DefaultKeyUndeletableError,
    KeyLimitReachedError,
    NameTakenError,
    NotDefaultKeyError,
    NotFoundError,
    ValidationError,
    user_error,
)
from service.graphql.inputs import (
    CreateApiKeyInput,
    DeleteApiKeyInput,
    DismissLeakInput,
    RotateApiKeyInput,
    UpdateApiKeyInput,
)
from service.graphql.types import ApiKey, DeletedApiKey

CreateApiKeyResult = Annotated[
    ApiKey | ValidationError | NameTakenError | KeyLimitReachedError,
    strawberry.union("CreateApiKeyResult"),
]
UpdateApiKeyResult = Annotated[
    ApiKey | ValidationError | NameTakenError | NotFoundError,
    strawberry.union("UpdateApiKeyResult"),
]
RotateApiKeyResult = Annotated[
    ApiKey | ValidationError | NotFoundError | NotDefaultKeyError,
    strawberry.union("RotateApiKeyResult"),
]
DismissLeakResult = Annotated[
    ApiKey | NotFoundError,
    strawberry.union("DismissLeakResult"),
]
DeleteApiKeyResult = Annotated[
    DeletedApiKey | NotFoundError | DefaultKeyUndeletableError,
    strawberry.union("DeleteApiKeyResult"),
]


async def _create(context: Context, input: CreateApiKeyInput) -> CreateApiKeyResult:
    keys = context.keys
    try:
        stored = await keys.create_key(
            context.session_actor(),
            input.name,
            input.description,
            input.expires_at,
            workflow_ids=input.workflow_ids,
            allowed_addresses=input.allowed_addresses,
        )
    except ApiKeyError as exc:
        return user_error(exc)  # type: ignore[return-value]
    return ApiKey.of(stored, keys)


async def _update(context: Context, input: UpdateApiKeyInput) -> UpdateApiKeyResult:
    keys = context.keys
    actor = context.session_actor()
    try:
        name = UNCHANGED if input.name is None else input.name.value
        if name is None:
            raise ValidationFailed("name", "Name cannot be null; omit it to keep the name.")
        stored = await keys.update_key(
            actor,
            input.id,
            name=name,
            description=UNCHANGED if input.description is None else input.description.value,
            workflow_ids=UNCHANGED if input.workflow_ids is None else input.workflow_ids.value,
            allowed_addresses=(
                UNCHANGED if input.allowed_addresses is None else input.allowed_addresses.value
            ),
        )
    except ApiKeyError as exc:
        return user_error(exc)  # type: ignore[return-value]
    return ApiKey.of(stored, keys)


async def _rotate(context: Context, input: RotateApiKeyInput) -> RotateApiKeyResult:
    keys = context.keys
    try:
        stored = await keys.rotate_key(
            context.session_actor(),
            input.id,
            expire_old_after_seconds=input.expire_old_key_in_seconds,
        )
    except ApiKeyError as exc:
        return user_error(exc)  # type: ignore[return-value]
    return ApiKey.of(stored, keys)


async def _delete(context: Context, input: DeleteApiKeyInput) -> DeleteApiKeyResult:
    try:
        deleted = await context.keys.delete_key(context.session_actor(), input.id)
    except ApiKeyError as exc:
        return user_error(exc)  # type: ignore[return-value]
    return DeletedApiKey(id=strawberry.ID(deleted))


async def _dismiss_leak(context: Context, input: DismissLeakInput) -> DismissLeakResult:
    keys = context.keys
    try:
        stored = await keys.dismiss_leak(context.session_actor(), input.id)
    except ApiKeyError as exc:
        return user_error(exc)  # type: ignore[return-value]
    return ApiKey.of(stored, keys)


# Each mutation by its field's name, for the prepared path (`service.graphql.prepared`), which
# runs the same function the resolver below runs.
MUTATIONS: dict[str, Callable[[Context, Any], Awaitable[Any]]] = {
    "createApiKey": _create,
    "updateApiKey": _update,
    "rotateApiKey": _rotate,
    "deleteApiKey": _delete,
    "dismissLeak": _dismiss_leak,
}


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Create a key (at most five per user).")
    async def create_api_key(self, info: Info, input: CreateApiKeyInput) -> CreateApiKeyResult:
        return await _create(info.context, input)

    @strawberry.mutation(
        description="Rename a key, change its description, or narrow (or widen) its scope."
    )
    async def update_api_key(self, info: Info, input: UpdateApiKeyInput) -> UpdateApiKeyResult:
        return await _update(info.context, input)

    @strawberry.mutation(
        description="Give the default key a new secret. The old secret keeps working for"
        " `expireOldKeyInSeconds` (default 0: it stops at once; at most 7 days)."
    )
    async def rotate_api_key(self, info: Info, input: RotateApiKeyInput) -> RotateApiKeyResult:
        return await _rotate(info.context, input)

    @strawberry.mutation(description="Delete a key. The default key cannot be deleted.")
    async def delete_api_key(self, info: Info, input: DeleteApiKeyInput) -> DeleteApiKeyResult:
        return await _delete(info.context, input)

    @strawberry.mutation(
        description="Dismiss the warning of a key's leak report (`leak.dismissedAt`). The report"
        " stays on the key; a key without one is answered unchanged."
    )
    async def dismiss_leak(self, info: Info, input: DismissLeakInput) -> DismissLeakResult:
        return await _dismiss_leak(info.context, input)
