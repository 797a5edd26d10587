"""Explore: the root lists tables and views sorted and pages consistently; tables are described."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from cases.base import BIGINT, DECIMAL, INT, LOGICAL_TYPES, TEXT, TIMESTAMP, SourceCase

from flowservice.connectors.base import Connector
from flowservice.errors import NotFound

ROWS = 12


@pytest.fixture(scope="module")
def tables(case: SourceCase) -> dict[str, str]:
    """Qualified names: a keyed table (key declared out of column order), another, a view."""
    ddl = (
        f"region {case.ddl(TEXT)} NOT NULL, id {case.ddl(INT)} NOT NULL, "
        f"big {case.ddl(BIGINT)}, amount {case.ddl(DECIMAL)}, at {case.ddl(TIMESTAMP)}, "
        f"note {case.ddl(TEXT)}, PRIMARY KEY (id, region)"
    )
    rows = [
        {
            "region": f"r{i % 3}",
            "id": i,
            "big": i * 10**12,
            "amount": Decimal(i).scaleb(-2),
            "at": datetime(2024, 1, 1, i),
            "note": None if i % 2 else f"note {i}",
        }
        for i in range(ROWS)
    ]
    return {
        "orders": case.create_table("ex_orders", ddl, rows),
        "plain": case.create_table("ex_plain", f"v {case.ddl(INT)}", [{"v": 1}]),
        "view": case.create_view("ex_orders_view", "ex_orders", ["id", "region"]),
    }


def test_root_lists_the_tables_and_views_sorted(
    connector: Connector, tables: dict[str, str]
) -> None:
    objects = connector.list_objects()
    names = [o.name for o in objects]
    # the suite's names sort alike in every collation (lower case, one schema); mixed case
    # and schemas such as "dbo-x" sort by the catalog's collation, which the contract leaves open
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    kinds = {o.name: o.type for o in objects}
    assert kinds[tables["orders"]] == "table"
    assert kinds[tables["plain"]] == "table"
    assert kinds[tables["view"]] == "view"
    assert all(o.type in ("table", "view") for o in objects)


def test_root_pages_are_slices_of_the_whole_list(
    connector: Connector, tables: dict[str, str]
) -> None:
    whole = connector.list_objects()
    assert len(whole) >= len(tables)
    for start in range(len(whole) + 2):
        for limit in (0, 1, 2, len(whole) + 1, None):
            assert connector.list_objects(start=start, limit=limit) == whole[start:][:limit], (
                start,
                limit,
            )


def test_describe_gives_columns_types_and_key_order(
    case: SourceCase, connector: Connector, tables: dict[str, str]
) -> None:
    schema = connector.describe(tables["orders"])
    assert schema.name == tables["orders"]
    expected = [
        ("region", TEXT, False, 2),
        ("id", INT, False, 1),
        ("big", BIGINT, True, None),
        ("amount", DECIMAL, True, None),
        ("at", TIMESTAMP, True, None),
        ("note", TEXT, True, None),
    ]
    got = [
        (c.name, c.arrow_type, c.xdm_type, c.nullable, c.primary_key_position)
        for c in schema.columns
    ]
    assert got == [
        (name, case.types[kind].arrow_type, case.types[kind].xdm_type, nullable, key)
        for name, kind, nullable, key in expected
    ]
    assert all(c.original_type for c in schema.columns)
    assert schema.primary_key == ["id", "region"]
    assert connector.primary_key(tables["orders"]) == ["id", "region"]


def test_every_logical_type_is_mapped(case: SourceCase) -> None:
    assert set(case.types) == set(LOGICAL_TYPES)


def test_describe_without_a_key_and_a_view(connector: Connector, tables: dict[str, str]) -> None:
    assert connector.describe(tables["plain"]).primary_key == []
    assert [c.name for c in connector.describe(tables["view"]).columns] == ["id", "region"]
    _, rows = connector.preview(tables["view"], count=3)
    assert len(rows) == 3
    assert all(list(row) == ["id", "region"] for row in rows)


@pytest.mark.parametrize(
    "suffix",
    [
        "no_such_table",
        "ex_orders; DROP TABLE x",
        "ex_orders'--",
        'ex"orders',
        "ex`orders]",
        "ex\x00",
    ],
)
def test_unknown_tables_are_not_found(
    case: SourceCase, connector: Connector, tables: dict[str, str], suffix: str
) -> None:
    with pytest.raises(NotFound):
        connector.describe(case.qualified(suffix))


@pytest.mark.parametrize("count", [1, 5, ROWS, ROWS + 5])
def test_preview_returns_at_most_count_json_rows(
    connector: Connector, tables: dict[str, str], count: int
) -> None:
    schema, rows = connector.preview(tables["orders"], count=count)
    assert [c.name for c in schema.columns] == [
        c.name for c in connector.describe(tables["orders"]).columns
    ]
    assert len(rows) == min(count, ROWS)
    assert all(list(row) == [c.name for c in schema.columns] for row in rows)
    json.dumps(rows, allow_nan=False)  # JSON-ready as they are, no default= needed
    assert len({row["id"] for row in rows}) == len(rows)


def test_preview_of_every_native_type_is_json_ready(case: SourceCase, connector: Connector) -> None:
    types = case.types_table()
    table = case.create_types_table("ex_types")
    schema, rows = connector.preview(table)
    assert [c.name for c in schema.columns] == list(types.expected)
    assert len(rows) == len(types.rows)
    json.dumps(rows, allow_nan=False)


def test_names_that_need_quoting(case: SourceCase, connector: Connector) -> None:
    odd = "ex Odd Name"
    table = case.create_table(odd, f"{case.quote('Odd Col')} {case.ddl(INT)}", [{"Odd Col": 7}])
    assert table in [o.name for o in connector.list_objects()]
    assert [c.name for c in connector.describe(table).columns] == ["Odd Col"]
    assert connector.preview(table)[1] == [{"Odd Col": 7}]
    batches = list(connector.read(table))
    assert pa.Table.from_batches(batches).to_pylist() == [{"Odd Col": 7}]
