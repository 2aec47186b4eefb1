"""What every resolver gets: the caller and the use cases."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import strawberry
from graphql import GraphQLError
from starlette.requests import Request
from strawberry.dataloader import DataLoader

from service.cases.keys import KeyService
from service.domain.audit import Actor
from service.domain.errors import ApiKeyError
from service.domain.origins import peer_address, user_agent
from service.domain.records import WorkflowUse
from service.domain.run_commands import RunCommands
from service.domain.verdicts import Refusal
from service.web.auth import Principal


class Unauthenticated(GraphQLError):
    def __init__(self) -> None:
        super().__init__(
            "Authentication required: send a valid session token"
            " as 'Authorization: Bearer <token>'.",
            extensions={"code": "UNAUTHENTICATED"},
        )


class Forbidden(GraphQLError):
    def __init__(
        self,
        message: str = (
            "An API key can only read: sign in with a session token to change keys or see them"
            " in full."
        ),
    ) -> None:
        super().__init__(message, extensions={"code": "FORBIDDEN"})


# Why a key used outside its scope does not sign in (never with the key in the message).
_OUT_OF_SCOPE = {
    Refusal.WORKFLOW_NOT_ALLOWED: "This API key is restricted to running workflows: it cannot"
    " be used with this API.",
    Refusal.ADDRESS_NOT_ALLOWED: "This API key cannot be used from this address.",
}


@dataclass
class Context:
    request: Request
    principal: Principal | None
    keys: KeyService
    run_commands: RunCommands
    key_refusal: Refusal | None = None  # a key presented outside its scope
    # Per request: the usage of every key a list shows, loaded in one query per field.
    _loaders: dict[str, DataLoader[tuple[str, int], Any]] = field(default_factory=dict)

    async def usage(self, key_id: str, days: int) -> list[tuple[date, int]]:
        found: list[tuple[date, int]] = await self._loader("usage", self.keys.usage).load(
            (key_id, days)
        )
        return found

    async def used_by(self, key_id: str, days: int) -> list[WorkflowUse]:
        found: list[WorkflowUse] = await self._loader("used_by", self.keys.used_by).load(
            (key_id, days)
        )
        return found

    def _loader(
        self,
        name: str,
        fetch: Callable[[Actor, Sequence[str], int], Awaitable[Mapping[str, Any]]],
    ) -> DataLoader[tuple[str, int], Any]:
        """A DataLoader batching (key id, days) look-ups into one call of `fetch` per `days`."""
        loader = self._loaders.get(name)
        if loader is None:
            actor = self.actor()

            async def load(wanted: list[tuple[str, int]]) -> list[Any]:
                by_days: dict[int, list[str]] = {}
                for key_id, days in wanted:
                    by_days.setdefault(days, []).append(key_id)
                found: dict[tuple[str, int], Any] = {}
                for days, key_ids in by_days.items():
                    try:
                        fetched = await fetch(actor, key_ids, days)
                    except ApiKeyError as refused:  # `days` out of range: those fields alone
                        fetched = dict.fromkeys(key_ids, refused)
                    for key_id, value in fetched.items():
                        found[key_id, days] = value
                return [found[item] for item in wanted]

            loader = self._loaders[name] = DataLoader(load_fn=load)
        return loader

    def actor(self) -> Actor:
        """The caller; refuses the whole field when nobody is signed in (with the reason, when
        an API key was presented outside its scope)."""
        if self.principal is None:
            if self.key_refusal is not None:
                raise Forbidden(_OUT_OF_SCOPE[self.key_refusal])
            raise Unauthenticated()
        return Actor(
            owner_id=self.principal.owner_id,
            client_address=peer_address(self.request.scope),
            user_agent=user_agent(self.request.headers.get("user-agent")),
        )

    def session_actor(self) -> Actor:
        """The caller, for changes and full secrets: refused to API keys."""
        actor = self.actor()
        if self.principal is not None and self.principal.read_only:
            raise Forbidden()
        return actor


Info = strawberry.Info[Context, None]
