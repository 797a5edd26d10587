"""Type conversions (to_bigint, to_decimal, to_float, to_integer) and numeric functions."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.casting import can_cast
from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    call_args,
    converted,
    unify,
)
from flowservice.mapping.function_kit import checked, elementwise, failing, need_number
from flowservice.mapping.function_registry import function
from flowservice.mapping.syntax import Call

_CONVERSIONS = "Type conversions"
_NUMBERS = "Numeric"


def _conversion(
    name: str, target: pa.DataType, xdm: str, what: str, example: str, result: str
) -> None:
    @function(
        name,
        category=_CONVERSIONS,
        syntax=f"{name}(STRING)",
        description=f"Converts to {what}; text that is not one fails its row.",
        returns=xdm,
        example=example,
        result=result,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        (value,) = call_args(node, schema, 1, 1)
        if not can_cast(value.type, target):
            raise ExpressionTypeError(
                f"{name}() cannot convert {value.type}", node.args[0].position
            )
        return converted(value, target, xdm)

    del build


_conversion("to_bigint", pa.int64(), "long", "a 64-bit integer", 'to_bigint("1000000")', "1000000")
_conversion("to_decimal", pa.float64(), "number", "a double", 'to_decimal("20.5")', "20.5")
_conversion("to_float", pa.float32(), "float", "a 32-bit float", 'to_float("12.5")', "12.5")
_conversion("to_integer", pa.int32(), "int", "a 32-bit integer", 'to_integer("12")', "12")


def _extreme(name: str, kernel: Callable[..., pa.Array], example: str, result: str) -> None:
    @function(
        name,
        category="Aggregation",
        syntax=f"{name}(OPTIONS)",
        description=f"The {'smallest' if name == 'min' else 'largest'} of the arguments "
        "(numbers, text, or dates); nulls are skipped.",
        returns="the arguments' type",
        example=example,
        result=result,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        parts = call_args(node, schema, 1, None)
        common = unify(node, parts, node.args, widen=True)
        return elementwise(
            parts, common, lambda v: kernel(*[a.cast(common) for a in v], skip_nulls=True)
        )

    del build


_extreme("min", pc.min_element_wise, "min(3, 1, 4)", "1")
_extreme("max", pc.max_element_wise, "max(3, 1, 4)", "4")


def _rounding(
    name: str, description: str, kernel: Callable[[pa.Array], pa.Array], example: str, result: str
) -> None:
    @function(
        name,
        category=_NUMBERS,
        syntax=f"{name}(NUMBER)",
        description=description,
        returns="the number's type (long for round)",
        example=example,
        result=result,
        adobe=False,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        (value,) = call_args(node, schema, 1, 1)
        need_number(node, 0, value)
        if pa.types.is_integer(value.type):
            return value
        out_type = pa.int64() if name == "round" else value.type

        def to_long(values: pa.Array) -> pa.Array:
            return pc.cast(kernel(values), pa.int64(), safe=True)

        def run(v: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
            return checked(to_long if out_type == pa.int64() else kernel, v)

        return failing(
            [value], out_type, run, lambda v, row: f"{name}({v[0][row].as_py()!r}) is not a long"
        )

    del build


# Java's Math.round: ties go towards positive infinity
_rounding(
    "round",
    "The nearest whole number (ties round up) as a long.",
    lambda a: pc.round(a, round_mode="half_up"),
    "round(2.5)",
    "3",
)
_rounding("ceil", "The smallest whole number not below NUMBER.", pc.ceil, "ceil(2.1)", "3.0")
_rounding("floor", "The largest whole number not above NUMBER.", pc.floor, "floor(2.9)", "2.0")


@function(
    "abs",
    category=_NUMBERS,
    syntax="abs(NUMBER)",
    description="The absolute value.",
    returns="the number's type",
    example="abs(-2)",
    result="2",
    adobe=False,
)
def _abs(node: Call, schema: pa.Schema) -> CompiledExpression:
    (value,) = call_args(node, schema, 1, 1)
    need_number(node, 0, value)

    def run(v: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
        return checked(pc.abs_checked, v)

    return failing([value], value.type, run, lambda v, row: f"abs({v[0][row].as_py()!r}) overflows")
