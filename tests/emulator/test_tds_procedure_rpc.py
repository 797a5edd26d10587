"""Wire pieces of procedure calls: TVP decoding, fDefaultValue, EXEC text, RETURNVALUE tokens."""

from __future__ import annotations

import struct

import pyarrow as pa
import pytest

from mssql_emulator.contract import Column, Param, ResultSet, SqlType
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.tds.params import read_rpc_param, read_typed_value
from mssql_emulator.tds.procedure_rpc import exec_text, inner_call, output_ordinals, return_values
from mssql_emulator.tds.reader import ByteReader
from mssql_emulator.tds.rpc import RpcCall

COLL = bytes.fromhex("0904d00034")


def _b_varchar(text: str) -> bytes:
    data = text.encode("utf-16-le")
    return bytes([len(data) // 2]) + data


def _tvp(rows: bytes, *, columns: bytes | None = None) -> bytes:
    head = b"\xf3" + _b_varchar("") + _b_varchar("dbo") + _b_varchar("Pairs")
    if columns is None:
        columns = (
            struct.pack("<HIH", 2, 0, 0)
            + b"\x26\x04"
            + _b_varchar("")
            + struct.pack("<IH", 0, 0)
            + b"\xe7"
            + struct.pack("<H", 20)
            + COLL
            + _b_varchar("")
        )
    return head + columns + b"\x00" + rows + b"\x00"


def test_table_valued_parameter_decodes_to_arrow() -> None:
    word = "hé".encode("utf-16-le")
    rows = (
        b"\x01\x04" + struct.pack("<i", 7) + struct.pack("<H", len(word)) + word
        + b"\x01\x00\xff\xff"
    )  # fmt: skip
    sql_type, table = read_typed_value(ByteReader(_tvp(rows)))
    assert sql_type == SqlType("table")
    assert isinstance(table, pa.Table)
    assert table.schema.metadata == {b"type_name": b"dbo.Pairs"}
    assert table.to_pylist() == [{"c0": 7, "c1": "hé"}, {"c0": None, "c1": None}]


def test_null_table_valued_parameter_and_bad_tokens() -> None:
    _, table = read_typed_value(ByteReader(_tvp(b"", columns=b"\xff\xff")[:-1]))
    assert table.num_columns == 0 and table.num_rows == 0
    with pytest.raises(ProtocolError):
        read_typed_value(ByteReader(_tvp(b"\x05")))


def test_default_flag_and_null_intn_keep_the_declared_size() -> None:
    raw = _b_varchar("@o") + b"\x03" + b"\x26\x08\x00"
    param, default = read_rpc_param(ByteReader(raw))
    assert default and param.output
    assert param.type == SqlType("bigint") and param.value is None


def test_exec_text_names_positional_parameters_and_defaults() -> None:
    call = RpcCall(
        "[dbo].[p]",
        0,
        [
            Param("", SqlType("int"), 1),
            Param("", SqlType("int"), None),
            Param("", SqlType("bit"), None, output=True),
            Param("@named", SqlType("int"), 2, output=True),
        ],
        frozenset({1, 2}),
    )
    sql, bound = exec_text(call)
    assert sql == "EXEC [dbo].[p] @P1, DEFAULT, @P3 OUTPUT DEFAULT, @named = @named OUTPUT"
    assert [p.name for p in bound] == ["@P1", "@P2", "@P3", "@named"]
    assert output_ordinals(call, ["@formal", "@named"]) == [2, 3]
    inner = inner_call(
        RpcCall("sp_prepexecrpc", 0, [Param("@h", SqlType("int"), None), *call.params]), 1, "p"
    )
    assert output_ordinals(inner, ["@formal"]) == [3]


def test_return_values_encode_values_and_nulls() -> None:
    columns = [
        Column("@n", SqlType("int")),
        Column("@s", SqlType("varchar", length=-1)),
        Column("@c", SqlType("nvarchar", length=5)),
    ]
    batch = pa.record_batch(
        [pa.array([7], pa.int32()), pa.array([None], pa.string()), pa.array(["ab"])],
        names=["@n", "@s", "@c"],
    )
    call = RpcCall(
        "p",
        0,
        [Param(f"@{n}", SqlType("int"), None, output=True) for n in ("n", "s", "c")],
    )
    data = return_values(call, ResultSet(columns, iter([batch])))
    head = b"\xac" + struct.pack("<H", 0) + _b_varchar("@n") + b"\x01" + struct.pack("<IH", 0, 1)
    first = head + b"\x26\x04\x04" + struct.pack("<i", 7)
    assert data.startswith(first)
    second = (
        b"\xac" + struct.pack("<H", 1) + _b_varchar("@s") + b"\x01" + struct.pack("<IH", 0, 1)
        + b"\xa7\xff\xff" + COLL + b"\xff" * 8
    )  # fmt: skip
    assert data[len(first) :].startswith(second)
    third = data[len(first) + len(second) :]
    assert third.endswith(struct.pack("<H", 4) + "ab".encode("utf-16-le"))
