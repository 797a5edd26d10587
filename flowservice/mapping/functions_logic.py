"""Logical functions (iif, decode, is_empty, is_null, is_not_null) and the operators.

Comparisons and arithmetic need operands of one kind (numbers, text, booleans,
dates/date-times); numbers widen to a common type. ``/`` always divides as
floating point; ``/`` and ``%`` by zero fail the row; integer overflow fails the row.
"""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.casting import UTC_US, describe_value
from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    call_args,
    is_number,
    is_text,
    unify,
)
from flowservice.mapping.function_kit import checked, elementwise, failing, need
from flowservice.mapping.function_registry import function, operator
from flowservice.mapping.syntax import Call

_LOGIC = "Logical operators"


def _is_bool(t: pa.DataType) -> bool:
    return bool(pa.types.is_boolean(t) or pa.types.is_null(t))


def _condition(values: pa.Array) -> pa.Array:
    """A null condition counts as false."""
    return pc.fill_null(values.cast(pa.bool_()), False)


@function(
    "iif",
    category=_LOGIC,
    syntax="iif(EXPRESSION, TRUE_VALUE, FALSE_VALUE)",
    description="TRUE_VALUE where the boolean EXPRESSION is true, else FALSE_VALUE (null counts "
    "as false).",
    returns="the values' type",
    example='iif("s" == "s", "True", "False")',
    result='"True"',
)
def _iif(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 3, 3)
    need(node, 0, parts[0], _is_bool(parts[0].type), "a boolean")
    branches = parts[1:]
    result = unify(node, branches, node.args[1:], widen=True)

    def kernel(v: list[pa.Array]) -> pa.Array:
        return pc.if_else(_condition(v[0]), v[1].cast(result), v[2].cast(result))

    return elementwise([parts[0], *branches], result, kernel)


@function(
    "decode",
    category=_LOGIC,
    syntax="decode(KEY, OPTIONS)",
    description="The value paired with the first key equal to KEY in the flat key, value list "
    "OPTIONS; a last unpaired option is the default (else null).",
    returns="the values' type",
    example='decode(stateCode, "ca", "California", "pa", "Pennsylvania", "N/A")',
    result='"California" when stateCode is "ca"',
)
def _decode(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 3, None)
    key, options = parts[0], parts[1:]
    keys = options[0::2][: len(options) // 2]
    values = options[1::2]
    has_default = len(options) % 2 == 1
    if has_default:
        values = [*values, options[-1]]
    key_args = [key, *keys]
    key_nodes = [node.args[0], *node.args[1::2][: len(keys)]]
    key_type = unify(node, key_args, key_nodes, widen=True)
    value_nodes = [*node.args[2::2][: len(keys)]]
    if has_default:
        value_nodes.append(node.args[-1])
    result = unify(node, values, value_nodes, widen=True)
    pairs = len(keys)

    def kernel(v: list[pa.Array]) -> pa.Array:
        subject = v[0].cast(key_type)
        candidates = [a.cast(key_type) for a in v[1 : 1 + pairs]]
        outs = [a.cast(result) for a in v[1 + pairs :]]
        chosen = outs[pairs] if has_default else pa.nulls(len(subject), result)
        # last pair first, so the first matching key wins
        for i in reversed(range(pairs)):
            chosen = pc.if_else(
                pc.fill_null(pc.equal(subject, candidates[i]), False), outs[i], chosen
            )
        return chosen

    return elementwise([key_args[0], *key_args[1:], *values], result, kernel)


def _null_test(
    name: str, description: str, kernel: Callable[[pa.Array], pa.Array], adobe: bool
) -> None:
    @function(
        name,
        category=_LOGIC,
        syntax=f"{name}(INPUT)",
        description=description,
        returns="boolean",
        example=f'{name}("")',
        result=str(kernel(pa.array([""])).to_pylist()[0]).lower(),
        adobe=adobe,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        (value,) = call_args(node, schema, 1, 1)
        return elementwise([value], pa.bool_(), lambda v: kernel(v[0]))

    del build


def _empty(values: pa.Array) -> pa.Array:
    if is_text(values.type):
        return pc.fill_null(pc.equal(pc.utf8_length(values), 0), True)
    if pa.types.is_map(values.type):  # list_value_length has no map kernel
        values = values.cast(pa.list_(values.type.field(0)))
    if pa.types.is_list(values.type):
        return pc.fill_null(pc.equal(pc.list_value_length(values), 0), True)
    return pc.is_null(values)


_null_test("is_empty", "Whether the value is null, empty text or an empty array.", _empty, True)
_null_test("is_null", "Whether the value is null.", pc.is_null, False)
_null_test("is_not_null", "Whether the value is not null.", pc.is_valid, False)


# ---- operators ----------------------------------------------------------------------------


def _kind(t: pa.DataType) -> str:
    if is_number(t):
        return "number"
    if is_text(t) and not pa.types.is_null(t):
        return "text"
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_timestamp(t) or pa.types.is_date(t):
        return "date"
    return "null" if pa.types.is_null(t) else str(t)


def _operands(node: Call, schema: pa.Schema) -> tuple[list[CompiledExpression], pa.DataType]:
    parts = call_args(node, schema, 2, 2)
    kinds = {_kind(p.type) for p in parts} - {"null"}
    if len(kinds) > 1:
        raise ExpressionTypeError(
            f"{node.name!r} needs operands of one kind, not {' and '.join(sorted(kinds))}",
            node.position,
        )
    if kinds == {"date"}:
        return parts, UTC_US
    return parts, unify(node, parts, node.args, widen=True)


def _comparison(symbol: str, method: str, kernel: Callable[..., pa.Array], example: str) -> None:
    @operator(
        symbol, method, 2, description=f"Comparison: {method.replace('_', ' ')}", example=example
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        parts, common = _operands(node, schema)
        return elementwise(
            parts, pa.bool_(), lambda v: kernel(v[0].cast(common), v[1].cast(common))
        )

    del build


_comparison("==", "equals", pc.equal, "a == b")
_comparison("!=", "not_equals", pc.not_equal, "a != b")
_comparison("<", "less_than", pc.less, "1 < 2")
_comparison("<=", "less_or_equal", pc.less_equal, "1 <= 2")
_comparison(">", "greater_than", pc.greater, "2 > 1")
_comparison(">=", "greater_or_equal", pc.greater_equal, "2 >= 1")


def _logical(symbol: str, method: str, kernel: Callable[..., pa.Array], example: str) -> None:
    @operator(
        symbol, method, 2, description=f"Boolean {method}; also spelled `{method}`", example=example
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        parts = call_args(node, schema, 2, 2)
        for i, part in enumerate(parts):
            need(node, i, part, _is_bool(part.type), "a boolean")
        return elementwise(
            parts, pa.bool_(), lambda v: kernel(v[0].cast(pa.bool_()), v[1].cast(pa.bool_()))
        )

    del build


_logical("&&", "and", pc.and_kleene, "cond1 && cond2")
_logical("||", "or", pc.or_kleene, "cond1 || cond2")


@operator("!", "not", 1, description="Boolean negation; also spelled `not`", example="!cond1")
def _not(node: Call, schema: pa.Schema) -> CompiledExpression:
    (part,) = call_args(node, schema, 1, 1)
    need(node, 0, part, _is_bool(part.type), "a boolean")
    return elementwise([part], pa.bool_(), lambda v: pc.invert(v[0].cast(pa.bool_())))


@operator("-", "negate", 1, description="Arithmetic negation", example="-price")
def _negate(node: Call, schema: pa.Schema) -> CompiledExpression:
    (part,) = call_args(node, schema, 1, 1)
    need(node, 0, part, is_number(part.type), "a number")
    result = pa.int64() if pa.types.is_integer(part.type) else part.type

    def kernel(v: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
        return checked(pc.negate_checked, [v[0].cast(result)])

    return failing(
        [part], result, kernel, lambda v, row: f"cannot negate {describe_value(v[0][row].as_py())}"
    )


def _arithmetic(symbol: str, method: str, operation: Callable[..., pa.Array], example: str) -> None:
    @operator(symbol, method, 2, description=f"Arithmetic: {method}", example=example)
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        parts = call_args(node, schema, 2, 2)
        if symbol == "+" and all(is_text(p.type) for p in parts):
            return elementwise(
                parts, pa.string(), lambda v: pc.binary_join_element_wise(v[0], v[1], "")
            )
        for i, part in enumerate(parts):
            need(node, i, part, is_number(part.type) or pa.types.is_null(part.type), "a number")
        result = pa.float64() if symbol == "/" else unify(node, parts, node.args, widen=True)
        if pa.types.is_integer(result):
            result = pa.int64()

        def compute(left: pa.Array, right: pa.Array) -> pa.Array:
            if symbol in "/%":
                # a zero divisor gives null, which checked() reports as a failed row
                zero = pc.fill_null(pc.equal(right, pa.scalar(0, result)), False)
                right = pc.if_else(zero, pa.scalar(None, result), right)
            return operation(left, right)

        def kernel(v: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
            return checked(compute, [v[0].cast(result), v[1].cast(result)])

        def explain(v: list[pa.Array], row: int) -> str:
            a, b = (describe_value(x[row].as_py()) for x in v)
            return f"cannot compute {a} {symbol} {b}"

        return failing(parts, result, kernel, explain)

    del build


def _remainder(left: pa.Array, right: pa.Array) -> pa.Array:
    # Java's %: the sign follows the dividend; x % -1 == x % 1 avoids MIN / -1 overflowing
    if pa.types.is_integer(right.type):
        right = pc.if_else(pc.equal(right, -1), pa.scalar(1, right.type), right)
    quotient = pc.divide_checked(left, right)
    if pa.types.is_floating(left.type):
        quotient = pc.trunc(quotient)
    return pc.subtract_checked(left, pc.multiply_checked(quotient, right))


_arithmetic("+", "add", pc.add_checked, "1 + 2")
_arithmetic("-", "subtract", pc.subtract_checked, "3 - 1")
_arithmetic("*", "multiply", pc.multiply_checked, "2 * 3")
_arithmetic("/", "divide", pc.divide_checked, "1 / 2")
_arithmetic("%", "mod", _remainder, "7 % 3")
