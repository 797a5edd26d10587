"""Gluing the cells of every column into one row-major byte stream with numpy.

A column hands over its cells as pieces: ``Fixed`` when every row's cell has the same
width, else ``Var`` (a flat buffer and each row's start and length).  Runs of ``Fixed``
pieces become one block.  Each block and each ``Var`` piece then reaches its place in
every row through one fancy assignment of ``width``-byte void items (a window of the
buffer starting at any byte), so the copy costs a few nanoseconds per cell, not per byte.

A ``Var`` cell shorter than its piece's width copies a full window: the bytes past its
end are garbage, overwritten by the pieces written after it.  Var pieces go in row
order, fixed blocks last, and a window may only reach up to the next row's first Var
cell, so no garbage outlives the assembly; cells that would reach further (or sit too
close to their buffer's end) are copied byte by byte instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U8 = npt.NDArray[np.uint8]
I64 = npt.NDArray[np.int64]

# A Var piece with wider cells is copied byte by byte: windows would move too much garbage.
MAX_WINDOW = 256


@dataclass(frozen=True)
class Fixed:
    """Row i's bytes are the byte ``lead`` (if any), then ``mat[i]``."""

    mat: U8
    lead: int | None = None

    @property
    def width(self) -> int:
        width: int = self.mat.shape[1]
        return width + (self.lead is not None)


@dataclass(frozen=True)
class Var:
    """Row i's bytes are ``buf[starts[i]:starts[i] + lens[i]]``; no length exceeds ``width``."""

    buf: U8
    starts: I64
    lens: I64
    width: int


Piece = Fixed | Var


def matrix_piece(mat: U8, lens: I64 | None = None) -> Piece:
    """Row i's bytes are ``mat[i, :lens[i]]`` (the whole row if lens is None)."""
    if lens is None:
        return Fixed(mat)
    n, width = mat.shape
    starts = np.arange(0, n * width, width, dtype=np.int64)
    return Var(np.ascontiguousarray(mat).reshape(-1), starts, lens, width)


def put_columns(dst: U8, at: int, values: U8) -> None:
    """``dst[:, at:at + width] = values``, copying one void item per row (numpy copies a
    narrow column slice byte by byte, several times slower)."""
    width = values.shape[1]
    if width == 0:
        return
    if values.strides[1] != 1:
        values = np.ascontiguousarray(values)
    item = np.dtype((np.void, width))
    dst[:, at : at + width].view(item)[...] = values.view(item)


def offsets_piece(data: U8, offsets: I64, lens: I64 | None = None) -> Var:
    """Row i's bytes are ``data[offsets[i]:offsets[i + 1]]``, or its first ``lens[i]``."""
    if lens is None:
        lens = np.diff(offsets)
    width = int(lens.max()) if lens.size else 0
    return Var(data, offsets[:-1], lens, width)


def assemble(pieces: list[Piece], n: int) -> tuple[U8, I64]:
    """The bytes of all ``n`` rows (each row its pieces in order) and each row's length."""
    segments = _merge_fixed(pieces)
    if n == 0 or not segments:
        return np.zeros(0, dtype=np.uint8), np.zeros(n, dtype=np.int64)
    if len(segments) == 1 and isinstance(segments[0], Fixed):
        mat = segments[0].mat
        return np.ascontiguousarray(mat).reshape(-1), np.full(n, mat.shape[1], dtype=np.int64)
    widths = np.empty((n, len(segments)), dtype=np.int64)
    for j, segment in enumerate(segments):
        widths[:, j] = segment.width if isinstance(segment, Fixed) else segment.lens
    ends = np.cumsum(widths.reshape(-1)).reshape(n, -1)
    starts = ends - widths
    total = int(ends[-1, -1])
    var = [(j, segment) for j, segment in enumerate(segments) if isinstance(segment, Var)]
    slack = max((piece.width for _, piece in var if piece.width <= MAX_WINDOW), default=0)
    out = np.empty(total + slack, dtype=np.uint8)
    if var:
        # A window of row i may spill up to the first Var cell of row i + 1.
        bound = np.empty(n, dtype=np.int64)
        bound[:-1] = starts[1:, var[0][0]]
        bound[-1] = total + slack
        for j, piece in var:
            _put_var(out, piece, starts[:, j], bound)
    for j, segment in enumerate(segments):
        if isinstance(segment, Fixed):
            _put_fixed(out, segment.mat, starts[:, j])
    return out[:total], ends[:, -1] - starts[:, 0]


def _merge_fixed(pieces: list[Piece]) -> list[Piece]:
    segments: list[Piece] = []
    run: list[Fixed] = []
    for piece in pieces:
        if isinstance(piece, Fixed):
            run.append(piece)
            continue
        if run:
            segments.append(_block(run))
            run = []
        segments.append(piece)
    if run:
        segments.append(_block(run))
    return segments


def _block(run: list[Fixed]) -> Fixed:
    """One lead-free matrix holding a run of fixed pieces side by side."""
    if len(run) == 1 and run[0].lead is None:
        return run[0]
    block = np.empty((run[0].mat.shape[0], sum(piece.width for piece in run)), dtype=np.uint8)
    at = 0
    for piece in run:
        if piece.lead is not None:
            block[:, at] = piece.lead
            at += 1
        put_columns(block, at, piece.mat)
        at += piece.mat.shape[1]
    return Fixed(block)


def _windows(buf: U8, width: int) -> npt.NDArray[np.void]:
    """Item k is ``buf[k:k + width]`` as one void value (a view, not a copy)."""
    shape = (buf.size - width + 1,)
    windows: npt.NDArray[np.void] = np.ndarray(
        shape, dtype=np.dtype((np.void, width)), buffer=buf, strides=(1,)
    )
    return windows


def _put_fixed(out: U8, mat: U8, dst: I64) -> None:
    width = mat.shape[1]
    if width == 0:
        return
    items = np.ascontiguousarray(mat).view(np.dtype((np.void, width))).reshape(-1)
    _windows(out, width)[dst] = items


def _put_var(out: U8, piece: Var, dst: I64, bound: I64) -> None:
    width, buf, src, lens = piece.width, piece.buf, piece.starts, piece.lens
    if width == 0:
        return
    if width > MAX_WINDOW or buf.size < width:
        _copy_bytes(out, buf, src[lens > 0], dst[lens > 0], lens[lens > 0])
        return
    windowed = (dst + width <= bound) & (src <= buf.size - width)
    if windowed.all():
        _windows(out, width)[dst] = _windows(buf, width)[src]
        return
    take = windowed & (lens > 0)
    _windows(out, width)[dst[take]] = _windows(buf, width)[src[take]]
    rest = ~windowed & (lens > 0)
    _copy_bytes(out, buf, src[rest], dst[rest], lens[rest])


def _copy_bytes(out: U8, buf: U8, src: I64, dst: I64, lens: I64) -> None:
    """``out[dst[i]:dst[i] + lens[i]] = buf[src[i]:src[i] + lens[i]]`` for every i."""
    if not lens.size:
        return
    cell_start = np.cumsum(lens) - lens
    within = np.arange(int(cell_start[-1] + lens[-1]), dtype=np.int64)
    within -= np.repeat(cell_start, lens)
    out[np.repeat(dst, lens) + within] = buf[np.repeat(src, lens) + within]
