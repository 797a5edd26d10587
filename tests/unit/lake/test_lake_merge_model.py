"""Property: after every merge the dataset equals a dict model of the source's state."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.lake import (
    CHANGE_TYPE_COLUMN,
    DELETED_AT_COLUMN,
    Dataset,
    DeleteMode,
    LakeLocation,
    MergeCounts,
    XdmField,
    rows_by_key,
)

KEYS = ("k", "region")
SCHEMA = pa.schema(
    [
        ("k", pa.int64()),
        ("region", pa.string()),
        ("qty", pa.int32()),
        ("note", pa.string()),
        (CHANGE_TYPE_COLUMN, pa.string()),
    ]
)
FIELDS = (
    XdmField("k", "integer", nullable=False),
    XdmField("region", "string", nullable=False),
    XdmField("qty", "int"),
    XdmField("note", "string"),
)
T0 = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

Key = tuple[int, str]
Row = tuple[str, Key, int | None, str | None]
# key -> (qty, note, deleted at)
State = dict[Key, tuple[int | None, str | None, dt.datetime | None]]

rows_strategy = st.tuples(
    st.sampled_from("ud"),
    st.tuples(st.integers(0, 3), st.sampled_from(["eu", "us"])),  # 8 keys: many repeats
    st.none() | st.integers(-3, 3),
    st.none() | st.text(alphabet="aé", max_size=2),
)
runs_strategy = st.lists(st.lists(rows_strategy, max_size=10), min_size=1, max_size=4)


def _reader(rows: Sequence[Row], chunk: int) -> pa.RecordBatchReader:
    table = pa.table(
        {
            "k": [r[1][0] for r in rows],
            "region": [r[1][1] for r in rows],
            "qty": [r[2] for r in rows],
            "note": [r[3] for r in rows],
            CHANGE_TYPE_COLUMN: [r[0] for r in rows],
        },
        schema=SCHEMA,
    )
    return pa.RecordBatchReader.from_batches(SCHEMA, table.to_batches(max_chunksize=chunk))


def _apply(model: State, rows: Sequence[Row], mode: DeleteMode, at: dt.datetime) -> None:
    """The source's state after ``rows``: the last row of each key decides."""
    last: dict[Key, Row] = {}
    for row in rows:
        last[row[1]] = row
    for change, key, qty, note in last.values():
        if change == "u":
            model[key] = (qty, note, None)
        elif mode == "hard":
            model.pop(key, None)
        elif key in model and model[key][2] is None:
            model[key] = (*model[key][:2], at)


def _stored(dataset: Dataset, mode: DeleteMode) -> State:
    table = rows_by_key(dataset, KEYS)
    assert CHANGE_TYPE_COLUMN not in table.column_names
    assert (DELETED_AT_COLUMN in table.column_names) == (mode == "soft")
    state: State = {
        (r["k"], r["region"]): (r["qty"], r["note"], r.get(DELETED_AT_COLUMN))
        for r in table.to_pylist()
    }
    assert len(state) == table.num_rows, "a key is stored twice"
    return state


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    runs=runs_strategy,
    mode=st.sampled_from(["hard", "soft"]),
    declared=st.booleans(),
    chunk=st.integers(1, 4),
)
def test_merges_track_the_source_state(
    runs: list[list[Row]], mode: DeleteMode, declared: bool, chunk: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        location = LakeLocation.local(Path(tmp) / "d")
        dataset = Dataset.create(location, fields=FIELDS) if declared else Dataset(location)
        model: State = {}
        for i, rows in enumerate(runs):
            at = T0 + dt.timedelta(hours=i)
            before = dataset.version()
            result = dataset.merge_batch(
                _reader(rows, chunk), keys=KEYS, delete_mode=mode, deleted_at=at
            )
            _apply(model, rows, mode, at)
            assert result.version == (0 if before is None else before + 1) == dataset.version()
            assert result.record_count == len(rows)
            assert _stored(dataset, mode) == model
            # A replay (even at a later time) commits once and changes nothing.
            replay = dataset.merge_batch(
                _reader(rows, chunk),
                keys=KEYS,
                delete_mode=mode,
                deleted_at=at + dt.timedelta(minutes=30),
            )
            assert replay.version == result.version + 1
            assert replay.changes == MergeCounts()
            assert _stored(dataset, mode) == model
