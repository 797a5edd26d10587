"""Protocol-level behaviour checked byte by byte with a raw socket client."""

from __future__ import annotations

import datetime as dt
import struct
import subprocess
import sys

import pytest
from tds_client import RawClient, error_numbers, prelogin, sql_batch

from mssql_emulator.tds.packets import PacketType
from mssql_emulator.testing import RunningEmulator

SECOND_USER = ("reader", "Reader_Pass2")


def test_prelogin_reply_matches_the_reference(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.send(PacketType.PRELOGIN, prelogin(encryption=2))
        reply = client.read_message()
    finally:
        client.close()
    expected = bytes.fromhex(
        "00001a00060100200001020021000103002200000400220001ff10000fa00000020000"
    )
    assert reply == expected


def test_login_reply_tokens_and_packet_size(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        reply = client.login(emulator.user, emulator.password, emulator.database)
    finally:
        client.close()
    assert reply[0] == 0xE3 and reply[3] == 1  # ENVCHANGE database first
    assert b"\xad" in reply and struct.pack(">I", 0x74000004) in reply
    assert "4096".encode("utf-16-le") in reply
    assert reply.endswith(bytes.fromhex("fd000000000000000000000000"))


def test_wrong_password_is_18456_and_closes(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        reply = client.login(emulator.user, "wrong", emulator.database)
        assert error_numbers(reply) == [18456]
        assert b"Login failed for user 'sa'.".decode().encode("utf-16-le") in reply
        assert client.sock.recv(1) == b""
    finally:
        client.close()


def test_unknown_database_is_4060(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        reply = client.login(emulator.user, emulator.password, "nosuchdb")
        assert error_numbers(reply) == [4060, 18456]
    finally:
        client.close()


def test_second_configured_user_logs_in(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        reply = client.login(*SECOND_USER, emulator.database)
        assert error_numbers(reply) == []
        assert b"\xad" in reply
    finally:
        client.close()


def test_batch_split_into_tiny_packets_is_reassembled(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        sql = "SELECT 12345 AS n" + " " * 500
        reply = client.query(sql, size=64)  # 56-byte packet bodies
        assert reply[0] == 0x81
        assert struct.pack("<i", 12345) in reply
        assert reply.endswith(b"\x00\x00") or reply[-12] == 0xFD
    finally:
        client.close()


def test_large_result_is_split_at_packet_size(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.send(PacketType.SQL_BATCH, b"")  # malformed: no ALL_HEADERS
        # the server drops a connection that breaks the protocol, without crashing
        with pytest.raises(ConnectionError):
            client.read_message()
    finally:
        client.close()
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.send(
            PacketType.SQL_BATCH,
            bytes.fromhex("1600000012000000020000000000000000000100000000")[:22]
            + "SELECT REPLICATE('x', 3000) AS a UNION ALL SELECT REPLICATE('y', 3000)".encode(
                "utf-16-le"
            ),
        )
        sizes = []
        done = False
        while not done:
            header = client._recv(8)
            length = struct.unpack(">H", header[2:4])[0]
            sizes.append(length)
            client._recv(length - 8)
            done = bool(header[1] & 1)
        assert max(sizes) == 4096 and len(sizes) >= 2
    finally:
        client.close()


def test_attention_after_reply_is_acknowledged(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        client.query("SELECT 1 AS a")
        client.send(PacketType.ATTENTION, b"")
        reply = client.read_message()
        assert reply == bytes.fromhex("fd200000000000000000000000")
        assert client.query("SELECT 2 AS b")[0] == 0x81
    finally:
        client.close()


def test_use_sends_envchange_database(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        reply = client.query("USE otherdb")
        new, old = "otherdb".encode("utf-16-le"), emulator.database.encode("utf-16-le")
        assert b"\xe3" + struct.pack("<H", 3 + len(new) + len(old)) + b"\x01\x07" + new in reply
        assert reply.endswith(b"\xfd" + bytes(12))
    finally:
        client.close()


def test_begin_and_commit_batches_send_transaction_envchanges(
    emulator: RunningEmulator,
) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        begin = client.query("BEGIN TRANSACTION")
        assert b"\xe3\x0b\x00\x08\x08" in begin  # ENVCHANGE 8: new 8-byte descriptor
        commit = client.query("COMMIT TRANSACTION")
        assert b"\xe3\x0b\x00\x09\x00\x08" in commit  # ENVCHANGE 9: old descriptor
    finally:
        client.close()


def test_transaction_manager_begin_commit(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        headers = bytes.fromhex("16000000120000000200") + bytes(8) + b"\x01\x00\x00\x00"
        client.send(PacketType.TRANSACTION, headers + b"\x05\x00\x00\x00")
        assert b"\xe3\x0b\x00\x08\x08" in client.read_message()
        client.send(PacketType.TRANSACTION, headers + b"\x07\x00\x00\x01\x00\x00")
        reply = client.read_message()  # commit and begin a new one (flag bit 0)
        assert b"\xe3\x0b\x00\x09\x00\x08" in reply and b"\xe3\x0b\x00\x08\x08" in reply
    finally:
        client.close()


def test_client_packet_size_is_honoured(emulator: RunningEmulator) -> None:
    client = RawClient(emulator.port)
    try:
        reply = client.login(emulator.user, emulator.password, emulator.database, 512)
        assert b"\x04\x03" + "512".encode("utf-16-le") in reply
        client.send(PacketType.SQL_BATCH, sql_batch("SELECT REPLICATE('q', 3000) AS a"))
        sizes = []
        while True:
            header = client._recv(8)
            length = struct.unpack(">H", header[2:4])[0]
            sizes.append(length)
            client._recv(length - 8)
            if header[1] & 1:
                break
        assert max(sizes) == 512 and len(sizes) >= 6
    finally:
        client.close()


def test_unknown_parameter_type_answers_8009_and_keeps_the_connection(
    emulator: RunningEmulator,
) -> None:
    client = RawClient(emulator.port)
    try:
        client.login(emulator.user, emulator.password, emulator.database)
        # sp_executesql (proc id 10) with one parameter of the undefined type 0x99.
        call = struct.pack("<HHH", 0xFFFF, 10, 0) + b"\x00\x00" + b"\x99\x04\x01\x02\x03\x04"
        client.send(PacketType.RPC, sql_batch("")[:22] + call)
        reply = client.read_message()
        assert error_numbers(reply) == [8009]
        assert reply.endswith(struct.pack("<BHHQ", 0xFD, 0x02, 0, 0))
        assert client.query("SELECT 1")[0] == 0x81
    finally:
        client.close()


@pytest.mark.parametrize("version", ["TDS70", "TDS71", "TDS72", "TDS73A", "TDS73B"])
def test_pytds_logs_in_with_older_tds_versions(emulator: RunningEmulator, version: str) -> None:
    import pytds

    with (
        pytds.connect(
            emulator.host,
            port=emulator.port,
            user=emulator.user,
            password=emulator.password,
            database=emulator.database,
            tds_version=getattr(pytds.tds_base, version),
            autocommit=True,
            login_timeout=10,
        ) as conn,
        conn.cursor() as cur,
    ):
        cur.execute("SELECT %s AS n, N'x' AS s, CAST('2020-01-02' AS date) AS d", (7,))
        assert cur.fetchall() == [(7, "x", dt.date(2020, 1, 2))]


def test_tds70_login_without_prelogin_is_accepted(emulator: RunningEmulator) -> None:
    from tds_client import login7

    client = RawClient(emulator.port)
    try:
        record = bytearray(login7(emulator.user, emulator.password, emulator.database))
        struct.pack_into("<I", record, 4, 0x70000000)
        client.send(PacketType.LOGIN7, bytes(record))
        reply = client.read_message()
        assert reply[0] == 0xAD  # LOGINACK first: INFO's line number is 2 bytes before 7.2
        assert error_numbers(reply) == []
        assert client.query("SELECT 1")[0] == 0x81
    finally:
        client.close()


def test_a_tds42_login_is_refused_with_an_error_it_can_read(emulator: RunningEmulator) -> None:
    """FreeTDS speaking TDS 4.2 gets error 4002 in its own token format, not a dropped socket.

    In a process of its own: pymssql keeps the last server message in module state, which
    other tests' connections would leave behind.
    """
    script = (
        "import pymssql, sys\n"
        "try:\n"
        "    pymssql.connect(server=sys.argv[1], port=sys.argv[2], user=sys.argv[3],\n"
        "                    password=sys.argv[4], tds_version='4.2', login_timeout=10)\n"
        "except pymssql.OperationalError as exc:\n"
        "    number, text = exc.args[0]\n"
        "    print(number, text.decode())\n"
    )
    args = [emulator.host, str(emulator.port), emulator.user, emulator.password]
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, timeout=60
    )
    assert done.stdout.startswith("4002 TDS versions before 7.0 are not supported"), done
