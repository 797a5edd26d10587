"""A dataset: one Delta table, written one batch (= one commit) at a time."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, Schema, WriterProperties, write_deltalake
from deltalake.exceptions import DeltaError, TableNotFoundError
from deltalake.transaction import AddAction, RemoveAction, create_table_with_add_actions

from flowservice.errors import Conflict, FlowServiceError, LakeError
from flowservice.lake.batches import (
    MERGE_MODE,
    METADATA_PREFIX,
    RECORD_COUNT_KEY,
    WRITE_ID_KEY,
    WRITE_MODE_KEY,
    BatchInfo,
    MergeCounts,
    encode_metadata,
    iter_batches,
)
from flowservice.lake.conform import (
    SCHEMA_POLICIES,
    SchemaPolicy,
    WritePlan,
    conform_stream,
    plan_write,
)
from flowservice.lake.location import LakeLocation
from flowservice.lake.merge import (
    DELETE_MODES,
    DeleteMode,
    check_keys,
    merge_into,
    stage_source,
    upserts,
)
from flowservice.lake.merge_rewrite import can_rewrite, rewrite_merge
from flowservice.lake.parquet_files import (
    DICTIONARY_PAGE_BYTES,
    ROW_GROUP_ROWS,
    TARGET_FILE_BYTES,
    TARGET_FILE_SIZE_KEY,
    FileLayout,
    write_stream,
)
from flowservice.lake.xdm import XdmField, arrow_schema, fields_from_arrow

WriteMode = Literal["append", "overwrite"]
_WRITE_LOOKBACK = 1000
BatchSource: TypeAlias = pa.RecordBatchReader | pa.Table | pa.RecordBatch | Iterable[pa.RecordBatch]


@dataclass(frozen=True)
class WriteResult:
    """What one ``write_batch`` or ``merge_batch`` committed.

    ``record_count`` counts the rows given (for a merge: before keeping the last
    row per key); ``changes`` is set by merges only.
    """

    version: int
    record_count: int
    size_bytes: int
    added_columns: tuple[str, ...]
    changes: MergeCounts | None = None


TABLE_CONFIGURATION: Mapping[str, str | None] = {TARGET_FILE_SIZE_KEY: str(TARGET_FILE_BYTES)}


class Dataset:
    """Handle on one dataset's Delta table; holds no open files between calls."""

    def __init__(self, location: LakeLocation, *, policy: SchemaPolicy = "evolve") -> None:
        if policy not in SCHEMA_POLICIES:
            raise ValueError(f"policy must be one of {SCHEMA_POLICIES}")
        self.location = location
        self.policy: SchemaPolicy = policy

    @classmethod
    def create(
        cls,
        location: LakeLocation,
        *,
        name: str | None = None,
        fields: Sequence[XdmField] | None = None,
        policy: SchemaPolicy = "evolve",
    ) -> Dataset:
        """Create the table now when ``fields`` are given, else on the first write."""
        dataset = cls(location, policy=policy)
        if dataset.exists():
            raise Conflict(f"a dataset already exists at {location.uri}")
        if fields:
            try:
                DeltaTable.create(
                    location.uri,
                    schema=arrow_schema(fields),
                    mode="error",
                    name=name,
                    configuration=TABLE_CONFIGURATION,
                    storage_options=location.options(),
                )
            except DeltaError as exc:
                raise LakeError(f"could not create the dataset table: {exc}") from exc
        return dataset

    def exists(self) -> bool:
        """Whether the Delta table has been created (by a schema or a first batch)."""
        return bool(DeltaTable.is_deltatable(self.location.uri, self.location.options()))

    def _table(self) -> DeltaTable | None:
        try:
            return DeltaTable(self.location.uri, storage_options=self.location.options())
        except TableNotFoundError:
            return None
        except DeltaError as exc:
            raise LakeError(f"could not open the dataset table: {exc}") from exc

    def arrow_schema(self) -> pa.Schema | None:
        table = self._table()
        return None if table is None else pa.schema(table.schema().to_arrow())

    def fields(self) -> tuple[XdmField, ...] | None:
        """The dataset's XDM schema, or None before the first batch of a schema-less dataset."""
        schema = self.arrow_schema()
        return None if schema is None else fields_from_arrow(schema)

    def version(self) -> int | None:
        table = self._table()
        return None if table is None else table.version()

    def write_batch(
        self,
        data: BatchSource,
        *,
        mode: WriteMode = "append",
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteResult:
        """Write all of ``data`` as one commit; nothing becomes visible unless it all lands."""
        if mode not in ("append", "overwrite"):
            raise ValueError("mode must be 'append' or 'overwrite'")
        table = self._table()
        table_schema = None if table is None else pa.schema(table.schema().to_arrow())
        incoming, batches = _open_source(data, table_schema)
        plan = plan_write(table_schema, incoming, self.policy)
        write_id = uuid.uuid4().hex
        metadata = encode_metadata(dict(commit_metadata or {}))
        metadata[METADATA_PREFIX + WRITE_ID_KEY] = write_id
        metadata[METADATA_PREFIX + WRITE_MODE_KEY] = mode
        counter = [0]
        failure: list[BaseException] = []
        commit = CommitProperties(custom_metadata=metadata)
        stream = _remember_failure(conform_stream(batches, plan.target, counter), failure)
        try:
            if table is not None and plan.added and mode == "append":
                # Only delta-rs' writer puts new columns and an append in one commit.
                _append_with_new_columns(table, plan, stream, commit)
            else:
                # Written first, committed after: until the commit nothing of it is visible.
                layout = FileLayout.of_table(
                    TABLE_CONFIGURATION if table is None else table.metadata().configuration
                )
                fs, root = self.location.filesystem()
                added = write_stream(fs, root, plan.target, stream, layout)
                self._commit_files(table, added, plan, mode=mode, commit=commit)
        except Exception as exc:
            if failure and failure[0] is not exc:
                # delta-rs wraps errors raised while it pulled our batches; show ours
                raise failure[0] from exc
            if failure or isinstance(exc, FlowServiceError):
                raise  # the source's or a cast's own error, or already ours
            raise LakeError(f"writing the batch failed: {exc}") from exc
        finally:
            # Arrow's allocator keeps freed pages for reuse; a service would hold them idle
            pa.default_memory_pool().release_unused()
        batch = self._committed(write_id)
        return WriteResult(
            version=batch.version,
            record_count=counter[0],
            size_bytes=batch.size_bytes,
            added_columns=plan.added,
        )

    def _commit_files(
        self,
        table: DeltaTable | None,
        added: list[AddAction],
        plan: WritePlan,
        *,
        mode: WriteMode,
        commit: CommitProperties,
    ) -> None:
        """One commit of the written files; a table that does not exist yet is created by it."""
        try:
            if table is None:
                create_table_with_add_actions(
                    self.location.uri,
                    Schema.from_arrow(plan.target),
                    added,
                    mode="error",
                    configuration=TABLE_CONFIGURATION,
                    storage_options=self.location.options(),
                    commit_properties=commit,
                )
                return
            actions: list[AddAction | RemoveAction] = [*added]
            table.create_write_transaction(
                actions, mode=mode, schema=plan.target, commit_properties=commit
            )
        except Exception as exc:
            # nothing was committed: the written files stay as orphans no commit references
            raise LakeError(f"committing the batch failed: {exc}") from exc

    def merge_batch(
        self,
        data: BatchSource,
        *,
        keys: Sequence[str],
        delete_mode: DeleteMode = "hard",
        commit_metadata: Mapping[str, str] | None = None,
        deleted_at: dt.datetime | None = None,
    ) -> WriteResult:
        """Upsert and delete rows by ``keys`` as one commit (see docs/lake.md, "Merge writes").

        Rows carry ``_change_request_type`` (``u``/``d``; absent: all ``u``); the last
        row of a key wins. ``soft`` deletes keep the row and set ``_deleted_at``
        (``deleted_at``, default now). A merge that changes nothing still commits,
        so ``find_commit`` sees the run.
        """
        if delete_mode not in DELETE_MODES:
            raise ValueError(f"delete_mode must be one of {DELETE_MODES}")
        key_names = check_keys(keys)
        stamp = dt.datetime.now(dt.UTC) if deleted_at is None else deleted_at
        if stamp.tzinfo is None:
            raise ValueError("deleted_at must carry a time zone")
        metadata = encode_metadata(dict(commit_metadata or {}))
        table = self._table()
        table_schema = None if table is None else pa.schema(table.schema().to_arrow())
        incoming, batches = _open_source(data, table_schema)
        source = stage_source(
            table_schema,
            incoming,
            batches,
            keys=key_names,
            delete_mode=delete_mode,
            policy=self.policy,
            deleted_at=stamp,
        )
        write_id = uuid.uuid4().hex
        metadata[METADATA_PREFIX + WRITE_ID_KEY] = write_id
        metadata[METADATA_PREFIX + WRITE_MODE_KEY] = MERGE_MODE
        metadata[METADATA_PREFIX + RECORD_COUNT_KEY] = str(source.input_rows)
        commit = CommitProperties(custom_metadata=metadata)
        writer = WriterProperties(
            max_row_group_size=ROW_GROUP_ROWS, dictionary_page_size_limit=DICTIONARY_PAGE_BYTES
        )
        try:
            if table is None:
                rows = upserts(source)
                write_deltalake(
                    self.location.uri,
                    rows,
                    mode="append",
                    storage_options=self.location.options(),
                    configuration=TABLE_CONFIGURATION,
                    commit_properties=commit,
                    writer_properties=writer,
                )
                changes: MergeCounts | None = MergeCounts(inserted=rows.num_rows)
            elif can_rewrite(source):
                changes = rewrite_merge(
                    table,
                    source,
                    location=self.location,
                    keys=key_names,
                    delete_mode=delete_mode,
                    commit=commit,
                )
            else:
                changes = merge_into(
                    table,
                    source,
                    keys=key_names,
                    delete_mode=delete_mode,
                    commit=commit,
                    writer=writer,
                )
                if changes is None:
                    # Nothing changed (a replay, say): an empty commit still records the run.
                    changes = MergeCounts()
                    target = source.plan.target
                    write_deltalake(
                        table,
                        target.empty_table(),
                        mode="append",
                        schema_mode="merge" if source.plan.added else None,
                        commit_properties=commit,
                        writer_properties=writer,
                    )
        except FlowServiceError:
            raise
        except Exception as exc:
            raise LakeError(f"merging the batch failed: {exc}") from exc
        finally:
            # Arrow's allocator keeps freed pages for reuse: ~170 MB after a spread merge
            # of 1 M rows that a service would hold until its next merge
            pa.default_memory_pool().release_unused()
        batch = self._committed(write_id)
        return WriteResult(
            version=batch.version,
            record_count=source.input_rows,
            size_bytes=batch.size_bytes,
            added_columns=source.plan.added,
            changes=changes,
        )

    def _committed(self, write_id: str) -> BatchInfo:
        latest = self.version()
        assert latest is not None  # we have just committed to it
        # Other writers may have committed since ours; look a little way back.
        for batch in itertools.islice(iter_batches(self.location, latest), _WRITE_LOOKBACK):
            if batch.write_id == write_id:
                return batch
        raise LakeError("the batch was committed but its commit is not in the recent history")

    def batches(self, *, limit: int | None = None) -> list[BatchInfo]:
        """Batches newest first; each costs one read of a small commit file."""
        latest = self.version()
        if latest is None:
            return []
        return list(itertools.islice(iter_batches(self.location, latest), limit))

    def find_commit(self, *, within: int | None = None, **match: str) -> BatchInfo | None:
        """The newest batch whose commit metadata holds every ``key=value`` given.

        ``within`` bounds the search to that many recent batches (each costs one read).
        """
        latest = self.version()
        if latest is None:
            return None
        for batch in itertools.islice(iter_batches(self.location, latest), within):
            if all(batch.metadata.get(k) == v for k, v in match.items()):
                return batch
        return None

    def to_pyarrow_dataset(self) -> pa.dataset.Dataset | None:
        """A lazy Arrow view of the current version, for DuckDB and other readers."""
        table = self._table()
        return None if table is None else table.to_pyarrow_dataset()

    def delete_files(self) -> None:
        """Remove the table and all its files; the handle then describes an empty location."""
        try:
            self.location.remove_all()
        except FlowServiceError:
            raise
        except OSError as exc:
            raise LakeError(f"could not delete the dataset files: {exc}") from exc


def _open_source(
    data: BatchSource, table_schema: pa.Schema | None
) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """The incoming schema and a lazy batch iterator, without reading more than one batch."""
    if isinstance(data, pa.RecordBatchReader):
        return data.schema, iter(data)
    if isinstance(data, pa.Table):
        return data.schema, iter(data.to_batches())
    if isinstance(data, pa.RecordBatch):
        return data.schema, iter([data])
    iterator: Iterator[pa.RecordBatch] = iter(data)
    first = next(iterator, None)
    if first is None:
        if table_schema is None:
            raise LakeError("cannot create a dataset's schema from an empty batch stream")
        return table_schema, iter(())
    return first.schema, itertools.chain([first], iterator)


def _append_with_new_columns(
    table: DeltaTable, plan: WritePlan, stream: Iterator[pa.RecordBatch], commit: CommitProperties
) -> None:
    """An append that adds columns, through delta-rs' writer: the transaction API cannot
    change a table's schema in an append commit, and a separate schema commit would be
    visible on its own (and shift the batch's version)."""
    write_deltalake(
        table,
        pa.RecordBatchReader.from_batches(plan.target, stream),
        mode="append",
        schema_mode="merge",
        commit_properties=commit,
        writer_properties=WriterProperties(
            max_row_group_size=ROW_GROUP_ROWS, dictionary_page_size_limit=DICTIONARY_PAGE_BYTES
        ),
    )


def _remember_failure(
    batches: Iterator[pa.RecordBatch], failure: list[BaseException]
) -> Iterator[pa.RecordBatch]:
    try:
        yield from batches
    except BaseException as exc:
        failure.append(exc)
        raise
