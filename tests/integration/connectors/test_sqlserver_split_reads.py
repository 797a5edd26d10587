"""Reading a table in key ranges returns exactly the rows of one whole read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pyarrow as pa
import pytest

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.errors import SourceConfigError
from mssql_emulator.testing import running_emulator

ROWS = 5000
SQL = [
    """
CREATE TABLE dbo.facts (id int NOT NULL PRIMARY KEY, at datetime2(0) NOT NULL, v nvarchar(10));
INSERT INTO dbo.facts
SELECT value, DATEADD(minute, value, CAST('2024-01-01' AS datetime2(0))), CONCAT(N'v', value % 7)
FROM GENERATE_SERIES(1, 5000);
CREATE TABLE dbo.pairs (a int NOT NULL, b int NOT NULL, CONSTRAINT pk_pairs PRIMARY KEY (a, b));
INSERT INTO dbo.pairs SELECT value, value FROM GENERATE_SERIES(1, 100);
CREATE TABLE dbo.labels (code nvarchar(5) NOT NULL PRIMARY KEY);
INSERT INTO dbo.labels VALUES (N'a'), (N'b');
CREATE TABLE dbo.empty (id bigint NOT NULL PRIMARY KEY);
"""
]


@pytest.fixture(scope="module")
def connector() -> Iterator[SqlServerConnector]:
    with running_emulator(init_sql=SQL) as emu:
        cs = (
            f"Data Source={emu.host},{emu.port};Initial Catalog={emu.database};"
            f"User ID={emu.user};Password={emu.password};Encrypt=false"
        )
        yield SqlServerConnector({"connectionString": cs})


def read_all(
    connector: SqlServerConnector,
    table: str,
    *,
    window: ReadWindow | None = None,
    key_range: KeyRange | None = None,
) -> pa.Table:
    batches = list(connector.read(table, window=window, key_range=key_range, batch_rows=700))
    schema = batches[0].schema if batches else None
    return pa.Table.from_batches(batches, schema=schema)


def sorted_rows(table: pa.Table) -> list[dict[str, object]]:
    return sorted(table.to_pylist(), key=lambda row: str(sorted(row.items())))


def test_parts_together_are_the_whole_table(connector: SqlServerConnector) -> None:
    ranges = connector.split("dbo.facts", parts=3, min_rows=1000)
    assert len(ranges) == 3
    assert all(r is not None and r.column == "id" for r in ranges)
    pieces = [read_all(connector, "dbo.facts", key_range=r) for r in ranges]
    assert all(piece.num_rows > 1000 for piece in pieces)
    whole = read_all(connector, "dbo.facts")
    assert whole.num_rows == ROWS
    assert sorted_rows(pa.concat_tables(pieces)) == sorted_rows(whole)


def test_parts_of_a_window_are_the_window(connector: SqlServerConnector) -> None:
    window = ReadWindow("at", datetime(2024, 1, 2, 12), datetime(2024, 1, 3, 12))
    ranges = connector.split("dbo.facts", parts=2, window=window, min_rows=100)
    assert len(ranges) == 2
    pieces = [read_all(connector, "dbo.facts", window=window, key_range=r) for r in ranges]
    whole = read_all(connector, "dbo.facts", window=window)
    assert whole.num_rows == 24 * 60
    assert sorted_rows(pa.concat_tables(pieces)) == sorted_rows(whole)


@pytest.mark.parametrize("table", ["dbo.pairs", "dbo.labels", "dbo.empty"])
def test_tables_without_one_integer_key_or_rows_are_not_split(
    connector: SqlServerConnector, table: str
) -> None:
    assert connector.split(table, parts=4) == [None]


def test_small_tables_are_not_split(connector: SqlServerConnector) -> None:
    assert connector.split("dbo.facts", parts=2, min_rows=65536) == [None]
    assert connector.split("dbo.facts", parts=1) == [None]


def test_a_range_on_a_column_that_is_not_an_integer_is_refused(
    connector: SqlServerConnector,
) -> None:
    with pytest.raises(SourceConfigError, match="not an integer column"):
        read_all(connector, "dbo.facts", key_range=KeyRange("v", 1, 2))
