"""Full reads give back exactly the source rows; every native type round-trips exactly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from cases.base import BIGINT, DECIMAL, INT, TEXT, TIMESTAMP, SourceCase
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.connectors.base import Connector

COLUMNS = ["id", "big", "label", "at", "amount"]
MANY = 600


def ddl(case: SourceCase) -> str:
    return (
        f"id {case.ddl(INT)} NOT NULL PRIMARY KEY, big {case.ddl(BIGINT)}, "
        f"label {case.ddl(TEXT)}, at {case.ddl(TIMESTAMP)}, amount {case.ddl(DECIMAL)}"
    )


def read_rows(connector: Connector, table: str, **kwargs: Any) -> list[dict[str, Any]]:
    """Every row read, in key order (reads need not be ordered)."""
    batches = list(connector.read(table, **kwargs))
    rows = pa.Table.from_batches(batches).to_pylist() if batches else []
    return sorted(rows, key=lambda row: row["id"])


def rows_strategy(case: SourceCase) -> st.SearchStrategy[list[dict[str, Any]]]:
    row = st.fixed_dictionaries(
        {
            "id": st.integers(-(2**31), 2**31 - 1),
            "big": st.none() | st.integers(-(2**63), 2**63 - 1),
            "label": st.none() | case.text_values(),
            "at": st.none() | case.timestamps(),
            "amount": st.none() | case.decimals(),
        }
    )
    return st.lists(row, max_size=25, unique_by=lambda r: r["id"])


@pytest.fixture(scope="module")
def generated(case: SourceCase) -> str:
    return case.create_table("rd_generated", ddl(case))


@pytest.fixture(scope="module")
def many(case: SourceCase) -> tuple[str, list[dict[str, Any]]]:
    rows = [
        {
            "id": i * 7 - 1000,
            "big": i * 2**40,
            "label": f"row {i} ünïcödé" if i % 5 else None,
            "at": datetime(2024, 1, 1, i % 24, i % 60, i % 60, i),
            "amount": Decimal(i * 12345).scaleb(-4),
        }
        for i in range(MANY)
    ]
    return case.create_table("rd_many", ddl(case), rows), sorted(rows, key=lambda r: r["id"])


def test_generated_rows_read_back_exactly(
    case: SourceCase, connector: Connector, generated: str
) -> None:
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows=rows_strategy(case))
    def round_trip(rows: list[dict[str, Any]]) -> None:
        case.delete_all("rd_generated")
        case.insert("rd_generated", rows)
        assert read_rows(connector, generated) == sorted(rows, key=lambda r: r["id"])

    round_trip()


def test_hundreds_of_rows_read_back_exactly(
    connector: Connector, many: tuple[str, list[dict[str, Any]]]
) -> None:
    table, rows = many
    assert read_rows(connector, table) == rows


def test_batches_are_bounded_and_typed_as_described(
    case: SourceCase, connector: Connector, many: tuple[str, list[dict[str, Any]]]
) -> None:
    table, rows = many
    batches = list(connector.read(table, batch_rows=100))
    assert all(0 < b.num_rows <= 100 for b in batches)
    assert sum(b.num_rows for b in batches) == len(rows)
    described = connector.describe(table)
    expected = pa.schema([pa.field(c.name, c.arrow_type) for c in described.columns])
    assert all(b.schema.remove_metadata().equals(expected) for b in batches), batches[0].schema
    types = [case.types[kind].arrow_type for kind in (INT, BIGINT, TEXT, TIMESTAMP, DECIMAL)]
    assert expected.types == types


def test_columns_are_read_in_the_order_asked(
    connector: Connector, many: tuple[str, list[dict[str, Any]]]
) -> None:
    table, rows = many
    batches = list(connector.read(table, columns=["amount", "id"]))
    assert batches[0].schema.names == ["amount", "id"]
    got = read_rows(connector, table, columns=["amount", "id"])
    assert got == [{"amount": r["amount"], "id": r["id"]} for r in rows]


def test_an_empty_table_reads_as_no_rows(case: SourceCase, connector: Connector) -> None:
    table = case.create_table("rd_empty", ddl(case))
    assert read_rows(connector, table) == []
    assert connector.preview(table, count=10)[1] == []


def test_every_native_type_round_trips_exactly(case: SourceCase, connector: Connector) -> None:
    types = case.types_table()
    table = case.create_types_table("rd_types")
    batches = list(connector.read(table))
    read = pa.Table.from_batches(batches).sort_by("id")
    assert read.schema.names == list(types.expected)
    described = {c.name: c.arrow_type for c in connector.describe(table).columns}
    for name, (arrow_type, values) in types.expected.items():
        column = read.column(name)
        assert column.type == arrow_type, name
        assert described[name] == arrow_type, name
        assert column.to_pylist() == values, name
