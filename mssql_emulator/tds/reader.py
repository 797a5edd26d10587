"""A bounds-checked little-endian cursor over a request payload."""

from __future__ import annotations

import struct

from mssql_emulator.tds.packets import ProtocolError


class ByteReader:
    def __init__(self, data: bytes, pos: int = 0) -> None:
        self.data = data
        self.pos = pos

    def remaining(self) -> int:
        return len(self.data) - self.pos

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise ProtocolError("truncated request")
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def _unpack(self, fmt: str, size: int) -> int:
        value: int = struct.unpack("<" + fmt, self.take(size))[0]
        return value

    def u8(self) -> int:
        return self._unpack("B", 1)

    def u16(self) -> int:
        return self._unpack("H", 2)

    def u32(self) -> int:
        return self._unpack("I", 4)

    def i32(self) -> int:
        return self._unpack("i", 4)

    def u64(self) -> int:
        return self._unpack("Q", 8)

    def b_varchar(self) -> str:
        return self.utf16(self.u8())

    def us_varchar(self) -> str:
        return self.utf16(self.u16())

    def utf16(self, chars: int) -> str:
        try:
            return self.take(chars * 2).decode("utf-16-le")
        except UnicodeDecodeError as exc:
            raise ProtocolError("bad UTF-16 text") from exc


def skip_all_headers(reader: ByteReader) -> int | None:
    """Skip ALL_HEADERS; return the transaction descriptor if one was sent."""
    total = reader.u32()
    if total < 4 or total > reader.remaining() + 4:
        raise ProtocolError("bad ALL_HEADERS length")
    end = reader.pos - 4 + total
    descriptor: int | None = None
    while reader.pos < end:
        length = reader.u32()
        if length < 6 or reader.pos - 4 + length > end:
            raise ProtocolError("bad header length")
        kind = reader.u16()
        body = ByteReader(reader.take(length - 6))
        if kind == 2 and body.remaining() >= 8:
            descriptor = body.u64()
    return descriptor
