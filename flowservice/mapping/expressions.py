"""Type-check an expression tree against the source columns and build its vectorised evaluator."""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.errors import ValidationFailed
from flowservice.lake.conform import is_safe_cast
from flowservice.lake.xdm import XdmField, arrow_type, parse_type
from flowservice.mapping.casting import (
    Evaluated,
    can_cast,
    cast_checked,
    merge_failures,
)
from flowservice.mapping.function_registry import (
    function,
    function_names,
    lookup_function,
    lookup_operator,
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


# Calls whose value differs on every evaluation: never shared between mappings.
VOLATILE = frozenset({"now", "uuid", "guid"})
_SHARED: ContextVar[dict[Hashable, _Shared] | None] = ContextVar("shared_calls", default=None)


@contextmanager
def sharing_subexpressions() -> Iterator[None]:
    """Within this block, equal calls compile once and each batch evaluates them once.

    ``MappingSet.compile`` uses it, so ``to_timestamp(created, ...)`` written in two
    mappings is parsed once per batch; the last batch's shared values stay referenced
    until the next batch.
    """
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


class _Shared:
    """A compiled call used by more than one mapping: remembers its last batch's result."""

    def __init__(self, compiled: CompiledExpression) -> None:
        self.compiled = compiled
        self.reused = False
        self._last: tuple[pa.RecordBatch, Evaluated] | None = None

    def evaluate(self, batch: pa.RecordBatch) -> Evaluated:
        if not self.reused:
            return self.compiled.evaluate(batch)
        if self._last is not None and self._last[0] is batch:
            return self._last[1]
        result = self.compiled.evaluate(batch)
        self._last = (batch, result)
        return result


def _key(node: Node) -> Hashable:
    if isinstance(node, Column):
        return ("column", node.name)
    if isinstance(node, Literal):
        return ("literal", type(node.value).__name__, node.value)
    return ("call", node.name, tuple(_key(arg) for arg in node.args))


def compile_expression(node: Node, schema: pa.Schema) -> CompiledExpression:
    """Bind ``node`` to ``schema``; raises ExpressionTypeError with the position of the fault."""
    if isinstance(node, Column):
        return _column(node, schema)
    if isinstance(node, Literal):
        return _literal(node)
    shared = _SHARED.get()
    if shared is None or node.name in VOLATILE:
        return _call(node, schema)
    key = _key(node)
    found = shared.get(key)
    if found is not None:
        found.reused = True
    else:
        found = shared[key] = _Shared(_call(node, schema))
    return CompiledExpression(found.compiled.type, found.evaluate, found.compiled.columns)


def _call(node: Call, schema: pa.Schema) -> CompiledExpression:
    if not node.name[:1].isalpha() and not node.name.startswith("_"):
        op = lookup_operator(node.name, len(node.args))
        if op is None:
            raise ExpressionTypeError(f"unsupported operator {node.name!r}", node.position)
        return op.build(node, schema)
    spec = lookup_function(node.name)
    if spec is None:
        known = ", ".join(function_names())
        raise ExpressionTypeError(f"unknown function {node.name}(); known: {known}", node.position)
    return spec.build(node, schema)


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


def call_args(
    node: Call, schema: pa.Schema, low: int, high: int | None
) -> list[CompiledExpression]:
    count = len(node.args)
    if count < low or (high is not None and count > high):
        wanted = f"{low}" if high == low else f"{low} to {high}" if high else f"at least {low}"
        raise ExpressionTypeError(
            f"{node.name}() takes {wanted} arguments, got {count}", node.position
        )
    return [compile_expression(arg, schema) for arg in node.args]


def literal_text(node: Call, index: int, what: str) -> str:
    arg = node.args[index]
    if not isinstance(arg, Literal) or not isinstance(arg.value, str):
        raise ExpressionTypeError(f"{node.name}() needs {what} as a string literal", arg.position)
    return arg.value


def is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_null(t))


def require_text(node: Call, index: int, compiled: CompiledExpression) -> None:
    if not is_text(compiled.type):
        raise ExpressionTypeError(
            f"{node.name}() needs text but argument {index + 1} is {compiled.type}; "
            f'use cast(..., "string") first',
            node.args[index].position,
        )


def columns_of(parts: Sequence[CompiledExpression]) -> frozenset[str]:
    return frozenset().union(*(p.columns for p in parts))


def _concat(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, None)
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

    return CompiledExpression(pa.string(), evaluate, columns_of(parts))


def text_function(
    kernel: Callable[[pa.Array], pa.Array],
) -> Callable[[Call, pa.Schema], CompiledExpression]:
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        (arg,) = call_args(node, schema, 1, 1)
        require_text(node, 0, arg)

        def evaluate(batch: pa.RecordBatch) -> Evaluated:
            inner = arg.evaluate(batch)
            return Evaluated(kernel(inner.values.cast(pa.string())), inner.failures)

        return CompiledExpression(pa.string(), evaluate, arg.columns)

    return build


def merged(inner: Evaluated, outer: Evaluated) -> Evaluated:
    return Evaluated(outer.values, inner.failures + outer.failures)


def converted(value: CompiledExpression, target: pa.DataType, name: str) -> CompiledExpression:
    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        return merged(inner, cast_checked(inner.values, target, name))

    return CompiledExpression(target, evaluate, value.columns)


def _cast(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = call_args(node, schema, 2, 2)
    spelled = literal_text(node, 1, "an XDM type name")
    try:
        xdm = parse_type(spelled)
    except ValidationFailed as exc:
        raise ExpressionTypeError(exc.message, node.args[1].position) from None
    if xdm == "object":
        raise ExpressionTypeError("cannot cast to an object", node.args[1].position)
    target = arrow_type(XdmField("value", xdm))
    if not can_cast(value.type, target):
        raise ExpressionTypeError(f"cannot cast {value.type} to {xdm}", node.position)
    return converted(value, target, xdm)


def unify(
    node: Call, parts: list[CompiledExpression], args: Sequence[Node], *, widen: bool = False
) -> pa.DataType:
    """One type for ``parts`` (the values of ``args``), adapting literals in place.

    Columns and calls decide the type; literals adapt to it (``coalesce(int32_col, 0)``).
    """
    computed = [p.type for p, a in zip(parts, args, strict=True) if not isinstance(a, Literal)]
    typed = [t for t in [*computed, *(p.type for p in parts)] if not pa.types.is_null(t)]
    result = typed[0] if typed else pa.null()
    for i, part in enumerate(parts):
        arg = args[i]
        if is_safe_cast(part.type, result):
            continue
        if isinstance(arg, Literal) and literal_fits(arg.value, result):
            parts[i] = typed_literal(arg.value, result)
            continue
        if widen and pa.types.is_integer(result) and pa.types.is_integer(part.type):
            result = pa.int64()
        elif widen and is_number(result) and is_number(part.type):
            result = pa.float64()
        else:
            raise ExpressionTypeError(
                f"{node.name}() arguments must share a type: {result} and {part.type}",
                arg.position,
            )
    return result


def is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_decimal(t))


@function(
    "coalesce",
    category="Logical operators",
    syntax="coalesce(VALUE_1, VALUE_2, ...)",
    description="The first argument that is not null.",
    returns="the arguments' type",
    example='coalesce(null, null, "adobe")',
    result='"adobe"',
)
def _coalesce(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, None)
    result = unify(node, parts, node.args)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        evaluated = [p.evaluate(batch) for p in parts]
        values = pc.coalesce(*[e.values.cast(result) for e in evaluated])
        return Evaluated(values, merge_failures(*evaluated))

    return CompiledExpression(result, evaluate, columns_of(parts))


def literal_fits(value: object, target: pa.DataType) -> bool:
    """A literal that converts to ``target`` exactly (42 as int16, 1.5 as decimal(5,2))."""
    if isinstance(value, str) and not is_text(target):
        return False  # text literals stay text; parse them with cast()/to_date() explicitly
    try:
        pc.cast(pa.array([value]), target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return False
    return True


def typed_literal(value: object, target: pa.DataType) -> CompiledExpression:
    scalar = pc.cast(pa.array([value]), target, safe=True)[0]

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        return Evaluated(pa.repeat(scalar, batch.num_rows))

    return CompiledExpression(target, evaluate, frozenset())


_TEXT = "String"
function(
    "concat",
    category=_TEXT,
    syntax="concat(STRING_1, STRING_2, ...)",
    description="Joins the arguments as text; null arguments are skipped.",
    returns="string",
    example='concat("Hi, ", "there", "!")',
    result='"Hi, there!"',
)(_concat)
for _name, _alias, _kernel, _what in (
    ("lower", "lcase", pc.utf8_lower, "Lower-cases the text."),
    ("upper", "ucase", pc.utf8_upper, "Upper-cases the text."),
):
    for _spelled in (_name, _alias):
        function(
            _spelled,
            category=_TEXT,
            syntax=f"{_spelled}(INPUT)",
            description=_what,
            returns="string",
            example=f'{_spelled}("HeLLo")',
            result='"hello"' if _name == "lower" else '"HELLO"',
        )(text_function(_kernel))
for _name, _kernel, _what in (
    ("trim", pc.utf8_trim_whitespace, "Removes leading and trailing whitespace."),
    ("ltrim", pc.utf8_ltrim_whitespace, "Removes leading whitespace."),
    ("rtrim", pc.utf8_rtrim_whitespace, "Removes trailing whitespace."),
):
    function(
        _name,
        category=_TEXT,
        syntax=f"{_name}(STRING)",
        description=_what,
        returns="string",
        example=f'{_name}("  hi  ")',
        result={"trim": '"hi"', "ltrim": '"hi  "', "rtrim": '"  hi"'}[_name],
    )(text_function(_kernel))
function(
    "cast",
    category="Type conversions",
    syntax='cast(VALUE, "XDM_TYPE")',
    description="Converts to an XDM scalar type; values that do not convert fail their row.",
    returns="the XDM type",
    example='cast("42", "int")',
    result="42",
    adobe=False,
)(_cast)
