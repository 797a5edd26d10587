"""Vectorised ROW/NBCROW encoding of Arrow record batches.

Each column becomes pieces holding every cell's wire bytes (empty for NULL cells, which
NBCROW leaves out): a matrix when all its cells have one width, else a buffer with each
cell's start and length.  ``row_assembly`` then lays each row's token and cells out in
one numpy buffer, which is the token stream itself.  No Python code runs per value on
the ASCII and fixed-width paths.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from mssql_emulator import code_page
from mssql_emulator.contract import SqlType
from mssql_emulator.tds.row_assembly import (
    Fixed,
    Piece,
    assemble,
    matrix_piece,
    offsets_piece,
    put_columns,
)
from mssql_emulator.tds.tokens import decimal_size, normalize, time_size
from mssql_emulator.tds.variant_cells import variant_base, variant_pieces

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

DAYS_0001_TO_1970 = 719162
DAYS_1900_TO_1970 = 25567
US_PER_DAY = 86_400_000_000
TICKS_PER_DAY = 25_920_000  # datetime counts 1/300 s
TICKS_100NS_PER_DAY = 864_000_000_000
MAX_ROWS_PER_CHUNK = 32768
TARGET_CHUNK_BYTES = 2 * 1024 * 1024


def _fixed(values: U8, size_byte: int, valid: Mask | None) -> list[Piece]:
    """Cells of a fixed-width N type: one length byte then ``values`` (n, width)."""
    if valid is None:
        return [Fixed(values, lead=size_byte)]
    n, width = values.shape
    mat = np.empty((n, width + 1), dtype=np.uint8)
    mat[:, 0] = size_byte
    put_columns(mat, 1, values)
    return [matrix_piece(mat, np.where(valid, width + 1, 0).astype(np.int64))]


def _le_bytes(values: npt.NDArray[np.generic], dtype: str, width: int | None = None) -> U8:
    raw = np.ascontiguousarray(values.astype(dtype, copy=False))
    as_bytes = raw.view(np.uint8).reshape(len(values), -1)
    return as_bytes if width is None else as_bytes[:, :width]


def _numpy(arr: pa.Array, fill: object) -> npt.NDArray[np.generic]:
    if arr.null_count:
        arr = arr.fill_null(fill)
    result: npt.NDArray[np.generic] = arr.to_numpy(zero_copy_only=False)
    return result


def _ints(arr: pa.Array, width: int, valid: Mask | None) -> list[Piece]:
    values = _numpy(pc.cast(arr, pa.int64()), 0)
    dtype = "<u1" if width == 1 else f"<i{width}"
    return _fixed(_le_bytes(values, dtype), width, valid)


def _bits(arr: pa.Array, valid: Mask | None) -> list[Piece]:
    values = _numpy(pc.cast(arr, pa.bool_()), False)
    return _fixed(values.astype(np.uint8).reshape(-1, 1), 1, valid)


def _floats(arr: pa.Array, width: int, valid: Mask | None) -> list[Piece]:
    target = pa.float32() if width == 4 else pa.float64()
    values = _numpy(pc.cast(arr, target), 0.0)
    return _fixed(_le_bytes(values, f"<f{width}"), width, valid)


def _decimal_limbs(arr: pa.Array, precision: int, scale: int) -> npt.NDArray[np.uint64]:
    if not (pa.types.is_decimal128(arr.type) and arr.type.scale == scale):
        arr = pc.cast(arr, pa.decimal128(38, scale))
    if arr.null_count:
        arr = arr.fill_null(pa.scalar(0, arr.type))
    buf = arr.buffers()[1]
    limbs = np.frombuffer(buf, dtype="<u8", count=2 * (arr.offset + len(arr)))
    return limbs[2 * arr.offset :].reshape(-1, 2)


def _decimals(arr: pa.Array, t: SqlType, valid: Mask | None) -> list[Piece]:
    assert t.precision is not None and t.scale is not None
    limbs = _decimal_limbs(arr, t.precision, t.scale)
    lo, hi = limbs[:, 0], limbs[:, 1]
    negative = hi >= np.uint64(1 << 63)
    neg_lo = ~lo + np.uint64(1)
    size = decimal_size(t.precision)
    body = np.empty((len(arr), size), dtype=np.uint8)
    body[:, 0] = ~negative
    if size <= 9:
        # The magnitude's low limb holds every byte sent.
        put_columns(body, 1, _le_bytes(np.where(negative, neg_lo, lo), "<u8", size - 1))
        return _fixed(body, size, valid)
    neg_hi = ~hi + (lo == 0).astype(np.uint64)
    mag = np.empty_like(limbs)
    mag[:, 0] = np.where(negative, neg_lo, lo)
    mag[:, 1] = np.where(negative, neg_hi, hi)
    put_columns(body, 1, mag.view(np.uint8).reshape(-1, 16)[:, : size - 1])
    return _fixed(body, size, valid)


def _money(arr: pa.Array, width: int, valid: Mask | None) -> list[Piece]:
    scaled = _decimal_limbs(arr, 19, 4)[:, 0].view(np.int64)
    if width == 4:
        return _fixed(_le_bytes(scaled, "<i4"), 4, valid)
    # money is the high 32 bits, then the low 32 bits: the 64-bit value rotated by 32.
    bits = scaled.view(np.uint64)
    return _fixed(_le_bytes((bits << np.uint64(32)) | (bits >> np.uint64(32)), "<u8"), 8, valid)


def _string_parts(arr: pa.Array) -> tuple[U8, I64]:
    """UTF-8 bytes of a string array and its zero-based int64 offsets."""
    if not pa.types.is_large_string(arr.type):
        arr = pc.cast(arr, pa.large_string())
    offsets = np.frombuffer(arr.buffers()[1], dtype="<i8", count=arr.offset + len(arr) + 1)
    offsets = offsets[arr.offset :]
    data_buf = arr.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)[start:end]
        if data_buf is not None
        else np.zeros(0, np.uint8)
    )
    return data, (offsets - start).astype(np.int64)


def _encode_text(arr: pa.Array, wide: bool) -> tuple[U8, I64]:
    """Client-side bytes (UTF-16LE or cp1252) and offsets of every cell."""
    data, offsets = _string_parts(arr)
    if not data.size or int(data.max()) < 0x80:
        if not wide:
            return data, offsets
        out = np.zeros(data.size * 2, dtype=np.uint8)
        out[0::2] = data
        return out, offsets * 2
    lead = (data & 0xC0) != 0x80
    text = data.tobytes().decode("utf-8")
    if wide:
        # A 4-byte UTF-8 sequence becomes a surrogate pair: two code units.
        units = lead.astype(np.int64) + (data >= 0xF0)
        encoded = text.encode("utf-16-le")
        scale = 2
    else:
        units = lead.astype(np.int64)
        encoded = code_page.encode(text)
        scale = 1
    cum = np.zeros(data.size + 1, dtype=np.int64)
    np.cumsum(units, out=cum[1:])
    return np.frombuffer(encoded, dtype=np.uint8), cum[offsets] * scale


def _binary_parts(arr: pa.Array) -> tuple[U8, I64]:
    if not pa.types.is_large_binary(arr.type):
        arr = pc.cast(arr, pa.large_binary())
    offsets = np.frombuffer(arr.buffers()[1], dtype="<i8", count=arr.offset + len(arr) + 1)
    offsets = offsets[arr.offset :]
    start, end = int(offsets[0]), int(offsets[-1])
    data_buf = arr.buffers()[2]
    data = (
        np.frombuffer(data_buf, dtype=np.uint8)[start:end]
        if data_buf is not None
        else np.zeros(0, np.uint8)
    )
    return data, (offsets - start).astype(np.int64)


def _var_cells(data: U8, offsets: I64, valid: Mask | None, plp: bool) -> list[Piece]:
    """Cells of a variable-length value: u16 length, or PLP (u64 total, one chunk, 0)."""
    n = len(offsets) - 1
    lengths = np.diff(offsets)
    if valid is not None:
        # NULL slots may still own bytes in Arrow; their cells stay empty.
        lengths = np.where(valid, lengths, 0)
    payload = offsets_piece(data, offsets, None if valid is None else lengths)
    if not plp:
        short_lens = None if valid is None else np.where(valid, 2, 0).astype(np.int64)
        return [matrix_piece(_le_bytes(lengths, "<u2"), short_lens), payload]
    head = np.empty((n, 12), dtype=np.uint8)
    put_columns(head, 0, _le_bytes(lengths, "<u8"))
    put_columns(head, 8, _le_bytes(lengths, "<u4"))
    head_lens = np.where(lengths > 0, 12, 8).astype(np.int64)
    tail_lens = None
    if valid is not None:
        head_lens = np.where(valid, head_lens, 0)
        tail_lens = np.where(valid, 4, 0).astype(np.int64)
    tail = matrix_piece(np.zeros((n, 4), dtype=np.uint8), tail_lens)
    return [matrix_piece(head, head_lens), payload, tail]


_HEX = np.zeros(256, dtype=np.uint8)
for _i, _c in enumerate(b"0123456789abcdef"):
    _HEX[_c] = _i
    _HEX[ord(chr(_c).upper())] = _i
_GUID_HEX_COLUMNS = np.array([i for i in range(36) if i not in (8, 13, 18, 23)])
_GUID_LE_ORDER = np.array([3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15])


def _guids(arr: pa.Array, valid: Mask | None) -> list[Piece]:
    n = len(arr)
    if pa.types.is_fixed_size_binary(arr.type) or pa.types.is_binary(arr.type):
        data, offsets = _binary_parts(arr.fill_null(b"\x00" * 16))
        big_endian = data.reshape(n, 16)
    else:
        data, offsets = _string_parts(arr.fill_null("00000000-0000-0000-0000-000000000000"))
        if data.size != n * 36 or not np.all(np.diff(offsets) == 36):
            raise ValueError("uniqueidentifier values must be 36-character strings")
        nibbles = _HEX[data.reshape(n, 36)[:, _GUID_HEX_COLUMNS]]
        big_endian = ((nibbles[:, 0::2] << 4) | nibbles[:, 1::2]).astype(np.uint8)
    return _fixed(big_endian[:, _GUID_LE_ORDER], 16, valid)


def _micros(arr: pa.Array, unit_type: pa.DataType) -> I64:
    return np.asarray(_numpy(pc.cast(pc.cast(arr, unit_type), pa.int64()), 0), dtype=np.int64)


def _ticks(arr: pa.Array, unit_type: pa.DataType) -> I64:
    """100 ns counts of a time or timestamp array: exact from ns, else from microseconds.

    datetime2(7) may also come as uint64 counts since 0001-01-01, and a datetimeoffset's
    UTC instant as int64 counts since then (see the contract)."""
    if pa.types.is_integer(arr.type):
        counts = np.asarray(_numpy(arr, 0)).astype(np.int64)
        return counts - DAYS_0001_TO_1970 * TICKS_100NS_PER_DAY
    if getattr(arr.type, "unit", None) == "ns":
        return np.asarray(_numpy(pc.cast(arr, pa.int64()), 0), dtype=np.int64) // 100
    return _micros(arr, unit_type) * 10


def _time_count(ticks: I64, scale: int) -> I64:
    return ticks if scale == 7 else ticks // (10 ** (7 - scale))


def _naive(arr: pa.Array) -> pa.Array:
    if pa.types.is_timestamp(arr.type) and arr.type.tz is not None:
        unit = arr.type.unit
        arr = pc.cast(pc.cast(arr, pa.timestamp(unit, tz="UTC")), pa.timestamp(unit))
    return arr


def _split_timestamp(arr: pa.Array) -> tuple[I64, I64]:
    micros = _micros(_naive(arr), pa.timestamp("us"))
    days = micros // US_PER_DAY
    return days, micros - days * US_PER_DAY


def _split_ticks(arr: pa.Array) -> tuple[I64, I64]:
    ticks = _ticks(_naive(arr), pa.timestamp("us"))
    days = ticks // TICKS_100NS_PER_DAY
    return days, ticks - days * TICKS_100NS_PER_DAY


def _date_time_body(days: I64, rem: I64, scale: int) -> U8:
    # At most 5 bytes of time then 3 of date: one little-endian uint64 holds both.
    size = time_size(scale)
    count = _time_count(rem, scale).astype(np.uint64) & np.uint64((1 << (8 * size)) - 1)
    date = (days + DAYS_0001_TO_1970).astype(np.uint64) & np.uint64(0xFFFFFF)
    return _le_bytes(count | (date << np.uint64(8 * size)), "<u8", size + 3)


def _dates(arr: pa.Array, valid: Mask | None) -> list[Piece]:
    days = np.asarray(_numpy(pc.cast(pc.cast(arr, pa.date32()), pa.int32()), 0), np.int64)
    return _fixed(_le_bytes(days + DAYS_0001_TO_1970, "<i4", 3), 3, valid)


def _times(arr: pa.Array, scale: int, valid: Mask | None) -> list[Piece]:
    ticks = _ticks(arr, pa.time64("us"))
    size = time_size(scale)
    return _fixed(_le_bytes(_time_count(ticks, scale), "<i8", size), size, valid)


def _datetime2(arr: pa.Array, scale: int, valid: Mask | None) -> list[Piece]:
    days, rem = _split_ticks(arr)
    body = _date_time_body(days, rem, scale)
    return _fixed(body, body.shape[1], valid)


def _datetimeoffset(arr: pa.Array, scale: int, valid: Mask | None) -> list[Piece]:
    if pa.types.is_struct(arr.type):
        utc, raw_offset = arr.flatten()[:2]
        offset = np.asarray(_numpy(pc.cast(raw_offset, pa.int16()), 0), np.int16)
    else:
        utc = arr
        offset = np.zeros(len(arr), dtype=np.int16)
    days, rem = _split_ticks(utc)
    dt_body = _date_time_body(days, rem, scale)
    body = np.empty((len(arr), dt_body.shape[1] + 2), dtype=np.uint8)
    put_columns(body, 0, dt_body)
    put_columns(body, body.shape[1] - 2, _le_bytes(offset, "<i2"))
    return _fixed(body, body.shape[1], valid)


def _datetime(arr: pa.Array, small: bool, valid: Mask | None) -> list[Piece]:
    days, rem = _split_timestamp(arr)
    days = days + DAYS_1900_TO_1970
    if small:
        minutes = (rem // 60_000_000).astype(np.uint32) & np.uint32(0xFFFF)
        packed = (minutes << np.uint32(16)) | (days.astype(np.uint32) & np.uint32(0xFFFF))
        return _fixed(_le_bytes(packed, "<u4"), 4, valid)
    ticks = (rem * 300 + 500_000) // 1_000_000
    overflow = ticks >= TICKS_PER_DAY
    days = days + overflow
    ticks = np.where(overflow, ticks - TICKS_PER_DAY, ticks)
    packed = (ticks.astype(np.uint64) << np.uint64(32)) | (
        days.astype(np.uint64) & np.uint64(0xFFFFFFFF)
    )
    return _fixed(_le_bytes(packed, "<u8"), 8, valid)


_INT_WIDTHS = {"tinyint": 1, "smallint": 2, "int": 4, "bigint": 8}


def encode_column(arr: pa.Array, sql_type: SqlType, valid: Mask | None) -> pa.Array:
    """Wire bytes of every cell of one column (NULL cells empty)."""
    data, lens = assemble(_column_pieces(arr, sql_type, valid), len(arr))
    offsets = np.zeros(len(arr) + 1, dtype=np.int64)
    np.cumsum(lens, out=offsets[1:])
    return pa.Array.from_buffers(
        pa.large_binary(), len(arr), [None, pa.py_buffer(offsets), pa.py_buffer(data)]
    )


def _column_pieces(arr: pa.Array, sql_type: SqlType, valid: Mask | None) -> list[Piece]:
    if pa.types.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    t = normalize(sql_type)
    name = t.name
    if name in _INT_WIDTHS:
        return _ints(arr, _INT_WIDTHS[name], valid)
    if name == "bit":
        return _bits(arr, valid)
    if name in ("real", "float"):
        return _floats(arr, 4 if name == "real" else 8, valid)
    if name in ("decimal", "numeric"):
        return _decimals(arr, t, valid)
    if name in ("money", "smallmoney"):
        return _money(arr, 8 if name == "money" else 4, valid)
    if name in ("char", "varchar", "nchar", "nvarchar", "xml"):
        if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
            arr = pc.cast(arr, pa.large_string())
        data, offsets = _encode_text(arr, wide=name.startswith("n") or name == "xml")
        return _var_cells(data, offsets, valid, plp=t.length == -1)
    if name in ("binary", "varbinary"):
        data, offsets = _binary_parts(arr)
        return _var_cells(data, offsets, valid, plp=t.length == -1)
    if name == "date":
        return _dates(arr, valid)
    if name == "time":
        assert t.scale is not None
        return _times(arr, t.scale, valid)
    if name == "datetime2":
        assert t.scale is not None
        return _datetime2(arr, t.scale, valid)
    if name == "datetimeoffset":
        assert t.scale is not None
        return _datetimeoffset(arr, t.scale, valid)
    if name in ("datetime", "smalldatetime"):
        return _datetime(arr, name == "smalldatetime", valid)
    if name == "uniqueidentifier":
        return _guids(arr, valid)
    if name == "sql_variant":
        base = variant_base(t)
        data, lens = assemble(_column_pieces(arr, base, valid), len(arr))
        return variant_pieces(data, lens, base)
    raise AssertionError(f"unhandled type {name}")


def _struct_nulls(arr: pa.Array) -> bool:
    return bool(pa.types.is_struct(arr.type) and arr.field(0).null_count > 0)


def _validity(arr: pa.Array) -> Mask:
    valid = arr.is_valid()
    if pa.types.is_struct(arr.type):
        valid = pc.and_(valid, arr.field(0).is_valid())
    return np.asarray(valid.to_numpy(zero_copy_only=False), dtype=np.bool_)


def _row_prefixes(nulls: Mask) -> Piece:
    """ROW token for complete rows; NBCROW token and null bitmap for rows with NULLs."""
    n = nulls.shape[0]
    if not nulls.any():
        return matrix_piece(np.full((n, 1), 0xD1, dtype=np.uint8))
    row_has_null = nulls.any(axis=1)
    bitmap = np.packbits(nulls, axis=1, bitorder="little")
    mat = np.empty((n, 1 + bitmap.shape[1]), dtype=np.uint8)
    mat[:, 0] = np.where(row_has_null, 0xD2, 0xD1)
    put_columns(mat, 1, bitmap)
    lens = np.where(row_has_null, mat.shape[1], 1).astype(np.int64)
    return matrix_piece(mat, lens)


def encode_batch(types: list[SqlType], batch: pa.RecordBatch) -> bytes:
    """The ROW/NBCROW tokens of every row of ``batch``."""
    n = batch.num_rows
    if n == 0:
        return b""
    cells: list[Piece] = []
    nulls = np.zeros((n, len(types)), dtype=np.bool_)
    for index, sql_type in enumerate(types):
        arr = batch.column(index)
        valid: Mask | None = None
        if pa.types.is_struct(arr.type):
            # datetimeoffset: NULL when the struct or its UTC instant is NULL
            arr = pa.StructArray.from_arrays(arr.flatten(), fields=list(arr.type))
        if arr.null_count or _struct_nulls(arr):
            valid = _validity(arr)
            nulls[:, index] = ~valid
        cells.extend(_column_pieces(arr, sql_type, valid))
    data, _ = assemble([_row_prefixes(nulls), *cells], n)
    return data.tobytes()


def chunks(batch: pa.RecordBatch) -> list[pa.RecordBatch]:
    """Slices small enough that each encoding step stays cache- and memory-friendly."""
    rows = batch.num_rows
    if rows == 0:
        return [batch]
    per_row = max(1, batch.nbytes // rows)
    # Wide rows get smaller slices so attention is noticed within ~2 MB of output.
    step = max(16, min(MAX_ROWS_PER_CHUNK, TARGET_CHUNK_BYTES // per_row))
    if rows <= step:
        return [batch]
    return [batch.slice(offset, step) for offset in range(0, rows, step)]
