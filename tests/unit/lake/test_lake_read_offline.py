"""The offline way to read a dataset with DuckDB, as docs/lake.md shows it, on a real dataset."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import duckdb
import pyarrow as pa

from flowservice.lake import Dataset, LakeLocation, XdmField

DOCS = Path(__file__).parents[3] / "docs" / "lake.md"


def _documented_snippet() -> str:
    section = DOCS.read_text(encoding="utf-8").split("## Reading a dataset yourself", 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert found, "docs/lake.md lost its offline snippet"
    return found.group(1)


def test_documented_offline_snippet_reads_a_dataset_the_lake_wrote(tmp_path: Path) -> None:
    location = LakeLocation.local(tmp_path / "lake" / "ORG@AdobeOrg" / "prod" / "orders")
    fields = (XdmField("order_id", "integer", nullable=False), XdmField("city", "string"))
    orders = Dataset.create(location, name="orders", fields=fields)
    for start in (1, 701):  # two batches, two Delta versions
        ids = list(range(start, start + 700))
        batch = pa.record_batch({"order_id": ids, "city": [f"Łódź {i}" for i in ids]})
        orders.write_batch(batch, mode="append")
    snippet = _documented_snippet()
    assert "delta_scan" not in snippet
    namespace: dict[str, object] = {"path": str(tmp_path / "lake/ORG@AdobeOrg/prod/orders")}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(snippet, namespace)  # the block as documented, only `path` given
    assert namespace["rows"] == [(1400, 1400)]
    assert printed.getvalue().strip() == "[(1400, 1400)]"
    con = namespace["con"]
    assert isinstance(con, duckdb.DuckDBPyConnection)
    loaded = con.sql(
        "SELECT extension_name FROM duckdb_extensions() WHERE loaded AND extension_name = 'delta'"
    ).fetchall()
    assert loaded == []  # no extension was needed, so none was downloaded
