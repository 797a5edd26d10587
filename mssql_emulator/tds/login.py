"""LOGIN7: parse the client's login record and build the server's reply."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from mssql_emulator.tds import tokens
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.tds.tokens import DoneStatus, EnvChange

FIXED_SIZE = 94
# TDS 7.0 and 7.1 logins end their fixed part before ibChangePassword and cbSSPILong.
FIXED_SIZE_71 = 86
TDS72 = 0x72090002


@dataclass(frozen=True)
class Login7:
    tds_version: int
    packet_size: int
    user: str
    password: str
    app_name: str
    server_name: str
    database: str
    has_extension: bool


def decode_password(raw: bytes) -> str:
    """Undo the nibble swap and 0xA5 XOR that LOGIN7 applies to each byte."""
    plain = bytes((((b ^ 0xA5) << 4) & 0xF0) | ((b ^ 0xA5) >> 4) for b in raw)
    return plain.decode("utf-16-le", errors="replace")


def parse_login7(payload: bytes) -> Login7:
    if len(payload) < FIXED_SIZE_71:
        raise ProtocolError("LOGIN7 too short")
    (tds_version, packet_size) = struct.unpack_from("<II", payload, 4)
    fixed = FIXED_SIZE if tds_version >= TDS72 else FIXED_SIZE_71
    if len(payload) < fixed:
        raise ProtocolError("LOGIN7 too short")
    flags3 = payload[27]

    def text(field_offset: int, secret: bool = False) -> str:
        offset, chars = struct.unpack_from("<HH", payload, field_offset)
        end = offset + chars * 2
        if chars and (offset < fixed or end > len(payload)):
            raise ProtocolError("LOGIN7 field outside the record")
        raw = payload[offset:end]
        if secret:
            return decode_password(raw)
        return raw.decode("utf-16-le", errors="replace")

    return Login7(
        tds_version=tds_version,
        packet_size=packet_size,
        user=text(40),
        password=text(44, secret=True),
        app_name=text(48),
        server_name=text(52),
        database=text(68),
        has_extension=tds_version >= TDS72 and bool(flags3 & 0x10),
    )


def login_reply(
    database: str, packet_size: int, *, feature_ext: bool, tds_version: int = TDS72
) -> bytes:
    """The token stream all four drivers accept after a successful login.

    The server speaks TDS 7.4 and says so in LOGINACK; clients adopt that version. A 7.0
    or 7.1 client reads tokens by its own rules until then (a 2-byte INFO line number),
    so it gets LOGINACK first.
    """
    size = str(packet_size)
    legacy = tds_version < TDS72
    parts = [
        *([tokens.loginack()] if legacy else []),
        tokens.envchange_text(EnvChange.DATABASE, database, "master"),
        tokens.message(5701, f"Changed database context to '{database}'.", severity=0, state=2),
        tokens.envchange_bytes(EnvChange.COLLATION, tokens.COLLATION, b""),
        tokens.envchange_text(EnvChange.LANGUAGE, "us_english", ""),
        tokens.message(5703, "Changed language setting to us_english.", severity=0, state=1),
        *([] if legacy else [tokens.loginack()]),
        tokens.envchange_text(EnvChange.PACKET_SIZE, size, size),
    ]
    if feature_ext:
        parts.append(tokens.feature_ext_ack())
    parts.append(tokens.done(DoneStatus.FINAL))
    return b"".join(parts)


def login_failed(number: int, text: str, *, severity: int) -> bytes:
    return tokens.message(number, text, severity=severity, state=1) + tokens.done(DoneStatus.ERROR)


def pre_tds7_login_refused() -> bytes:
    """The answer to a TDS 4.2/5.0 login (packet type 0x02), in that protocol's own tokens:
    an ERROR whose strings are single-byte and whose line is two bytes, then DONE with a
    four-byte count. The emulator speaks TDS 7.0 and later only."""
    text = (
        b"TDS versions before 7.0 are not supported by this server; connect with TDS 7.0 or later."
    )
    server = tokens.SERVER_NAME.encode("ascii")
    body = (
        struct.pack("<iBBH", 4002, 1, 14, len(text))
        + text
        + bytes([len(server)])
        + server
        + b"\x00"
        + struct.pack("<H", 0)
    )
    error = struct.pack("<BH", tokens.Token.ERROR, len(body)) + body
    return error + struct.pack("<BHHi", tokens.Token.DONE, DoneStatus.ERROR, 0, 0)
