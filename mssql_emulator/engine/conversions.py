"""DuckDB expressions that give values SQL Server's conversion semantics.

``store_expr`` is used when a value lands in a column (INSERT/UPDATE: strings
that do not fit raise 2628), ``cast_expr`` for CAST/CONVERT (strings are cut
silently, as SQL Server does). Both know the DuckDB type of their input, so
the expression chosen matches it.
"""

from __future__ import annotations

from mssql_emulator.contract import SqlType
from mssql_emulator.engine import sqltypes

ERROR_PREFIX = "MSSQL|"

# Temporary macros created on every session's DuckDB connection.
MACROS = [
    # datetime keeps 1/300 s ticks; SQL Server shows them as .000/.003/.007 ms.
    """CREATE OR REPLACE TEMP MACRO mssql_datetime(x) AS (
        CASE WHEN x IS NULL THEN NULL
             WHEN x < TIMESTAMP '1753-01-01' OR x >= TIMESTAMP '10000-01-01' THEN error(
                'MSSQL|242|16|The conversion of a varchar data type to a datetime data type '
                || 'resulted in an out-of-range value.')
             ELSE date_trunc('second', x) + to_microseconds(CAST(round(round(
                (epoch_us(x) - epoch_us(date_trunc('second', x))) * 300 / 1000000.0)
                * 10 / 3.0) AS BIGINT) * 1000) END)""",
    """CREATE OR REPLACE TEMP MACRO mssql_smalldatetime(x) AS (
        CASE WHEN x IS NULL THEN NULL
             WHEN x < TIMESTAMP '1900-01-01' OR x > TIMESTAMP '2079-06-06 23:59:29.998' THEN error(
                'MSSQL|242|16|The conversion of a varchar data type to a smalldatetime data '
                || 'type resulted in an out-of-range value.')
             ELSE date_trunc('minute', x + INTERVAL 30 SECOND) END)""",
    """CREATE OR REPLACE TEMP MACRO mssql_round_ts(x, s) AS (
        date_trunc('second', x) + to_microseconds(CAST(
            round((epoch_us(x) - epoch_us(date_trunc('second', x))) / (10 ** (6 - s)))
            * (10 ** (6 - s)) AS BIGINT)))""",
    """CREATE OR REPLACE TEMP MACRO mssql_round_time(x, s) AS (
        CAST(mssql_round_ts(DATE '2000-01-01' + x, s) AS TIME))""",
    # TIME_NS has no arithmetic in DuckDB; its nanoseconds since midnight do.
    """CREATE OR REPLACE TEMP MACRO mssql_round_time_ns(x, s) AS (
        TIME '00:00:00' + to_microseconds(CAST(
            round(epoch_ns(x) / (10 ** (9 - s))) * (10 ** (6 - s)) AS BIGINT)))""",
    """CREATE OR REPLACE TEMP MACRO mssql_time_ns_add(x, ns) AS (
        CAST(make_timestamp_ns(CAST(((epoch_ns(x) + round(ns / 100) * 100) % 86400000000000
                                     + 86400000000000) % 86400000000000 AS BIGINT)) AS TIME_NS))""",
    """CREATE OR REPLACE TEMP MACRO mssql_time_ns_text(x) AS (
        format('{:02d}:{:02d}:{:02d}.{:07d}', epoch_ns(x) // 3600000000000,
               epoch_ns(x) // 60000000000 % 60, epoch_ns(x) // 1000000000 % 60,
               epoch_ns(x) % 1000000000 // 100))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dto_offset(x) AS (
        CASE WHEN regexp_matches(x, '[+-]\\d{1,2}:\\d{2}\\s*$') THEN
            (CASE WHEN regexp_extract(x, '([+-])(\\d{1,2}):(\\d{2})\\s*$', 1) = '-'
                  THEN -1 ELSE 1 END)
            * (CAST(regexp_extract(x, '([+-])(\\d{1,2}):(\\d{2})\\s*$', 2) AS INTEGER) * 60
               + CAST(regexp_extract(x, '([+-])(\\d{1,2}):(\\d{2})\\s*$', 3) AS INTEGER))
        ELSE 0 END)""",
    """CREATE OR REPLACE TEMP MACRO mssql_int_text(x, t) AS (
        CASE WHEN x IS NULL OR regexp_full_match(x, '\\s*[+-]?\\d+\\s*') THEN trim(x)
             ELSE error('MSSQL|245|16|Conversion failed when converting the varchar value '''
                        || x || ''' to data type ' || t || '.') END)""",
    """CREATE OR REPLACE TEMP MACRO mssql_utf16_len(x) AS (
        CASE WHEN strlen(x) = length(x) THEN length(x)
             ELSE length(x) + length(regexp_replace(x, '[^\\x{10000}-\\x{10FFFF}]', '', 'g'))
        END)""",
    # SQL Server also reads 'yyyymmdd[ time]' and a bare 'yyyy' as dates.
    """CREATE OR REPLACE TEMP MACRO mssql_date_text(x) AS (
        CASE WHEN regexp_full_match(x, '\\s*\\d{8}(\\s.*)?') THEN
                 substr(trim(x), 1, 4) || '-' || substr(trim(x), 5, 2) || '-' || substr(trim(x), 7)
             WHEN regexp_full_match(x, '\\s*\\d{4}\\s*') THEN trim(x) || '-01-01'
             ELSE x END)""",
    # datetime2(7) is stored as UBIGINT: 100 ns ticks since 0001-01-01 (see datetime2_ticks).
    """CREATE OR REPLACE TEMP MACRO mssql_dt2(x) AS (x)""",  # marks an expression as ticks
    # mssql_dt2_count may fall outside datetime2's range (after DATEADD); ticks never do.
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_count(x) AS (
        (CAST(epoch_us(x) AS HUGEINT) + 62135596800000000) * 10)""",
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_ticks(x) AS (CAST(mssql_dt2_count(x) AS UBIGINT))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_ts(x) AS (
        make_timestamp(CAST(x // 10 AS BIGINT) - 62135596800000000))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_text(x) AS (
        strftime(mssql_dt2_ts(x), '%Y-%m-%d %H:%M:%S.%f') || CAST(x % 10 AS VARCHAR))""",
    # DuckDB reads six fractional digits of the text and drops the rest; the 7th is added.
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_parse(x) AS (
        mssql_dt2_ticks(CAST(mssql_date_text(x) AS TIMESTAMP))
        + CAST(coalesce(nullif(regexp_extract(x, '[.]\\d{6}(\\d)', 1), ''), '0') AS UBIGINT))""",
    # A variable of type datetime2(7) holds a Python datetime or, with a 7th digit, text.
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_var(x) AS (mssql_dt2_parse(CAST(x AS VARCHAR)))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_nanos(x) AS (CAST(x % 10000000 AS INTEGER) * 100)""",
    # DATEDIFF of ticks: boundaries of ``per`` ticks crossed, times ``scale``.
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_span(e, s, per, scale) AS (
        (CAST(e // per AS BIGINT) - CAST(s // per AS BIGINT)) * scale)""",
    """CREATE OR REPLACE TEMP MACRO mssql_dt2_add(x, ticks) AS (
        CASE WHEN CAST(x AS HUGEINT) + CAST(round(ticks) AS HUGEINT)
                  NOT BETWEEN 0 AND 3155378975999999999
             THEN error('MSSQL|517|16|Adding a value to a ''datetime2'' column caused an '
                        || 'overflow.')
             ELSE CAST(CAST(x AS HUGEINT) + CAST(round(ticks) AS HUGEINT) AS UBIGINT) END)""",
    # datetimeoffset: struct(utc, offset), utc in datetime2(7) ticks, offset in minutes.
    """CREATE OR REPLACE TEMP MACRO mssql_dto(x) AS (x)""",  # marks a datetimeoffset value
    """CREATE OR REPLACE TEMP MACRO mssql_dto_at(utc, minutes) AS (
        CASE WHEN utc IS NULL THEN NULL ELSE struct_pack(
            utc := CAST(utc AS BIGINT), "offset" := CAST(minutes AS SMALLINT)) END)""",
    """CREATE OR REPLACE TEMP MACRO mssql_dto_parse(x) AS (mssql_dto_at(
        CAST(mssql_dt2_parse(regexp_replace(x, '\\s*(Z|[+-]\\d{1,2}:\\d{2})\\s*$', ''))
             AS BIGINT) - CAST(mssql_dto_offset(x) AS BIGINT) * 600000000,
        mssql_dto_offset(x)))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dto_local(x) AS (
        CAST(struct_extract(x, 'utc') + CAST(struct_extract(x, 'offset') AS BIGINT) * 600000000
             AS UBIGINT))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dto_text(x) AS (
        mssql_dt2_text(mssql_dto_local(x)) || ' '
        || CASE WHEN struct_extract(x, 'offset') < 0 THEN '-' ELSE '+' END
        || lpad(CAST(abs(struct_extract(x, 'offset')) // 60 AS VARCHAR), 2, '0') || ':'
        || lpad(CAST(abs(struct_extract(x, 'offset')) % 60 AS VARCHAR), 2, '0'))""",
    # to whole ``unit`` ticks, half up (offsets are whole minutes: UTC or local alike)
    """CREATE OR REPLACE TEMP MACRO mssql_dto_round(x, unit) AS (mssql_dto_at(
        (struct_extract(x, 'utc') + unit // 2) // unit * unit, struct_extract(x, 'offset')))""",
    # The text of a time, datetime2 or datetimeoffset cut to ``n`` characters before the
    # offset: seven fractional digits, then as many as the scale keeps.
    """CREATE OR REPLACE TEMP MACRO mssql_ts_text(x, n) AS (
        left(strftime(x, '%Y-%m-%d %H:%M:%S.%f') || '0', n))""",
    """CREATE OR REPLACE TEMP MACRO mssql_time_text(x, n) AS (
        left(strftime(DATE '1900-01-01' + x, '%H:%M:%S.%f') || '0', n))""",
    """CREATE OR REPLACE TEMP MACRO mssql_dto_scaled_text(x, n) AS (
        left(mssql_dto_text(x), n) || right(mssql_dto_text(x), 7))""",
    """CREATE OR REPLACE TEMP MACRO mssql_divide_check(b) AS (
        CASE WHEN b = 0 THEN error('MSSQL|8134|16|Divide by zero error encountered.')
             ELSE b END)""",
]

_INTS = {"tinyint", "smallint", "int", "bigint"}
_DATES = {"date", "datetime", "smalldatetime", "datetime2"}
# Types a datetimeoffset converts to by its local date and time.
_LOCAL_PARTS = {"date", "time", "datetime", "smalldatetime", "datetime2"}
# Integers convert to binary as their big-endian two's complement bytes.
_INT_BYTES = {"BOOLEAN": 1, "UTINYINT": 1, "SMALLINT": 2, "INTEGER": 4, "BIGINT": 8}


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_text(src: str) -> bool:
    return src.upper() == "VARCHAR"


def _numeric_src(src: str) -> bool:
    s = src.upper()
    return s.startswith("DECIMAL") or s in ("DOUBLE", "FLOAT")


def _to_type(x: str, t: SqlType, src: str) -> str:
    """Convert ``x`` (DuckDB type ``src``) to the storage type of ``t``, no length rules."""
    duck = sqltypes.duckdb_type(t)
    if t.name == "datetimeoffset":
        return _to_offset(x, src.upper(), 7 if t.scale is None else t.scale)
    if src.upper().startswith("STRUCT(UTC"):
        if sqltypes.is_string(t):
            return f"mssql_dto_text({x})"
        if t.name in _LOCAL_PARTS:
            x, src = f"mssql_dto_local({x})", "UBIGINT"  # the local date and time
    if t.name == "datetime2" and _is_text(src):
        # Through ticks, so a 7th digit rounds a lower scale as SQL Server does.
        x, src = f"mssql_dt2_parse({x})", "UBIGINT"
    if src.upper() == "UBIGINT" and duck != "UBIGINT":
        x, src = _from_ticks(x, t)
    if _is_text(src) and t.name in _DATES:
        x = f"mssql_date_text({x})"
    if t.name in _INTS:
        if _is_text(src):
            return f"CAST(mssql_int_text({x}, {_quote(t.name)}) AS {duck})"
        if _numeric_src(src):
            return f"CAST(trunc({x}) AS {duck})"
        return f"CAST({x} AS {duck})"
    if sqltypes.is_string(t):
        if src.upper() == "BOOLEAN":
            return f"CAST(CAST({x} AS INTEGER) AS VARCHAR)"
        if src.upper() == "BLOB":
            # The bytes are the string's own: UTF-16LE for nchar/nvarchar, else code page 1252.
            wide = t.name in ("nchar", "nvarchar")
            return f"{'mssql_utf16_text' if wide else 'mssql_cp1252_text'}({x})"
        if src.upper() == "UUID":
            return f"upper(CAST({x} AS VARCHAR))"
        if src.upper() == "TIME_NS":
            return f"mssql_time_ns_text({x})"
        return f"CAST({x} AS VARCHAR)"
    if sqltypes.is_binary(t):
        if _is_text(src):
            return f"encode({x})"
        width = _INT_BYTES.get(src.upper())
        if width is not None:
            return f"unhex(right(lpad(hex(CAST({x} AS BIGINT)), 16, '0'), {2 * width}))"
        return f"CAST({x} AS BLOB)"
    if t.name in ("datetime", "smalldatetime"):
        return f"mssql_{t.name}(CAST({x} AS TIMESTAMP))"
    if duck == "UBIGINT":  # datetime2(7)
        return _to_ticks(x, src.upper())
    if t.name == "datetime2":
        base = f"CAST({x} AS TIMESTAMP)"
        return f"mssql_round_ts({base}, {t.scale})" if (t.scale or 0) < 6 else base
    if t.name == "time":
        return _time_expr(x, 7 if t.scale is None else t.scale, src.upper())
    if t.name in ("money", "smallmoney") and _is_text(src):
        # money text may group digits with commas and put spaces after the sign
        return f"CAST(replace(replace({x}, ',', ''), ' ', '') AS {duck})"
    return f"CAST({x} AS {duck})"


def scaled_text(x: str, t: SqlType, src: str) -> str | None:
    """SQL Server's text of ``x`` (DuckDB type ``src``) of type ``t``, when DuckDB's own
    would differ: time, datetime2 and datetimeoffset show exactly ``t.scale`` fractional
    digits."""
    if t.name not in ("time", "datetime2", "datetimeoffset"):
        return None
    scale = 7 if t.scale is None else t.scale
    digits = scale + 1 if scale else 0  # the point, then the digits
    if t.name == "datetimeoffset":
        value = x if src.upper().startswith("STRUCT(UTC") else _to_offset(x, "VARCHAR", 7)
        return f"mssql_dto_scaled_text({value}, {19 + digits})"
    if scale == 7 or _is_text(src):
        return None  # already written with seven digits (mssql_dt2_text, mssql_time_ns_text)
    if t.name == "time":
        return f"mssql_time_text({x}, {8 + digits})"
    return f"mssql_ts_text({x}, {19 + digits})"


def _to_offset(x: str, src: str, scale: int) -> str:
    """``x`` as datetimeoffset(``scale``); values without an offset get +00:00."""
    if src.startswith("STRUCT(UTC"):
        value = x
    elif src in ("VARCHAR", "", "?"):
        value = f"mssql_dto_parse(CAST({x} AS VARCHAR))"
    elif src == "UBIGINT":
        value = f"mssql_dto_at({x}, 0)"
    elif src.startswith("TIMESTAMP WITH"):
        value = f"mssql_dto_at(mssql_dt2_count(CAST(timezone('UTC', {x}) AS TIMESTAMP)), 0)"
    else:
        value = f"mssql_dto_at(mssql_dt2_count(CAST({x} AS TIMESTAMP)), 0)"
    if scale < 7:
        value = f"mssql_dto_round({value}, {10 ** (7 - scale)})"
    return f"mssql_dto({value})"


def _from_ticks(x: str, t: SqlType) -> tuple[str, str]:
    """A datetime2(7) value (UBIGINT ticks) and its DuckDB type on the way to ``t``:
    text for strings and time(7), else TIMESTAMP."""
    if sqltypes.is_string(t):
        return f"mssql_dt2_text({x})", "VARCHAR"
    if t.name == "time" and t.scale in (None, 7):
        return f"substr(mssql_dt2_text({x}), 12)", "VARCHAR"
    if t.name == "datetime2" and t.scale == 6:
        return f"mssql_dt2_ts({x} + 5)", "TIMESTAMP"  # the 7th digit rounds half up
    # Lower scales round from the first six digits alone, which gives the same result.
    return f"mssql_dt2_ts({x})", "TIMESTAMP"


def _to_ticks(x: str, src: str) -> str:
    """``x`` as datetime2(7): 100 ns ticks since 0001-01-01."""
    if src == "UBIGINT":
        return x
    if src == "VARCHAR":
        return f"mssql_dt2_parse({x})"
    return f"mssql_dt2_ticks(CAST({x} AS TIMESTAMP))"


def _time_expr(x: str, scale: int, src: str) -> str:
    """``x`` as time(``scale``): TIME_NS keeps 100 ns ticks, TIME microseconds."""
    if src in ("TIME_NS", "TIMESTAMP_NS", "VARCHAR"):
        ticks = f"CAST({x} AS TIME_NS)"  # DuckDB casts these without going through µs
        return ticks if scale == 7 else f"mssql_round_time_ns({ticks}, {scale})"
    if scale == 7:
        return f"CAST(CAST({x} AS TIME) AS TIME_NS)"
    base = f"CAST({x} AS TIME)"
    return f"mssql_round_time({base}, {scale})" if scale < 6 else base


def store_expr(x: str, t: SqlType, src: str, *, table: str, column: str) -> str:
    """``x`` converted for storage in ``table.column`` of type ``t`` (2628 if too long)."""
    value = _to_type(x, t, src)
    if t.length is None or t.length == -1:
        return value
    n = t.length
    # DuckDB eliminates the repeated subexpression, so naming ``value`` thrice is cheap.
    if t.name.startswith("n"):
        measure = f"mssql_utf16_len({value})"
    elif sqltypes.is_binary(t):
        measure = f"octet_length({value})"
    else:
        measure = f"length({value})"
    shown = f"left({value}, {n})" if sqltypes.is_string(t) else f"'0x' || upper(hex({value}))"
    message = _quote(
        f"MSSQL|2628|16|String or binary data would be truncated in table '{table}', "
        f"column '{column}'. Truncated value: '"
    )
    checked = (
        f"(CASE WHEN {measure} > {n} THEN error({message} || {shown} || '''.') ELSE {value} END)"
    )
    if t.name in ("char", "nchar"):
        return f"rpad({checked}, {n}, ' ')"
    return checked


def cast_expr(x: str, t: SqlType, src: str) -> str:
    """CAST/CONVERT(``t``, ``x``): strings and binaries cut to length silently."""
    value = _to_type(x, t, src)
    if t.length is None or t.length == -1:
        return value
    if sqltypes.is_string(t):
        cut = f"left({value}, {t.length})"
        return f"rpad({cut}, {t.length}, ' ')" if t.name in ("char", "nchar") else cut
    # DuckDB cannot slice a BLOB by function; its hex text can be cut and padded instead.
    digits = 2 * t.length
    if src.upper() in _INT_BYTES:
        # A number keeps its low-order bytes; binary(n) pads it with zeros on the left.
        if t.name == "binary":
            return f"unhex(lpad(right(hex({value}), {digits}), {digits}, '0'))"
        return f"unhex(right(hex({value}), {digits}))"
    cut = f"left(hex({value}), {digits})"
    if t.name == "binary":
        cut = f"rpad({cut}, {digits}, '0')"
    return f"unhex({cut})"
