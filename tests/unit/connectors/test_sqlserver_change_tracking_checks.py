"""Change Tracking without a server: what blocks a read, expired versions, the changes query."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import mssql_python
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowservice.connectors.base import (
    ChangesExpired,
    ChangeTrackingState,
    ChangeTrackingUnavailable,
    CheckResult,
    Connector,
    KeyRange,
    ReadWindow,
    SourceColumn,
    SourceObject,
    TableSchema,
)
from flowservice.connectors.sqlserver.catalog import CatalogColumn, CatalogObject
from flowservice.connectors.sqlserver.change_tracking import (
    Tracking,
    check_since,
    key_columns,
    problem,
    quiet_state,
)
from flowservice.connectors.sqlserver.errors import classify
from flowservice.connectors.sqlserver.queries import changes_statement
from flowservice.connectors.sqlserver.types import SqlServerType
from flowservice.errors import SourceConfigError

TABLE = CatalogObject("sales", "or]ders", "table")
COLUMNS = [
    CatalogColumn("line", SqlServerType("int"), nullable=False, primary_key_position=2),
    CatalogColumn(
        "note", SqlServerType("nvarchar", length=-1), nullable=True, primary_key_position=None
    ),
    CatalogColumn(
        "region", SqlServerType("nvarchar", length=10), nullable=False, primary_key_position=1
    ),
    CatalogColumn(
        "at", SqlServerType("datetimeoffset", scale=3), nullable=True, primary_key_position=None
    ),
]


def tracking(
    *,
    database: bool = True,
    table: bool = True,
    current: int | None = 7,
    oldest: int | None = 2,
) -> Tracking:
    state = ChangeTrackingState(
        database_enabled=database,
        table_enabled=table,
        current_version=current if database else None,
        min_valid_version=oldest if table else None,
        can_read=table and oldest is not None,
    )
    return Tracking(database="sa]les", state=state)


def blocked(found: Tracking, **kwargs: Any) -> ChangeTrackingUnavailable:
    error = problem(found, TABLE, COLUMNS, user="etl", **kwargs)
    assert error is not None
    return error


# --- what keeps a read from working --------------------------------------


def test_a_readable_table_has_no_problem() -> None:
    assert problem(tracking(), TABLE, COLUMNS, user="etl") is None
    assert problem(tracking(), TABLE, COLUMNS, user="etl", wanted=["REGION", "Line"]) is None


def test_a_tracked_table_without_a_minimum_version_means_no_permission() -> None:
    error = blocked(tracking(oldest=None))
    assert error.reason == "no_permission"
    assert error.message == (
        "The login 'etl' may not read the changes of sales.or]ders: run GRANT VIEW CHANGE "
        "TRACKING ON [sales].[or]]ders] TO the login's database user (who also needs SELECT "
        "on the primary-key columns)."
    )


def test_each_problem_names_the_statement_that_fixes_it() -> None:
    database = blocked(tracking(database=False, table=False))
    assert database.reason == "database_disabled"
    assert "ALTER DATABASE [sa]]les] SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, " in (
        database.message
    )
    assert database.message.endswith("then ALTER TABLE [sales].[or]]ders] ENABLE CHANGE_TRACKING.")
    table = blocked(tracking(table=False))
    assert table.reason == "table_disabled"
    assert table.message == (
        "Change tracking is off for table sales.or]ders. "
        "Run ALTER TABLE [sales].[or]]ders] ENABLE CHANGE_TRACKING."
    )
    assert table.resource_id == "sales.or]ders" and isinstance(table, SourceConfigError)


def test_a_missing_key_or_a_view_comes_before_the_switches() -> None:
    no_key = [CatalogColumn(c.name, c.sql_type, c.nullable, None) for c in COLUMNS]
    error = problem(tracking(database=False, table=False), TABLE, no_key, user="etl")
    assert error is not None and error.reason == "no_primary_key"
    view = CatalogObject("sales", "v", "view")
    error = problem(tracking(database=False, table=False), view, COLUMNS, user="etl")
    assert error is not None and error.reason == "not_a_table"


def test_the_columns_copied_must_hold_every_key_column() -> None:
    error = blocked(tracking(), wanted=["note", "LINE"])
    assert error.reason == "key_columns_missing"
    assert error.message.endswith("the columns leave out region.")


def test_key_columns_are_in_key_order() -> None:
    assert [c.name for c in key_columns(COLUMNS)] == ["region", "line"]


# --- expired versions ------------------------------------------------------


@given(
    since=st.integers(0, 50),
    oldest=st.none() | st.integers(0, 50),
    current=st.none() | st.integers(0, 50),
    during=st.booleans(),
)
def test_a_version_is_expired_exactly_outside_min_valid_to_current(
    since: int, oldest: int | None, current: int | None, during: bool
) -> None:
    found = Tracking(
        "db",
        ChangeTrackingState(current is not None, oldest is not None, current, oldest, True),
    )
    expired = (current is not None and since > current) or (oldest is not None and since < oldest)
    if not expired:
        check_since(found, TABLE, since, during=during)
        return
    with pytest.raises(ChangesExpired) as raised:
        check_since(found, TABLE, since, during=during)
    error = raised.value
    assert (error.since_version, error.min_valid_version, error.current_version) == (
        since,
        oldest,
        current,
    )
    assert "copy sales.or]ders again" in error.message
    assert ("while they were read" in error.message) == (
        during and not (current is not None and since > current)
    )


# --- the changes query -------------------------------------------------------


def test_changes_statement_takes_keys_from_the_change_table() -> None:
    key = key_columns(COLUMNS)
    sql, params = changes_statement(TABLE, COLUMNS, key, since_version=5)
    assert params == (5,)
    assert sql == (
        "SELECT CT.[line], T.[note], CT.[region], T.[at], DATEPART(TZOFFSET, T.[at]), "
        "CASE WHEN T.[region] IS NULL THEN 'd' ELSE 'u' END "
        "FROM CHANGETABLE(CHANGES [sales].[or]]ders], ?) AS CT "
        "LEFT OUTER JOIN [sales].[or]]ders] AS T "
        "ON T.[region] = CT.[region] AND T.[line] = CT.[line]"
    )


def test_the_changetable_error_is_a_configuration_error() -> None:
    exc = mssql_python.ProgrammingError(
        driver_error="SQLSTATE 42000",
        ddbc_error="[Microsoft][SQL Server]Change tracking is not enabled on table 'dbo.t'.",
    )
    error = classify(exc)
    assert type(error) is SourceConfigError
    assert error.reason == "change_tracking_off"  # type: ignore[attr-defined]
    assert "dbo.t" not in error.message  # built from the number, not copied from the server


class FailingCursor:
    def __init__(self, error: Exception) -> None:
        self.error = error

    def execute(self, *args: Any) -> None:
        raise self.error


def test_explore_goes_on_without_the_state_when_its_query_fails() -> None:
    failure = mssql_python.ProgrammingError(
        driver_error="SQLSTATE 42000",
        ddbc_error="Invalid object name 'sys.change_tracking_tables'.",
    )
    assert quiet_state(FailingCursor(failure), TABLE) is None
    with pytest.raises(ZeroDivisionError):  # a bug of ours is not hidden
        quiet_state(FailingCursor(ZeroDivisionError()), TABLE)


# --- the base class defaults ---------------------------------------------------


class NoTracking(Connector):
    connection_spec_id = "spec"
    name = "plain"

    def check(self) -> CheckResult:
        return CheckResult(ok=True)

    def list_objects(self, *, start: int = 0, limit: int | None = None) -> list[SourceObject]:
        return []

    def describe(self, table: str) -> TableSchema:
        column = SourceColumn
        return TableSchema(
            table,
            [
                column("b", "int", "integer", pa.int32(), primary_key_position=2),
                column("x", "int", "integer", pa.int32()),
                column("a", "int", "integer", pa.int32(), primary_key_position=1),
            ],
        )

    def preview(self, table: str, *, count: int = 100) -> tuple[TableSchema, list[dict[str, Any]]]:
        return self.describe(table), []

    def read(
        self,
        table: str,
        *,
        columns: list[str] | None = None,
        window: ReadWindow | None = None,
        batch_rows: int = 65536,
        key_range: KeyRange | None = None,
    ) -> Iterator[pa.RecordBatch]:
        return iter(())


def test_sources_without_change_tracking_say_so() -> None:
    source = NoTracking({})
    assert source.primary_key("t") == ["a", "b"]
    for call in (
        lambda: source.change_tracking("t"),
        lambda: source.require_change_tracking("t"),
        lambda: list(source.read_changes("t", since_version=0)),
    ):
        with pytest.raises(ChangeTrackingUnavailable) as raised:
            call()
        assert raised.value.reason == "not_supported"
        assert raised.value.message == "plain sources do not support change tracking."


def test_the_errors_survive_pickling_from_a_read_child() -> None:
    unavailable = pickle.loads(pickle.dumps(blocked(tracking(oldest=None))))
    assert type(unavailable) is ChangeTrackingUnavailable
    assert (unavailable.reason, unavailable.resource_id) == ("no_permission", "sales.or]ders")
    assert unavailable.message.startswith("The login 'etl' may not read")
    expired = ChangesExpired("gone", since_version=3, min_valid_version=5, current_version=9)
    copy = pickle.loads(pickle.dumps(expired))
    assert type(copy) is ChangesExpired and copy.message == "gone"
    assert (copy.since_version, copy.min_valid_version, copy.current_version) == (3, 5, 9)
