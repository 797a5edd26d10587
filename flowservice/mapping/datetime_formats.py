"""Parse date and time strings with Java-style patterns (``yyyy-MM-dd HH:mm:ss``), vectorised.

A pattern becomes one regular expression with named groups; ``extract_regex``
splits every string at once, the parts are reassembled into a fixed ISO form
and parsed, and a parsed day that differs from the written one (``Feb 30``
rolls into March in ``strptime``) marks the row invalid. Letters:
``yyyy`` year, ``M``/``MM`` month, ``MMM``/``MMMM`` month name, ``d``/``dd`` day,
``H``/``HH`` hour, ``h``/``hh`` + ``a`` 12-hour clock, ``m``/``mm`` minute,
``s``/``ss`` second, ``S``… fraction (up to 9 digits, kept to microseconds),
``X``/``XXX``/``Z``/``x`` offset (``Z``, ``+02``, ``+0200``, ``+02:00``); text in
single quotes is literal (``''`` is a quote). Other letters are refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

_GROUPS = {
    "y": {4: r"(?P<year>\d{4})"},
    "u": {4: r"(?P<year>\d{4})"},
    "M": {
        1: r"(?P<month>\d{1,2})",
        2: r"(?P<month>\d{2})",
        3: r"(?P<monthname>[A-Za-z]{3})",
        4: r"(?P<monthname>[A-Za-z]{3,9})",
    },
    "d": {1: r"(?P<day>\d{1,2})", 2: r"(?P<day>\d{2})"},
    "H": {1: r"(?P<hour>\d{1,2})", 2: r"(?P<hour>\d{2})"},
    "h": {1: r"(?P<hour12>\d{1,2})", 2: r"(?P<hour12>\d{2})"},
    "a": {1: r"(?P<ampm>[AaPp][Mm])"},
    "m": {1: r"(?P<minute>\d{1,2})", 2: r"(?P<minute>\d{2})"},
    "s": {1: r"(?P<second>\d{1,2})", 2: r"(?P<second>\d{2})"},
}
_OFFSET = r"(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)"
_MONTHS = ["january", "february", "march", "april", "may", "june", "july",
           "august", "september", "october", "november", "december"]  # fmt: skip
_ISO = (
    r"^\s*(?P<year>\d{4})-(?P<month>\d{2})-(?P<day>\d{2})"
    r"(?:[T ](?P<hour>\d{2}):(?P<minute>\d{2})"
    r"(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d{1,9}))?)?)?"
    r"\s*(?P<offset>Z|[+-]\d{2}(?::?\d{2})?)?\s*$"
)


_PartFn = Callable[[str, str], pa.Array]
UTC_US = pa.timestamp("us", tz="UTC")


class DateFormatError(ValueError):
    """A pattern that cannot be compiled, with the 0-based position of the problem."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class DateTimePattern:
    """A compiled pattern: the regex and which parts it captures."""

    text: str
    regex: str
    groups: frozenset[str]
    # Set when every field has a fixed width: strptime can parse, the regex checks the
    # shape, and the day digits at `day_at` catch dates strptime rolled over.
    strptime_format: str | None = None
    day_at: int | None = None


ISO_PATTERN = DateTimePattern(
    "ISO 8601",
    _ISO,
    frozenset({"year", "month", "day", "hour", "minute", "second", "fraction", "offset"}),
)


def compile_pattern(pattern: str) -> DateTimePattern:
    """Compile a Java-style pattern; raises DateFormatError naming the position."""
    parts: list[str] = ["^"]
    groups: set[str] = set()
    fixed: _FixedWidth | None = _FixedWidth()
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise DateFormatError("quoted text in the format is not closed", i)
            literal = pattern[i + 1 : end] if end > i + 1 else "'"
            parts.append(re.escape(literal))
            if fixed is not None:
                fixed.literal(literal)
            i = end + 1
            continue
        run = 1
        while i + run < len(pattern) and pattern[i + run] == ch:
            run += 1
        if ch.isalpha():
            regex = _letter_regex(ch, run, i)
            name = regex[4 : regex.index(">")]
            if name in groups:
                raise DateFormatError(f"the format gives {name} twice", i)
            groups.add(name)
            parts.append(regex)
            if fixed is not None:
                fixed = fixed.field(ch, run, name)
        else:
            parts.append(re.escape(ch * run))
            if fixed is not None:
                fixed.literal(ch * run)
        i += run
    if ("hour12" in groups) != ("ampm" in groups):
        raise DateFormatError("a 12-hour 'h' needs an 'a' (AM/PM) and the reverse", 0)
    parts.append("$")
    regex = "".join(parts)
    if fixed is None or fixed.day_at is None or not {"year", "month"} <= groups:
        return DateTimePattern(pattern, regex, frozenset(groups))
    return DateTimePattern(pattern, regex, frozenset(groups), "".join(fixed.format), fixed.day_at)


_STRPTIME = {("y", 4): "%Y", ("u", 4): "%Y", ("M", 2): "%m", ("d", 2): "%d",
             ("H", 2): "%H", ("m", 2): "%M", ("s", 2): "%S"}  # fmt: skip


class _FixedWidth:
    """Builds the strptime form of a pattern while every field has a fixed width."""

    def __init__(self) -> None:
        self.format: list[str] = []
        self.width = 0
        self.day_at: int | None = None

    def literal(self, text: str) -> None:
        self.format.append(text.replace("%", "%%"))
        self.width += len(text)

    def field(self, letter: str, run: int, name: str) -> _FixedWidth | None:
        directive = _STRPTIME.get((letter, run))
        if directive is None:
            return None
        if name == "day":
            self.day_at = self.width
        self.format.append(directive)
        self.width += run
        return self


def _letter_regex(ch: str, run: int, position: int) -> str:
    if ch == "S":
        if run > 9:
            raise DateFormatError("at most 9 fraction digits (S)", position)
        return rf"(?P<fraction>\d{{{run}}})"
    if ch in "XxZ":
        return _OFFSET
    forms = _GROUPS.get(ch)
    if forms is None:
        raise DateFormatError(f"unsupported pattern letter {ch!r}", position)
    regex = forms.get(run)
    if regex is None:
        raise DateFormatError(f"unsupported pattern {ch * run!r}", position)
    return regex


@dataclass(frozen=True)
class ParsedTimes:
    """Parsed values (nulls where invalid) and the rows that failed to parse."""

    values: pa.Array
    failed: pa.Array


def parse_timestamps(strings: pa.Array, pattern: DateTimePattern, zone: str) -> ParsedTimes:
    """Strings → timestamp[us, UTC]; without an offset in the text, ``zone`` is assumed."""
    if pattern is ISO_PATTERN and zone == "UTC":
        fast = _iso_fast(strings, UTC_US)
        if fast is not None:
            return ParsedTimes(fast, pa.repeat(pa.scalar(False), len(strings)))
    local, offset_minutes, failed = _parse_local(strings, pattern)
    if "offset" in pattern.groups:
        shift = pc.multiply(pc.fill_null(offset_minutes, 0), 60_000_000)
        utc_us = pc.subtract(local.cast(pa.int64()), shift)
        with_offset = utc_us.cast(pa.timestamp("us", tz="UTC"))
    else:
        with_offset = None
    # Rows without a written offset are wall-clock times in `zone`: a time repeated by a DST
    # change takes its first instant, one skipped by it the first instant after the gap.
    if zone == "UTC":
        zoned = local.cast(pa.timestamp("us", tz="UTC"))  # no DST: wall clock is the instant
    else:
        zoned = pc.assume_timezone(local, zone, ambiguous="earliest", nonexistent="latest")
        zoned = zoned.cast(pa.timestamp("us", tz="UTC"))
    if with_offset is not None:
        values = pc.if_else(pc.is_null(offset_minutes), zoned, with_offset)
    else:
        values = zoned
    return ParsedTimes(
        values=pc.if_else(failed, pa.scalar(None, values.type), values), failed=failed
    )


def parse_dates(strings: pa.Array, pattern: DateTimePattern) -> ParsedTimes:
    """Strings → date32, as written (an offset in the text does not move the date)."""
    if pattern is ISO_PATTERN:
        fast = _iso_fast(strings, pa.date32())
        if fast is not None:
            return ParsedTimes(fast, pa.repeat(pa.scalar(False), len(strings)))
    local, _, failed = _parse_local(strings, pattern)
    dates = local.cast(pa.date32())
    return ParsedTimes(
        values=pc.if_else(failed, pa.scalar(None, pa.date32()), dates), failed=failed
    )


def _parse_local(
    strings: pa.Array, pattern: DateTimePattern
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """Wall-clock timestamp[us], offset in minutes (null if none) and the failed-row mask."""
    strings = strings.cast(pa.string())
    if pattern.strptime_format is not None and pattern.day_at is not None:
        return _parse_fixed(strings, pattern.regex, pattern.strptime_format, pattern.day_at)
    parts = pc.extract_regex(strings, pattern.regex)
    matched = pc.fill_null(parts.is_valid(), False)

    def part(name: str, default: str) -> pa.Array:
        if name not in pattern.groups:
            return pa.repeat(pa.scalar(default), len(strings))
        raw = pc.struct_field(parts, name)
        return pc.if_else(pc.equal(pc.fill_null(raw, ""), ""), default, raw)

    month = _month(part, pattern)
    hour = _hour(part, pattern)
    iso = pc.binary_join_element_wise(
        part("year", "1970"), "-", month, "-", _pad(part("day", "01")), " ",
        hour, ":", _pad(part("minute", "00")), ":", _pad(part("second", "00")), "",
    )  # fmt: skip
    parsed = pc.strptime(iso, format="%Y-%m-%d %H:%M:%S", unit="us", error_is_null=True)
    # strptime rolls 30 February into March; a changed day means the date was invalid.
    day_kept = pc.equal(pc.day(parsed), pc.cast(part("day", "01"), pa.int64(), safe=False))
    good = pc.and_kleene(matched, pc.fill_null(day_kept, False))
    fraction = pc.utf8_slice_codeunits(pc.utf8_rpad(part("fraction", "0"), 6, "0"), 0, 6)
    micros = pc.cast(fraction, pa.int64(), safe=False)
    local = pc.add(parsed.cast(pa.int64()), micros).cast(pa.timestamp("us"))
    local = pc.if_else(good, local, pa.scalar(None, local.type))
    offset = _offset_minutes(part("offset", ""))
    failed = pc.and_(pc.is_valid(strings), pc.invert(good))
    return local, offset, failed


def _parse_fixed(
    strings: pa.Array, regex: str, strptime_format: str, day_at: int
) -> tuple[pa.Array, pa.Array, pa.Array]:
    """The fast path for fixed-width numeric patterns (``yyyy-MM-dd HH:mm:ss``)."""
    shaped = pc.fill_null(pc.match_substring_regex(strings, regex), False)
    parsed = pc.strptime(strings, format=strptime_format, unit="us", error_is_null=True)
    day_text = pc.if_else(shaped, pc.utf8_slice_codeunits(strings, day_at, day_at + 2), "01")
    day_kept = pc.equal(pc.day(parsed), pc.cast(day_text, pa.int64()))
    good = pc.and_(shaped, pc.fill_null(day_kept, False))
    local = pc.if_else(good, parsed, pa.scalar(None, parsed.type))
    failed = pc.and_(pc.is_valid(strings), pc.invert(good))
    return local, pa.nulls(len(strings), pa.int64()), failed


def _iso_fast(strings: pa.Array, target: pa.DataType) -> pa.Array | None:
    """Arrow's own strict ISO 8601 cast, when every row parses; None sends to the slow path."""
    attempts = [target] if pa.types.is_date(target) else [pa.timestamp("us"), UTC_US]
    for attempt in attempts:
        try:
            values = pc.cast(strings, attempt)
        except pa.ArrowInvalid:
            continue
        return values.cast(UTC_US) if pa.types.is_timestamp(attempt) else values
    return None


def _pad(values: pa.Array) -> pa.Array:
    return pc.utf8_lpad(values, 2, "0")


def _month(part: _PartFn, pattern: DateTimePattern) -> pa.Array:
    if "monthname" not in pattern.groups:
        return _pad(part("month", "01"))
    name = pc.utf8_lower(part("monthname", ""))
    full = pc.index_in(name, value_set=pa.array(_MONTHS))
    short = pc.index_in(name, value_set=pa.array([m[:3] for m in _MONTHS]))
    number = pc.add(pc.coalesce(full, short), 1)
    # An unknown month name becomes month 00, which strptime rejects.
    return _pad(pc.fill_null(pc.cast(number, pa.string()), "00"))


def _hour(part: _PartFn, pattern: DateTimePattern) -> pa.Array:
    if "hour12" not in pattern.groups:
        return _pad(part("hour", "00"))
    h12 = pc.cast(part("hour12", "12"), pa.int64(), safe=False)
    # Hours outside 1..12 on a 12-hour clock become 99, which strptime rejects.
    valid = pc.and_(pc.greater_equal(h12, 1), pc.less_equal(h12, 12))
    pm = pc.equal(pc.utf8_lower(part("ampm", "am")), "pm")
    # 12 AM is hour 0 and 12 PM is hour 12: (h mod 12) + 12 for PM.
    twelve = pc.multiply(pc.equal(h12, 12).cast(pa.int64()), 12)
    hour24 = pc.add(pc.subtract(h12, twelve), pc.multiply(pm.cast(pa.int64()), 12))
    hour24 = pc.if_else(valid, hour24, 99)
    return _pad(pc.cast(hour24, pa.string()))


def _offset_minutes(text: pa.Array) -> pa.Array:
    """``Z``/``+02``/``+0200``/``+02:00`` → signed minutes; empty → null."""
    empty = pc.equal(text, "")
    zulu = pc.equal(text, "Z")
    usable = pc.if_else(pc.or_(empty, zulu), "+00", text)
    digits = pc.replace_substring(pc.utf8_slice_codeunits(usable, 1), ":", "")
    hours = pc.cast(pc.utf8_slice_codeunits(digits, 0, 2), pa.int64(), safe=False)
    minutes = pc.cast(
        pc.utf8_rpad(pc.utf8_slice_codeunits(digits, 2, 4), 2, "0"), pa.int64(), safe=False
    )
    magnitude = pc.add(pc.multiply(hours, 60), minutes)
    signed = pc.if_else(pc.starts_with(usable, "-"), pc.negate(magnitude), magnitude)
    return pc.if_else(empty, pa.scalar(None, pa.int64()), signed)
