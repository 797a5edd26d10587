"""Bulk load (INSERT BULK + BulkLoadBCP) through python-tds and pymssql (FreeTDS bcp)."""

from __future__ import annotations

import datetime as dt
import io
import itertools
import struct
import uuid
from collections.abc import Iterator
from typing import Any

import pymssql
import pytds
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pymssql import _mssql

from mssql_emulator.contract import SqlError
from mssql_emulator.tds.bulk_load import parse_insert_bulk
from mssql_emulator.tds.bulk_rows import decode_bulk
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.testing import RunningEmulator, running_emulator_process

_names = itertools.count()


def _pytds(emu: RunningEmulator) -> Any:
    return pytds.connect(
        emu.host,
        port=emu.port,
        user=emu.user,
        password=emu.password,
        database=emu.database,
        autocommit=True,
        login_timeout=10,
    )


def _table(prefix: str) -> str:
    return f"{prefix}_{next(_names)}"


def test_parse_insert_bulk_reads_name_columns_and_options() -> None:
    request = parse_insert_bulk(
        "INSERT BULK [my]]schema].[t]]x]([num] int, [a,b] nvarchar(10) COLLATE Latin1_General_CI_AS"
        ", d decimal(10,2)) WITH (TABLOCK, KILOBYTES_PER_BATCH = 5, KEEP_NULLS)"
    )
    assert request is not None
    assert request.table == "[my]]schema].[t]]x]"
    assert request.columns == ["num", "a,b", "d"]
    assert request.options == {"TABLOCK", "KILOBYTES_PER_BATCH", "KEEP_NULLS"}
    assert parse_insert_bulk("insert into t values (1)") is None


def test_parse_insert_bulk_rejects_an_unclosed_column_list() -> None:
    with pytest.raises(SqlError):
        parse_insert_bulk("INSERT BULK t (a int")


def test_pytds_copy_to_from_a_file_converts_text_to_the_column_types(
    emulator: RunningEmulator,
) -> None:
    table = _table("bulk_file")
    with _pytds(emulator) as conn, conn.cursor() as cur:
        cur.execute(f"create table {table} (num int not null, data varchar(100), d date)")
        cur.copy_to(io.StringIO("42\tfoo\t2020-01-02\n74\tbar\t1999-12-31\n"), table)
        assert cur.rowcount == 2
        cur.execute(f"select num, data, d from {table} order by num")
        assert cur.fetchall() == [
            (42, "foo", dt.date(2020, 1, 2)),
            (74, "bar", dt.date(1999, 12, 31)),
        ]


def test_pytds_copy_to_into_missing_table_fails_and_keeps_the_connection(
    emulator: RunningEmulator,
) -> None:
    with _pytds(emulator) as conn, conn.cursor() as cur:
        with pytest.raises(pytds.ProgrammingError, match="Invalid object name"):
            cur.copy_to(io.StringIO("1\n"), "no_such_table_for_bulk", columns=["a"])
        cur.execute("select 1")
        assert cur.fetchall() == [(1,)]


def test_pytds_copy_to_in_a_rolled_back_transaction_leaves_no_rows(
    emulator: RunningEmulator,
) -> None:
    table = _table("bulk_tran")
    with _pytds(emulator) as conn, conn.cursor() as cur:
        cur.execute(f"create table {table} (num int)")
        cur.execute("begin transaction")
        cur.copy_to(io.StringIO("1\n2\n"), table)
        cur.execute(f"select count(*) from {table}")
        assert cur.fetchall() == [(2,)]
        cur.execute("rollback")
        cur.execute(f"select count(*) from {table}")
        assert cur.fetchall() == [(0,)]


def test_pytds_copy_to_reports_a_unique_violation(emulator: RunningEmulator) -> None:
    table = _table("bulk_unique")
    with _pytds(emulator) as conn, conn.cursor() as cur:
        cur.execute(f"create table {table} (num int primary key)")
        with pytest.raises(pytds.IntegrityError):
            cur.copy_to(io.StringIO("1\n1\n"), table)
        cur.execute(f"select count(*) from {table}")
        assert cur.fetchall() == [(0,)]


def test_pytds_copy_to_skips_the_identity_column(emulator: RunningEmulator) -> None:
    table = _table("bulk_ident")
    with _pytds(emulator) as conn, conn.cursor() as cur:
        cur.execute(f"create table {table} (id int identity(10, 1), name nvarchar(20))")
        cur.copy_to(io.StringIO("99\ta\n99\tb\n"), table)
        cur.execute(f"select id, name from {table} order by id")
        assert cur.fetchall() == [(10, "a"), (11, "b")]


_row = st.tuples(
    st.integers(-(2**31), 2**31 - 1),
    st.none() | st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
    st.none() | st.decimals(min_value=-(10**8) + 1, max_value=10**8 - 1, places=2, allow_nan=False),
    st.none() | st.datetimes(dt.datetime(1753, 1, 1), dt.datetime(9999, 12, 31)),
    st.none() | st.binary(max_size=20),
    st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64),
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, max_size=40))
def test_pytds_typed_rows_read_back_equal(emulator: RunningEmulator, rows: list[Any]) -> None:
    table = _table("bulk_prop")
    types = pytds.tds_types
    columns = [
        pytds.Column("i", type=types.IntType()),
        pytds.Column("s", type=types.NVarCharMaxType(), flags=pytds.Column.fNullable),
        pytds.Column("d", type=types.DecimalType(10, 2), flags=pytds.Column.fNullable),
        pytds.Column("t", type=types.DateTime2Type(6), flags=pytds.Column.fNullable),
        pytds.Column("b", type=types.VarBinaryType(20), flags=pytds.Column.fNullable),
        pytds.Column("f", type=types.FloatType(), flags=pytds.Column.fNullable),
    ]
    with _pytds(emulator) as conn, conn.cursor() as cur:
        cur.execute(
            f"create table {table} (n int identity, i int, s nvarchar(max), d decimal(10,2), "
            "t datetime2(6), b varbinary(20), f float)"
        )
        cur.copy_to(data=rows, table_or_view=table, columns=columns)
        cur.execute(f"select i, s, d, t, b, f from {table} order by n")
        assert [tuple(r) for r in cur.fetchall()] == [tuple(r) for r in rows]
        cur.execute(f"drop table {table}")


@pytest.fixture(scope="module")
def bcp_emulator() -> Iterator[RunningEmulator]:
    """FreeTDS's bcp sends holding the GIL: an in-process server could not read the rows."""
    with running_emulator_process() as emu:
        yield emu


def _pymssql(emu: RunningEmulator) -> Any:
    return pymssql.connect(
        server=emu.host,
        port=str(emu.port),
        user=emu.user,
        password=emu.password,
        database=emu.database,
        autocommit=True,
        tds_version="7.4",
    )


def test_pymssql_bulk_copy_with_column_ids_and_batches(bcp_emulator: RunningEmulator) -> None:
    table = _table("bcp_ids")
    conn = _pymssql(bcp_emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"create table {table} (a1 int, a2 int, a3 int)")
        conn.bulk_copy(table, [(1, 2, 3), (4, None, 6)] * 500, column_ids=[1, 3, 2], batch_size=7)
        cur.execute(f"select count(*), sum(a1), sum(a2), count(a3) from {table}")
        assert cur.fetchall() == [(1000, 2500, 4500, 500)]
    finally:
        conn.close()


def test_pymssql_bulk_copy_of_mixed_types(bcp_emulator: RunningEmulator) -> None:
    table = _table("bcp_types")
    rows = [
        (1.5, 3.25, dt.datetime(2020, 1, 2, 3, 4, 5), True, "Hello", b"\x02\x03", "ünï"),
        (None, None, None, None, None, None, None),
    ]
    conn = _pymssql(bcp_emulator)
    try:
        cur = conn.cursor()
        cur.execute(
            f"create table {table} (id int identity, r real, f float, t datetime, b bit, "
            "v varchar(50), vb varbinary(50), n nvarchar(20))"
        )
        conn.bulk_copy(table, rows, [2, 3, 4, 5, 6, 7, 8])
        cur.execute(f"select r, f, t, b, v, vb, n from {table} order by id")
        assert cur.fetchall() == rows
    finally:
        conn.close()


def test_pymssql_bulk_copy_error_is_a_database_error(bcp_emulator: RunningEmulator) -> None:
    table = _table("bcp_err")
    conn = _pymssql(bcp_emulator)
    try:
        cur = conn.cursor()
        cur.execute(f"create table {table} (a int unique)")
        with pytest.raises(_mssql.MSSQLDatabaseException, match="2627"):
            conn.bulk_copy(table, [(1,), (1,)])
        cur.execute(f"select count(*) from {table}")
        assert cur.fetchall() == [(0,)]
    finally:
        conn.close()


def _column(code: bytes, info: bytes, name: str) -> bytes:
    text = name.encode("utf-16-le")
    return struct.pack("<IH", 0, 1) + code + info + bytes([len(name)]) + text


def test_decode_bulk_handles_nbcrow_plp_legacy_lobs_and_guids() -> None:
    guid = uuid.UUID("12345678-1234-5678-9abc-def012345678")
    coll = bytes.fromhex("0904d00034")
    meta = (
        b"\x81"
        + struct.pack("<H", 5)
        + _column(b"\x26", b"\x04", "i")
        + _column(b"\xe7", b"\xff\xff" + coll, "s")
        + _column(b"\x63", struct.pack("<I", 0x7FFFFFFF) + coll + struct.pack("<H", 0), "nt")
        + _column(b"\x24", b"\x10", "g")
        + _column(b"\x2b", b"\x07", "o")
    )
    dto = (10 * 3_600 * 10**7).to_bytes(5, "little") + (737_000).to_bytes(3, "little")
    dto += struct.pack("<h", -90)
    row = (
        b"\xd1"
        + b"\x04"
        + struct.pack("<i", 7)
        + struct.pack("<Q", 4)
        + struct.pack("<I", 4)
        + "hé".encode("utf-16-le")
        + struct.pack("<I", 0)
        + b"\x10"
        + b"p" * 16
        + b"\x00" * 8
        + struct.pack("<I", 4)
        + "ok".encode("utf-16-le")
        + b"\x10"
        + guid.bytes_le
        + bytes([len(dto)])
        + dto
    )
    # NBCROW: columns 2, 3 and 5 are NULL (bits 1, 2 and 4).
    nbc = b"\xd2" + bytes([0b10110]) + b"\x04" + struct.pack("<i", -1) + b"\x10" + guid.bytes_le
    done = struct.pack("<BHHQ", 0xFD, 0, 0, 0)
    rows = decode_bulk(meta + row + nbc + done)
    assert [c.name for c in rows.columns] == ["i", "s", "nt", "g", "o"]
    table = rows.table.to_pylist()
    assert table[0]["c0"] == 7 and table[0]["c1"] == "hé" and table[0]["c2"] == "ok"
    assert table[0]["c3"] == str(guid).upper()
    utc_ticks = (
        (dt.datetime(2018, 11, 3, 10, 0) - dt.datetime(1, 1, 1))
        // dt.timedelta(microseconds=1)
        * 10
    )  # the engine's datetimeoffset: 100 ns ticks since 0001-01-01
    assert table[0]["c4"] == {"utc": utc_ticks, "offset": -90}
    assert table[1] == {"c0": -1, "c1": None, "c2": None, "c3": str(guid).upper(), "c4": None}


def test_decode_bulk_rejects_unknown_types_and_tokens() -> None:
    with pytest.raises(SqlError) as info:
        decode_bulk(b"\x81\x01\x00" + _column(b"\x99", b"", "x"))
    assert info.value.number == 4816
    with pytest.raises(ProtocolError):
        decode_bulk(b"\x81\x01\x00" + _column(b"\x38", b"", "x") + b"\x77")
