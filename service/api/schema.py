"""The schema and its execution extensions, built once per process."""

from __future__ import annotations

import logging

import strawberry
from graphql import ASTValidationRule, GraphQLError, NoSchemaIntrospectionCustomRule
from strawberry.extensions import AddValidationRules, MaskErrors, ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from service.api.mutations import Mutation
from service.api.queries import Query

logger = logging.getLogger("apikeys.graphql")


def should_mask(error: GraphQLError) -> bool:
    """Mask crashes, keep refusals: errors raised on purpose are GraphQLErrors themselves
    (no original error, or a GraphQLError such as `Unauthenticated`); anything else is an
    unexpected exception whose text may hold internals."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Refusals (unauthenticated, invalid queries) are the client's business, not the log's;
        # only crashes are logged, with their traceback.
        for error in errors:
            if should_mask(error):
                logger.error("Unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(*, production: bool = False) -> strawberry.Schema:
    """In production the schema cannot be introspected: clients are written against
    `schema.graphql`, and a stranger gains nothing from asking."""
    rules: list[type[ASTValidationRule]] = [NoSchemaIntrospectionCustomRule] if production else []
    return Schema(
        query=Query,
        mutation=Mutation,
        extensions=[
            lambda: MaskErrors(
                should_mask_error=should_mask, error_message="Internal server error."
            ),
            lambda: ParserCache(maxsize=256),
            # The rules list is built once: the validation cache keys on it (strawberry#4635).
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=256),
        ],
    )


def sdl() -> str:
    """The schema as committed in `schema.graphql`."""
    return build_schema().as_str() + "\n"
