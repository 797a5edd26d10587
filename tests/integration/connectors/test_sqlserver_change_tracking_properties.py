"""Property: the table read at version v, plus the changes since v, is the table read now."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import mssql_python
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.connectors.base import CHANGE_TYPE_COLUMN, DELETE, UPSERT
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from mssql_emulator.testing import RunningEmulator, running_emulator

Key = tuple[int, str]
Values = tuple[int | None, str | None, Decimal | None]

SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
TABLE_NUMBERS = itertools.count(1)

keys = st.tuples(st.integers(0, 4), st.sampled_from(["a", "b", "ü"]))
values = st.tuples(
    st.none() | st.integers(-(2**31), 2**31 - 1),
    st.none() | st.text(alphabet="xy' ä😀", max_size=10),
    st.none() | st.decimals(-9999999, 9999999, places=2, allow_nan=False, allow_infinity=False),
)


@dataclass(frozen=True)
class Upsert:
    key: Key
    values: Values


@dataclass(frozen=True)
class Delete:
    key: Key


@dataclass(frozen=True)
class BumpAll:
    """One statement changing many rows."""


@dataclass(frozen=True)
class MoveKey:
    key: Key
    to: int


Operation = Upsert | Delete | BumpAll | MoveKey
operations = st.one_of(
    st.builds(Upsert, keys, values),
    st.builds(Delete, keys),
    st.just(BumpAll()),
    st.builds(MoveKey, keys, st.integers(0, 4)),
)
# Each transaction: its writes and whether it commits.
transactions = st.lists(
    st.tuples(st.lists(operations, min_size=1, max_size=4), st.booleans() | st.just(True)),
    max_size=8,
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=["ALTER DATABASE testdb SET CHANGE_TRACKING = ON"]) as running:
        yield running


@pytest.fixture(scope="module")
def connector(emulator: RunningEmulator) -> SqlServerConnector:
    return SqlServerConnector(
        {
            "connectionString": f"Data Source={emulator.host},{emulator.port};"
            f"Initial Catalog={emulator.database};User ID={emulator.user};"
            f"Password={emulator.password};Encrypt=false"
        }
    )


@pytest.fixture(scope="module")
def writer(emulator: RunningEmulator) -> Iterator[Any]:
    connection = mssql_python.connect(emulator.odbc_connection_string(), autocommit=True)
    cursor = connection.cursor()
    yield cursor
    cursor.close()
    connection.close()


def literal(value: int | str | Decimal | None) -> str:
    """A T-SQL literal, so that parameter binding is not what is under test."""
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "N'" + value.replace("'", "''") + "'"
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def where(key: Key) -> str:
    return f"k1 = {key[0]} AND k2 = {literal(key[1])}"


def statement(table: str, op: Operation, model: dict[Key, Values]) -> str | None:
    """The SQL for ``op`` against the rows ``model`` holds (updated in place); None: no-op."""
    if isinstance(op, Upsert):
        v, s, d = (literal(x) for x in op.values)
        existed = op.key in model
        model[op.key] = op.values
        if existed:
            return f"UPDATE {table} SET v = {v}, s = {s}, d = {d} WHERE {where(op.key)}"
        return f"INSERT INTO {table} VALUES ({op.key[0]}, {literal(op.key[1])}, {v}, {s}, {d})"
    if isinstance(op, Delete):
        model.pop(op.key, None)
        return f"DELETE FROM {table} WHERE {where(op.key)}"
    if isinstance(op, BumpAll):
        for key, (number, text, amount) in list(model.items()):
            bumped = None if number is None else (number + 1 if number < 2**31 - 1 else 0)
            model[key] = (bumped, text, amount)
        return (
            f"UPDATE {table} SET v = CASE WHEN v = 2147483647 THEN 0 ELSE v + 1 END "
            "WHERE v IS NOT NULL"
        )
    moved = (op.to, op.key[1])
    if op.key not in model or moved in model:
        return None
    model[moved] = model.pop(op.key)
    return f"UPDATE {table} SET k1 = {op.to} WHERE {where(op.key)}"


def run_transactions(
    writer: Any,
    table: str,
    model: dict[Key, Values],
    batch: list[tuple[list[Operation], bool]],
) -> dict[Key, Values]:
    for ops, commit in batch:
        draft = dict(model)
        sql = [s for op in ops if (s := statement(table, op, draft)) is not None]
        if not sql:
            continue
        writer.execute(
            "BEGIN TRANSACTION\n" + "\n".join(sql) + ("\nCOMMIT" if commit else "\nROLLBACK")
        )
        if commit:
            model = draft
    return model


def rows_by_key(table: pa.Table) -> dict[Key, dict[str, Any]]:
    return {(r["k1"], r["k2"]): r for r in table.to_pylist()}


def read_all(connector: SqlServerConnector, table: str) -> pa.Table:
    """The whole table as ``read`` gives it (typed even when empty)."""
    schema = pa.schema([pa.field(c.name, c.arrow_type) for c in connector.describe(table).columns])
    return pa.Table.from_batches(list(connector.read(table)), schema=schema)


@SETTINGS
@given(before=transactions, after=transactions)
def test_changes_since_a_version_turn_that_version_into_now(
    connector: SqlServerConnector,
    writer: Any,
    before: list[tuple[list[Operation], bool]],
    after: list[tuple[list[Operation], bool]],
) -> None:
    table = f"dbo.p{next(TABLE_NUMBERS)}"
    writer.execute(
        f"CREATE TABLE {table} (k1 int NOT NULL, k2 nvarchar(3) NOT NULL, v int, "
        "s nvarchar(20), d decimal(9,2), PRIMARY KEY (k1, k2))"
    )
    writer.execute(f"ALTER TABLE {table} ENABLE CHANGE_TRACKING")
    model = run_transactions(writer, table, {}, before)

    # the consistency rule: the version is read before the data it stands for
    since = connector.change_tracking(table).current_version
    assert since is not None
    lake = rows_by_key(read_all(connector, table))
    model = run_transactions(writer, table, model, after)

    batches = list(connector.read_changes(table, since_version=since, batch_rows=3))
    now = read_all(connector, table)
    for batch in batches:
        assert batch.schema.remove(batch.schema.get_field_index(CHANGE_TYPE_COLUMN)) == now.schema
        for row in batch.to_pylist():
            kind = row.pop(CHANGE_TYPE_COLUMN)
            key = (row["k1"], row["k2"])
            if kind == UPSERT:
                lake[key] = row
            else:
                assert kind == DELETE
                assert all(row[c] is None for c in ("v", "s", "d"))
                lake.pop(key, None)
    assert lake == rows_by_key(now)
    assert {k: (r["v"], r["s"], r["d"]) for k, r in lake.items()} == model
    changed = sum(b.num_rows for b in batches)
    assert changed == len({(r["k1"], r["k2"]) for b in batches for r in b.to_pylist()})
