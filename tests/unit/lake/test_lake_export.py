"""``flowservice.lake.export``: any table written to a dataset exports as Parquet and CSV that
read back equal to it, in chunks, without a service; and ``batch_files`` reads a commit's files."""

from __future__ import annotations

import base64
import datetime as dt
import io
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.errors import InvalidRequest, NotFound
from flowservice.lake import Dataset, LakeLocation
from flowservice.lake.batch_files import added_files, read_data_file, stored_size
from flowservice.lake.export import csv_form, export_chunks, export_format

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("text", pa.string()),
        ("price", pa.decimal128(10, 3)),
        ("at", pa.timestamp("us", tz="UTC")),
        ("ok", pa.bool_()),
        ("raw", pa.binary()),
    ]
)
_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
_ROW = st.fixed_dictionaries(
    {
        "text": st.none() | _TEXT,
        "price": st.none()
        | st.decimals(min_value=-9999999, max_value=9999999, places=3, allow_nan=False),
        "at": st.none()
        | st.datetimes(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1)).map(
            lambda d: d.replace(tzinfo=dt.UTC)
        ),
        "ok": st.none() | st.booleans(),
        "raw": st.none() | st.binary(max_size=8),
    }
)


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist([{"id": i, **r} for i, r in enumerate(rows)], schema=SCHEMA)


def _csv_back(data: bytes) -> pa.Table:
    types = {f.name: f.type for f in csv_form(SCHEMA)}
    return pacsv.read_csv(
        io.BytesIO(data),
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )


def _as_csv(table: pa.Table) -> pa.Table:
    raw = [None if v is None else base64.b64encode(v).decode() for v in table["raw"].to_pylist()]
    return table.set_column(table.schema.get_field_index("raw"), "raw", pa.array(raw, pa.string()))


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=st.lists(_ROW, min_size=1, max_size=30))
def test_any_small_table_exports_back_equal(tmp_path: Path, rows: list[dict[str, object]]) -> None:
    table = _table(rows)
    home = tmp_path / f"ds-{len(list(tmp_path.iterdir()))}"
    dataset = Dataset(LakeLocation.local(home))
    dataset.write_batch(table)
    parquet = b"".join(export_chunks(dataset, "parquet"))
    assert pq.read_table(io.BytesIO(parquet)).sort_by("id").equals(table)
    csv = b"".join(export_chunks(dataset, "csv"))
    assert _csv_back(csv).sort_by("id").equals(_as_csv(table))


def test_large_exports_come_in_many_chunks(tmp_path: Path) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "big"))
    ids = pa.array(range(200_000), pa.int64())
    dataset.write_batch(pa.table({"id": ids, "text": pc.cast(ids, pa.string())}))
    for file_format in ("parquet", "csv"):
        chunks = list(export_chunks(dataset, file_format))  # type: ignore[arg-type]
        assert len(chunks) > 2, file_format
    back = pq.read_table(io.BytesIO(b"".join(export_chunks(dataset, "parquet"))))
    assert back.num_rows == 200_000 and back.sort_by("id")["id"].combine_chunks().equals(ids)


def test_csv_flattens_objects(tmp_path: Path) -> None:
    dataset = Dataset(LakeLocation.local(tmp_path / "nested"))
    offset = pa.struct([("utc", pa.timestamp("us", tz="UTC")), ("minutes", pa.int16())])
    dataset.write_batch(
        pa.table(
            {
                "id": pa.array([1, 2, 3], pa.int64()),
                "when": pa.array(
                    [{"utc": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "minutes": 60}, None, {}],
                    offset,
                ),
                "money": pa.array([Decimal("1.50"), None, Decimal("-2")], pa.decimal128(9, 2)),
            }
        )
    )
    text = b"".join(export_chunks(dataset, "csv")).decode()
    assert text.splitlines() == [
        '"id","when.utc","when.minutes","money"',
        "1,2024-01-01 00:00:00.000000Z,60,1.50",
        "2,,,",
        "3,,,-2.00",
    ]


def test_export_formats() -> None:
    assert export_format("csv") == "csv" and export_format("parquet") == "parquet"
    with pytest.raises(InvalidRequest, match="parquet, csv"):
        export_format("CSV")


def test_a_commits_added_files(tmp_path: Path) -> None:
    location = LakeLocation.local(tmp_path / "files")
    dataset = Dataset(location)
    first = dataset.write_batch(pa.table({"id": [1, 2]}))
    second = dataset.write_batch(pa.table({"id": [3]}))
    (one,) = added_files(location, first.version)
    (two,) = added_files(location, second.version)
    assert (one.records, two.records) == (2, 1) and one.path != two.path
    stored = (tmp_path / "files" / two.path).read_bytes()
    assert stored_size(location, two.path) == len(stored) == two.size_bytes
    assert b"".join(read_data_file(location, two.path, 0, len(stored) - 1)) == stored
    assert b"".join(read_data_file(location, two.path, 4, 9)) == stored[4:10]
    with pytest.raises(NotFound):
        added_files(location, 99)
    (tmp_path / "files" / two.path).unlink()
    assert stored_size(location, two.path) is None
    with pytest.raises(NotFound):
        read_data_file(location, two.path, 0, 1)
