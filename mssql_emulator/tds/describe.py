"""The result set of ``sp_describe_undeclared_parameters``."""

from __future__ import annotations

import pyarrow as pa

from mssql_emulator.contract import (
    FIXED_BYTE_LENGTHS,
    FIXED_PRECISIONS,
    SYSTEM_TYPE_IDS,
    Column,
    ResultSet,
    SqlType,
)
from mssql_emulator.tds.tokens import VARIANT_MAX_LENGTH, normalize, type_info

SYSNAME = SqlType("nvarchar", length=128)
_SCHEMA: list[tuple[str, SqlType]] = [
    ("parameter_ordinal", SqlType("int")),
    ("name", SYSNAME),
    ("suggested_system_type_id", SqlType("int")),
    ("suggested_system_type_name", SqlType("nvarchar", length=256)),
    ("suggested_max_length", SqlType("smallint")),
    ("suggested_precision", SqlType("tinyint")),
    ("suggested_scale", SqlType("tinyint")),
    ("suggested_user_type_id", SqlType("int")),
    ("suggested_user_type_database", SYSNAME),
    ("suggested_user_type_schema", SYSNAME),
    ("suggested_user_type_name", SYSNAME),
    ("suggested_assembly_qualified_type_name", SqlType("nvarchar", length=4000)),
    ("suggested_xml_collection_id", SqlType("int")),
    ("suggested_xml_collection_database", SYSNAME),
    ("suggested_xml_collection_schema", SYSNAME),
    ("suggested_xml_collection_name", SYSNAME),
    ("suggested_is_xml_document", SqlType("bit")),
    ("suggested_is_case_sensitive", SqlType("bit")),
    ("suggested_is_fixed_length_type", SqlType("bit")),
    ("suggested_is_input", SqlType("bit")),
    ("suggested_is_output", SqlType("bit")),
    ("formal_parameter_name", SYSNAME),
    ("suggested_tds_type_id", SqlType("int")),
    ("suggested_tds_length", SqlType("int")),
]


def _max_length(t: SqlType) -> int:
    if t.name == "sql_variant":
        return VARIANT_MAX_LENGTH
    if t.name in FIXED_BYTE_LENGTHS:
        return FIXED_BYTE_LENGTHS[t.name]
    if t.length is not None:
        if t.length == -1:
            return -1
        return t.length * (2 if t.name in ("nchar", "nvarchar") else 1)
    if t.name in ("decimal", "numeric"):
        assert t.precision is not None
        return (
            5 if t.precision <= 9 else 9 if t.precision <= 19 else 13 if t.precision <= 28 else 17
        )
    scale = t.scale or 0
    base = 3 if scale <= 2 else 4 if scale <= 4 else 5
    return base + {"time": 0, "datetime2": 3, "datetimeoffset": 5}.get(t.name, 0)


def describe_batch(columns: list[Column]) -> tuple[list[str], list[SqlType], pa.RecordBatch]:
    rows: list[list[object]] = []
    for ordinal, column in enumerate(columns, start=1):
        t = normalize(column.type)
        info = type_info(t)
        max_length = _max_length(t)
        precision = t.precision if t.precision is not None else FIXED_PRECISIONS.get(t.name, 0)
        scale = t.scale or 0
        rows.append(
            [
                ordinal,
                column.name,
                SYSTEM_TYPE_IDS.get(t.name, 231),
                str(t),
                max_length,
                precision,
                scale,
                SYSTEM_TYPE_IDS.get(t.name, 231),
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                None,
                False,
                False,
                t.name in FIXED_BYTE_LENGTHS,
                True,
                False,
                column.name,
                info[0],
                0xFFFF if max_length == -1 else max_length,
            ]
        )
    names = [name for name, _ in _SCHEMA]
    types = [t for _, t in _SCHEMA]
    arrow_types = {
        "int": pa.int32(),
        "smallint": pa.int16(),
        "tinyint": pa.uint8(),
        "bit": pa.bool_(),
        "nvarchar": pa.string(),
    }
    arrays = [pa.array([row[i] for row in rows], arrow_types[t.name]) for i, t in enumerate(types)]
    return names, types, pa.RecordBatch.from_arrays(arrays, names=names)


def describe_result(columns: list[Column]) -> ResultSet:
    """The result set of sp_describe_undeclared_parameters for the described parameters."""
    names, types, batch = describe_batch(columns)
    return ResultSet(
        columns=[Column(n, t) for n, t in zip(names, types, strict=True)],
        batches=iter([batch]),
    )
