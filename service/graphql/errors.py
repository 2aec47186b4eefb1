"""Domain refusals as GraphQL answers: a mutation's typed error (a member of its result union), or,
in a query whose result has no room for one, a GraphQL error carrying the same code."""

from __future__ import annotations

from enum import Enum

import strawberry
from graphql import GraphQLError

from service.domain import errors


@strawberry.enum
class UserErrorCode(Enum):
    VALIDATION_FAILED = "VALIDATION_FAILED"
    NAME_TAKEN = "NAME_TAKEN"
    KEY_LIMIT_REACHED = "KEY_LIMIT_REACHED"
    NOT_FOUND = "NOT_FOUND"
    NOT_DEFAULT_KEY = "NOT_DEFAULT_KEY"
    DEFAULT_KEY_UNDELETABLE = "DEFAULT_KEY_UNDELETABLE"
    KEY_REVOKED = "KEY_REVOKED"
    KEY_EXPIRED = "KEY_EXPIRED"
    WORKFLOW_NOT_ALLOWED = "WORKFLOW_NOT_ALLOWED"


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


# Refusals only queries answer with (as GraphQL errors): no mutation's union has them.
_QUERY_ONLY_CODES: dict[type[errors.ApiKeyError], UserErrorCode] = {
    errors.KeyRevoked: UserErrorCode.KEY_REVOKED,
    errors.KeyExpired: UserErrorCode.KEY_EXPIRED,
    errors.WorkflowNotAllowed: UserErrorCode.WORKFLOW_NOT_ALLOWED,
}


class QueryRefused(GraphQLError):
    """A domain refusal in a query, whose result type has no room for a typed error: the same
    code and message, carried in the error's extensions."""

    def __init__(self, exc: errors.ApiKeyError) -> None:
        code = _QUERY_ONLY_CODES.get(type(exc)) or user_error(exc).code
        extensions: dict[str, object] = {"code": code.value}
        if isinstance(exc, errors.ValidationFailed):
            extensions["field"] = exc.field
        super().__init__(exc.message, extensions=extensions)
