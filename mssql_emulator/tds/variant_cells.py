"""sql_variant cells: a base-type value behind its 4-byte length, base type byte and properties.

Every row of a result column shares one base type (the engine keeps it on the column's
SqlType), so the base type's own cells are encoded first and then re-framed here.
"""

from __future__ import annotations

import struct

import numpy as np
import numpy.typing as npt

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.tds.row_assembly import Piece, offsets_piece
from mssql_emulator.tds.tokens import COLLATION, normalize

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

# Base types as sql_variant names them: the fixed-length codes, not the nullable N forms.
_FIXED_CODES = {
    "tinyint": 0x30,
    "bit": 0x32,
    "smallint": 0x34,
    "int": 0x38,
    "smalldatetime": 0x3A,
    "real": 0x3B,
    "money": 0x3C,
    "datetime": 0x3D,
    "float": 0x3E,
    "smallmoney": 0x7A,
    "bigint": 0x7F,
    "uniqueidentifier": 0x24,
    "date": 0x28,
}
_SCALED_CODES = {"time": 0x29, "datetime2": 0x2A, "datetimeoffset": 0x2B}
_CHAR_CODES = {"varchar": 0xA7, "char": 0xAF, "nvarchar": 0xE7, "nchar": 0xEF}
_BINARY_CODES = {"varbinary": 0xA5, "binary": 0xAD}
# Longest value a sql_variant holds: 8016 bytes less the base type byte, count and properties.
_MAX_VALUE_BYTES = 8000


def variant_base(t: SqlType) -> SqlType:
    """The base type the column's cells are sent as; max types become their longest bounded form."""
    base = normalize(t.base) if t.base is not None else SqlType("nvarchar", length=4000)
    if base.length == -1:
        limit = 4000 if base.name in ("nchar", "nvarchar") else _MAX_VALUE_BYTES
        return SqlType(base.name, length=limit)
    return base


def _header(base: SqlType) -> tuple[int, bytes, int]:
    """The base type code, its property bytes, and the length prefix its plain cells carry."""
    name = base.name
    if name in _FIXED_CODES:
        return _FIXED_CODES[name], b"", 1
    if name in _SCALED_CODES:
        assert base.scale is not None
        return _SCALED_CODES[name], bytes([base.scale]), 1
    if name in ("decimal", "numeric"):
        assert base.precision is not None and base.scale is not None
        return 0x6A if name == "decimal" else 0x6C, bytes([base.precision, base.scale]), 1
    assert base.length is not None
    if name in _CHAR_CODES:
        size = base.length * (2 if name.startswith("n") else 1)
        return _CHAR_CODES[name], COLLATION + struct.pack("<H", size), 2
    if name in _BINARY_CODES:
        return _BINARY_CODES[name], struct.pack("<H", base.length), 2
    raise SqlError(206, f"Operand type clash: {base} is incompatible with sql_variant")


def variant_pieces(data: U8, lens: I64, base: SqlType) -> list[Piece]:
    """Re-frame the base type's cells (``data`` laid out by ``lens``; NULL cells empty)."""
    code, props, prefix = _header(base)
    head = bytes([code, len(props)]) + props
    starts = np.zeros(len(lens) + 1, dtype=np.int64)
    np.cumsum(lens, out=starts[1:])
    raw = data.tobytes()
    cells: list[bytes] = []
    for start, size in zip(starts[:-1].tolist(), lens.tolist(), strict=True):
        if not size:
            cells.append(b"")  # NBCROW leaves a NULL cell out
            continue
        value = raw[start + prefix : start + size]
        if len(value) > _MAX_VALUE_BYTES:
            raise SqlError(8152, "String or binary data would be truncated.")
        cells.append(struct.pack("<I", len(head) + len(value)) + head + value)
    out = np.frombuffer(b"".join(cells), dtype=np.uint8)
    offsets = np.zeros(len(cells) + 1, dtype=np.int64)
    np.cumsum([len(c) for c in cells], out=offsets[1:])
    return [offsets_piece(out, offsets)]
