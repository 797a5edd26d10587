"""Decode a table-valued parameter (TVP_TYPE_INFO, 0xF3) into an Arrow table.

The table type's name travels in the schema metadata (``type_name``); the engine reads
the declared column types from the type itself, so the Arrow types here only carry
the values.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from mssql_emulator.contract import SqlType
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.tds.reader import ByteReader

TYPE_NAME_KEY = b"type_name"  # the engine's table_types.TYPE_NAME_KEY
TABLE_TYPE = SqlType("table")
_NULL_TABLE = 0xFFFF
_END = 0x00
_ROW = 0x01
_ORDER_UNIQUE = 0x10
_COLUMN_ORDERING = 0x11


ReadTypeInfo = Callable[[ByteReader], Any]
ReadValue = Callable[[ByteReader, Any], tuple[SqlType, Any]]


def read_table(
    reader: ByteReader, read_type_info: ReadTypeInfo, read_value: ReadValue
) -> tuple[SqlType, pa.Table]:
    """The rows after a 0xF3 type code, as an Arrow table named after its table type."""
    reader.b_varchar()  # database: always the current one
    schema = reader.b_varchar() or "dbo"
    type_name = f"{schema}.{reader.b_varchar()}"
    metadata = {TYPE_NAME_KEY: type_name.encode()}
    count = reader.u16()
    if count == _NULL_TABLE:
        _skip_optional_metadata(reader)
        return TABLE_TYPE, pa.table({}).replace_schema_metadata(metadata)
    infos = []
    for _ in range(count):
        reader.u32()  # user type
        reader.u16()  # flags
        infos.append(read_type_info(reader))
        reader.b_varchar()  # column name: always empty
    _skip_optional_metadata(reader)
    columns: list[list[Any]] = [[] for _ in infos]
    while True:
        token = reader.u8()
        if token == _END:
            break
        if token != _ROW:
            raise ProtocolError(f"unexpected TVP row token 0x{token:02x}")
        for column, info in zip(columns, infos, strict=True):
            column.append(_plain(read_value(reader, info)[1]))
    arrays = [_array(values) for values in columns]
    names = [f"c{i}" for i in range(len(arrays))]
    return TABLE_TYPE, pa.table(arrays, names=names).replace_schema_metadata(metadata)


def _skip_optional_metadata(reader: ByteReader) -> None:
    while True:
        token = reader.u8()
        if token == _END:
            return
        if token == _ORDER_UNIQUE:
            for _ in range(reader.u16()):
                reader.u16()
                reader.u8()
        elif token == _COLUMN_ORDERING:
            for _ in range(reader.u16()):
                reader.u16()
        else:
            raise ProtocolError(f"unexpected TVP metadata token 0x{token:02x}")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return value


def _array(values: list[Any]) -> pa.Array:
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pa.array([None if v is None else str(v) for v in values], pa.string())
