"""Source batches → mapping set → one Delta commit, as the flow runner will chain them."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa

from flowservice.lake import Dataset, LakeLocation, fields_from_dicts
from flowservice.mapping import MappingSet, RowError

SOURCE = pa.schema([("OrderID", pa.int64()), ("Placed", pa.string()), ("Total", pa.string())])
FIELDS = fields_from_dicts(
    [
        {"name": "orderId", "type": "integer", "nullable": False},
        {"name": "placedAt", "type": "date-time"},
        {"name": "total", "type": "decimal(19,4)"},
    ]
)


def _source(batches: int, rows: int) -> Iterator[pa.RecordBatch]:
    for b in range(batches):
        ids = list(range(b * rows, (b + 1) * rows))
        placed = [f"2024-01-{1 + i % 28:02d} 10:00:00" if i % 100 else "not a date" for i in ids]
        yield pa.record_batch(
            [pa.array(ids), pa.array(placed), pa.array([f"{i}.5" for i in ids])], schema=SOURCE
        )


def test_mapped_stream_lands_as_one_batch_with_failed_rows_counted(tmp_path: Path) -> None:
    dataset = Dataset.create(LakeLocation.local(tmp_path / "orders"), fields=FIELDS)
    mapping = MappingSet.compile(
        [
            {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
            {
                "sourceAttribute": (
                    "to_timestamp(Placed, 'yyyy-MM-dd HH:mm:ss', 'America/New_York')"
                ),
                "destinationXdmPath": "placedAt",
            },
            {"sourceAttribute": "Total", "destinationXdmPath": "total"},
        ],
        source=SOURCE,
        dataset=dataset.fields(),
    )
    failed = 0
    samples: list[RowError] = []

    def mapped() -> Iterator[pa.RecordBatch]:
        nonlocal failed
        for batch in _source(10, 1000):
            out = mapping.apply(batch, max_error_samples=5)
            failed += out.failed_count
            samples.extend(out.errors[: 5 - len(samples)])
            yield out.records

    result = dataset.write_batch(mapped(), commit_metadata={"runId": "run-1"})
    assert result.record_count == 9900 and failed == 100
    assert [s.reason for s in samples[:1]] == [
        "cannot parse 'not a date' as a date-time with format 'yyyy-MM-dd HH:mm:ss'"
    ]
    source = dataset.to_pyarrow_dataset()
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("orders", source)
        rows = con.sql(
            "SELECT count(*), sum(total), min(strftime(placedAt, '%H:%M')) FROM orders"
        ).fetchall()
    assert rows[0][0] == 9900
    assert rows[0][1] == sum(Decimal(i) + Decimal("0.5") for i in range(10_000) if i % 100)
    assert rows[0][2] == "15:00"  # 10:00 in New York in January is 15:00 UTC
