"""A batch's data files: the Parquet files its Delta commit added, and their bytes.

A commit's added files are the difference between the table's file list at its
version and at the version before, both read through delta-rs' snapshot API
(``get_add_actions``), not by parsing the log. Files stay in the log after a
later overwrite or merge removes them; only ``VACUUM`` deletes their bytes,
after which ``open_data_file`` reports them gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
from deltalake import DeltaTable
from deltalake.exceptions import DeltaError, TableNotFoundError

from flowservice.errors import LakeError, NotFound
from flowservice.lake.location import LakeLocation

CHUNK_BYTES = 1024 * 1024
_COLUMNS = ["path", "size_bytes", "modification_time", "num_records"]


@dataclass(frozen=True)
class DataFile:
    """One Parquet file of a commit: its path below the table root, size, rows, write time."""

    path: str
    size_bytes: int
    records: int
    modified_ms: int


def _files_at(location: LakeLocation, version: int) -> dict[str, DataFile]:
    if version < 0:
        return {}
    try:
        table = DeltaTable(location.uri, version=version, storage_options=location.options())
    except TableNotFoundError as exc:
        raise NotFound(f"the dataset has no table at version {version}") from exc
    except DeltaError as exc:
        # the log of that version was cleaned up after a checkpoint, or never existed
        raise NotFound(f"version {version} of the dataset is no longer in its log") from exc
    actions = pa.table(table.get_add_actions(flatten=False)).select(_COLUMNS)
    return {
        str(row["path"]): DataFile(
            path=str(row["path"]),
            size_bytes=int(row["size_bytes"]),
            records=int(row["num_records"] or 0),
            modified_ms=int(row["modification_time"]),
        )
        for row in actions.to_pylist()
    }


def added_files(location: LakeLocation, version: int) -> list[DataFile]:
    """The files the commit ``version`` added, in path order (stable, so ids can count them)."""
    now = _files_at(location, version)
    before = _files_at(location, version - 1)
    return sorted((f for p, f in now.items() if p not in before), key=lambda f: f.path)


def _open(location: LakeLocation, path: str) -> tuple[pafs.FileSystem, str]:
    fs, root = location.filesystem()
    return fs, f"{root}/{path}"


def stored_size(location: LakeLocation, path: str) -> int | None:
    """The file's size in storage, or None when it has been vacuumed."""
    fs, full = _open(location, path)
    try:
        info = fs.get_file_info(full)
    except OSError as exc:
        raise LakeError(f"could not look up data file {path}: {type(exc).__name__}") from exc
    return None if info.type == pafs.FileType.NotFound else int(info.size)


def read_data_file(location: LakeLocation, path: str, start: int, end: int) -> Iterator[bytes]:
    """Bytes ``start`` to ``end`` (inclusive) of a data file, in chunks of at most 1 MiB."""
    fs, full = _open(location, path)
    try:
        stream = fs.open_input_file(full)
    except FileNotFoundError as exc:
        raise NotFound(f"data file {path} is no longer stored") from exc
    except OSError as exc:
        raise LakeError(f"could not open data file {path}: {type(exc).__name__}") from exc
    return _chunks(stream, start, end)


def _chunks(stream: pa.NativeFile, start: int, end: int) -> Iterator[bytes]:
    with stream:
        stream.seek(start)
        left = end - start + 1
        while left > 0:
            chunk = stream.read(min(CHUNK_BYTES, left))
            if not chunk:
                return
            left -= len(chunk)
            yield bytes(chunk)
