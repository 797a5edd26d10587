"""Casts that report the rows they could not convert instead of failing the whole batch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.lake.conform import is_safe_cast
from flowservice.mapping.datetime_formats import ISO_PATTERN, parse_dates, parse_timestamps

UTC_US = pa.timestamp("us", tz="UTC")
# The screens accept at least everything Arrow's own cast accepts (so a value's fate does
# not depend on the other rows of its batch), plus surrounding whitespace.
_INTEGER_TEXT = r"^\s*([+-]?\d+|0[xX][0-9a-fA-F]+)\s*$"
_DECIMAL_TEXT = r"^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$"
_FLOAT_TEXT = r"(?i)^\s*([+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?|nan|[+-]?inf(inity)?)\s*$"
_BOOLEAN_TEXT = pa.array(["true", "false", "1", "0"])


@dataclass(frozen=True)
class Failure:
    """Rows that failed at one step (``mask`` true) and how to explain one of them."""

    mask: pa.Array
    reason: Callable[[int], str]


@dataclass(frozen=True)
class Evaluated:
    """An expression's values (null where a row failed) and the failures behind them."""

    values: pa.Array
    failures: tuple[Failure, ...] = field(default_factory=tuple)


def describe_value(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def can_cast(src: pa.DataType, dst: pa.DataType) -> bool:
    """Whether Arrow has a cast from ``src`` to ``dst`` at all (values may still fail)."""
    if src == dst or pa.types.is_null(src) or is_safe_cast(src, dst):
        return True
    if _is_text(src) and (pa.types.is_date(dst) or pa.types.is_timestamp(dst)):
        return True
    try:
        pc.cast(pa.array([], src), dst, safe=True)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        return False
    return True


def cast_checked(values: pa.Array, target: pa.DataType, type_name: str) -> Evaluated:
    """Cast ``values`` to ``target``; rows that do not convert exactly become null + failed."""
    source = values.type
    if source == target:
        return Evaluated(values)
    if pa.types.is_null(source):
        return Evaluated(pa.nulls(len(values), target))
    if pa.types.is_dictionary(source):
        return cast_checked(values.dictionary_decode(), target, type_name)
    if _is_text(source):
        if pa.types.is_timestamp(target):
            parsed = parse_timestamps(values, ISO_PATTERN, "UTC")
            return _with_failure(values, parsed.values.cast(target), parsed.failed, type_name)
        if pa.types.is_date(target):
            parsed = parse_dates(values, ISO_PATTERN)
            return _with_failure(values, parsed.values, parsed.failed, type_name)
        try:
            # Clean data converts in one strict cast; only failures pay for screening.
            return Evaluated(pc.cast(values, target, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
        screened = _screen_text(values, target)
        result = _bisect_cast(screened, target)
        failed = pc.and_(pc.is_valid(values), pc.is_null(result))
        return _with_failure(values, result, failed, type_name)
    if pa.types.is_timestamp(source) and source.tz is None and pa.types.is_timestamp(target):
        # Naive timestamps are UTC wall-clock time, as in the lake.
        converted = values.cast(pa.timestamp(source.unit, tz="UTC"))
    else:
        converted = values
    result = _bisect_cast(converted, target)
    failed = pc.and_(pc.is_valid(values), pc.is_null(result))
    return _with_failure(values, result, failed, type_name)


def _with_failure(
    original: pa.Array, result: pa.Array, failed: pa.Array, type_name: str
) -> Evaluated:
    if not pc.any(failed).as_py():
        return Evaluated(result)

    def reason(row: int) -> str:
        return f"cannot convert {describe_value(original[row].as_py())} to {type_name}"

    return Evaluated(result, (Failure(failed, reason),))


def _screen_text(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Null out text that cannot be the target type, vectorised, so bisection stays rare."""
    values = values.cast(pa.string())
    if pa.types.is_integer(target):
        ok = pc.match_substring_regex(values, _INTEGER_TEXT)
        cleaned = pc.utf8_trim_whitespace(values)
    elif pa.types.is_decimal(target):
        ok = pc.match_substring_regex(values, _DECIMAL_TEXT)
        cleaned = pc.utf8_trim_whitespace(values)
    elif pa.types.is_floating(target):
        ok = pc.match_substring_regex(values, _FLOAT_TEXT)
        cleaned = pc.utf8_trim_whitespace(values)
    elif pa.types.is_boolean(target):
        cleaned = pc.utf8_lower(pc.utf8_trim_whitespace(values))
        ok = pc.is_in(cleaned, value_set=_BOOLEAN_TEXT)
    else:
        return values
    return pc.if_else(pc.fill_null(ok, False), cleaned, pa.scalar(None, pa.string()))


def _bisect_cast(values: pa.Array, target: pa.DataType) -> pa.Array:
    """Cast, and on failure split in halves until the bad rows are isolated as nulls."""
    try:
        return pc.cast(values, target, safe=True)
    except pa.ArrowInvalid:
        if len(values) == 1:
            return pa.nulls(1, target)
    middle = len(values) // 2
    halves = [
        _bisect_cast(values.slice(0, middle), target),
        _bisect_cast(values.slice(middle), target),
    ]
    return pa.concat_arrays(halves)


def _is_text(t: pa.DataType) -> bool:
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t))


def merge_failures(*parts: Evaluated) -> tuple[Failure, ...]:
    return tuple(f for part in parts for f in part.failures)
