"""Prepared queries: the documents the settings page and the workflow editor send all day,
answered without the general executor, with exactly the bytes it would answer.

The general path (strawberry over graphql-core) costs about half a millisecond for a list of five
keys, nearly all of it per-field machinery: every field, default ones included, goes through a
resolver wrapper, an extension hook and a completion step. Building the same answer by hand takes
a few microseconds. So a document is *prepared* once, the first time it is seen:

- parsed and validated against the schema with every rule the general path applies (GraphQL's
  own, the schema's limits, strawberry's), and refused here if it has any error;
- its selections collected the way GraphQL collects them (fragments, aliases, `@skip` and
  `@include`, merged fields, first-occurrence order), into a plan of response keys and how to
  serialize each one: a field's own value through its scalar's `serialize`, `__typename`, or a
  nested object of such fields.

Prepared are queries whose root fields are `apiKeys` (with or without `usableFor`) and
`__typename`, and mutations of one root field (create, update, rotate, delete, dismiss a leak),
whose objects' fields are plain values or lists of them (no resolver of their own, no
arguments). Anything else — a revealed `key`, a run command, an unknown directive, a document
with any error, variables that do not coerce — goes to the general executor, as does any query
this path cannot finish (no valid caller, a failing database). A mutation goes to the general
executor unless a session makes it (an API key may not), and once it has run, it is answered
here whatever happens: as the general executor answers a failure, through the schema's own
error processing and masking. A mutation's work is the same function either way
(`service.graphql.mutations.MUTATIONS`): only the executor's per-field machinery is skipped,
which is most of a write's CPU outside the database (bench/README.md).

Differential tests (`tests/api/test_prepared.py`) send the page's and the editor's documents,
hand-written ones and documents generated from the schema through both paths, and require
identical bytes; for mutations, with every outcome of the use case (each result, each refusal,
an unreachable database, a crash). The page's list costs 81% more instructions without a plan
(`python -m bench.instructions`; bench/README.md).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    OperationType,
    is_abstract_type,
    located_error,
    parse,
    specified_rules,
)
from graphql.execution import get_argument_values, get_variable_values
from graphql.execution.values import VariableValues
from strawberry.schema.schema import validate_document
from strawberry.types.arguments import convert_arguments

from service.domain.limits import GRAPHQL_MAX_TOKENS
from service.graphql.context import Context
from service.graphql.mutations import MUTATIONS
from service.graphql.schema import Schema, mask_error, operation_label
from service.graphql.selections import (
    Collector,
    Unprepared,
    directive_variables,
    root_field_names,
)
from service.graphql.types import ApiKey
from service.observability.metrics import Metrics

_MAX_DOCUMENTS = 256  # distinct documents remembered (clients send a handful)
_MAX_PLANS_PER_DOCUMENT = 8  # one per combination of its @skip/@include variables


_PREPARABLE_ROOT_FIELDS = frozenset({"apiKeys", "__typename"})


# How to turn one value into its JSON form: a scalar's `serialize`, or a nested object's plan.
Serializer = Callable[[Any], Any]


@dataclass(frozen=True)
class ObjectPlan:
    """One object's response: its keys in order, each with how its value is produced."""

    fields: tuple[tuple[str, Callable[[Any], Any]], ...]

    def render(self, source: Any) -> dict[str, Any]:
        return {key: produce(source) for key, produce in self.fields}


@dataclass(frozen=True)
class KeysPlan:
    """An `apiKeys` field: which keys (every one, or those usable for a workflow), and how."""

    usable_for: str | None
    key: ObjectPlan


@dataclass(frozen=True)
class QueryPlan:
    """The whole response: root keys in order, each `apiKeys` or `__typename` (None)."""

    root: tuple[tuple[str, KeysPlan | None], ...]  # None: `__typename`


@dataclass(frozen=True)
class MutationPlan:
    """A mutation's response: its one root key, the field's node (its arguments, and where an
    error is located), and how each object its result may be is rendered, by type name."""

    response_key: str
    field_name: str
    node: FieldNode
    field: GraphQLField
    results: dict[str, ObjectPlan]


@dataclass
class _Document:
    operation: OperationDefinitionNode
    fragments: dict[str, FragmentDefinitionNode]
    label: str
    plans: dict[tuple[tuple[str, Any], ...], QueryPlan | MutationPlan | None]
    # The variables a plan depends on: all of a query's (its arguments are in the plan); a
    # mutation's in `@skip`/`@include` only (its arguments are read per request).
    planned_from: frozenset[str] | None = None


class PreparedQueries:
    def __init__(self, schema: Schema, metrics: Metrics | None = None) -> None:
        self._schema: GraphQLSchema = schema._schema
        self._rules = (*specified_rules, *schema.extra_rules)
        self._metrics = metrics
        self._documents: OrderedDict[tuple[str, str | None], _Document | None] = OrderedDict()
        self._strawberry = schema
        query_type, mutation_type = self._schema.query_type, self._schema.mutation_type
        assert query_type is not None and mutation_type is not None
        self._query_type = query_type
        self._mutation_type = mutation_type

    def plan(
        self, query: str, operation_name: str | None, variables: Mapping[str, Any] | None
    ) -> tuple[QueryPlan | MutationPlan, str, VariableValues | None] | None:
        """The plan for this request and its operation's label; None: the general executor's."""
        key = (query, operation_name)
        if key in self._documents:
            prepared = self._documents[key]
            self._documents.move_to_end(key)
        else:
            prepared = self._prepare(query, operation_name)
            # Least recently used out: a stream of one-off documents (mutations with literal
            # arguments) never pushes out the page's own.
            self._documents[key] = prepared
            if len(self._documents) > _MAX_DOCUMENTS:
                self._documents.popitem(last=False)
        if prepared is None:
            return None
        try:
            values = self._variables(prepared, variables)
            coerced = values.coerced if values is not None else {}
            if prepared.planned_from is not None:
                coerced = {k: v for k, v in coerced.items() if k in prepared.planned_from}
            memo = tuple(sorted(coerced.items()))
            hash(memo)
        except (Unprepared, TypeError):
            return None
        if memo not in prepared.plans:
            if len(prepared.plans) >= _MAX_PLANS_PER_DOCUMENT:
                prepared.plans.clear()
            try:
                prepared.plans[memo] = self._plan(prepared, values)
            except Unprepared:
                prepared.plans[memo] = None
        found = prepared.plans[memo]
        return None if found is None else (found, prepared.label, values)

    async def answer(
        self,
        plan: QueryPlan,
        label: str,
        load_keys: Callable[[str | None], Awaitable[Sequence[ApiKey]]],
    ) -> bytes:
        """The encoded response, `{"data": {...}}`, as the general path encodes it.
        `load_keys(usable_for)` lists the caller's keys (those usable for that workflow, when
        given). Raises when it cannot be answered here (the caller then runs the general
        executor)."""
        started = time.perf_counter()
        loaded: dict[str | None, Sequence[ApiKey]] = {}
        data: dict[str, Any] = {}
        for response_key, keys_plan in plan.root:
            if keys_plan is None:
                data[response_key] = self._query_type.name
                continue
            which = keys_plan.usable_for
            if which not in loaded:
                loaded[which] = await load_keys(which)
            data[response_key] = [keys_plan.key.render(key) for key in loaded[which]]
        body = orjson.dumps({"data": data})
        if self._metrics is not None:
            self._metrics.operation_done(label, False, time.perf_counter() - started)
        return body

    async def mutate(
        self, plan: MutationPlan, label: str, context: Context, variables: VariableValues | None
    ) -> bytes:
        """The encoded response of the mutation, run here. Raises `Unprepared`, before anything
        runs, when its arguments are the general executor's to refuse; once it has run, its
        answer is this one, a failure included."""
        started = time.perf_counter()
        try:
            raw = get_argument_values(plan.field, plan.node, variables)
        except GraphQLError:
            raise Unprepared from None
        definition = plan.field.extensions["strawberry-definition"]
        try:
            arguments = convert_arguments(
                raw,
                definition.arguments,
                scalar_registry=self._strawberry.schema_converter.scalar_registry,
                config=self._strawberry.config,
            )
        except Exception:  # nothing has run: the executor converts it again and answers
            raise Unprepared from None
        try:
            result = await MUTATIONS[plan.field_name](context, arguments["input"])
            data: Any = {
                plan.response_key: plan.results[type(result).__strawberry_definition__.name].render(
                    result
                )
            }
            body = orjson.dumps({"data": data})
            failed = False
        except Exception as exc:
            # As the executor does: the error located at the field, processed (logged) by the
            # schema and masked as the schema masks it; the null result nulls `data`.
            error = located_error(exc, [plan.node], [plan.response_key])
            self._strawberry.process_errors([error])
            body = orjson.dumps({"data": None, "errors": [mask_error(error).formatted]})
            failed = True
        if self._metrics is not None:
            self._metrics.operation_done(label, failed, time.perf_counter() - started)
        return body

    # -- preparing a document ------------------------------------------------------------------

    def _prepare(self, query: str, operation_name: str | None) -> _Document | None:
        try:
            document = parse(query, max_tokens=GRAPHQL_MAX_TOKENS)
        except GraphQLError:
            return None
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            chosen = operations if len(operations) == 1 else []
        else:
            chosen = [o for o in operations if o.name and o.name.value == operation_name]
        if len(chosen) != 1:
            return None
        operation = chosen[0]
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        # Before validation, which costs more than all the rest: a document this path would
        # refuse anyway is validated once, by the general executor, not twice.
        root_fields = root_field_names(operation.selection_set, fragments)
        if operation.operation is OperationType.QUERY:
            if not root_fields <= _PREPARABLE_ROOT_FIELDS:
                return None
            planned_from = None
        elif operation.operation is OperationType.MUTATION:
            if len(root_fields) != 1 or not root_fields <= MUTATIONS.keys():
                return None
            planned_from = directive_variables(document)
        else:
            return None
        if validate_document(self._schema, document, self._rules):
            return None
        label = operation_label(operation.operation.value, document)
        return _Document(operation, fragments, label, {}, planned_from)

    def _variables(
        self, prepared: _Document, raw: Mapping[str, Any] | None
    ) -> VariableValues | None:
        definitions = prepared.operation.variable_definitions
        if not definitions:
            return None
        coerced = get_variable_values(self._schema, definitions, dict(raw or {}))
        if isinstance(coerced, list):  # errors: the general executor reports them
            raise Unprepared
        return coerced

    def _plan(
        self, prepared: _Document, variables: VariableValues | None
    ) -> QueryPlan | MutationPlan:
        collect = Collector(self._schema, prepared.fragments, variables)
        if prepared.operation.operation is OperationType.MUTATION:
            return self._mutation_plan(prepared, collect)
        root: list[tuple[str, KeysPlan | None]] = []
        for response_key, nodes in collect.fields(self._query_type, [prepared.operation]).items():
            name = nodes[0].name.value
            if name == "__typename":
                root.append((response_key, None))
            elif name == "apiKeys":
                field = self._query_type.fields[name]
                try:
                    # Merged fields have the same arguments (validation saw to it).
                    arguments = get_argument_values(field, nodes[0], variables)
                except GraphQLError:
                    raise Unprepared from None
                key = self._list_item_plan(field.type, nodes, collect)
                root.append((response_key, KeysPlan(arguments.get("usableFor"), key)))
            else:
                raise Unprepared
        return QueryPlan(tuple(root))

    def _mutation_plan(self, prepared: _Document, collect: Collector) -> MutationPlan:
        selected = collect.fields(self._mutation_type, [prepared.operation])
        if len(selected) != 1:
            raise Unprepared  # one mutation per request, and no `__typename` beside it
        ((response_key, nodes),) = selected.items()
        name = nodes[0].name.value
        if name not in MUTATIONS or len(nodes) != 1:
            raise Unprepared
        field = self._mutation_type.fields[name]
        # Type!: a non-null union of objects (a null result is the executor's to report).
        if not isinstance(field.type, GraphQLNonNull) or not is_abstract_type(field.type.of_type):
            raise Unprepared
        results = {
            member.name: self._object_plan(member, nodes, collect)
            for member in self._schema.get_possible_types(field.type.of_type)
        }
        return MutationPlan(response_key, name, nodes[0], field, results)

    def _list_item_plan(self, type_: Any, nodes: list[FieldNode], collect: Collector) -> ObjectPlan:
        # [ApiKey!]!: a non-null list of non-null objects.
        if not isinstance(type_, GraphQLNonNull) or not isinstance(type_.of_type, GraphQLList):
            raise Unprepared
        item = type_.of_type.of_type
        if not isinstance(item, GraphQLNonNull) or not isinstance(item.of_type, GraphQLObjectType):
            raise Unprepared
        return self._object_plan(item.of_type, nodes, collect)

    def _object_plan(
        self, object_type: GraphQLObjectType, nodes: list[FieldNode], collect: Collector
    ) -> ObjectPlan:
        fields: list[tuple[str, Callable[[Any], Any]]] = []
        for response_key, field_nodes in collect.fields(object_type, nodes).items():
            name = field_nodes[0].name.value
            if name == "__typename":
                fields.append((response_key, _constant(object_type.name)))
                continue
            field = object_type.fields[name]
            definition = (field.extensions or {}).get("strawberry-definition")
            if definition is None or definition.base_resolver is not None or field.args:
                raise Unprepared  # a resolver of its own: the general executor runs it
            attribute = definition.python_name
            non_null = isinstance(field.type, GraphQLNonNull)
            inner = field.type.of_type if non_null else field.type
            if isinstance(inner, GraphQLScalarType | GraphQLEnumType):
                serialize: Serializer = inner.serialize
            elif isinstance(inner, GraphQLObjectType):
                serialize = self._object_plan(inner, field_nodes, collect).render
            elif (
                isinstance(inner, GraphQLList)
                and isinstance(inner.of_type, GraphQLNonNull)
                and isinstance(inner.of_type.of_type, GraphQLScalarType)
            ):
                serialize = _each(inner.of_type.of_type.serialize)
            else:
                raise Unprepared
            fields.append((response_key, _field(attribute, serialize, non_null)))
        return ObjectPlan(tuple(fields))


def _each(serialize: Serializer) -> Serializer:
    """A list of non-null scalars: each item serialized (a null item is the schema broken)."""

    def items(values: Any) -> list[Any]:
        if any(value is None for value in values):
            raise Unprepared
        return [serialize(value) for value in values]

    return items


def _constant(value: str) -> Callable[[Any], str]:
    return lambda source: value


def _field(attribute: str, serialize: Serializer, non_null: bool) -> Callable[[Any], Any]:
    def produce(source: Any) -> Any:
        value = getattr(source, attribute)
        if value is None:
            if non_null:
                # The general executor turns this into an error; never answer it here.
                raise Unprepared
            return None
        return serialize(value)

    return produce
