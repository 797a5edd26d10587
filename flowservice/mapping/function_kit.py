"""Small pieces the function modules share: element-wise evaluation and argument checks."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.casting import Evaluated, Failure, describe_value, merge_failures
from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    columns_of,
    is_number,
    is_text,
)
from flowservice.mapping.syntax import Call, Literal

Kernel = Callable[[list[pa.Array]], pa.Array]


def elementwise(
    parts: Sequence[CompiledExpression], result: pa.DataType, kernel: Kernel
) -> CompiledExpression:
    """Evaluate ``parts`` on a batch and combine their arrays with one vectorised ``kernel``."""

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        evaluated = [p.evaluate(batch) for p in parts]
        values = kernel([e.values for e in evaluated])
        if values.type != result:
            values = values.cast(result)
        return Evaluated(values, merge_failures(*evaluated))

    return CompiledExpression(result, evaluate, columns_of(parts))


def failing(
    parts: Sequence[CompiledExpression],
    result: pa.DataType,
    kernel: Callable[[list[pa.Array]], tuple[pa.Array, pa.Array]],
    explain: Callable[[list[pa.Array], int], str],
) -> CompiledExpression:
    """Like :func:`elementwise`, but ``kernel`` also returns a mask of rows that failed."""

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        evaluated = [p.evaluate(batch) for p in parts]
        inputs = [e.values for e in evaluated]
        values, failed = kernel(inputs)
        if values.type != result:
            values = values.cast(result)
        failures = merge_failures(*evaluated)
        if pc.any(failed).as_py():
            failures += (Failure(failed, lambda row: explain(inputs, row)),)
        return Evaluated(values, failures)

    return CompiledExpression(result, evaluate, columns_of(parts))


def label(node: Call) -> str:
    """How messages name a call: ``sha256()``, or ``operator '+'``."""
    return f"{node.name}()" if node.name[:1].isalpha() else f"operator {node.name!r}"


def need(node: Call, index: int, part: CompiledExpression, ok: bool, what: str) -> None:
    if not ok:
        raise ExpressionTypeError(
            f"{label(node)} needs {what} but argument {index + 1} is {part.type}",
            node.args[index].position,
        )


def need_text(node: Call, index: int, part: CompiledExpression) -> None:
    if not is_text(part.type):
        raise ExpressionTypeError(
            f"{node.name}() needs text but argument {index + 1} is {part.type}; "
            f'use cast(..., "string") first',
            node.args[index].position,
        )


def need_number(node: Call, index: int, part: CompiledExpression) -> None:
    need(node, index, part, is_number(part.type) or pa.types.is_null(part.type), "a number")


def literal_int(node: Call, index: int, what: str) -> int:
    arg = node.args[index]
    if (
        not isinstance(arg, Literal)
        or not isinstance(arg.value, int)
        or isinstance(arg.value, bool)
    ):
        raise ExpressionTypeError(f"{node.name}() needs {what} as a number literal", arg.position)
    return arg.value


def as_text(values: pa.Array) -> pa.Array:
    return values if pa.types.is_string(values.type) else values.cast(pa.string())


def bisect_kernel(kernel: Callable[..., pa.Array], arrays: list[pa.Array]) -> pa.Array:
    """Run a checked kernel; where it fails, split in halves until failed rows are nulls."""
    try:
        return kernel(*arrays)
    except (pa.ArrowInvalid, ZeroDivisionError):
        if len(arrays[0]) <= 1:
            return pa.nulls(len(arrays[0]), kernel(*[a.slice(0, 0) for a in arrays]).type)
    middle = len(arrays[0]) // 2
    return pa.concat_arrays(
        [
            bisect_kernel(kernel, [a.slice(0, middle) for a in arrays]),
            bisect_kernel(kernel, [a.slice(middle) for a in arrays]),
        ]
    )


def checked(kernel: Callable[..., pa.Array], inputs: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
    """Run a checked kernel for :func:`failing`: its values and the mask of rows that failed.

    A row the kernel rejects (overflow, division by zero, a value out of range) is null
    and failed; a row with a null input is null but not failed — null in, null out.
    """
    values = bisect_kernel(kernel, inputs)
    given = functools.reduce(pc.and_, [pc.is_valid(a) for a in inputs])
    return values, pc.and_(given, pc.is_null(values))


def keep_in_lists(lists: pa.Array, keep: pa.Array) -> pa.Array:
    """Each list with only the values where ``keep`` (over the flattened values) is true."""
    flat = pc.list_flatten(lists)
    parents = pc.list_parent_indices(lists).to_numpy()
    kept = pc.fill_null(keep, False).to_numpy(zero_copy_only=False)
    counts = np.bincount(parents[kept], minlength=len(lists))
    offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int32)
    return pa.ListArray.from_arrays(
        pa.array(offsets), flat.filter(pa.array(kept)), mask=pc.is_null(lists)
    )


def explain_values(name: str) -> Callable[[list[pa.Array], int], str]:
    def explain(inputs: list[pa.Array], row: int) -> str:
        shown = ", ".join(describe_value(a[row].as_py()) for a in inputs)
        return f"{name}({shown}) failed"

    return explain
