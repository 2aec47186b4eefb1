"""Which fields a GraphQL operation selects, collected the way GraphQL collects them, for the
prepared plans (`service.graphql.prepared`): the root fields' names before validation, the
variables a document's directives read, and CollectFields itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    is_abstract_type,
)
from graphql.execution import get_directive_values
from graphql.execution.values import VariableValues


class Unprepared(Exception):
    """This document, or this request, is for the general executor."""


def root_field_names(
    selections: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> set[str]:
    """The names of the fields an operation selects at its root, through its fragments (of a
    document not yet validated: a fragment that is missing or spreads itself adds nothing)."""
    names: set[str] = set()
    pending, spread = [selections], set()
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in spread and name in fragments:
                    spread.add(name)
                    pending.append(fragments[name].selection_set)
    return names


def directive_variables(document: Any) -> frozenset[str]:
    """The variables a document's `@skip` and `@include` (any directive's arguments) read."""
    names: set[str] = set()
    pending = [d.selection_set for d in document.definitions if hasattr(d, "selection_set")]
    while pending:
        for selection in pending.pop().selections:
            for directive in selection.directives or ():
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
            if getattr(selection, "selection_set", None) is not None:
                pending.append(selection.selection_set)
    return frozenset(names)


class Collector:
    """GraphQL's CollectFields (spec 6.3.2) over one operation, for the selections this path
    prepares: fields, inline fragments and fragment spreads, with `@skip` and `@include`. Any
    other directive leaves the document to the general executor."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: VariableValues | None,
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables

    def fields(
        self, runtime_type: GraphQLObjectType, parents: list[Any]
    ) -> dict[str, list[FieldNode]]:
        """The fields selected on `runtime_type` by the selection sets of `parents` (the
        operation, or every node of one merged field), by response key in first-seen order."""
        grouped: dict[str, list[FieldNode]] = {}
        visited: set[str] = set()
        for parent in parents:
            if parent.selection_set is not None:
                self._collect(runtime_type, parent.selection_set, grouped, visited)
        return grouped

    def _collect(
        self,
        runtime_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                if condition is None or self._applies(condition.name.value, runtime_type):
                    self._collect(runtime_type, selection.selection_set, grouped, visited)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in visited:
                    continue
                visited.add(name)
                fragment = self._fragments[name]
                if self._applies(fragment.type_condition.name.value, runtime_type):
                    self._collect(runtime_type, fragment.selection_set, grouped, visited)
            else:
                raise Unprepared

    def _included(self, selection: Any) -> bool:
        for directive in selection.directives or ():
            if directive.name.value not in ("skip", "include"):
                raise Unprepared
        try:
            skip = get_directive_values(GraphQLSkipDirective, selection, self._variables)
            include = get_directive_values(GraphQLIncludeDirective, selection, self._variables)
        except GraphQLError:  # e.g. null for `if: Boolean!`: the executor words the error
            raise Unprepared from None
        if skip is not None and skip["if"] is True:
            return False
        return not (include is not None and include["if"] is False)

    def _applies(self, condition: str, runtime_type: GraphQLObjectType) -> bool:
        conditional = self._schema.get_type(condition)
        if conditional is runtime_type:
            return True
        return is_abstract_type(conditional) and self._schema.is_sub_type(conditional, runtime_type)
