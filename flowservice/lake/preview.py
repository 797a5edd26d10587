"""Read datasets back through DuckDB (the Delta table's current version, via Arrow)."""

from __future__ import annotations

from collections.abc import Sequence

import duckdb
import pyarrow as pa

from flowservice.errors import InvalidRequest
from flowservice.lake.dataset import Dataset
from flowservice.lake.merge import DELETED_AT_COLUMN
from flowservice.lake.xdm import arrow_schema

MAX_PREVIEW_ROWS = 1000


def preview(dataset: Dataset, limit: int = 100) -> pa.Table:
    """The first ``limit`` rows of the dataset, read by DuckDB; no rows before the first batch."""
    if not 1 <= limit <= MAX_PREVIEW_ROWS:
        raise InvalidRequest(f"limit must be between 1 and {MAX_PREVIEW_ROWS}")
    source = dataset.to_pyarrow_dataset()
    if source is None:
        return arrow_schema(()).empty_table()
    # The duckdb delta extension needs a download; an Arrow dataset scan works offline
    # and still pushes the LIMIT down, so only the first files are read.
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("dataset", source)
        return con.sql(f"SELECT * FROM dataset LIMIT {int(limit)}").to_arrow_table()


def count_rows(dataset: Dataset) -> int:
    """Rows in the dataset's current version."""
    source = dataset.to_pyarrow_dataset()
    if source is None:
        return 0
    with duckdb.connect() as con:
        con.register("dataset", source)
        rows = con.sql("SELECT count(*) FROM dataset").fetchall()
    return int(rows[0][0])


def rows_by_key(dataset: Dataset, keys: Sequence[str], *, include_deleted: bool = True) -> pa.Table:
    """Every current row ordered by ``keys``, for checks and tests: the whole result is loaded.

    ``include_deleted=False`` leaves out rows a soft delete marked (``_deleted_at`` set).
    """
    source = dataset.to_pyarrow_dataset()
    if source is None:
        return arrow_schema(()).empty_table()
    names = source.schema.names
    unknown = [k for k in keys if k not in names]
    if not keys or unknown:
        raise InvalidRequest(f"keys must be columns of the dataset; unknown: {unknown}")
    where = ""
    if not include_deleted and DELETED_AT_COLUMN in names:
        where = f" WHERE {_ident(DELETED_AT_COLUMN)} IS NULL"
    order = ", ".join(_ident(k) for k in keys)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.register("dataset", source)
        return con.sql(f"SELECT * FROM dataset{where} ORDER BY {order}").to_arrow_table()


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
