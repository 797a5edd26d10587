"""PRELOGIN: parse the client's option table and build the server's reply."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from mssql_emulator.tds.packets import ProtocolError

SERVER_VERSION = bytes.fromhex("10000fa00000")  # 16.0.4000, subbuild 0


class Encryption(IntEnum):
    OFF = 0
    ON = 1
    NOT_SUP = 2
    REQ = 3


class EncryptionMode(IntEnum):
    """What the server does with TLS once both sides agreed."""

    NONE = 0
    LOGIN_ONLY = 1
    FULL = 2


@dataclass(frozen=True)
class PreloginRequest:
    encryption: Encryption
    instance: str
    mars: bool = False


def parse_prelogin(payload: bytes) -> PreloginRequest:
    options: dict[int, bytes] = {}
    pos = 0
    while True:
        if pos >= len(payload):
            raise ProtocolError("PRELOGIN option table not terminated")
        token = payload[pos]
        if token == 0xFF:
            break
        if pos + 5 > len(payload):
            raise ProtocolError("truncated PRELOGIN option")
        offset, length = struct.unpack_from(">HH", payload, pos + 1)
        if offset + length > len(payload):
            raise ProtocolError("PRELOGIN option outside the payload")
        options[token] = payload[offset : offset + length]
        pos += 5
    raw_enc = options.get(1, b"\x02")
    enc = raw_enc[0] if raw_enc else 2
    encryption = Encryption(enc & 0x03)
    instance = options.get(2, b"").split(b"\x00", 1)[0].decode("latin-1")
    mars = options.get(4, b"\x00")[:1] == b"\x01"
    return PreloginRequest(encryption=encryption, instance=instance, mars=mars)


def negotiate(client: Encryption, *, tls_available: bool) -> tuple[Encryption, EncryptionMode]:
    """The encryption table of MS-TDS 2.2.6.5, as the reference records it."""
    if not tls_available:
        return Encryption.NOT_SUP, EncryptionMode.NONE
    if client == Encryption.NOT_SUP:
        return Encryption.NOT_SUP, EncryptionMode.NONE
    if client == Encryption.OFF:
        return Encryption.OFF, EncryptionMode.LOGIN_ONLY
    return Encryption.ON, EncryptionMode.FULL


def build_prelogin_reply(encryption: Encryption, *, mars: bool = False) -> bytes:
    # VERSION, ENCRYPTION, INSTOPT, THREADID (empty), MARS; MARS is always present
    # because FreeTDS falls back to TDS 7.1 without it.
    data = [SERVER_VERSION, bytes([encryption]), b"\x00", b"", bytes([mars])]
    tokens = [0, 1, 2, 3, 4]
    offset = len(tokens) * 5 + 1
    table = bytearray()
    body = bytearray()
    for token, value in zip(tokens, data, strict=True):
        table += struct.pack(">BHH", token, offset + len(body), len(value))
        body += value
    return bytes(table) + b"\xff" + bytes(body)
