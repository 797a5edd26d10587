"""Properties against the emulator: generated values round-trip exactly; names never reach SQL."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Generator, Iterator
from decimal import Decimal
from typing import Any, cast

import mssql_python
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.connectors.sqlserver.connector import SqlServerConnector
from flowservice.errors import NotFound
from mssql_emulator.testing import RunningEmulator, running_emulator

TABLE_SQL = """
CREATE TABLE dbo.values_under_test (
    id int NOT NULL PRIMARY KEY,
    c_decimal decimal(38,10), c_money money, c_bigint bigint, c_float float,
    c_nvarchar nvarchar(100), c_varbinary varbinary(100), c_date date,
    c_datetime2 datetime2(6), c_time time(6), c_bit bit, c_guid uniqueidentifier,
    c_dto datetimeoffset(6)
);
CREATE TABLE dbo.numbers (n int NOT NULL PRIMARY KEY, label nvarchar(20));
INSERT INTO dbo.numbers SELECT value, CONCAT(N'row ', value) FROM GENERATE_SERIES(1, 10000);
"""

SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[TABLE_SQL]) as running:
        yield running


@pytest.fixture(scope="module")
def connector(emulator: RunningEmulator) -> SqlServerConnector:
    return SqlServerConnector(
        {
            "connectionString": f"Server={emulator.host},{emulator.port};"
            f"Database={emulator.database};UID={emulator.user};PWD={emulator.password};"
            "Encrypt=no"
        }
    )


@pytest.fixture(scope="module")
def writer(emulator: RunningEmulator) -> Iterator[Any]:
    """A plain driver cursor that writes the rows under test."""
    connection = mssql_python.connect(emulator.odbc_connection_string(), autocommit=True)
    yield connection.cursor()
    connection.close()


def literal(value: Any) -> str:
    """A T-SQL literal for ``value`` (so the driver's parameter binding is not under test)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return "0x" + value.hex() if value else "CAST('' AS varbinary(100))"
    if isinstance(value, str):
        return "N'" + value.replace("'", "''") + "'"
    if isinstance(value, dt.datetime):
        return f"'{value.isoformat(sep=' ', timespec='microseconds')}'"
    if isinstance(value, dt.date | dt.time):
        return f"'{value.isoformat()}'"
    if isinstance(value, uuid.UUID):
        return f"'{str(value).upper()}'"
    raise TypeError(type(value))


def decimals(precision: int, scale: int) -> st.SearchStrategy[Decimal]:
    bound = 10**precision - 1
    return st.integers(-bound, bound).map(lambda v: Decimal(f"{v}E-{scale}"))  # exact: no context


row_values = st.fixed_dictionaries(
    {
        "c_decimal": st.none() | decimals(38, 10),
        "c_money": st.none() | decimals(19, 4).filter(lambda d: abs(d) < Decimal(2**63) / 10000),
        "c_bigint": st.none() | st.integers(-(2**63), 2**63 - 1),
        "c_float": st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64),
        "c_nvarchar": st.none()
        | st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), max_size=100),
        "c_varbinary": st.none() | st.binary(min_size=1, max_size=100),
        "c_date": st.none() | st.dates(),
        "c_datetime2": st.none() | st.datetimes(),
        "c_time": st.none() | st.times(),
        "c_bit": st.none() | st.booleans(),
        "c_guid": st.none() | st.uuids(),
        "c_dto": st.none()
        | st.builds(
            lambda utc, minutes: utc.replace(tzinfo=dt.UTC).astimezone(
                dt.timezone(dt.timedelta(minutes=minutes))
            ),
            st.datetimes(dt.datetime(1, 1, 2), dt.datetime(9999, 12, 30)),
            st.integers(-840, 840),
        ),
    }
)


@SETTINGS
@given(values=row_values)
def test_generated_values_round_trip_exactly(
    connector: SqlServerConnector, writer: Any, values: dict[str, Any]
) -> None:
    writer.execute("DELETE FROM dbo.values_under_test")
    names = ", ".join(values)
    writer.execute(
        f"INSERT INTO dbo.values_under_test (id, {names}) "
        f"VALUES (1, {', '.join(literal(v) for v in values.values())})"
    )
    rows = pa.Table.from_batches(list(connector.read("dbo.values_under_test"))).to_pylist()
    expected = {"id": 1, **values}
    if values["c_guid"] is not None:
        expected["c_guid"] = str(values["c_guid"])  # canonical lower-case text
    if values["c_dto"] is not None:  # the instant in UTC and the offset it was written with
        offset = values["c_dto"].utcoffset()
        expected["c_dto"] = {
            "utc": values["c_dto"].astimezone(dt.UTC),
            "offset_minutes": int(offset.total_seconds() // 60),
        }
    if rows and rows[0]["c_time"] is not None:  # time arrives as ISO text
        rows[0]["c_time"] = dt.time.fromisoformat(rows[0]["c_time"])
    assert rows == [expected]
    _, preview = connector.preview("dbo.values_under_test")
    assert [from_json(preview[0])] == [{"id": 1, **values}]


def from_json(row: dict[str, Any]) -> dict[str, Any]:
    """Decode preview values as docs/sqlserver-connector.md says they are written."""
    decoders: dict[str, Any] = {
        "c_decimal": Decimal,
        "c_money": Decimal,
        "c_varbinary": base64.b64decode,
        "c_date": dt.date.fromisoformat,
        "c_datetime2": dt.datetime.fromisoformat,
        "c_time": dt.time.fromisoformat,
        "c_guid": uuid.UUID,
        "c_dto": dt.datetime.fromisoformat,
    }
    return {k: (v if v is None or k not in decoders else decoders[k](v)) for k, v in row.items()}


@SETTINGS
@given(name=st.text(max_size=60))
def test_object_names_are_looked_up_never_executed(
    connector: SqlServerConnector, name: str
) -> None:
    with pytest.raises(NotFound):
        connector.describe(name)


def test_reads_stream_in_bounded_batches(connector: SqlServerConnector) -> None:
    batches = connector.read("dbo.numbers", batch_rows=1000, ordered=True)
    first = next(batches)
    assert first.num_rows == 1000
    rest = list(batches)
    assert all(b.num_rows <= 1000 for b in rest)
    table = pa.Table.from_batches([first, *rest])
    assert table.column("n").to_pylist() == list(range(1, 10001))
    assert table.column("label").to_pylist()[-1] == "row 10000"


def test_abandoning_a_read_releases_the_connection(connector: SqlServerConnector) -> None:
    for _ in range(20):
        batches = cast(Generator[pa.RecordBatch], connector.read("dbo.numbers", batch_rows=100))
        assert next(batches).num_rows == 100
        batches.close()  # closes reader, cursor and connection
    assert connector.check().ok
