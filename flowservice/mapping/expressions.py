"""Type-check an expression tree against the source columns and build its vectorised evaluator."""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.errors import ValidationFailed
from flowservice.lake.conform import is_safe_cast
from flowservice.lake.xdm import XdmField, arrow_type, parse_type
from flowservice.mapping.casting import (
    UTC_US,
    Evaluated,
    Failure,
    can_cast,
    cast_checked,
    describe_value,
    merge_failures,
)
from flowservice.mapping.datetime_formats import (
    ISO_PATTERN,
    DateFormatError,
    DateTimePattern,
    compile_pattern,
    parse_dates,
    parse_timestamps,
)
from flowservice.mapping.syntax import Call, Column, Literal, Node

Evaluator = Callable[[pa.RecordBatch], Evaluated]


class ExpressionTypeError(Exception):
    """An expression that parses but cannot run on these columns, at a 0-based position."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class CompiledExpression:
    """An expression bound to a source schema: its result type and evaluator."""

    type: pa.DataType
    evaluate: Evaluator
    columns: frozenset[str]


def resolve_column(name: str, schema: pa.Schema) -> str | None:
    """The source column a name refers to: exact, else a unique case-insensitive match."""
    if schema.get_field_index(name) >= 0:
        return name
    # SQL Server column names are case-insensitive; so are references to them.
    matches = [n for n in schema.names if n.lower() == name.lower()]
    return matches[0] if len(matches) == 1 else None


def compile_expression(node: Node, schema: pa.Schema) -> CompiledExpression:
    """Bind ``node`` to ``schema``; raises ExpressionTypeError with the position of the fault."""
    if isinstance(node, Column):
        return _column(node, schema)
    if isinstance(node, Literal):
        return _literal(node)
    builder = _BUILDERS.get(node.name)
    if builder is None:
        known = ", ".join(_BUILDERS)
        raise ExpressionTypeError(f"unknown function {node.name}(); known: {known}", node.position)
    return builder(node, schema)


def _column(node: Column, schema: pa.Schema) -> CompiledExpression:
    name = resolve_column(node.name, schema)
    if name is None:
        raise ExpressionTypeError(f"no source column {node.name!r}", node.position)
    data_type = schema.field(name).type
    if pa.types.is_dictionary(data_type):
        data_type = data_type.value_type

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        column = batch.column(name)
        if pa.types.is_dictionary(column.type):
            column = column.dictionary_decode()
        return Evaluated(column)

    return CompiledExpression(data_type, evaluate, frozenset({name}))


def _literal(node: Literal) -> CompiledExpression:
    value = node.value
    scalar = pa.scalar(value)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        if value is None:
            return Evaluated(pa.nulls(batch.num_rows))
        return Evaluated(pa.repeat(scalar, batch.num_rows))

    return CompiledExpression(scalar.type, evaluate, frozenset())


def _args(node: Call, schema: pa.Schema, low: int, high: int | None) -> list[CompiledExpression]:
    count = len(node.args)
    if count < low or (high is not None and count > high):
        wanted = f"{low}" if high == low else f"{low} to {high}" if high else f"at least {low}"
        raise ExpressionTypeError(
            f"{node.name}() takes {wanted} arguments, got {count}", node.position
        )
    return [compile_expression(arg, schema) for arg in node.args]


def _literal_text(node: Call, index: int, what: str) -> str:
    arg = node.args[index]
    if not isinstance(arg, Literal) or not isinstance(arg.value, str):
        raise ExpressionTypeError(f"{node.name}() needs {what} as a string literal", arg.position)
    return arg.value


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t))


def _require_text(node: Call, index: int, compiled: CompiledExpression) -> None:
    if not _is_text(compiled.type):
        raise ExpressionTypeError(
            f"{node.name}() needs text but argument {index + 1} is {compiled.type}; "
            f'use cast(..., "string") first',
            node.args[index].position,
        )


def _columns(parts: Sequence[CompiledExpression]) -> frozenset[str]:
    return frozenset().union(*(p.columns for p in parts))


def _concat(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = _args(node, schema, 1, None)
    for i, part in enumerate(parts):
        if not can_cast(part.type, pa.string()):
            raise ExpressionTypeError(
                f"concat() cannot turn {part.type} into text", node.args[i].position
            )

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        evaluated = [p.evaluate(batch) for p in parts]
        texts = [e.values.cast(pa.string()) for e in evaluated]
        # Null parts are skipped ("a" + null = "a"); all-null gives null.
        joined = pc.binary_join_element_wise(
            *texts, "", null_handling="replace", null_replacement=""
        )
        all_null = functools.reduce(pc.and_, [pc.is_null(t) for t in texts])
        values = pc.if_else(all_null, pa.scalar(None, pa.string()), joined)
        return Evaluated(values, merge_failures(*evaluated))

    return CompiledExpression(pa.string(), evaluate, _columns(parts))


def _text_function(
    kernel: Callable[[pa.Array], pa.Array],
) -> Callable[[Call, pa.Schema], CompiledExpression]:
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        (arg,) = _args(node, schema, 1, 1)
        _require_text(node, 0, arg)

        def evaluate(batch: pa.RecordBatch) -> Evaluated:
            inner = arg.evaluate(batch)
            return Evaluated(kernel(inner.values.cast(pa.string())), inner.failures)

        return CompiledExpression(pa.string(), evaluate, arg.columns)

    return build


def _pattern(node: Call, index: int) -> DateTimePattern:
    text = _literal_text(node, index, "a date format")
    try:
        return compile_pattern(text)
    except DateFormatError as exc:
        # +1 skips the opening quote of the literal.
        position = node.args[index].position + 1 + exc.position
        raise ExpressionTypeError(f"bad date format {text!r}: {exc.message}", position) from None


def _to_date(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = _args(node, schema, 1, 2)
    value = parts[0]
    pattern = _pattern(node, 1) if len(parts) == 2 else None
    if pa.types.is_date(value.type) or pa.types.is_timestamp(value.type):
        return _convert(value, pa.date32(), "date")
    _require_text(node, 0, value)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        if pattern is None:
            return _merge(inner, cast_checked(inner.values.cast(pa.string()), pa.date32(), "date"))
        parsed = parse_dates(inner.values, pattern)
        return _merge(inner, _parsed(inner.values, parsed.values, parsed.failed, "a date", pattern))

    return CompiledExpression(pa.date32(), evaluate, value.columns)


def _to_timestamp(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = _args(node, schema, 1, 3)
    value = parts[0]
    pattern = _pattern(node, 1) if len(parts) >= 2 else None
    zone = _literal_text(node, 2, "a time zone name") if len(parts) == 3 else "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ExpressionTypeError(f"unknown time zone {zone!r}", node.args[2].position) from None
    if pa.types.is_date(value.type) or pa.types.is_timestamp(value.type):
        return _convert(value, UTC_US, "date-time")
    _require_text(node, 0, value)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        if pattern is None and zone == "UTC":
            return _merge(inner, cast_checked(inner.values.cast(pa.string()), UTC_US, "date-time"))
        parsed = parse_timestamps(inner.values, pattern or ISO_PATTERN, zone)
        return _merge(
            inner, _parsed(inner.values, parsed.values, parsed.failed, "a date-time", pattern)
        )

    return CompiledExpression(UTC_US, evaluate, value.columns)


def _parsed(
    original: pa.Array,
    values: pa.Array,
    failed: pa.Array,
    what: str,
    pattern: DateTimePattern | None,
) -> Evaluated:
    if not pc.any(failed).as_py():
        return Evaluated(values)
    fmt = f" with format {pattern.text!r}" if pattern else ""

    def reason(row: int) -> str:
        return f"cannot parse {describe_value(original[row].as_py())} as {what}{fmt}"

    return Evaluated(values, (Failure(failed, reason),))


def _merge(inner: Evaluated, outer: Evaluated) -> Evaluated:
    return Evaluated(outer.values, inner.failures + outer.failures)


def _convert(value: CompiledExpression, target: pa.DataType, name: str) -> CompiledExpression:
    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        return _merge(inner, cast_checked(inner.values, target, name))

    return CompiledExpression(target, evaluate, value.columns)


def _cast(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = _args(node, schema, 2, 2)
    spelled = _literal_text(node, 1, "an XDM type name")
    try:
        xdm = parse_type(spelled)
    except ValidationFailed as exc:
        raise ExpressionTypeError(exc.message, node.args[1].position) from None
    if xdm == "object":
        raise ExpressionTypeError("cannot cast to an object", node.args[1].position)
    target = arrow_type(XdmField("value", xdm))
    if not can_cast(value.type, target):
        raise ExpressionTypeError(f"cannot cast {value.type} to {xdm}", node.position)
    return _convert(value, target, xdm)


def _coalesce(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = _args(node, schema, 1, None)
    # Columns and calls decide the type; literals adapt to it (coalesce(int32_col, 0)).
    computed = [p.type for p, a in zip(parts, node.args, strict=True) if not isinstance(a, Literal)]
    typed = [t for t in [*computed, *(p.type for p in parts)] if not pa.types.is_null(t)]
    result = typed[0] if typed else pa.null()
    for i, part in enumerate(parts):
        arg = node.args[i]
        if is_safe_cast(part.type, result):
            continue
        if isinstance(arg, Literal) and _literal_fits(arg.value, result):
            parts[i] = _typed_literal(arg.value, result)
            continue
        raise ExpressionTypeError(
            f"coalesce() arguments must share a type: {result} and {part.type}", arg.position
        )

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        evaluated = [p.evaluate(batch) for p in parts]
        values = pc.coalesce(*[e.values.cast(result) for e in evaluated])
        return Evaluated(values, merge_failures(*evaluated))

    return CompiledExpression(result, evaluate, _columns(parts))


def _literal_fits(value: object, target: pa.DataType) -> bool:
    """A literal that converts to ``target`` exactly (42 as int16, 1.5 as decimal(5,2))."""
    if isinstance(value, str) and not _is_text(target):
        return False  # text literals stay text; parse them with cast()/to_date() explicitly
    try:
        pc.cast(pa.array([value]), target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False
    return True


def _typed_literal(value: object, target: pa.DataType) -> CompiledExpression:
    scalar = pc.cast(pa.array([value]), target, safe=True)[0]

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        return Evaluated(pa.repeat(scalar, batch.num_rows))

    return CompiledExpression(target, evaluate, frozenset())


_BUILDERS: dict[str, Callable[[Call, pa.Schema], CompiledExpression]] = {
    "concat": _concat,
    "lower": _text_function(pc.utf8_lower),
    "upper": _text_function(pc.utf8_upper),
    "trim": _text_function(pc.utf8_trim_whitespace),
    "ltrim": _text_function(pc.utf8_ltrim_whitespace),
    "rtrim": _text_function(pc.utf8_rtrim_whitespace),
    "to_date": _to_date,
    "to_timestamp": _to_timestamp,
    "cast": _cast,
    "coalesce": _coalesce,
}

#: The function names an expression may call.
FUNCTIONS: tuple[str, ...] = tuple(_BUILDERS)
