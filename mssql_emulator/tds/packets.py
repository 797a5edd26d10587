"""TDS packet framing: reassemble client messages, split server replies at the packet size."""

from __future__ import annotations

import socket
import struct
from enum import IntEnum
from typing import Protocol

HEADER = struct.Struct(">BBHHBB")
HEADER_SIZE = 8
STATUS_EOM = 0x01
# Messages bigger than this are refused; keeps a lying client from exhausting memory.
MAX_MESSAGE_BYTES = 256 * 1024 * 1024
MAX_PACKET_SIZE = 32767
DEFAULT_PACKET_SIZE = 4096
# Replies leave in bursts of up to this many bytes. Fewer syscalls, and it matters for
# mssql-python: its Arrow fetch of (max) columns calls SQLGetData holding the GIL, so a
# value cut between two bursts of an in-process server would deadlock.
FLUSH_BYTES = 1024 * 1024


class PacketType(IntEnum):
    SQL_BATCH = 0x01
    LOGIN_PRE_TDS7 = 0x02  # TDS 4.2/5.0 login record
    RPC = 0x03
    REPLY = 0x04
    ATTENTION = 0x06
    BULK_LOAD = 0x07
    TRANSACTION = 0x0E
    LOGIN7 = 0x10
    SSPI = 0x11
    PRELOGIN = 0x12


class ProtocolError(Exception):
    """The client broke the protocol; the connection is closed."""


class UnknownDataType(ProtocolError):
    """A whole request uses a TDS type this server does not know: answered with error 8009.

    The message was framed correctly, so only this request fails; the connection stays.
    """

    def __init__(self, code: int) -> None:
        super().__init__(f"unsupported parameter type 0x{code:02x}")
        self.code = code


class Transport(Protocol):
    def recv(self, size: int) -> bytes: ...
    def sendall(self, data: bytes | bytearray | memoryview) -> None: ...


class SocketTransport:
    """Plain TCP."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def recv(self, size: int) -> bytes:
        return self.sock.recv(size)

    def sendall(self, data: bytes | bytearray | memoryview) -> None:
        self.sock.sendall(data)


class MessageReader:
    """Reads whole TDS messages (one or more packets up to EOM)."""

    def __init__(self, transport: Transport) -> None:
        self.transport = transport
        self._buffer = bytearray()

    def _read_exact(self, size: int) -> bytes | None:
        while len(self._buffer) < size:
            chunk = self.transport.recv(max(65536, size - len(self._buffer)))
            if not chunk:
                return None
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def has_buffered(self) -> bool:
        return bool(self._buffer)

    def take_buffered(self) -> bytes:
        """Hand over bytes read ahead (they belong to the next layer, e.g. TLS records)."""
        data = bytes(self._buffer)
        self._buffer.clear()
        return data

    def read_message(self) -> tuple[int, bytes] | None:
        """Return (packet type, payload) or None when the peer closed the connection."""
        parts: list[bytes] = []
        total = 0
        message_type: int | None = None
        while True:
            header = self._read_exact(HEADER_SIZE)
            if header is None:
                if parts or message_type is not None:
                    raise ProtocolError("connection closed inside a message")
                return None
            ptype, status, length, _spid, _pid, _window = HEADER.unpack(header)
            if length < HEADER_SIZE or length > MAX_PACKET_SIZE:
                raise ProtocolError(f"bad packet length {length}")
            if message_type is None:
                message_type = ptype
            elif ptype != message_type:
                raise ProtocolError("packet type changed inside a message")
            body = self._read_exact(length - HEADER_SIZE)
            if body is None:
                raise ProtocolError("connection closed inside a packet")
            total += len(body)
            if total > MAX_MESSAGE_BYTES:
                raise ProtocolError("message too large")
            parts.append(body)
            if status & STATUS_EOM:
                return message_type, b"".join(parts)


class MessageWriter:
    """Streams one reply message, sending full packets as soon as they fill up."""

    def __init__(self, transport: Transport, packet_size: int, spid: int) -> None:
        self.transport = transport
        self.packet_size = packet_size
        self.spid = spid
        self._buffer = bytearray()
        self._packet_id = 1
        self._type = int(PacketType.REPLY)

    def start(self, packet_type: int = PacketType.REPLY) -> None:
        self._buffer.clear()
        self._packet_id = 1
        self._type = int(packet_type)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._buffer += data
        body = self.packet_size - HEADER_SIZE
        # Send in bursts of whole packets (fewer syscalls, and a small reply leaves in one
        # piece); keep at least one byte back so the EOM packet is never empty.
        if len(self._buffer) > max(body, FLUSH_BYTES):
            count = (len(self._buffer) - 1) // body
            self._send_packets(memoryview(self._buffer)[: count * body], eom=False)
            del self._buffer[: count * body]

    def finish(self) -> None:
        self._send_packets(memoryview(self._buffer), eom=True)
        self._buffer.clear()

    def send_message(self, packet_type: int, payload: bytes) -> None:
        self.start(packet_type)
        self.write(payload)
        self.finish()

    def _send_packets(self, data: memoryview, *, eom: bool) -> None:
        body = self.packet_size - HEADER_SIZE
        pieces: list[bytes | memoryview] = []
        offset = 0
        size = len(data)
        while True:
            chunk = data[offset : offset + body]
            offset += len(chunk)
            last = offset >= size
            status = STATUS_EOM if (eom and last) else 0
            pieces.append(
                HEADER.pack(
                    self._type, status, len(chunk) + HEADER_SIZE, self.spid, self._packet_id, 0
                )
            )
            pieces.append(chunk)
            self._packet_id = (self._packet_id + 1) & 0xFF
            if last:
                break
        self.transport.sendall(b"".join(pieces))
