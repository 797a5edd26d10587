"""MARS: SMP sessions multiplexed over one connection (python-tds, FreeTDS) and the SMP rules."""

from __future__ import annotations

from typing import Any

import pyodbc
import pytds
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tds_client import RawClient, prelogin

from mssql_emulator.tds.packets import HEADER, PacketType, ProtocolError
from mssql_emulator.tds.smp import ACK, DATA, FIN, SMP_HEADER, SMP_ID, SYN, SmpMux
from mssql_emulator.testing import RunningEmulator


def _mars(emu: RunningEmulator, timeout: float = 30, **extra: Any) -> Any:
    return pytds.connect(
        emu.host,
        port=emu.port,
        user=emu.user,
        password=emu.password,
        database=emu.database,
        use_mars=True,
        autocommit=True,
        login_timeout=10,
        timeout=timeout,
        **extra,
    )


def test_prelogin_answers_mars_on_only_when_asked(emulator: RunningEmulator) -> None:
    for asked in (False, True):
        client = RawClient(emulator.port)
        try:
            request = bytearray(prelogin())
            request[-1] = int(asked)  # the MARS option is the last byte of the test client's
            client.send(PacketType.PRELOGIN, bytes(request))
            reply = client.read_message()
        finally:
            client.close()
        assert reply[-1] == int(asked)


def test_pytds_interleaves_cursors_over_smp(emulator: RunningEmulator) -> None:
    with _mars(emulator) as conn:
        assert conn.mars_enabled
        big = conn.cursor()
        big.execute("SELECT replicate(N'x', 3000) AS s, r.range AS n FROM range(300) r")
        assert big.fetchone()[1] == 0
        # The unread rest of ``big`` exceeds the client's window; other sessions go on.
        other = conn.cursor()
        other.execute("SELECT %s AS n", (42,))
        assert other.fetchall() == [(42,)]
        assert [row[1] for row in big.fetchall()] == list(range(1, 300))


def test_pytds_multi_packet_requests_and_small_packets(emulator: RunningEmulator) -> None:
    with _mars(emulator, blocksize=512) as conn, conn.cursor() as cur:
        text = "y" * 50_000
        cur.execute("SELECT %s", (text,))
        assert cur.fetchall() == [(text,)]


def test_pytds_sessions_share_the_transaction(emulator: RunningEmulator) -> None:
    with _mars(emulator) as conn:
        first = conn.cursor()
        first.execute("CREATE TABLE mars_tran (n int)")
        first.execute("BEGIN TRANSACTION")
        first.execute("INSERT INTO mars_tran VALUES (1)")
        second = conn.cursor()
        second.execute("SELECT count(*) FROM mars_tran")
        assert second.fetchall() == [(1,)]
        first.execute("ROLLBACK")
        second.execute("SELECT count(*) FROM mars_tran")
        assert second.fetchall() == [(0,)]


def test_pytds_opens_and_closes_many_sessions(emulator: RunningEmulator) -> None:
    with _mars(emulator) as conn:
        for i in range(80):
            cur = conn.cursor()
            cur.execute("SELECT %s", (i,))
            assert cur.fetchall() == [(i,)]
            cur.close()


def test_freetds_mars_connection(emulator: RunningEmulator) -> None:
    conn = pyodbc.connect(
        f"DRIVER={{FreeTDS}};SERVER={emulator.host};PORT={emulator.port};"
        f"DATABASE={emulator.database};UID={emulator.user};PWD={emulator.password};"
        "TDS_Version=7.4;ClientCharset=UTF-8;MARS_Connection=Yes",
        timeout=10,
    )
    try:
        first = conn.cursor()
        first.execute("SELECT r.range AS n FROM range(5000) r")
        assert first.fetchone()[0] == 0
        second = conn.cursor()
        second.execute("SELECT ?", 5)
        assert second.fetchall()[0][0] == 5
        assert len(first.fetchall()) == 4999
    finally:
        conn.close()


class _Pipe:
    """A transport fed with prepared client bytes, recording what the server sends."""

    def __init__(self, incoming: bytes) -> None:
        self.incoming = bytearray(incoming)
        self.sent = bytearray()

    def recv(self, size: int) -> bytes:
        data = bytes(self.incoming[:size])
        del self.incoming[:size]
        return data

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        self.sent += data


def _frame(flags: int, sid: int, seq: int, window: int, body: bytes = b"") -> bytes:
    return SMP_HEADER.pack(SMP_ID, flags, sid, SMP_HEADER.size + len(body), seq, window) + body


def _frames(data: bytes) -> list[tuple[int, int, int, int, bytes]]:
    out = []
    pos = 0
    while pos < len(data):
        _smid, flags, sid, length, seq, window = SMP_HEADER.unpack_from(data, pos)
        out.append((flags, sid, seq, window, data[pos + SMP_HEADER.size : pos + length]))
        pos += length
    return out


def _packet(ptype: int, body: bytes, eom: bool = True) -> bytes:
    return HEADER.pack(ptype, int(eom), len(body) + 8, 0, 1, 0) + body


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 300), min_size=1, max_size=40),
    window=st.integers(1, 8),
)
def test_replies_never_exceed_the_client_window(sizes: list[int], window: int) -> None:
    pipe = _Pipe(_frame(SYN, 3, 0, window))
    mux = SmpMux(pipe)
    assert mux.read_frame() and mux.opened == [3]
    packets = [_packet(PacketType.REPLY, bytes([i % 251]) * n) for i, n in enumerate(sizes)]
    mux.send(3, b"".join(packets))
    sent = [f for f in _frames(bytes(pipe.sent)) if f[0] == DATA]
    assert len(sent) == min(window, len(packets))
    # Each ACK widens the window by two; every packet goes out once, in order.
    granted = window
    while len(sent) < len(packets):
        granted += 2
        pipe.incoming += _frame(ACK, 3, 0, granted)
        assert mux.read_frame()
        sent = [f for f in _frames(bytes(pipe.sent)) if f[0] == DATA]
        assert len(sent) <= granted
    assert [f[4] for f in sent] == packets
    assert [f[2] for f in sent] == list(range(1, len(packets) + 1))


def test_a_message_split_over_frames_is_taken_whole_and_fin_is_answered() -> None:
    first = _packet(PacketType.SQL_BATCH, b"ab", eom=False)
    last = _packet(PacketType.SQL_BATCH, b"cd")
    pipe = _Pipe(
        _frame(SYN, 0, 0, 4)
        + _frame(DATA, 0, 1, 4, first)
        + _frame(DATA, 0, 2, 4, last)
        + _frame(FIN, 0, 2, 4)
    )
    mux = SmpMux(pipe)
    assert mux.read_frame() and mux.read_frame()
    assert mux.take_message(0) is None
    assert mux.read_frame()
    assert mux.take_message(0) == (PacketType.SQL_BATCH, b"abcd")
    assert mux.read_frame() and mux.finished == [0]
    mux.close_session(0)
    assert _frames(bytes(pipe.sent))[-1][0] == FIN
    assert not mux.read_frame()  # the peer closed


def test_frames_for_unknown_sessions_are_a_protocol_error() -> None:
    mux = SmpMux(_Pipe(_frame(DATA, 9, 1, 4, b"x")))
    with pytest.raises(ProtocolError):
        mux.read_frame()


def test_pytds_timeout_cancels_a_running_request_inside_smp(emulator: RunningEmulator) -> None:
    # pytds sends ATTENTION on its timeout and waits (the same timeout) for DONE(ATTN).
    with _mars(emulator, timeout=1) as conn:
        cur = conn.cursor()
        with pytest.raises(pytds.TimeoutError):
            cur.execute("WAITFOR DELAY '00:00:05'")
        cur.execute("SELECT 1")
        assert cur.fetchall() == [(1,)]
