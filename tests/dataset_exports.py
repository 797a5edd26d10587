"""A dataset of several batches, an overwrite-free merge and tricky values, for export tests;
and readers that turn an exported CSV or Parquet file back into a table to compare."""

from __future__ import annotations

import base64
import datetime as dt
import io
from decimal import Decimal

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
from service_harness import ApiClient, scope_of

from flowservice.api.runtime import Runtime
from flowservice.api.services import datasets
from flowservice.api.services.batches import new_batch_id, record_batch
from flowservice.lake import Dataset, rows_by_key
from flowservice.settings import CATALOG_PREFIX
from flowservice.store.repos import resources

SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("amount", pa.decimal128(12, 2)),
        ("at", pa.timestamp("us", tz="UTC")),
        ("day", pa.date32()),
        ("flag", pa.bool_()),
        ("blob", pa.binary()),
    ]
)
NAMES = ["plain", 'with "quotes"', "a, comma", "line\nbreak", "", "Ünïcødé"]
T0 = dt.datetime(2024, 3, 5, 12, 30, tzinfo=dt.UTC)


def rows(first: int, count: int, *, tag: str = "") -> pa.Table:
    ids = range(first, first + count)
    return pa.table(
        {
            "id": list(ids),
            "name": [None if i % 11 == 0 else NAMES[i % len(NAMES)] + tag for i in ids],
            "amount": [None if i % 13 == 0 else Decimal(i) / 100 for i in ids],
            "at": [T0 + dt.timedelta(seconds=i, microseconds=i % 1000) for i in ids],
            "day": [dt.date(2024, 1, 1) + dt.timedelta(days=i % 400) for i in ids],
            "flag": [None if i % 7 == 0 else i % 2 == 0 for i in ids],
            "blob": [None if i % 5 == 0 else i.to_bytes(4, "big") for i in ids],
        },
        schema=SCHEMA,
    )


def new_dataset(api: ApiClient, name: str = "exported") -> str:
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json={"name": name})
    assert made.status_code == 201, made.text
    return str(made.json()[0]).removeprefix("@/dataSets/")


def lake_dataset(runtime: Runtime, api: ApiClient, dataset_id: str) -> Dataset:
    scope = scope_of(runtime, api)
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=datasets.KIND, resource_id=dataset_id
        )
        return datasets.dataset_of(runtime.settings, scope, row)


def build_history(runtime: Runtime, api: ApiClient, dataset_id: str) -> list[str]:
    """Two appended batches of 3,000 rows and a merge (a batch committed by the lake only)
    that updates 900 rows and deletes 100: 5,900 current rows that differ from the union
    of the batches. The three batch ids."""
    scope = scope_of(runtime, api)
    first = record_batch(runtime, scope, dataset_id, rows(0, 3000))
    second = record_batch(runtime, scope, dataset_id, rows(3000, 3000))
    changes = rows(2500, 1000, tag=" (changed)").append_column(
        "_change_request_type", pa.array(["d" if i % 10 == 0 else "u" for i in range(1000)])
    )
    merge_id = new_batch_id()
    lake_dataset(runtime, api, dataset_id).merge_batch(
        changes, keys=["id"], commit_metadata={"batchId": merge_id}
    )
    return [first.id, second.id, merge_id]


def current_rows(runtime: Runtime, api: ApiClient, dataset_id: str) -> pa.Table:
    return rows_by_key(lake_dataset(runtime, api, dataset_id), ["id"]).cast(SCHEMA)


def read_parquet(data: bytes) -> pa.Table:
    return pq.read_table(io.BytesIO(data)).sort_by("id").cast(SCHEMA)


def read_csv(data: bytes) -> pa.Table:
    """The CSV export read back with the dataset's types (binary comes as base64 text)."""
    types = {f.name: (pa.string() if f.type == pa.binary() else f.type) for f in SCHEMA}
    table = pacsv.read_csv(
        io.BytesIO(data),
        read_options=pacsv.ReadOptions(block_size=1 << 20),
        convert_options=pacsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    )
    return table.sort_by("id")


def csv_expected(table: pa.Table) -> pa.Table:
    """``table`` as the CSV export spells it: binary values as base64 text."""
    blob = [None if v is None else base64.b64encode(v).decode() for v in table["blob"].to_pylist()]
    index = table.schema.get_field_index("blob")
    return table.set_column(index, "blob", pa.array(blob, pa.string()))
