"""Verify a copy: does a flow's dataset hold exactly the rows of its source table?

Only a dataset that mirrors its source can be verified: a full-snapshot flow's
(no deltaColumn: every run replaces the dataset) or a merge-mode flow's (target
connection ``params.writeMode: merge``). An append-mode incremental flow's
dataset keeps every version of a row, so it is refused. Rows are matched by the
target connection's ``params.keyColumns`` when present, else by the source
table's primary key. The columns compared are the dataset's columns that the
source (after the flow's mapping) also has; merge bookkeeping columns are left
out and soft-deleted rows count as absent. ``verify_compare`` does the counting.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from flowservice.connectors.base import Connector, SourceColumn
from flowservice.errors import InvalidRequest
from flowservice.flows.run_copy import BatchMapper
from flowservice.flows.verify_compare import (
    Comparison,
    KeyDifferences,
    Tuning,
    compare_sides,
    first_shift,
)
from flowservice.flows.verify_limits import DEFAULT_SAMPLES, MAX_SAMPLES
from flowservice.flows.verify_sides import DatasetRows, SourceRows
from flowservice.lake import CHANGE_TYPE_COLUMN, DELETED_AT_COLUMN, Dataset
from flowservice.lake.conform import plan_write
from flowservice.lake.key_checksums import ChecksumSession, ChecksumSpec

APPEND, MERGE = "append", "merge"
# written by merge mode, not copied from the source
BOOKKEEPING_COLUMNS = frozenset({CHANGE_TYPE_COLUMN, DELETED_AT_COLUMN})
_PROBE_ROWS = 16


class NotVerifiable(InvalidRequest):
    """The flow's dataset is not meant to equal its source, or nothing identifies its rows."""


@dataclass(frozen=True)
class VerifyTarget:
    """A flow's source table and dataset, as resolved from its connections."""

    flow_id: str
    table: str
    connector: Connector
    dataset: Dataset
    columns: list[str] | None = None  # the source columns the flow reads (None: all)
    mapper: BatchMapper | None = None
    delta_column: str | None = None
    write_mode: str = APPEND
    key_columns: tuple[str, ...] | None = None  # the target connection's params.keyColumns
    change_tracking: bool = False  # the source connection's cdcEnabled


@dataclass(frozen=True)
class VerifyReport:
    flow_id: str
    table: str
    key_columns: tuple[str, ...]
    columns: tuple[str, ...]
    comparison: Comparison
    seconds: float

    @property
    def equal(self) -> bool:
        return self.comparison.equal


def check_mirror(target: VerifyTarget) -> None:
    """Refuse a flow whose dataset is not a copy of the source's current rows."""
    if (target.delta_column is not None or target.change_tracking) and target.write_mode != MERGE:
        how = (
            "its changes (cdcEnabled)"
            if target.delta_column is None
            else f"increments by deltaColumn '{target.delta_column}'"
        )
        raise NotVerifiable(
            f"flow {target.flow_id} copies {how} of {target.table} in {target.write_mode} "
            "mode: its dataset keeps every "
            "version of a row, so it is not a mirror of the source and cannot equal it. "
            "Verify works for full-snapshot flows (no deltaColumn) and merge-mode flows "
            "(target connection params.writeMode: merge).",
            resource_type="flows",
            resource_id=target.flow_id,
        )


def verify_copy(
    target: VerifyTarget, *, samples: int = DEFAULT_SAMPLES, tuning: Tuning | None = None
) -> VerifyReport:
    """Compare the dataset with the source table: counts and samples of what differs."""
    started = time.perf_counter()
    tuning = tuning or Tuning()
    if not 0 <= samples <= MAX_SAMPLES:
        raise InvalidRequest(f"samples must be between 0 and {MAX_SAMPLES}")
    check_mirror(target)
    schema = target.connector.describe(target.table)
    described = schema.columns
    keys = target.key_columns or tuple(schema.primary_key)
    if not keys:
        raise NotVerifiable(
            f"{target.table} has no primary key, so nothing identifies a row to compare; give "
            "the target connection params.keyColumns (dataset columns that identify a row)"
        )
    table_schema = target.dataset.arrow_schema()
    probe = None
    if target.mapper is not None or table_schema is None:
        probe = _probe(target)
    if table_schema is None:
        if probe is None:
            # no table and an empty source: nothing on either side
            empty = Comparison(0, 0, KeyDifferences(), KeyDifferences(), KeyDifferences(), 0, 0, 0)
            return VerifyReport(target.flow_id, target.table, keys, (), empty, _since(started))
        # no table yet: compare with what the first write would create
        table_schema = plan_write(None, probe, "evolve").target
        produced = list(probe.names)
    elif target.mapper is None:
        produced = _read_names(described, target.columns, target.table)
    else:
        produced = list((probe or table_schema).names)
    compared = pa.schema(
        [f for f in table_schema if f.name in produced and f.name not in BOOKKEEPING_COLUMNS]
    )
    if not compared.names:
        raise NotVerifiable(f"the dataset has none of the columns of {target.table}")
    unknown = [k for k in keys if k not in compared.names]
    if unknown:
        raise NotVerifiable(
            f"key column {unknown[0]!r} is not a column both the dataset and {target.table} "
            "(after the flow's mapping) have; set the target connection's params.keyColumns "
            "to dataset columns that identify a row",
            resource_type="flows",
            resource_id=target.flow_id,
        )
    key_type = compared.field(keys[0]).type
    spec = ChecksumSpec(
        keys=keys,
        columns=tuple(compared.names),
        integer_ordinal=len(keys) == 1 and pa.types.is_integer(key_type),
    )
    range_key = None
    if spec.integer_ordinal and target.mapper is None:
        source_key = _column(described, keys[0])
        if source_key is not None and pa.types.is_integer(source_key.arrow_type):
            range_key = source_key.name
    source = SourceRows(
        target.connector,
        target.table,
        compared,
        columns=None if target.mapper is None else target.columns,
        mapper=target.mapper,
        range_key=range_key,
    )
    dataset = DatasetRows(
        target.dataset, compared, range_key=keys[0] if spec.integer_ordinal else None
    )
    with ChecksumSession() as session:
        rows, low, high = session.dataset_key_summary(target.dataset, spec)
        comparison = compare_sides(
            session,
            source,
            dataset,
            spec,
            shift=first_shift(spec, rows=rows, low=low, high=high, tuning=tuning),
            samples=samples,
            tuning=tuning,
        )
    return VerifyReport(
        target.flow_id, target.table, keys, spec.columns, comparison, _since(started)
    )


def _read_names(
    described: Sequence[SourceColumn], wanted: list[str] | None, table: str
) -> list[str]:
    """The names the connector's batches carry for the flow's columns (matched like the source)."""
    if wanted is None:
        return [c.name for c in described]
    names = []
    for name in wanted:
        column = _column(described, name)
        if column is None:
            raise NotVerifiable(f"column {name[:128]!r} of the flow is not in {table}")
        names.append(column.name)
    return names


def _column(described: Sequence[SourceColumn], name: str) -> SourceColumn | None:
    for column in described:
        if column.name.lower() == name.lower():
            return column
    return None


def _probe(target: VerifyTarget) -> pa.Schema | None:
    """The schema of the source's rows after the mapping, from its first batch (None: empty)."""
    batches = target.connector.read(target.table, columns=target.columns, batch_rows=_PROBE_ROWS)
    try:
        first = next(iter(batches), None)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()
    if first is None:
        return None
    if target.mapper is not None:
        return target.mapper.apply(first).records.schema
    return first.schema


def _since(started: float) -> float:
    return round(time.perf_counter() - started, 3)
