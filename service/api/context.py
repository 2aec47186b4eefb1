"""What every resolver gets: the caller and the use cases."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from starlette.requests import Request

from service.auth import Principal
from service.keys import KeyService


class Unauthenticated(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "Authentication required: send a valid session token"
            " as 'Authorization: Bearer <token>'.",
            extensions={"code": "UNAUTHENTICATED"},
        )


class Forbidden(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "An API key can only read: sign in with a session token to change keys or see them"
            " in full.",
            extensions={"code": "FORBIDDEN"},
        )


@dataclass
class Context:
    request: Request
    principal: Principal | None
    keys: KeyService

    def owner_id(self) -> str:
        """The caller's user id; refuses the whole field when nobody is signed in."""
        if self.principal is None:
            raise Unauthenticated()
        return self.principal.owner_id

    def session_owner_id(self) -> str:
        """The caller's user id, for changes and full secrets: refused to API keys."""
        owner_id = self.owner_id()
        if self.principal is not None and self.principal.read_only:
            raise Forbidden()
        return owner_id


Info = strawberry.Info[Context, None]
