"""The schema and its execution extensions, built once per process."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence
from typing import Any

import strawberry
from graphql import (
    ASTValidationRule,
    DocumentNode,
    FieldNode,
    GraphQLError,
    NoSchemaIntrospectionCustomRule,
    OperationDefinitionNode,
)
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)
from strawberry.types import ExecutionContext

from service.domain.errors import Unavailable
from service.domain.limits import GRAPHQL_MAX_ALIASES, GRAPHQL_MAX_DEPTH, GRAPHQL_MAX_TOKENS
from service.graphql import fixes
from service.graphql.guards import NoSuggestions, OperationNamed
from service.graphql.mutations import Mutation
from service.graphql.queries import Query
from service.observability.metrics import Metrics

fixes.apply()
logger = logging.getLogger("apikeys.graphql")

_ROOT_FIELDS = frozenset(
    {"apiKeys", "apiKey", "workflowRunCommand", "apiKeyEvents", "__schema", "__type", "__typename"}
    | {"createApiKey", "updateApiKey", "rotateApiKey", "deleteApiKey", "dismissLeak"}
)


def should_mask(error: GraphQLError) -> bool:
    """Mask crashes, keep refusals: errors raised on purpose are GraphQLErrors themselves
    (no original error, or a GraphQLError such as `Unauthenticated`); anything else is an
    unexpected exception whose text may hold internals."""
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)


class OperationObserver(SchemaExtension):
    """Names each GraphQL operation by its root fields (a closed set, unlike client-chosen
    operation names), times it and counts its outcome; the request log line carries the name."""

    def __init__(self, metrics: Metrics | None) -> None:
        self.metrics = metrics

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            # In `finally`: a document that does not parse ends the operation with an exception.
            self._observe(time.perf_counter() - started)

    def _observe(self, elapsed: float) -> None:
        context = self.execution_context
        operation = _root_fields(context)
        request = getattr(context.context, "request", None)
        if request is not None:
            request.state.graphql_operation = operation
        if self.metrics is not None:
            result = context.result
            failed = bool(context.pre_execution_errors or result is None or result.errors)
            self.metrics.operation_done(operation, failed, elapsed)


def _root_fields(context: ExecutionContext) -> str:
    try:
        operation = context.operation_type.value
        document = context.graphql_document
    except Exception:  # an unparsable or ambiguous document has no operation to name
        return "invalid"
    if document is None:
        return "invalid"
    return operation_label(operation, document)


def operation_label(operation_type: str, document: DocumentNode) -> str:
    """`query apiKeys`, `mutation createApiKey`: the operation's type and the known root fields
    the document names (unknown ones are `other`), so that the label set stays closed."""
    names: set[str] = set()
    for definition in document.definitions:
        if isinstance(definition, OperationDefinitionNode):
            for selection in definition.selection_set.selections:
                if isinstance(selection, FieldNode):
                    names.add(selection.name.value)
    known = sorted(names & _ROOT_FIELDS)
    return f"{operation_type} {'+'.join(known) or 'other'}"


class MaskInternalErrors(MaskErrors):
    """Crashes become "Internal server error."; a database that cannot be reached becomes
    UNAVAILABLE, which tells the client that trying again later is the right thing to do."""

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if isinstance(error.original_error, Unavailable):
            return GraphQLError(
                "The service is temporarily unavailable; please try again.",
                nodes=error.nodes,
                path=error.path,
                extensions={"code": "UNAVAILABLE"},
            )
        return super().anonymise_error(error)


def _masking() -> MaskInternalErrors:
    return MaskInternalErrors(should_mask_error=should_mask, error_message="Internal server error.")


_MASK = _masking()


def mask_error(error: GraphQLError) -> GraphQLError:
    """An error as the schema's masking extension answers it (for answers built outside the
    executor, `service.graphql.prepared`)."""
    return _MASK.anonymise_error(error) if _MASK.should_mask_error(error) else error


class Schema(strawberry.Schema):
    """The schema, with the validation rules it adds to GraphQL's own (its limits), so that
    whatever else validates a document against it applies the same ones."""

    def __init__(self, *, extra_rules: Sequence[type[ASTValidationRule]], **kwargs: Any) -> None:
        self.extra_rules = tuple(extra_rules)
        super().__init__(**kwargs)

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        # Refusals (unauthenticated, invalid queries) are the client's business, not the log's;
        # only crashes are logged, with their traceback.
        for error in errors:
            if not should_mask(error):
                continue
            if isinstance(error.original_error, Unavailable):
                cause = error.original_error.__cause__
                logger.warning("Database unavailable in %s: %r", error.path, cause)
            else:
                logger.error("Unexpected error in %s", error.path, exc_info=error.original_error)


def build_schema(*, production: bool = False, metrics: Metrics | None = None) -> Schema:
    """In production the schema cannot be introspected, nor does any error suggest a name:
    clients are written against `schema.graphql`, and a stranger gains nothing from asking."""
    rules: list[type[ASTValidationRule]] = [
        *QueryDepthLimiter(max_depth=GRAPHQL_MAX_DEPTH).validation_rules,
        *MaxAliasesLimiter(max_alias_count=GRAPHQL_MAX_ALIASES).validation_rules,
    ]
    if production:
        rules.append(NoSchemaIntrospectionCustomRule)
    guards: list[Any] = [OperationNamed]
    if production:
        guards.append(NoSuggestions)
    return Schema(
        extra_rules=rules,
        query=Query,
        mutation=Mutation,
        extensions=[
            _masking,
            lambda: MaxTokensLimiter(max_token_count=GRAPHQL_MAX_TOKENS),
            lambda: ParserCache(maxsize=256),
            # The rules list is built once: the validation cache keys on it (strawberry#4635).
            lambda: AddValidationRules(rules),
            lambda: ValidationCache(maxsize=256),
            lambda: OperationObserver(metrics),
            *guards,
        ],
    )


def sdl() -> str:
    """The schema as committed in `schema.graphql`."""
    return build_schema().as_str() + "\n"
