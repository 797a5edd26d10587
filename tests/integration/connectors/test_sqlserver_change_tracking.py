"""Change Tracking through the SQL Server connector: the real driver against the emulator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import mssql_python
import pyarrow as pa
import pytest

from flowservice.connectors.base import (
    CHANGE_TYPE_COLUMN,
    ChangesExpired,
    ChangeTrackingUnavailable,
)
from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.errors import InvalidRequest, NotFound, SourceConfigError
from mssql_emulator.testing import RunningEmulator, running_emulator

SCHEMA_SQL = """
ALTER DATABASE testdb SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
CREATE SCHEMA sales;
CREATE TABLE dbo.items (
    id int NOT NULL PRIMARY KEY, name nvarchar(50) NOT NULL, amount decimal(10,2),
    at datetimeoffset(3), flag bit, blob varbinary(20), tag uniqueidentifier, clock time(6)
);
CREATE TABLE sales.lines (
    region nvarchar(10) NOT NULL, line int NOT NULL, qty int,
    CONSTRAINT pk_lines PRIMARY KEY (region, line)
);
CREATE TABLE dbo.untracked (id int NOT NULL PRIMARY KEY, a int);
CREATE TABLE dbo.heap (id int, a int);
CREATE TABLE dbo.clash (id int NOT NULL PRIMARY KEY, _change_request_type nvarchar(5));
CREATE VIEW dbo.items_view AS SELECT id, name FROM dbo.items;
ALTER TABLE dbo.items ENABLE CHANGE_TRACKING;
ALTER TABLE sales.lines ENABLE CHANGE_TRACKING;
ALTER TABLE dbo.clash ENABLE CHANGE_TRACKING;
"""

ITEM_COLUMNS = "id, name, amount, at, flag, blob, tag, clock"


def connection_string(emu: RunningEmulator, database: str | None = None) -> str:
    return (
        f"Data Source={emu.host},{emu.port};Initial Catalog={database or emu.database};"
        f"User ID={emu.user};Password={emu.password};Encrypt=false"
    )


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[SCHEMA_SQL]) as running:
        yield running


@pytest.fixture(scope="module")
def connector(emulator: RunningEmulator) -> SqlServerConnector:
    return SqlServerConnector({"connectionString": connection_string(emulator)})


@pytest.fixture(scope="module")
def writer(emulator: RunningEmulator) -> Iterator[Any]:
    """A plain driver cursor, autocommit: each statement is its own transaction and version."""
    connection = mssql_python.connect(emulator.odbc_connection_string(), autocommit=True)
    cursor = connection.cursor()
    yield cursor
    cursor.close()
    connection.close()


def execute(writer: Any, *statements: str) -> None:
    for statement in statements:
        writer.execute(statement)


def current_version(writer: Any) -> int:
    writer.execute("SELECT CHANGE_TRACKING_CURRENT_VERSION()")
    value = writer.fetchone()[0]
    assert isinstance(value, int)
    return value


def changes(connector: SqlServerConnector, table: str, since: int, **kwargs: Any) -> pa.Table:
    batches = list(connector.read_changes(table, since_version=since, **kwargs))
    assert batches, "read_changes yielded nothing"
    return pa.Table.from_batches(batches)


def by_key(rows: list[dict[str, Any]], *key: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    return {tuple(row[k] for k in key): row for row in rows}


def read_rows(connector: SqlServerConnector, table: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = pa.Table.from_batches(list(connector.read(table))).to_pylist()
    return rows


# --- state ---------------------------------------------------------------


def test_state_of_a_tracked_table_and_of_others(connector: SqlServerConnector, writer: Any) -> None:
    now = current_version(writer)
    items = connector.change_tracking("dbo.items")
    assert items.database_enabled and items.table_enabled and items.can_read
    assert items.current_version == now
    assert items.min_valid_version is not None and items.min_valid_version <= now
    untracked = connector.change_tracking("dbo.untracked")
    assert untracked.database_enabled and not untracked.table_enabled and not untracked.can_read
    assert untracked.current_version == now and untracked.min_valid_version is None
    view = connector.change_tracking("dbo.items_view")
    assert not view.table_enabled and not view.can_read
    connector.require_change_tracking("dbo.items")
    connector.require_change_tracking("[sales].[lines]", columns=["LINE", "region"])


def test_the_current_version_moves_once_per_committed_write(
    connector: SqlServerConnector, writer: Any
) -> None:
    before = connector.change_tracking("sales.lines").current_version
    assert before is not None
    execute(writer, "INSERT INTO sales.lines VALUES (N'state', 1, 1)")
    assert connector.change_tracking("sales.lines").current_version == before + 1
    execute(writer, "INSERT INTO dbo.untracked VALUES (1000, 1)")  # not tracked: no version
    assert connector.change_tracking("sales.lines").current_version == before + 1


def test_describe_and_preview_carry_the_state(connector: SqlServerConnector, writer: Any) -> None:
    schema = connector.describe("dbo.items")
    assert schema.primary_key == ["id"]
    assert schema.change_tracking == connector.change_tracking("dbo.items")
    assert connector.describe("sales.lines").primary_key == ["region", "line"]
    assert connector.primary_key("sales.lines") == ["region", "line"]
    assert connector.primary_key("dbo.heap") == []
    previewed, _ = connector.preview("dbo.untracked", count=1)
    assert previewed.change_tracking is not None
    assert previewed.change_tracking.table_enabled is False


# --- reading changes -----------------------------------------------------


def test_net_effect_of_inserts_updates_and_deletes(
    connector: SqlServerConnector, writer: Any
) -> None:
    execute(
        writer,
        f"INSERT INTO dbo.items ({ITEM_COLUMNS}) VALUES "
        "(1, N'kept', 1.50, '2024-05-01 10:30:00.123 +02:00', 1, 0x0102, "
        "'58185E0D-3A91-44D8-BC46-7107217E0A6D', '10:17:36.789012'), "
        "(2, N'to update', 2.00, NULL, 0, NULL, NULL, NULL), "
        "(3, N'to delete', 3.00, NULL, NULL, NULL, NULL, NULL)",
    )
    since = current_version(writer)
    execute(
        writer,
        "UPDATE dbo.items SET name = N'updated', amount = 20.25 WHERE id = 2",
        "UPDATE dbo.items SET amount = 21.00 WHERE id = 2",
        "DELETE FROM dbo.items WHERE id = 3",
        "INSERT INTO dbo.items (id, name) VALUES (4, N'new')",
        "INSERT INTO dbo.items (id, name) VALUES (5, N'short-lived')",
        "DELETE FROM dbo.items WHERE id = 5",
    )
    found = changes(connector, "dbo.items", since)
    assert found.column(CHANGE_TYPE_COLUMN).type == pa.string()
    rows = by_key(found.to_pylist(), "id")
    assert set(rows) == {(2,), (3,), (4,), (5,)}  # the untouched row 1 is not a change
    assert rows[(2,)]["name"] == "updated" and rows[(2,)]["amount"] == Decimal("21.00")
    assert rows[(2,)][CHANGE_TYPE_COLUMN] == "u" and rows[(4,)][CHANGE_TYPE_COLUMN] == "u"
    # a delete carries its key, nothing else (also for a row inserted and deleted since)
    for key in ((3,), (5,)):
        assert rows[key] == {
            **dict.fromkeys(ITEM_COLUMNS.split(", ")),
            "id": key[0],
            CHANGE_TYPE_COLUMN: "d",
        }
    # current values, typed exactly as read() types them
    now = by_key(read_rows(connector, "dbo.items"), "id")
    for key in ((2,), (4,)):
        assert {k: v for k, v in rows[key].items() if k != CHANGE_TYPE_COLUMN} == now[key]
    read_schema = pa.Table.from_batches(list(connector.read("dbo.items"))).schema
    assert found.schema.remove(found.schema.get_field_index(CHANGE_TYPE_COLUMN)) == read_schema


def test_every_type_of_a_changed_row_reads_as_read_does(
    connector: SqlServerConnector, writer: Any
) -> None:
    since = current_version(writer)
    execute(writer, "UPDATE dbo.items SET flag = 0 WHERE id = 1")
    (row,) = changes(connector, "dbo.items", since).to_pylist()
    assert row.pop(CHANGE_TYPE_COLUMN) == "u"
    assert row == by_key(read_rows(connector, "dbo.items"), "id")[(1,)]
    assert row["at"] == {
        "utc": dt.datetime(2024, 5, 1, 8, 30, 0, 123000, tzinfo=dt.UTC),
        "offset_minutes": 120,
    }
    assert row["tag"] == "58185e0d-3a91-44d8-bc46-7107217e0a6d"
    assert row["clock"] == "10:17:36.789012" and row["blob"] == b"\x01\x02"


def test_a_key_deleted_and_inserted_again_is_an_upsert_of_the_new_row(
    connector: SqlServerConnector, writer: Any
) -> None:
    execute(writer, "INSERT INTO dbo.items (id, name, amount) VALUES (10, N'first life', 1)")
    since = current_version(writer)
    execute(
        writer,
        "DELETE FROM dbo.items WHERE id = 10",
        "INSERT INTO dbo.items (id, name, amount) VALUES (10, N'second life', 2)",
    )
    (row,) = changes(connector, "dbo.items", since).to_pylist()
    assert (row["id"], row["name"], row["amount"], row[CHANGE_TYPE_COLUMN]) == (
        10,
        "second life",
        Decimal("2.00"),
        "u",
    )


def test_composite_keys(connector: SqlServerConnector, writer: Any) -> None:
    execute(
        writer,
        "INSERT INTO sales.lines VALUES (N'east', 1, 10), (N'east', 2, 20), (N'west', 1, 30)",
    )
    since = current_version(writer)
    execute(
        writer,
        "DELETE FROM sales.lines WHERE region = N'east' AND line = 1",
        "UPDATE sales.lines SET qty = 21 WHERE region = N'east' AND line = 2",
        "INSERT INTO sales.lines VALUES (N'west', 2, 40)",
        # a key update is a delete of the old key and an insert of the new one
        "UPDATE sales.lines SET line = 3 WHERE region = N'west' AND line = 1",
    )
    found = changes(connector, "sales.lines", since)
    assert found.schema.names == ["region", "line", "qty", CHANGE_TYPE_COLUMN]
    assert sorted(found.to_pylist(), key=lambda r: (r["region"], r["line"])) == [
        {"region": "east", "line": 1, "qty": None, CHANGE_TYPE_COLUMN: "d"},
        {"region": "east", "line": 2, "qty": 21, CHANGE_TYPE_COLUMN: "u"},
        {"region": "west", "line": 1, "qty": None, CHANGE_TYPE_COLUMN: "d"},
        {"region": "west", "line": 2, "qty": 40, CHANGE_TYPE_COLUMN: "u"},
        {"region": "west", "line": 3, "qty": 30, CHANGE_TYPE_COLUMN: "u"},
    ]


def test_columns_are_picked_and_batches_are_bounded(
    connector: SqlServerConnector, writer: Any
) -> None:
    since = current_version(writer)
    execute(writer, "UPDATE dbo.items SET amount = amount + 1")
    batches = list(
        connector.read_changes(
            "dbo.items", since_version=since, columns=["amount", "ID"], batch_rows=2
        )
    )
    assert len(batches) >= 2 and all(0 < b.num_rows <= 2 for b in batches)
    table = pa.Table.from_batches(batches)
    assert table.schema == pa.schema(
        [
            pa.field("amount", pa.decimal128(10, 2)),
            pa.field("id", pa.int32()),
            pa.field(CHANGE_TYPE_COLUMN, pa.string()),
        ]
    )
    assert table.num_rows == len(read_rows(connector, "dbo.items"))
    with pytest.raises(ChangeTrackingUnavailable) as missing:
        list(connector.read_changes("dbo.items", since_version=since, columns=["amount"]))
    assert missing.value.reason == "key_columns_missing" and "id" in missing.value.message
    with pytest.raises(SourceConfigError, match=r"'nope' is not in dbo\.items"):
        list(connector.read_changes("dbo.items", since_version=since, columns=["id", "nope"]))


def test_nothing_changed_yields_no_batch(connector: SqlServerConnector, writer: Any) -> None:
    since = current_version(writer)
    assert list(connector.read_changes("dbo.items", since_version=since)) == []


# --- what keeps changes from being read ----------------------------------


@pytest.mark.parametrize(
    ("table", "reason", "fragment"),
    [
        (
            "dbo.untracked",
            "table_disabled",
            "Run ALTER TABLE [dbo].[untracked] ENABLE CHANGE_TRACKING",
        ),
        ("dbo.heap", "no_primary_key", "dbo.heap has no primary key"),
        ("dbo.items_view", "not_a_table", "dbo.items_view is a view"),
    ],
)
def test_problems_name_their_fix(
    connector: SqlServerConnector, table: str, reason: str, fragment: str
) -> None:
    with pytest.raises(ChangeTrackingUnavailable) as checked:
        connector.require_change_tracking(table)
    assert checked.value.reason == reason and fragment in checked.value.message
    assert checked.value.resource_id == table
    with pytest.raises(ChangeTrackingUnavailable) as reading:
        list(connector.read_changes(table, since_version=0))
    assert reading.value.reason == reason


def test_required_columns_must_hold_the_key(connector: SqlServerConnector) -> None:
    with pytest.raises(ChangeTrackingUnavailable) as checked:
        connector.require_change_tracking("sales.lines", columns=["region", "qty"])
    assert checked.value.reason == "key_columns_missing"
    assert checked.value.message.endswith("the columns leave out line.")


def test_unknown_table_and_bad_arguments(connector: SqlServerConnector) -> None:
    with pytest.raises(NotFound):
        connector.require_change_tracking("dbo.nope")
    with pytest.raises(NotFound):
        connector.change_tracking("dbo.nope")
    for since in (-1, True, 1.5):
        with pytest.raises(InvalidRequest):
            list(connector.read_changes("dbo.items", since_version=since))  # type: ignore[arg-type]
    with pytest.raises(InvalidRequest):
        list(connector.read_changes("dbo.items", since_version=0, batch_rows=0))


def test_a_column_named_like_the_change_type_is_refused(connector: SqlServerConnector) -> None:
    with pytest.raises(SourceConfigError, match="column named _change_request_type"):
        list(connector.read_changes("dbo.clash", since_version=0))
    assert list(connector.read_changes("dbo.clash", since_version=0, columns=["id"])) == []


def test_a_database_without_change_tracking() -> None:
    with running_emulator(init_sql=["CREATE TABLE dbo.t (id int NOT NULL PRIMARY KEY)"]) as plain:
        connector = SqlServerConnector({"connectionString": connection_string(plain)})
        state = connector.change_tracking("dbo.t")
        assert (state.database_enabled, state.table_enabled, state.can_read) == (
            False,
            False,
            False,
        )
        assert state.current_version is None and state.min_valid_version is None
        with pytest.raises(ChangeTrackingUnavailable) as checked:
            connector.require_change_tracking("dbo.t")
        assert connector.describe("dbo.t").change_tracking == state
    assert checked.value.reason == "database_disabled"
    assert checked.value.message == (
        "Change tracking is off for database 'testdb'. Run ALTER DATABASE [testdb] SET "
        "CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON), then "
        "ALTER TABLE [dbo].[t] ENABLE CHANGE_TRACKING."
    )


# --- expired versions ----------------------------------------------------

EXPIRY_SQL = """
ALTER DATABASE testdb SET CHANGE_TRACKING = ON;
CREATE TABLE dbo.t (id int NOT NULL PRIMARY KEY, a int);
ALTER TABLE dbo.t ENABLE CHANGE_TRACKING;
"""


@pytest.fixture
def expiring() -> Iterator[tuple[SqlServerConnector, Any]]:
    """A fresh tracked table of its own, since cleanup and truncation are for good."""
    with running_emulator(init_sql=[EXPIRY_SQL]) as emu:
        connection = mssql_python.connect(emu.odbc_connection_string(), autocommit=True)
        cursor = connection.cursor()
        try:
            yield SqlServerConnector({"connectionString": connection_string(emu)}), cursor
        finally:
            cursor.close()
            connection.close()


def cleanup(writer: Any, up_to: int) -> None:
    writer.execute(
        "EXEC sys.sp_flowservice_change_tracking_cleanup "
        f"@table_name = N'dbo.t', @up_to_version = {up_to}"
    )
    writer.fetchall()


def test_changes_removed_by_cleanup_expire_the_version(
    expiring: tuple[SqlServerConnector, Any],
) -> None:
    connector, writer = expiring
    execute(writer, "INSERT INTO dbo.t VALUES (1, 1)", "INSERT INTO dbo.t VALUES (2, 2)")
    cleanup(writer, 1)
    assert connector.change_tracking("dbo.t").min_valid_version == 1
    with pytest.raises(ChangesExpired) as expired:
        list(connector.read_changes("dbo.t", since_version=0))
    assert (expired.value.since_version, expired.value.min_valid_version) == (0, 1)
    assert "copy dbo.t again" in expired.value.message
    assert [r["id"] for r in changes(connector, "dbo.t", 1).to_pylist()] == [2]


def test_truncation_expires_every_earlier_version(
    expiring: tuple[SqlServerConnector, Any],
) -> None:
    connector, writer = expiring
    execute(writer, "INSERT INTO dbo.t VALUES (1, 1)")
    since = current_version(writer)
    execute(writer, "TRUNCATE TABLE dbo.t")
    with pytest.raises(ChangesExpired):
        list(connector.read_changes("dbo.t", since_version=since - 1))


def test_a_version_from_the_future_is_refused(expiring: tuple[SqlServerConnector, Any]) -> None:
    connector, writer = expiring
    execute(writer, "INSERT INTO dbo.t VALUES (1, 1)")
    with pytest.raises(ChangesExpired, match="newer than the current change tracking version 1"):
        list(connector.read_changes("dbo.t", since_version=2))


def test_a_cleanup_during_the_read_fails_it_after_the_last_batch(
    expiring: tuple[SqlServerConnector, Any],
) -> None:
    connector, writer = expiring
    execute(writer, "INSERT INTO dbo.t SELECT value, value FROM GENERATE_SERIES(1, 50)")
    execute(writer, "UPDATE dbo.t SET a = 0 WHERE id = 1")
    stream = connector.read_changes("dbo.t", since_version=0, batch_rows=10)
    assert next(stream).num_rows == 10
    cleanup(writer, 1)
    with pytest.raises(ChangesExpired, match="while they were read"):
        for _ in stream:
            pass
