"""Defects of graphql-core 3.3.2 and strawberry 0.341 that let a crafted document crash a request,
mended in place until upstream mends them. Each was found by the hostile-input tests
(`tests/hostile/`).

1. "Did you mean" suggestions size a table by the length of the input, but fill it from the
   input's lower case, which can be longer ("İ" lower-cases to two characters): IndexError.
2. An Int literal is converted with `int()` before its range is checked, and Python refuses to
   convert more than 4,300 digits: ValueError instead of the usual "Int cannot represent".
3. graphql-core parses an empty selection set (`{ apiKeys {} }`), and strawberry's depth
   limiter takes the deepest of its selections, of which there are none: ValueError. An empty
   selection set adds no depth.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLInt, IntValueNode, ValueNode
from graphql.pyutils.suggestion_list import LexicalDistance
from strawberry.extensions import query_depth_limiter

_INT_DIGITS = len(str(2**31))  # no 32-bit integer has more digits than this


def _lexical_distance_init(self: Any, input_: str) -> None:
    self._input = input_
    self._input_lower_case = input_.lower()
    self._input_list = list(map(ord, self._input_lower_case))
    row_size = len(self._input_list) + 1  # the lower case's length, not the input's
    self._rows = [[0] * row_size, [0] * row_size, [0] * row_size]


_parse_int_literal: Any = GraphQLInt.coerce_input_literal


def _bounded_int_literal(value_node: ValueNode, variables: Any = None) -> Any:
    if isinstance(value_node, IntValueNode) and len(value_node.value.lstrip("-")) > _INT_DIGITS:
        raise GraphQLError(
            "Int cannot represent non 32-bit signed integer value: (too many digits)", value_node
        )
    return _parse_int_literal(value_node, variables)


_determine_depth: Any = query_depth_limiter.determine_depth


def _depth_of_empty_selections_too(*, node: Any, **kwargs: Any) -> Any:
    selection_set = getattr(node, "selection_set", None)
    if selection_set is not None and not selection_set.selections:
        return 0
    return _determine_depth(node=node, **kwargs)


def apply() -> None:
    LexicalDistance.__init__ = _lexical_distance_init  # type: ignore[method-assign]
    GraphQLInt.coerce_input_literal = _bounded_int_literal
    # (Its recursive calls find it under this name too: they are all by keyword.)
    query_depth_limiter.determine_depth = _depth_of_empty_selections_too  # type: ignore[assignment]
