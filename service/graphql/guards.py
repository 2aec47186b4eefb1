"""Two guards on every GraphQL operation, as schema extensions.

- `OperationNamed`: a document with several operations runs one only when the request names it.
  The GraphQL specification makes any other request an error; strawberry would run the first
  operation, a mutation included, which a document crafted to look like a query could exploit.
- `NoSuggestions` (production): no error message suggests a name ("Did you mean 'apiKeys'?"),
  of a field, an argument, an enum value, an input field or a type. Introspection is off in
  production; suggestions would hand a stranger the schema piece by piece. graphql-core words
  every suggestion with `did_you_mean` (" Did you mean 'x' or 'y'?").
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from graphql import ExecutionResult, GraphQLError, OperationDefinitionNode
from strawberry.extensions import SchemaExtension

# Names cannot hold a question mark: a suggestion ends at the first one.
_SUGGESTION = re.compile(r" Did you mean [^?]*\?")


class OperationNamed(SchemaExtension):
    def on_execute(self) -> Iterator[None]:
        context = self.execution_context
        document = context.graphql_document
        # strawberry keeps the name the request gave apart from the one it would pick itself.
        named = getattr(context, "_provided_operation_name", None) is not None
        if document is not None and not named:
            operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
            if len(operations) > 1:
                error = GraphQLError(
                    "Must provide operation name if query contains multiple operations."
                )
                # A result set before execution is the answer: nothing runs.
                context.result = ExecutionResult(data=None, errors=[error])
        yield


class NoSuggestions(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        yield
        context = self.execution_context
        for error in (*(context.pre_execution_errors or ()), *_result_errors(context.result)):
            error.message = _SUGGESTION.sub("", error.message)


def _result_errors(result: object) -> list[GraphQLError]:
    errors = getattr(result, "errors", None)
    return list(errors) if errors else []
