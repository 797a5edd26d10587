"""``sp_datatype_info[_100]``: the ODBC type catalog drivers read behind ``SQLGetTypeInfo``.

pyodbc sizes its parameters from it: the first row for SQL_TYPE_TIMESTAMP (``datetime``,
precision 23) makes it send Python datetimes with three fractional digits, exactly as it
does against SQL Server; the ``varchar``/``nvarchar``/``varbinary`` rows give the longest
value it binds without switching to a ``(max)`` type.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from mssql_emulator.contract import Column, ResultSet, SqlType, StatementResult

# (name, ODBC type, precision, literal prefix, literal suffix, create params, searchable,
#  unsigned, money, minimum and maximum scale, SQL_DATETIME_SUB, radix, user type),
# ordered as SQL Server orders them: by ODBC type, then the closest match first.
_S = "'"
_ROWS: list[tuple[Any, ...]] = [
    ("datetimeoffset", -155, 34, _S, _S, "scale", 3, None, 0, 0, 7, None, None, 0),
    ("time", -154, 16, _S, _S, "scale", 3, None, 0, 0, 7, None, None, 0),
    ("sql_variant", -150, 8000, None, None, None, 2, None, 0, 0, 0, None, 10, 0),
    ("uniqueidentifier", -11, 36, _S, _S, None, 2, None, 0, None, None, None, None, 0),
    ("ntext", -10, 1073741823, "N'", _S, None, 1, None, 0, None, None, None, None, 0),
    ("nvarchar", -9, 4000, "N'", _S, "max length", 3, None, 0, None, None, None, None, 0),
    ("nchar", -8, 4000, "N'", _S, "length", 3, None, 0, None, None, None, None, 0),
    ("bit", -7, 1, None, None, None, 2, None, 0, 0, 0, None, None, 16),
    ("tinyint", -6, 3, None, None, None, 2, 1, 0, 0, 0, None, 10, 5),
    ("bigint", -5, 19, None, None, None, 2, 0, 0, 0, 0, None, 10, 0),
    ("image", -4, 2147483647, "0x", None, None, 0, None, 0, None, None, None, None, 20),
    ("varbinary", -3, 8000, "0x", None, "max length", 2, None, 0, None, None, None, None, 4),
    ("binary", -2, 8000, "0x", None, "length", 2, None, 0, None, None, None, None, 3),
    ("text", -1, 2147483647, _S, _S, None, 1, None, 0, None, None, None, None, 19),
    ("char", 1, 8000, _S, _S, "length", 3, None, 0, None, None, None, None, 1),
    ("numeric", 2, 38, None, None, "precision,scale", 2, 0, 0, 0, 38, None, 10, 10),
    ("decimal", 3, 38, None, None, "precision,scale", 2, 0, 0, 0, 38, None, 10, 24),
    ("money", 3, 19, "$", None, None, 2, 0, 1, 4, 4, None, 10, 11),
    ("smallmoney", 3, 10, "$", None, None, 2, 0, 1, 4, 4, None, 10, 21),
    ("int", 4, 10, None, None, None, 2, 0, 0, 0, 0, None, 10, 7),
    ("smallint", 5, 5, None, None, None, 2, 0, 0, 0, 0, None, 10, 6),
    ("float", 6, 53, None, None, None, 2, 0, 0, None, None, None, 2, 8),
    ("real", 7, 24, None, None, None, 2, 0, 0, None, None, None, 2, 23),
    ("varchar", 12, 8000, _S, _S, "max length", 3, None, 0, None, None, None, None, 2),
    ("date", 91, 10, _S, _S, None, 3, None, 0, None, 0, 1, None, 0),
    ("datetime", 93, 23, _S, _S, None, 3, None, 0, 3, 3, 3, None, 12),
    ("smalldatetime", 93, 16, _S, _S, None, 3, None, 0, 0, 0, 3, None, 22),
    ("datetime2", 93, 27, _S, _S, "scale", 3, None, 0, 0, 7, 3, None, 0),
]
# ODBC 2 called the date and time types by their old codes.
_ODBC2_CODES = {91: 9, 93: 11}

_NAME = SqlType("nvarchar", length=128)
_SHORT = SqlType("smallint")
_TEXT = SqlType("varchar", length=32)
_COLUMNS = [
    ("TYPE_NAME", _NAME),
    ("DATA_TYPE", _SHORT),
    ("PRECISION", SqlType("int")),
    ("LITERAL_PREFIX", _TEXT),
    ("LITERAL_SUFFIX", _TEXT),
    ("CREATE_PARAMS", _TEXT),
    ("NULLABLE", _SHORT),
    ("CASE_SENSITIVE", _SHORT),
    ("SEARCHABLE", _SHORT),
    ("UNSIGNED_ATTRIBUTE", _SHORT),
    ("MONEY", _SHORT),
    ("AUTO_INCREMENT", _SHORT),
    ("LOCAL_TYPE_NAME", _NAME),
    ("MINIMUM_SCALE", _SHORT),
    ("MAXIMUM_SCALE", _SHORT),
    ("SQL_DATA_TYPE", _SHORT),
    ("SQL_DATETIME_SUB", _SHORT),
    ("NUM_PREC_RADIX", SqlType("int")),
    ("INTERVAL_PRECISION", _SHORT),
    ("USERTYPE", _SHORT),
]


def _record(row: tuple[Any, ...], odbc_version: int) -> tuple[Any, ...]:
    name, code, precision, prefix, suffix, params, searchable, unsigned, money = row[:9]
    min_scale, max_scale, datetime_sub, radix, user_type = row[9:]
    if odbc_version < 3:
        code = _ODBC2_CODES.get(code, code)
    sql_data_type = code if datetime_sub is None else 9  # SQL_DATETIME
    auto_increment = 0 if radix == 10 or name in ("float", "real") else None
    return (
        name,
        code,
        precision,
        prefix,
        suffix,
        params,
        1,
        0,
        searchable,
        unsigned,
        money,
        auto_increment,
        name,
        min_scale,
        max_scale,
        sql_data_type,
        datetime_sub,
        radix,
        None,
        user_type,
    )


def datatype_info(data_type: int, odbc_version: int) -> StatementResult:
    """Rows for one ODBC type code (every type for 0), in SQL Server's order."""
    records = [_record(row, odbc_version) for row in _ROWS]
    if data_type:
        records = [r for r in records if r[1] == data_type]
    arrays = [
        pa.array([r[i] for r in records], type=_arrow_type(sql_type))
        for i, (_, sql_type) in enumerate(_COLUMNS)
    ]
    batch = pa.RecordBatch.from_arrays(arrays, names=[name for name, _ in _COLUMNS])
    columns = [Column(name, sql_type) for name, sql_type in _COLUMNS]
    rows = ResultSet(columns, iter([batch]))
    return StatementResult(result_set=rows, rowcount=len(records), return_status=0)


def _arrow_type(sql_type: SqlType) -> pa.DataType:
    if sql_type.name == "smallint":
        return pa.int16()
    if sql_type.name == "int":
        return pa.int32()
    return pa.string()
