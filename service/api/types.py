"""GraphQL output types: the key, and the typed errors every mutation can answer with."""

from __future__ import annotations

from datetime import datetime
from enum import Enum

import strawberry

from service import errors
from service.api.context import Info
from service.keys import KeyService
from service.repository import StoredKey


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
    stored: strawberry.Private[StoredKey]

    @strawberry.field(
        description="The full secret. Only its owner, signed in with a session token, can read it."
    )
    def key(self, info: Info) -> str:
        info.context.session_owner_id()
        return info.context.keys.reveal(self.stored)

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
            stored=stored,
        )


@strawberry.type
class DeletedApiKey:
    id: strawberry.ID


@strawberry.enum
class UserErrorCode(Enum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NAME_TAKEN = "NAME_TAKEN"
    KEY_LIMIT_REACHED = "KEY_LIMIT_REACHED"
    NOT_FOUND = "NOT_FOUND"
    NOT_DEFAULT_KEY = "NOT_DEFAULT_KEY"
    DEFAULT_KEY_UNDELETABLE = "DEFAULT_KEY_UNDELETABLE"


@strawberry.interface(description="A refusal the user can act on; `message` is safe to show.")
class UserError:
    code: UserErrorCode
    message: str


@strawberry.type
class ValidationError(UserError):
    field: str = strawberry.field(description="The input field that was refused.")


@strawberry.type
class NameTakenError(UserError):
    pass


@strawberry.type
class KeyLimitReachedError(UserError):
    limit: int


@strawberry.type(description="No such key for you: missing and someone else's look the same.")
class NotFoundError(UserError):
    pass


@strawberry.type
class NotDefaultKeyError(UserError):
    pass


@strawberry.type
class DefaultKeyUndeletableError(UserError):
    pass


def user_error(exc: errors.ApiKeyError) -> UserError:
    """The typed GraphQL error for a domain refusal."""
    if isinstance(exc, errors.ValidationFailed):
        return ValidationError(
            code=UserErrorCode.VALIDATION_FAILED, message=exc.message, field=exc.field
        )
    if isinstance(exc, errors.KeyLimitReached):
        return KeyLimitReachedError(
            code=UserErrorCode.KEY_LIMIT_REACHED, message=exc.message, limit=exc.limit
        )
    simple: dict[type[errors.ApiKeyError], tuple[type[UserError], UserErrorCode]] = {
        errors.NameTaken: (NameTakenError, UserErrorCode.NAME_TAKEN),
        errors.NotFound: (NotFoundError, UserErrorCode.NOT_FOUND),
        errors.NotDefaultKey: (NotDefaultKeyError, UserErrorCode.NOT_DEFAULT_KEY),
        errors.DefaultKeyUndeletable: (
            DefaultKeyUndeletableError,
            UserErrorCode.DEFAULT_KEY_UNDELETABLE,
        ),
    }
    error_type, code = simple[type(exc)]
    return error_type(code=code, message=exc.message)
