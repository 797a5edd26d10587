"""What one run reads from its source and how it writes its dataset.

| flow | read | append target | merge target |
|---|---|---|---|
| no delta column, no CDC | the whole table | overwrite | overwrite |
| delta column | the run's window | append | merge by key |
| CDC, first run or changes expired | the whole table | append (all ``u``) | overwrite |
| CDC, later runs | changes since the last version | append (``u``/``d``) | merge by key |

A merge-mode dataset is the current state of the source table, so a snapshot
replaces it; an append-mode dataset keeps every version, so a CDC snapshot is
added to it like any change.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from flowservice.connectors.base import (
    CHANGE_TYPE_COLUMN,
    UPSERT,
    ChangeTrackingState,
    Connector,
    ReadWindow,
)
from flowservice.errors import InvalidRequest
from flowservice.flows.change_range import ChangeRange
from flowservice.flows.write_mode import (
    DeleteMode,
    TargetWrite,
    WriteMode,
    cdc_enabled,
    parse_target_write,
)
from flowservice.lake import Dataset
from flowservice.lake.dataset import WriteResult


class TableReader(Protocol):
    """What a run needs of a source: a ``Connector``, or one read in child processes."""

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]: ...


class ChangeReader(TableReader, Protocol):
    """A source whose runs may read Change Tracking (``cdcEnabled`` flows)."""

    def change_tracking(self, table: str) -> ChangeTrackingState: ...

    def read_changes(
        self,
        table: str,
        *,
        since_version: int,
        columns: list[str] | None = None,
        batch_rows: int = 65536,
    ) -> Iterator[pa.RecordBatch]: ...


@dataclass(frozen=True)
class CopyMode:
    """How a run copies: its target's write settings, keys, and whether it reads changes."""

    write: TargetWrite = field(default_factory=TargetWrite)
    # the merge key: the target's keyColumns or the source's primary key (merge mode only)
    keys: tuple[str, ...] = ()
    change_tracking: bool = False

    @property
    def merge(self) -> bool:
        return self.write.mode is WriteMode.MERGE

    def replaces(self, *, windowed: bool, changes: ChangeRange | None) -> bool:
        """Whether the run's commit overwrites the dataset rather than adding to it."""
        if changes is not None:
            return changes.snapshot and self.merge
        return not windowed


def copy_mode(
    connector: Connector,
    table: str,
    *,
    target_params: Mapping[str, Any],
    source_params: Mapping[str, Any],
    has_mapping: bool,
) -> CopyMode:
    """A run's copy mode from its connections; a merge's key from the table when not given."""
    write = parse_target_write(target_params)
    change_tracking = cdc_enabled(source_params)
    merge = write.mode is WriteMode.MERGE
    if has_mapping and (merge or change_tracking):
        raise InvalidRequest(
            "flows with writeMode 'merge' or cdcEnabled copy the source's columns as they are "
            "(keys and change types must reach the dataset); remove the Mapping transformation"
        )
    keys: tuple[str, ...] = ()
    if merge:
        keys = write.key_columns or tuple(connector.primary_key(table))
        if not keys:
            raise InvalidRequest(
                f"writeMode 'merge' needs a key: {table} has no primary key; "
                "set params.keyColumns on the target connection"
            )
    return CopyMode(write=write, keys=keys, change_tracking=change_tracking)


def source_batches(
    source: TableReader,
    table: str,
    *,
    columns: list[str] | None,
    window: ReadWindow | None,
    batch_rows: int,
    mode: CopyMode,
    changes: ChangeRange | None,
) -> Iterator[pa.RecordBatch]:
    """The run's source stream: a window or the whole table, or Change Tracking changes."""
    if changes is not None and not changes.snapshot:
        assert changes.from_version is not None
        reader: ChangeReader = source  # type: ignore[assignment]  # cdc flows read changes
        yield from reader.read_changes(
            table, since_version=changes.from_version, columns=columns, batch_rows=batch_rows
        )
        return
    batches = source.read(table, columns=columns, window=window, batch_rows=batch_rows)
    if changes is None or mode.merge:
        yield from batches
        return
    for batch in batches:  # a snapshot added to an append dataset: every row is an upsert
        marks = pa.array([UPSERT] * batch.num_rows, pa.string())
        yield batch.append_column(CHANGE_TYPE_COLUMN, marks)


def write(
    dataset: Dataset,
    reader: pa.RecordBatchReader,
    *,
    mode: CopyMode,
    replace: bool,
    metadata: Mapping[str, str],
) -> WriteResult:
    """One commit: overwrite, append, or merge by key."""
    if replace:
        return dataset.write_batch(reader, mode="overwrite", commit_metadata=metadata)
    if mode.merge:
        return dataset.merge_batch(
            reader,
            keys=list(mode.keys),
            delete_mode="soft" if mode.write.delete_mode is DeleteMode.SOFT else "hard",
            commit_metadata=metadata,
        )
    return dataset.write_batch(reader, mode="append", commit_metadata=metadata)
