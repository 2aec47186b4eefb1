"""What every resolver gets: the caller and the use cases."""

from __future__ import annotations

from dataclasses import dataclass

import strawberry
from graphql import GraphQLError
from starlette.requests import Request

from service.audit import Actor
from service.auth import Principal
from service.keys import KeyService
from service.run_commands import RunCommands


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
    run_commands: RunCommands

    def actor(self) -> Actor:
        """The caller; refuses the whole field when nobody is signed in."""
        if self.principal is None:
            raise Unauthenticated()
        client = self.request.client
        return Actor(
            owner_id=self.principal.owner_id,
            client_address=client.host if client else None,
            user_agent=self.request.headers.get("user-agent"),
        )

    def session_actor(self) -> Actor:
        """The caller, for changes and full secrets: refused to API keys."""
        actor = self.actor()
        if self.principal is not None and self.principal.read_only:
            raise Forbidden()
        return actor


Info = strawberry.Info[Context, None]
