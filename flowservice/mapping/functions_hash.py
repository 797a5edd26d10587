"""Hashing functions for PII: sha1, sha256, sha512, md5 (hex digests) and crc32.

Arrow has no hashing kernel, so these hash with ``hashlib``/``zlib`` — but only
once per *distinct* value of the batch (``dictionary_encode``), and the hex
digests are laid out directly as one string buffer with fixed offsets rather
than built as Python strings; the per-row work (finding each row's digest) is
a ``take``. Columns that repeat values (countries, hashed e-mails joined
across tables) pay for each value once.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    call_args,
    literal_text,
)
from flowservice.mapping.function_kit import as_text, elementwise, need_text
from flowservice.mapping.function_registry import function
from flowservice.mapping.syntax import Call

_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-16": "utf-16", "us-ascii": "ascii"}
_CHARSETS |= {"iso-8859-1": "latin-1", "utf-16le": "utf-16-le", "utf-16be": "utf-16-be"}


def _digest_all(values: list[str], digest: Callable[[bytes], bytes], encoding: str) -> bytes:
    return b"".join([digest(v.encode(encoding, "replace")) for v in values])


def hex_digests(
    values: pa.Array, digest: Callable[[bytes], bytes], size: int, encoding: str
) -> pa.Array:
    """Hex digests of a text array (null stays null), hashing each distinct value once."""
    encoded = pc.dictionary_encode(as_text(values))
    uniques: list[str] = encoded.dictionary.to_pylist()
    raw = _digest_all(uniques, digest, encoding)
    text = raw.hex().encode("ascii")
    width = size * 2
    offsets = np.arange(0, len(uniques) * width + 1, width, dtype=np.int32)
    digests = pa.StringArray.from_buffers(len(uniques), pa.py_buffer(offsets), pa.py_buffer(text))
    return pc.take(digests, encoded.indices)


def _charset(node: Call, parts: int) -> str:
    if parts < 2:
        return "utf-8"
    name = literal_text(node, 1, "a charset name")
    encoding = _CHARSETS.get(name.lower())
    if encoding is None:
        known = ", ".join(sorted(_CHARSETS))
        raise ExpressionTypeError(
            f"unknown charset {name!r}; known: {known}", node.args[1].position
        )
    return encoding


def _hash_function(name: str, algorithm: str, example_result: str) -> None:
    constructor = getattr(hashlib, algorithm)  # the named constructor: hashlib.new is slower
    size = constructor().digest_size

    def digest(data: bytes) -> bytes:
        return bytes(constructor(data).digest())

    @function(
        name,
        category="Hashing",
        syntax=f"{name}(INPUT, CHARSET)",
        description=f"The {algorithm.upper()} hash of the text as lower-case hex; "
        "CHARSET (optional, default UTF-8) encodes the text first.",
        returns="string",
        example=f'{name}("my text", "UTF-8")',
        result=f'"{example_result}"',
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        parts = call_args(node, schema, 1, 2)
        need_text(node, 0, parts[0])
        encoding = _charset(node, len(parts))
        return elementwise(
            parts[:1], pa.string(), lambda v: hex_digests(v[0], digest, size, encoding)
        )

    del build


_hash_function("sha1", "sha1", "c3599c11e47719df18a2448690840c5dfcce3c80")
_hash_function(
    "sha256", "sha256", "7330d2b39ca35eaf4cb95fc846c21ee6a39af698154a83a586ee270a0d372104"
)
_hash_function(
    "sha512",
    "sha512",
    "a3d7e45a0d9be5fd4e4b9a3b8c9c2163c21ef708bf11b4232bb21d2a8704ada2"
    "cdcd7b367dd0788a89a5c908cfe377aceb1072a7b386b7d4fd2ff68a8fd24d16",
)
_hash_function("md5", "md5", "d3b96ce8c9fb4e9bd0198d03ba6852c7")


def _crc32(data: bytes) -> bytes:
    # Data Prep shows the checksum's bytes least significant first: "my text" -> 8df92e80
    return zlib.crc32(data).to_bytes(4, "little")


@function(
    "crc32",
    category="Hashing",
    syntax="crc32(INPUT, CHARSET)",
    description="The CRC-32 checksum of the text as 8 hex digits, least significant byte first.",
    returns="string",
    example='crc32("my text", "UTF-8")',
    result='"8df92e80"',
)
def _crc32_function(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 1, 2)
    need_text(node, 0, parts[0])
    encoding = _charset(node, len(parts))
    return elementwise(parts[:1], pa.string(), lambda v: hex_digests(v[0], _crc32, 4, encoding))
