"""Code page 1252 as SQL Server uses it for char/varchar under the SQL_Latin1_General_CP1
collations.

Windows maps the five bytes that cp1252 leaves undefined (0x81, 0x8D, 0x8F, 0x90, 0x9D) to
the C1 control characters with the same numbers, so every byte survives a round trip;
Python's codec refuses them. A character the code page lacks becomes ``?``, as SQL Server
stores it.
"""

from __future__ import annotations

import codecs

_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_HANDLER = "mssql-cp1252"


def _undefined_bytes(error: UnicodeError) -> tuple[str | bytes, int]:
    if isinstance(error, UnicodeDecodeError):
        byte = error.object[error.start]
        return (chr(byte) if byte in _UNDEFINED else "\ufffd"), error.start + 1
    if isinstance(error, UnicodeEncodeError):
        char = ord(error.object[error.start])
        return (bytes([char]) if char in _UNDEFINED else b"?"), error.start + 1
    raise error


codecs.register_error(_HANDLER, _undefined_bytes)


def decode(raw: bytes) -> str:
    return raw.decode("cp1252", errors=_HANDLER)


def encode(text: str) -> bytes:
    """One byte per character, always."""
    return text.encode("cp1252", errors=_HANDLER)


def decode_utf16(raw: bytes) -> str:
    """nchar/nvarchar bytes: UTF-16LE; a last odd byte is dropped, as SQL Server does."""
    return raw[: len(raw) // 2 * 2].decode("utf-16-le", errors="replace")


def encode_utf16(text: str) -> bytes:
    return text.encode("utf-16-le", errors="surrogatepass")
