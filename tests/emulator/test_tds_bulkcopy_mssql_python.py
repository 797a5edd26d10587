"""mssql-python's ``cursor.bulkcopy``: its metadata batch, then INSERT BULK and the rows.

mssql_py_core holds the GIL while it waits for the server, so the emulator runs in a child
process here: in this process its threads could never answer.
"""

from __future__ import annotations

import datetime as dt
import decimal
import itertools
import struct
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from drivers import DRIVERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tds_client import RawClient

from mssql_emulator.tds.tokens import DoneStatus, Token
from mssql_emulator.testing import RunningEmulator, running_emulator_process

pytest.importorskip("mssql_py_core")

_MSSQL_PYTHON = next(d for d in DRIVERS if d.name == "mssql-python")
_NAMES = itertools.count()

_COLUMNS = (
    "i int, b bigint, d decimal(18, 4), n nvarchar(50), v varchar(30), t datetime2(6), "
    "dd date, f bit, vb varbinary(100), g uniqueidentifier"
)
_NAMES_IN_ORDER = ["i", "b", "d", "n", "v", "t", "dd", "f", "vb", "g"]
_ROWS: list[tuple[Any, ...]] = [
    (
        1,
        2**40,
        decimal.Decimal("123.4500"),
        "héllo ☃",
        "plain",
        dt.datetime(2024, 1, 2, 3, 4, 5, 123456),
        dt.date(2020, 2, 29),
        True,
        b"\x00\x01\xff",
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
    ),
    (None,) * 10,
    (
        -(2**31),
        -1,
        decimal.Decimal("-0.0001"),
        "",
        "",
        dt.datetime(1900, 1, 1),
        dt.date(9999, 12, 31),
        False,
        b"",
        uuid.UUID(int=0),
    ),
]


@pytest.fixture(scope="module")
def server() -> Iterator[RunningEmulator]:
    with running_emulator_process() as emu:
        yield emu


@pytest.fixture(scope="module")
def conn(server: RunningEmulator) -> Iterator[Any]:
    connection = _MSSQL_PYTHON.connect(server)
    yield connection
    connection.close()


def _create(conn: Any, columns: str) -> str:
    table = f"bulkcopy_{next(_NAMES)}"
    cur = conn.cursor()
    cur.execute(f"CREATE TABLE {table} ({columns})")
    conn.commit()
    return table


def _select(conn: Any, sql: str) -> list[tuple[Any, ...]]:
    cur = conn.cursor()
    cur.execute(sql)
    return [tuple(row) for row in cur.fetchall()]


def test_bulkcopy_rows_of_many_types(conn: Any) -> None:
    table = _create(conn, "k int identity, " + _COLUMNS)
    result = conn.cursor().bulkcopy(table, _ROWS, timeout=10, column_mappings=_NAMES_IN_ORDER)
    assert result["rows_copied"] == len(_ROWS)
    got = _select(conn, f"SELECT {', '.join(_NAMES_IN_ORDER)} FROM {table} ORDER BY k")
    assert got == _ROWS


def test_bulkcopy_by_ordinal_into_a_schema_qualified_table(conn: Any) -> None:
    table = _create(conn, "[a b] int, [c]]d] nvarchar(10)")
    conn.cursor().bulkcopy(f"dbo.{table}", [(1, "x"), (2, None)], timeout=10)
    assert _select(conn, f"SELECT * FROM {table} ORDER BY 1") == [(1, "x"), (2, None)]


def test_bulkcopy_into_a_missing_table_fails_quickly(conn: Any) -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"Invalid object name"):
        conn.cursor().bulkcopy("no_such_table", [(1,)], timeout=5)
    assert time.monotonic() - started < 4
    assert _select(conn, "SELECT 1") == [(1,)]


_ROW = st.tuples(
    st.none() | st.integers(-(2**31), 2**31 - 1),
    st.none() | st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=20),
    st.none()
    | st.decimals(min_value=-(10**10), max_value=10**10, places=4, allow_nan=False).map(
        lambda d: d.quantize(decimal.Decimal("0.0001"))
    ),
    st.none() | st.binary(max_size=16),
    st.none() | st.booleans(),
)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, max_size=30))
def test_bulkcopy_of_random_rows_reads_back(conn: Any, rows: list[tuple[Any, ...]]) -> None:
    table = _create(
        conn, "k int identity, i int, s nvarchar(40), d decimal(15, 4), b varbinary(16), f bit"
    )
    conn.cursor().bulkcopy(table, rows, timeout=10, column_mappings=["i", "s", "d", "b", "f"])
    assert _select(conn, f"SELECT i, s, d, b, f FROM {table} ORDER BY k") == rows


def test_a_procedure_in_a_batch_ends_its_rows_before_its_return_status(
    emulator: RunningEmulator,
) -> None:
    """DONEINPROC after the rows, then RETURNSTATUS, then DONEPROC: mssql_py_core reads no
    RETURNSTATUS among rows (it gave up on sp_tablecollations_100's answer otherwise)."""
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.query("CREATE TABLE proc_tokens (a int, b nvarchar(5))")
        reply = client.query("EXEC sp_tablecollations_100 N'proc_tokens'")
    finally:
        client.close()
    tail = reply[-31:]
    assert struct.unpack_from("<BHHQ", tail, 0) == (
        Token.DONEINPROC,
        DoneStatus.COUNT | DoneStatus.MORE,
        0xC1,
        2,
    )
    assert struct.unpack_from("<Bi", tail, 13) == (Token.RETURNSTATUS, 0)
    assert struct.unpack_from("<BHHQ", tail, 18) == (Token.DONEPROC, DoneStatus.FINAL, 0, 0)
