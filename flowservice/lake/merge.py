"""Merge writes: upsert and delete a dataset's rows by key, in one Delta commit.

Incoming rows follow Adobe's change-data convention: ``_change_request_type`` is
``u`` (insert or update) or ``d`` (delete); without the column every row is ``u``.
The input is staged in memory and cut to its last row per key (input order) before
delta-rs merges it: a Delta merge refuses several source rows matching one target
row, and the join builds its hash table from the whole source anyway, so streaming
it would not lower the peak.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc
from deltalake import CommitProperties, DeltaTable, WriterProperties

from flowservice.errors import SchemaMismatch
from flowservice.lake.batches import MergeCounts
from flowservice.lake.conform import SchemaPolicy, WritePlan, conform_batch, plan_write

DeleteMode = Literal["hard", "soft"]
DELETE_MODES: tuple[DeleteMode, ...] = ("hard", "soft")
CHANGE_TYPE_COLUMN = "_change_request_type"
DELETED_AT_COLUMN = "_deleted_at"
UPSERT = "u"
DELETE = "d"
DELETED_AT_TYPE = pa.timestamp("us", tz="UTC")


_SEQ = "__flowservice_seq"
_TARGET = "t"
_SOURCE = "s"


@dataclass(frozen=True)
class MergeSource:
    """A merge's input, one row per key, conformed to ``plan.target``.

    ``rows`` also carries the change type column (``u``/``d``) when the dataset
    does not store it.
    """

    rows: pa.Table
    plan: WritePlan
    input_rows: int
    stores_change_type: bool


def check_keys(keys: Sequence[str]) -> tuple[str, ...]:
    """The key column names, refusing a bare string, an empty list and repeats."""
    if isinstance(keys, str):
        raise ValueError("keys must be a sequence of column names, not one string")
    names = tuple(keys)
    if not names:
        raise ValueError("a merge needs at least one key column")
    if len(set(names)) != len(names):
        raise ValueError(f"key columns repeat: {list(names)}")
    return names


def stage_source(
    table_schema: pa.Schema | None,
    incoming: pa.Schema,
    batches: Iterator[pa.RecordBatch],
    *,
    keys: tuple[str, ...],
    delete_mode: DeleteMode,
    policy: SchemaPolicy,
    deleted_at: dt.datetime,
) -> MergeSource:
    """Read every batch, check and conform it, then keep the last row of each key."""
    stores_change_type = table_schema is not None and CHANGE_TYPE_COLUMN in table_schema.names
    data_schema = _data_schema(incoming, delete_mode=delete_mode, with_change=stores_change_type)
    _check_key_columns(keys, data_schema, table_schema)
    # Deletes may carry only their keys: other required columns are checked on upserts only.
    plan = plan_write(_relaxed(table_schema, keys), data_schema, policy)
    _check_key_types(keys, plan.target)
    required = _required_columns(table_schema, keys)
    stamp = pa.scalar(deleted_at, type=DELETED_AT_TYPE)
    staged: list[pa.RecordBatch] = []
    for batch in batches:
        if batch.num_rows == 0:
            continue
        _check_keys_not_null(batch, keys)
        change = _change_types(batch)
        data = _without(batch, CHANGE_TYPE_COLUMN)
        if stores_change_type:
            data = data.append_column(CHANGE_TYPE_COLUMN, change)
        if delete_mode == "soft":
            deleted = pc.if_else(pc.equal(change, DELETE), stamp, pa.scalar(None, DELETED_AT_TYPE))
            data = data.append_column(pa.field(DELETED_AT_COLUMN, DELETED_AT_TYPE), deleted)
        conformed = conform_batch(data, plan.target)
        _check_upserts_complete(conformed, change, required)
        if not stores_change_type:
            conformed = conformed.append_column(CHANGE_TYPE_COLUMN, change)
        staged.append(conformed)
    schema = plan.target if stores_change_type else plan.target.append(_change_field())
    rows = pa.Table.from_batches(staged, schema=schema)
    return MergeSource(_last_per_key(rows, keys), plan, rows.num_rows, stores_change_type)


def upserts(source: MergeSource) -> pa.Table:
    """The rows a merge into an absent table writes: its upserts, without the change column."""
    rows = source.rows.filter(pc.equal(source.rows.column(CHANGE_TYPE_COLUMN), UPSERT))
    return rows if source.stores_change_type else rows.drop_columns([CHANGE_TYPE_COLUMN])


def merge_into(
    table: DeltaTable,
    source: MergeSource,
    *,
    keys: tuple[str, ...],
    delete_mode: DeleteMode,
    commit: CommitProperties,
    writer: WriterProperties,
) -> MergeCounts | None:
    """Run the merge; None when delta-rs had nothing to change and so committed nothing."""
    existing = set(pa.schema(table.schema().to_arrow()).names)
    columns = source.plan.target.names
    _check_quotable(columns)
    every = {_q(c): f"{_SOURCE}.{_q(c)}" for c in columns}
    is_upsert = f"{_SOURCE}.{_q(CHANGE_TYPE_COLUMN)} = '{UPSERT}'"
    is_delete = f"{_SOURCE}.{_q(CHANGE_TYPE_COLUMN)} = '{DELETE}'"
    merger = table.merge(
        source.rows,
        predicate=" AND ".join(f"{_TARGET}.{_q(k)} = {_SOURCE}.{_q(k)}" for k in keys),
        source_alias=_SOURCE,
        target_alias=_TARGET,
        merge_schema=bool(source.plan.added),
        writer_properties=writer,
        # A materialized source lets delta-rs skip target files outside the source's key
        # range; the source is in memory already, so this costs nothing.
        streamed_exec=False,
        commit_properties=commit,
    )
    if delete_mode == "hard":
        merger = merger.when_matched_delete(predicate=is_delete)
    else:
        marks = {_q(DELETED_AT_COLUMN): f"{_SOURCE}.{_q(DELETED_AT_COLUMN)}"}
        if source.stores_change_type:
            marks[_q(CHANGE_TYPE_COLUMN)] = f"{_SOURCE}.{_q(CHANGE_TYPE_COLUMN)}"
        live = (
            f" AND {_TARGET}.{_q(DELETED_AT_COLUMN)} IS NULL"
            if DELETED_AT_COLUMN in existing
            else ""
        )
        # Deleting an already deleted row keeps its first deletion time: replays change nothing.
        merger = merger.when_matched_update(marks, predicate=is_delete + live)
    changed = _changed(columns, keys, existing)
    if changed:
        # Rows equal to the target are left alone, so a replay rewrites no file.
        merger = merger.when_matched_update(every, predicate=f"{is_upsert} AND ({changed})")
    merger = merger.when_not_matched_insert(every, predicate=is_upsert)
    version = table.version()
    metrics = merger.execute()
    if table.version() == version:
        return None
    return MergeCounts(
        inserted=int(metrics.get("num_target_rows_inserted", 0)),
        updated=int(metrics.get("num_target_rows_updated", 0)),
        deleted=int(metrics.get("num_target_rows_deleted", 0)),
    )


def _data_schema(incoming: pa.Schema, *, delete_mode: DeleteMode, with_change: bool) -> pa.Schema:
    """The columns a merge writes: the input's, less the change type unless it is stored."""
    fields = [f for f in incoming if f.name != CHANGE_TYPE_COLUMN]
    if CHANGE_TYPE_COLUMN in incoming.names:
        change = incoming.field(CHANGE_TYPE_COLUMN).type
        if pa.types.is_dictionary(change):
            change = change.value_type
        if not (pa.types.is_string(change) or pa.types.is_large_string(change)):
            raise SchemaMismatch(
                f"column {CHANGE_TYPE_COLUMN!r} must be text ('u' or 'd'), not {change}",
                resource_type="column",
                resource_id=CHANGE_TYPE_COLUMN,
            )
    if with_change:
        fields.append(_change_field())
    if delete_mode == "soft":
        if DELETED_AT_COLUMN in incoming.names:
            raise SchemaMismatch(
                f"column {DELETED_AT_COLUMN!r} is set by soft deletes; the batch cannot carry it",
                resource_type="column",
                resource_id=DELETED_AT_COLUMN,
            )
        fields.append(pa.field(DELETED_AT_COLUMN, DELETED_AT_TYPE))
    return pa.schema(fields)


def _change_field() -> pa.Field:
    return pa.field(CHANGE_TYPE_COLUMN, pa.string())


def _relaxed(table_schema: pa.Schema | None, keys: tuple[str, ...]) -> pa.Schema | None:
    if table_schema is None:
        return None
    return pa.schema([f if f.name in keys else f.with_nullable(True) for f in table_schema])


def _required_columns(table_schema: pa.Schema | None, keys: tuple[str, ...]) -> list[str]:
    if table_schema is None:
        return []
    return [f.name for f in table_schema if not f.nullable and f.name not in keys]


def _check_key_columns(
    keys: tuple[str, ...], data: pa.Schema, table_schema: pa.Schema | None
) -> None:
    missing = [k for k in keys if k not in data.names]
    if missing:
        raise SchemaMismatch(f"key columns missing from the batch: {missing}")
    if table_schema is not None:
        absent = [k for k in keys if k not in table_schema.names]
        if absent:
            raise SchemaMismatch(f"key columns are not columns of the dataset: {absent}")


def _check_key_types(keys: tuple[str, ...], target: pa.Schema) -> None:
    for key in keys:
        t = target.field(key).type
        if pa.types.is_floating(t) or pa.types.is_struct(t):
            # NaN never equals itself and objects have no order: neither can identify a row.
            raise SchemaMismatch(
                f"key column {key!r} is {t}; keys must be text, integers, decimals, "
                "dates, date-times, booleans or binary",
                resource_type="column",
                resource_id=key,
            )


def _check_keys_not_null(batch: pa.RecordBatch, keys: tuple[str, ...]) -> None:
    for key in keys:
        nulls = batch.column(batch.schema.get_field_index(key)).null_count
        if nulls:
            raise SchemaMismatch(
                f"key column {key!r} is null in {nulls} rows; every row needs its key",
                resource_type="column",
                resource_id=key,
            )


def _change_types(batch: pa.RecordBatch) -> pa.Array:
    """The batch's change types as ``u``/``d``; every row is an upsert without the column."""
    index = batch.schema.get_field_index(CHANGE_TYPE_COLUMN)
    if index < 0:
        return pa.array([UPSERT] * batch.num_rows, pa.string())
    raw = batch.column(index)
    if pa.types.is_dictionary(raw.type):
        raw = raw.dictionary_decode()
    lowered = pc.utf8_lower(raw.cast(pa.string()))
    deletes = pc.equal(lowered, DELETE)
    known = pc.or_(pc.equal(lowered, UPSERT), deletes)
    unknown = batch.num_rows - pc.sum(known.fill_null(False)).as_py()
    if unknown:
        raise SchemaMismatch(
            f"column {CHANGE_TYPE_COLUMN!r} must be 'u' or 'd'; {unknown} rows are not",
            resource_type="column",
            resource_id=CHANGE_TYPE_COLUMN,
        )
    result: pa.Array = pc.if_else(deletes, DELETE, UPSERT)
    return result


def _without(batch: pa.RecordBatch, name: str) -> pa.RecordBatch:
    index = batch.schema.get_field_index(name)
    return batch if index < 0 else batch.remove_column(index)


def _check_upserts_complete(batch: pa.RecordBatch, change: pa.Array, required: list[str]) -> None:
    upsert = pc.equal(change, UPSERT)
    for name in required:
        column = batch.column(batch.schema.get_field_index(name))
        if column.null_count:
            nulls = pc.sum(pc.and_(upsert, column.is_null())).as_py() or 0
            if nulls:
                raise SchemaMismatch(
                    f"column {name!r} is required but {nulls} upserted rows are null",
                    resource_type="column",
                    resource_id=name,
                )


def _last_per_key(rows: pa.Table, keys: tuple[str, ...]) -> pa.Table:
    """The last row of each key, in input order; ``rows`` itself when no key repeats."""
    if rows.num_rows == 0:
        return rows
    positions = pa.array(range(rows.num_rows), pa.int64())
    index = rows.select(list(keys)).append_column(_SEQ, positions)
    last = index.group_by(list(keys), use_threads=False).aggregate([(_SEQ, "max")])
    if last.num_rows == rows.num_rows:
        return rows
    kept = last.column(f"{_SEQ}_max")
    return rows.take(kept.take(pc.sort_indices(kept)))


def _changed(columns: Sequence[str], keys: tuple[str, ...], existing: set[str]) -> str:
    """A predicate true when a matched target row differs from its source row."""
    terms = []
    for name in columns:
        if name in keys:
            continue
        if name in existing:
            terms.append(f"({_TARGET}.{_q(name)} IS DISTINCT FROM {_SOURCE}.{_q(name)})")
        else:  # added by this merge: the target's value is null
            terms.append(f"({_SOURCE}.{_q(name)} IS NOT NULL)")
    return " OR ".join(terms)


def _check_quotable(columns: Sequence[str]) -> None:
    bad = [c for c in columns if "`" in c]
    if bad:
        raise SchemaMismatch(f"column names with a backtick cannot be merged: {bad}")


def _q(name: str) -> str:
    return f"`{name}`"
