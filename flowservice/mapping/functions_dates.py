"""Date and time functions: to_date, to_timestamp, now, date, date_part, set_date_part, zones."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.casting import UTC_US, Evaluated, Failure, cast_checked, describe_value
from flowservice.mapping.datetime_formats import (
    ISO_PATTERN,
    DateFormatError,
    DateTimePattern,
    compile_pattern,
    parse_dates,
    parse_timestamps,
)
from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    call_args,
    converted,
    is_text,
    literal_text,
    merged,
    require_text,
)
from flowservice.mapping.function_kit import elementwise, failing, need
from flowservice.mapping.function_registry import function
from flowservice.mapping.syntax import Call

_DATES = "Date and time"


def date_pattern(node: Call, index: int) -> DateTimePattern:
    text = literal_text(node, index, "a date format")
    try:
        return compile_pattern(text)
    except DateFormatError as exc:
        # +1 skips the opening quote of the literal.
        position = node.args[index].position + 1 + exc.position
        raise ExpressionTypeError(f"bad date format {text!r}: {exc.message}", position) from None


def _to_date(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, 2)
    value = parts[0]
    pattern = date_pattern(node, 1) if len(parts) == 2 else None
    if pa.types.is_date(value.type) or pa.types.is_timestamp(value.type):
        return converted(value, pa.date32(), "date")
    require_text(node, 0, value)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        if pattern is None:
            return merged(inner, cast_checked(inner.values.cast(pa.string()), pa.date32(), "date"))
        parsed = parse_dates(inner.values, pattern)
        return merged(
            inner, parse_failures(inner.values, parsed.values, parsed.failed, "a date", pattern)
        )

    return CompiledExpression(pa.date32(), evaluate, value.columns)


def _to_timestamp(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, 3)
    value = parts[0]
    pattern = date_pattern(node, 1) if len(parts) >= 2 else None
    zone = literal_text(node, 2, "a time zone name") if len(parts) == 3 else "UTC"
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ExpressionTypeError(f"unknown time zone {zone!r}", node.args[2].position) from None
    if pa.types.is_date(value.type) or pa.types.is_timestamp(value.type):
        return converted(value, UTC_US, "date-time")
    require_text(node, 0, value)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        if pattern is None and zone == "UTC":
            return merged(inner, cast_checked(inner.values.cast(pa.string()), UTC_US, "date-time"))
        parsed = parse_timestamps(inner.values, pattern or ISO_PATTERN, zone)
        return merged(
            inner,
            parse_failures(inner.values, parsed.values, parsed.failed, "a date-time", pattern),
        )

    return CompiledExpression(UTC_US, evaluate, value.columns)


def parse_failures(
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


function(
    "to_date",
    category=_DATES,
    syntax="to_date(STRING [, FORMAT])",
    description="Parses text as a date (ISO without FORMAT); dates and date-times pass through.",
    returns="date",
    example='to_date("23/12/2024", "dd/MM/yyyy")',
    result="2024-12-23",
    adobe=False,
)(_to_date)
function(
    "to_timestamp",
    category=_DATES,
    syntax="to_timestamp(STRING [, FORMAT [, ZONE]])",
    description="Parses text as a date-time (UTC); ZONE applies when the text has no offset.",
    returns="date-time",
    example='to_timestamp("2024-12-23 10:00", "yyyy-MM-dd HH:mm", "Europe/Paris")',
    result="2024-12-23T09:00:00Z",
    adobe=False,
)(_to_timestamp)


# date_part components (Data Prep's spellings, matched ignoring case) -> Arrow kernel
_PARTS = {
    **dict.fromkeys(("year", "yyyy", "yy"), "year"),
    **dict.fromkeys(("quarter", "qq", "q"), "quarter"),
    **dict.fromkeys(("month", "mm", "m"), "month"),
    **dict.fromkeys(("dayofyear", "dy", "y"), "day_of_year"),
    **dict.fromkeys(("day", "dd", "d"), "day"),
    **dict.fromkeys(("week", "ww", "w"), "iso_week"),
    **dict.fromkeys(("weekday", "dw"), "day_of_week"),
    **dict.fromkeys(("hour", "hh", "hh24"), "hour"),
    "hh12": "hour12",
    **dict.fromkeys(("minute", "mi", "n"), "minute"),
    **dict.fromkeys(("second", "ss", "s"), "second"),
    **dict.fromkeys(("millisecond", "ms"), "millisecond"),
}


def _timestamp_arg(node: Call, index: int, part: CompiledExpression) -> CompiledExpression:
    """A date-time argument: timestamps and dates as they are, text parsed as ISO 8601."""
    if pa.types.is_timestamp(part.type):
        return part
    if pa.types.is_date(part.type) or is_text(part.type):

        def evaluate(batch: pa.RecordBatch) -> Evaluated:
            inner = part.evaluate(batch)
            return merged(inner, cast_checked(inner.values, UTC_US, "date-time"))

        return CompiledExpression(UTC_US, evaluate, part.columns)
    raise ExpressionTypeError(
        f"{node.name}() needs a date-time but argument {index + 1} is {part.type}",
        node.args[index].position,
    )


def _component(values: pa.Array, kernel: str) -> pa.Array:
    if kernel == "hour12":
        hours = pc.hour(values).cast(pa.int32())
        rest = pc.subtract(hours, pc.multiply(pc.divide(hours, 12), 12))
        return pc.if_else(pc.equal(rest, 0), pa.scalar(12, pa.int32()), rest)
    if kernel == "day_of_week":
        # ISO numbering, Monday = 1 ... Sunday = 7 (java.time's DayOfWeek)
        return pc.day_of_week(values, count_from_zero=False, week_start=1)
    return getattr(pc, kernel)(values)


@function(
    "date_part",
    category=_DATES,
    syntax="date_part(COMPONENT, DATE)",
    description="One part of a date-time (year, quarter, month, dayofyear, day, week, weekday, "
    "hour, hh12, minute, second, millisecond, or their short spellings), in its own zone.",
    returns="int",
    example='date_part("MM", date("2019-10-17 11:55:12", "yyyy-MM-dd HH:mm:ss"))',
    result="10",
)
def _date_part(node: Call, schema: pa.Schema) -> CompiledExpression:
    _, value = call_args(node, schema, 2, 2)
    component = literal_text(node, 0, "COMPONENT")
    kernel = _PARTS.get(component.lower())
    if kernel is None:
        raise ExpressionTypeError(
            f"unknown date part {component!r}; known: {', '.join(_PARTS)}", node.args[0].position
        )
    value = _timestamp_arg(node, 1, value)
    return elementwise([value], pa.int32(), lambda v: _component(v[0], kernel).cast(pa.int32()))


@function(
    "now",
    category=_DATES,
    syntax="now()",
    description="The current time (one instant for the whole batch).",
    returns="date-time",
    example="now()",
    result="2021-10-26T10:10:24Z",
)
def _now(node: Call, schema: pa.Schema) -> CompiledExpression:
    call_args(node, schema, 0, 0)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        moment = pa.scalar(dt.datetime.now(dt.UTC), UTC_US)
        return Evaluated(pa.repeat(moment, batch.num_rows))

    return CompiledExpression(UTC_US, evaluate, frozenset())


@function(
    "date",
    category=_DATES,
    syntax="date(DATE, FORMAT, DEFAULT_DATE)",
    description="Parses text as a date-time with FORMAT (ISO 8601 without it); with DEFAULT_DATE "
    "a null or unparseable text gives that date instead of failing the row.",
    returns="date-time",
    example='date("2019-10-23 11:24", "yyyy-MM-dd HH:mm", now())',
    result="2019-10-23T11:24:00Z",
)
def _date(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, 3)
    value = parts[0]
    pattern = date_pattern(node, 1) if len(parts) >= 2 else None
    default = _timestamp_arg(node, 2, parts[2]) if len(parts) == 3 else None
    if not is_text(value.type):
        value = _timestamp_arg(node, 0, value)
    if pa.types.is_timestamp(value.type) and default is None:
        return value

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        inner = value.evaluate(batch)
        if pa.types.is_timestamp(inner.values.type):
            out = Evaluated(inner.values.cast(UTC_US))
        else:
            parsed = parse_timestamps(inner.values, pattern or ISO_PATTERN, "UTC")
            out = parse_failures(inner.values, parsed.values, parsed.failed, "a date-time", pattern)
            out = merged(inner, Evaluated(out.values.cast(UTC_US), out.failures))
        if default is None:
            return out
        fallback = default.evaluate(batch)
        values = pc.coalesce(out.values, fallback.values.cast(UTC_US))
        # a default replaces failed parses too: only failures of the inputs themselves remain
        return Evaluated(values, inner.failures + fallback.failures)

    columns = value.columns | (default.columns if default else frozenset())
    return CompiledExpression(UTC_US, evaluate, columns)


def _zone(node: Call, index: int) -> str:
    zone = literal_text(node, index, "a time zone name")
    try:
        zoneinfo.ZoneInfo(zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ExpressionTypeError(
            f"unknown time zone {zone!r}", node.args[index].position
        ) from None
    return zone


@function(
    "zone_date_to_utc",
    category=_DATES,
    syntax="zone_date_to_utc(DATE)",
    description="The same instant as a UTC date-time.",
    returns="date-time",
    example='zone_date_to_utc(zone_date_to_zone(now(), "America/Los_Angeles"))',
    result="2019-10-17T19:55:12Z",
)
def _to_utc(node: Call, schema: pa.Schema) -> CompiledExpression:
    (value,) = call_args(node, schema, 1, 1)
    value = _timestamp_arg(node, 0, value)
    return elementwise([value], UTC_US, lambda v: v[0].cast(UTC_US))


@function(
    "zone_date_to_zone",
    category=_DATES,
    syntax="zone_date_to_zone(DATE, ZONE)",
    description="The same instant seen in ZONE: date_part then reads that zone's wall clock; "
    "stored date-times are always UTC.",
    returns="date-time",
    example='date_part("hh", zone_date_to_zone(date("2021-10-26T13:43:59Z"), "Europe/Paris"))',
    result="15",
)
def _to_zone(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = call_args(node, schema, 2, 2)
    value = _timestamp_arg(node, 0, value)
    target = pa.timestamp("us", tz=_zone(node, 1))
    return elementwise([value], target, lambda v: v[0].cast(target))


def _part_function(name: str, component: str, example_result: str) -> None:
    @function(
        name,
        category=_DATES,
        syntax=f"{name}(DATE)",
        description=f'date_part("{component}", DATE), as a function of its own.',
        returns="int",
        example=f'{name}(date("2021-10-26T13:43:59Z"))',
        result=example_result,
        adobe=False,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        (value,) = call_args(node, schema, 1, 1)
        value = _timestamp_arg(node, 0, value)
        kernel = _PARTS[component]
        return elementwise([value], pa.int32(), lambda v: _component(v[0], kernel).cast(pa.int32()))

    del build


for _function_name, _part, _result in (
    ("year", "year", "2021"),
    ("month", "month", "10"),
    ("day", "day", "26"),
    ("hour", "hour", "13"),
    ("minute", "minute", "43"),
    ("second", "second", "59"),
    ("dayofweek", "weekday", "2"),
    ("dayofyear", "dayofyear", "299"),
    ("week", "week", "43"),
):
    _part_function(_function_name, _part, _result)


# set_date_part components (Data Prep's spellings, any case) -> the field replaced
_SETTABLE = {
    **dict.fromkeys(("year", "yyyy", "yy"), "year"),
    **dict.fromkeys(("month", "mm", "m"), "month"),
    **dict.fromkeys(("day", "dd", "d"), "day"),
    **dict.fromkeys(("hour", "hh"), "hour"),
    **dict.fromkeys(("minute", "mi", "n"), "minute"),
    **dict.fromkeys(("second", "ss", "s"), "second"),
}
# the values each field takes; years stay in 1..9999, as Python's datetime (and the previews)
_RANGES = {
    "year": (1, 9999),
    "month": (1, 12),
    "day": (1, 31),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
_CLOCK = {
    "hour": np.timedelta64(1, "h"),
    "minute": np.timedelta64(1, "m"),
    "second": np.timedelta64(1, "s"),
}


def set_part(stamps: pa.Array, values: pa.Array, field: str) -> tuple[pa.Array, pa.Array]:
    """Replace one wall-clock field of each date-time (numpy calendar arithmetic, no row loop).

    Returns the new date-times (microseconds, in the same zone) and the rows that failed: a
    value out of range. As Java's ``ZonedDateTime.with``, a new year or month keeps the day
    valid (Jan 31 → Feb 28) and the wall clock is read and written in the value's own zone.
    """
    zone = stamps.type.tz
    micros = stamps.cast(pa.timestamp("us", tz=zone), safe=False)  # nanoseconds are dropped
    wall = pc.local_timestamp(micros) if zone else micros
    given = pc.and_(pc.is_valid(wall), pc.is_valid(values))
    low, high = _RANGES[field]
    times = pc.fill_null(wall, pa.scalar(0, wall.type)).to_numpy(zero_copy_only=False)
    wanted = pc.fill_null(values.cast(pa.int64()), low).to_numpy(zero_copy_only=False)
    ok = (wanted >= low) & (wanted <= high)
    wanted = np.clip(wanted, low, high)
    days = times.astype("datetime64[D]")
    clock = times - days
    if field in _CLOCK:
        unit = _CLOCK[field]
        current = (clock // unit) % (24 if field == "hour" else 60)
        clock = clock + (wanted - current) * unit
    else:
        months = days.astype("datetime64[M]")
        years = months.astype("datetime64[Y]")
        parts = {
            "year": years.astype(np.int64) + 1970,
            "month": (months - years).astype(np.int64) + 1,
            "day": (days - months).astype(np.int64) + 1,
        }
        parts[field] = wanted
        month = (parts["year"] - 1970).astype("datetime64[Y]").astype("datetime64[M]")
        month = month + (parts["month"] - 1)
        first = month.astype("datetime64[D]")
        length = ((month + 1).astype("datetime64[D]") - first).astype(np.int64)
        if field == "day":
            ok &= wanted <= length
        days = first + (np.minimum(parts["day"], length) - 1)
    keep = ok & given.to_numpy(zero_copy_only=False)
    naive = pa.array(days + clock, pa.timestamp("us"), mask=~keep)
    if zone:
        naive = pc.assume_timezone(naive, zone, ambiguous="earliest", nonexistent="latest")
    return naive, pc.and_(given, pa.array(~ok, pa.bool_()))


@function(
    "set_date_part",
    category=_DATES,
    syntax="set_date_part(COMPONENT, VALUE, DATE)",
    description="DATE with one part replaced by VALUE: year, month, day, hour, minute or second "
    "(or their short spellings); a VALUE out of range fails the row.",
    returns="date-time",
    example='set_date_part("m", 4, date("2016-11-09T11:44:44.797"))',
    result="2016-04-09T11:44:44.797Z",
)
def _set_date_part(node: Call, schema: pa.Schema) -> CompiledExpression:
    _, value, stamp = call_args(node, schema, 3, 3)
    component = literal_text(node, 0, "COMPONENT")
    field = _SETTABLE.get(component.lower())
    if field is None:
        raise ExpressionTypeError(
            f"unknown date part {component!r}; known: {', '.join(_SETTABLE)}",
            node.args[0].position,
        )
    whole = pa.types.is_integer(value.type) or pa.types.is_null(value.type)
    need(node, 1, value, whole, "a whole number")
    stamp = _timestamp_arg(node, 2, stamp)

    def run(v: list[pa.Array]) -> tuple[pa.Array, pa.Array]:
        return set_part(v[1], v[0], field)

    def explain(v: list[pa.Array], row: int) -> str:
        return f"cannot set the {field} of {v[1][row]} to {v[0][row]}"

    result = pa.timestamp("us", tz=stamp.type.tz)
    return failing([value, stamp], result, run, explain)
