"""The domain's exceptions: expected refusals a user can act on.

    ApiKeyError (base; never raised itself)
     ├── ValidationFailed        a field is malformed; names the field
     ├── NameTaken               another of the user's keys has this name (case-insensitive)
     ├── KeyLimitReached         the user already has the maximum number of keys
     ├── NotFound                no such key *for this user*: missing and "someone else's" are one
     │                           error, so that a stranger learns nothing about which ids exist
     ├── NotDefaultKey           only the default key can be rotated
     ├── DefaultKeyUndeletable   the default key cannot be deleted
     ├── KeyRevoked              the key was reported leaked and no longer works
     ├── KeyExpired              the key is past its expiry
     └── WorkflowNotAllowed      the key's owner restricted it to other workflows

    Unavailable                  the database cannot be reached right now: worth a retry

Each carries a sentence-style message safe to show to the user; none ever carries a secret.
The GraphQL layer turns each refusal into a typed member of the mutation's result union.
`Unavailable` is no refusal: storage raises it for any failure to reach the database (whatever
the driver called it), and each protocol edge answers it once, as a retryable UNAVAILABLE.
"""

from __future__ import annotations


class ApiKeyError(Exception):
    """Base of every expected refusal."""

    message: str = "The request was refused."

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.message
        super().__init__(self.message)


class ValidationFailed(ApiKeyError):
    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(message)


class NameTaken(ApiKeyError):
    message = "You already have an API key with this name."


class KeyLimitReached(ApiKeyError):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(
            f"You can have at most {limit} API keys. Delete one before creating another."
        )


class NotFound(ApiKeyError):
    message = "API key not found."


class NotDefaultKey(ApiKeyError):
    message = "Only the default API key can be rotated."


class DefaultKeyUndeletable(ApiKeyError):
    message = "The default API key cannot be deleted."


class KeyExpired(ApiKeyError):
    message = "This API key has expired: it no longer works. Choose another key."


class KeyRevoked(ApiKeyError):
    message = (
        "This API key was found in public and has been revoked: it no longer works."
        " Choose another key."
    )


class WorkflowNotAllowed(ApiKeyError):
    message = "This API key cannot run this workflow: its owner restricted it to others."


class Unavailable(Exception):
    """The database cannot be reached right now (refused, reset, timed out, shutting down)."""

    def __init__(self) -> None:
        super().__init__("The database cannot be reached right now.")
