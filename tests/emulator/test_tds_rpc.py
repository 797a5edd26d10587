"""RPC details: described parameters, prepared handles, several calls in one request."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest
from tds_client import ALL_HEADERS, RawClient, error_numbers

from mssql_emulator.contract import Column, Engine, Session, SqlType
from mssql_emulator.tds.packets import PacketType
from mssql_emulator.testing import RunningEmulator, running_emulator

COLLATION = bytes.fromhex("0904d00034")


class DescribingEngine:
    """The real engine, with sessions that describe @P1 int, @P2 nvarchar(50)."""

    def __init__(self, inner: Engine) -> None:
        self.inner = inner
        self.described: list[str] = []

    def has_database(self, name: str) -> bool:
        return self.inner.has_database(name)

    def open_session(self, database: str, user: str) -> Session:
        session = self.inner.open_session(database, user)

        def describe(sql: str) -> list[Column]:
            self.described.append(sql)
            return [Column("@P1", SqlType("int")), Column("@P2", SqlType("nvarchar", length=50))]

        session.describe_parameters = describe  # type: ignore[method-assign]
        return session

    def close(self) -> None:
        self.inner.close()


@pytest.fixture(scope="module")
def describing() -> Iterator[tuple[RunningEmulator, DescribingEngine]]:
    from mssql_emulator.engine import DuckDBEngine

    engine = DescribingEngine(DuckDBEngine(["testdb"]))
    with running_emulator(engine=engine) as emu:
        yield emu, engine
    engine.close()


def test_odbc18_uses_the_described_parameter_types(
    describing: tuple[RunningEmulator, DescribingEngine],
) -> None:
    import mssql_python

    emu, engine = describing
    conn = mssql_python.connect(emu.odbc_connection_string(), timeout=10)
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE described (a int, b nvarchar(50))")
        cur.execute("INSERT INTO described VALUES (?, ?)", (None, None))
        cur.execute("INSERT INTO described VALUES (?, ?)", (7, "sieben"))
        conn.commit()
        cur.execute("SELECT a, b FROM described ORDER BY a")
        assert [tuple(r) for r in cur.fetchall()] == [(None, None), (7, "sieben")]
    finally:
        conn.close()
    assert "INSERT INTO described VALUES (@P1, @P2)" in engine.described


def _nvarchar_max(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return b"\xe7\xff\xff" + COLLATION + struct.pack("<QI", len(raw), len(raw)) + raw + bytes(4)


def _int_param(value: int | None, *, output: bool = False) -> bytes:
    status = b"\x01" if output else b"\x00"
    body = b"\x04" + struct.pack("<i", value) if value is not None else b"\x00"
    return b"\x00" + status + b"\x26\x04" + body


def _proc(proc_id: int, params: bytes) -> bytes:
    return b"\xff\xff" + struct.pack("<HH", proc_id, 0) + params


def _tokens_of(reply: bytes, token: int) -> int:
    return reply.count(bytes([token]))


def test_prepexec_returns_a_handle_and_batched_calls_chain(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        prepexec = _proc(
            13,
            _int_param(None, output=True)
            + b"\x00\x00"
            + _nvarchar_max("@P1 int")
            + b"\x00\x00"
            + _nvarchar_max("SELECT @P1 * 2 AS doubled")
            + _int_param(21),
        )
        executesql = _proc(10, b"\x00\x00" + _nvarchar_max("SELECT 5 AS five"))
        client.send(PacketType.RPC, ALL_HEADERS + prepexec + b"\x80" + executesql)
        reply = client.read_message()
        assert struct.pack("<i", 42) in reply and struct.pack("<i", 5) in reply
        # RETURNVALUE of the handle (an INTN 4), then RETURNSTATUS 0 and DONEPROC
        assert b"\xac\x00\x00\x00\x01" in reply
        first_doneproc = reply.index(b"\xfe\x81\x00")  # MORE | RPCINBATCH
        assert reply.endswith(b"\xfe\x00\x00\x00\x00" + bytes(8))
        assert first_doneproc < len(reply) - 13
    finally:
        client.close()


def test_unknown_handle_is_an_error_and_the_session_continues(
    emulator: RunningEmulator,
) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.send(PacketType.RPC, ALL_HEADERS + _proc(12, _int_param(999)))
        reply = client.read_message()
        assert error_numbers(reply) == [8179]
        assert client.query("SELECT 3 AS n")[0] == 0x81
    finally:
        client.close()
