"""A minimal raw TDS client for protocol-level tests (no driver in between)."""

from __future__ import annotations

import socket
import struct

from mssql_emulator.tds.packets import HEADER, PacketType


def packets(ptype: int, payload: bytes, size: int = 4096) -> bytes:
    body = size - 8
    out = bytearray()
    chunks = [payload[i : i + body] for i in range(0, len(payload), body)] or [b""]
    for index, chunk in enumerate(chunks):
        status = 1 if index == len(chunks) - 1 else 0
        out += HEADER.pack(ptype, status, len(chunk) + 8, 0, (index + 1) & 0xFF, 0) + chunk
    return bytes(out)


def prelogin(encryption: int = 2) -> bytes:
    data = [
        bytes.fromhex("0100000000 00".replace(" ", "")),
        bytes([encryption]),
        b"\x00",
        b"\x00\x00\x00\x00",
        b"\x00",
    ]
    table = bytearray()
    body = bytearray()
    offset = len(data) * 5 + 1
    for token, value in enumerate(data):
        table += struct.pack(">BHH", token, offset + len(body), len(value))
        body += value
    return bytes(table) + b"\xff" + bytes(body)


def _scramble(password: str) -> bytes:
    return bytes(((((b << 4) & 0xF0) | (b >> 4)) ^ 0xA5) for b in password.encode("utf-16-le"))


def login7(user: str, password: str, database: str, packet_size: int = 4096) -> bytes:
    fields = ["host", user, password, "rawtest", "server", "", "", "", database]
    # order of offset/length pairs in the fixed part (extension slot is bytes, empty here)
    variable = bytearray()
    pairs = bytearray()
    pos = 94
    for index, text in enumerate(fields):
        raw = _scramble(text) if index == 2 else text.encode("utf-16-le")
        if index == 5:  # the extension slot (ibExtension/cbExtension)
            pairs += struct.pack("<HH", pos, 0)
            continue
        pairs += struct.pack("<HH", pos, len(raw) // 2)
        variable += raw
        pos += len(raw)
    # ClientID(6) SSPI(4) AtchDBFile(4) ChangePassword(4) cbSSPILong(4)
    tail = b"\x00" * 6 + struct.pack("<HH", pos, 0) * 3 + b"\x00" * 4
    fixed = struct.pack("<IIIIII", 0, 0x74000004, packet_size, 7, 0, 0)
    fixed += bytes([0xE0, 0x03, 0x00, 0x00]) + struct.pack("<iI", 0, 0x409)
    record = bytearray(fixed + pairs + tail)
    record += variable
    struct.pack_into("<I", record, 0, len(record))
    assert len(fixed + pairs + tail) == 94
    return bytes(record)


ALL_HEADERS = struct.pack("<IIHQI", 22, 18, 2, 0, 1)


def sql_batch(sql: str) -> bytes:
    return ALL_HEADERS + sql.encode("utf-16-le")


class RawClient:
    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buf = bytearray()

    def send(self, ptype: int, payload: bytes, size: int = 4096) -> None:
        self.sock.sendall(packets(ptype, payload, size))

    def read_message(self) -> bytes:
        out = bytearray()
        while True:
            header = self._recv(8)
            _t, status, length, _s, _p, _w = HEADER.unpack(header)
            out += self._recv(length - 8)
            if status & 1:
                return bytes(out)

    def _recv(self, size: int) -> bytes:
        while len(self._buf) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            self._buf += chunk
        data = bytes(self._buf[:size])
        del self._buf[:size]
        return data

    def login(self, user: str, password: str, database: str, packet_size: int = 4096) -> bytes:
        self.send(PacketType.PRELOGIN, prelogin())
        self.read_message()
        self.send(PacketType.LOGIN7, login7(user, password, database, packet_size))
        return self.read_message()

    def query(self, sql: str, size: int = 4096) -> bytes:
        self.send(PacketType.SQL_BATCH, sql_batch(sql), size)
        return self.read_message()

    def close(self) -> None:
        self.sock.close()


def error_numbers(reply: bytes) -> list[int]:
    """Numbers of the ERROR tokens in a reply (scans for 0xAA tokens; good enough for tests)."""
    numbers = []
    pos = 0
    while True:
        pos = reply.find(b"\xaa", pos)
        if pos < 0 or pos + 7 > len(reply):
            return numbers
        numbers.append(struct.unpack_from("<i", reply, pos + 3)[0])
        pos += 1


SP_EXECUTESQL = 10


def varchar_cell(text: str) -> bytes:
    """One varchar(n) cell: the whole value with its 2-byte length, so no prefix matches."""
    raw = text.encode("ascii")
    return struct.pack("<H", len(raw)) + raw


def nvarchar_cell(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    return struct.pack("<H", len(raw)) + raw


def int_row(value: int) -> bytes:
    """A ROW token holding one INTN(4) cell."""
    return b"\xd1\x04" + struct.pack("<i", value)


def _nvarchar_max(text: str) -> bytes:
    raw = text.encode("utf-16-le")
    collation = bytes.fromhex("0904d00034")
    return b"\xe7\xff\xff" + collation + struct.pack("<QI", len(raw), len(raw)) + raw + bytes(4)


def executesql(sql: str, declared: str, param: bytes) -> bytes:
    """An sp_executesql RPC request with one parameter ``@p``: ``param`` is its unnamed
    input parameter (status, type info and value) as the test builds it."""
    params = b"\x00\x00" + _nvarchar_max(sql) + b"\x00\x00" + _nvarchar_max(f"@p {declared}")
    return ALL_HEADERS + b"\xff\xff" + struct.pack("<HH", SP_EXECUTESQL, 0) + params + param


def checked(reply: bytes, sql: str) -> bytes:
    """``reply`` after asserting it holds rows or no error."""
    # error_numbers scans for the ERROR token's byte, which row data may also hold.
    assert b"\xd1" in reply or error_numbers(reply) == [], sql
    return reply


def in_order(reply: bytes, *cells: bytes) -> bool:
    """True when each of ``cells`` is in ``reply``, in this order."""
    positions = [reply.find(cell) for cell in cells]
    return -1 not in positions and positions == sorted(positions)


def batch(client: RawClient, sql: str) -> bytes:
    """The reply to a SQL batch, asserted to hold rows or no error."""
    return checked(client.query(sql), sql)
