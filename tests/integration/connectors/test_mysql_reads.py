"""Reads against a real MariaDB: the whole table, half-open windows, key-range splits, batches.

Needs ``FLOWSERVICE_TEST_MARIADB_URL``; the module works in a database of its own.
"""

from __future__ import annotations

import itertools
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pytest

from flowservice.connectors.base import KeyRange, ReadWindow
from flowservice.connectors.mysql.connector import MySqlConnector
from flowservice.errors import InvalidRequest, SourceConfigError

MARIADB_ENV = "FLOWSERVICE_TEST_MARIADB_URL"
ROWS = 5000
START = datetime(2024, 1, 1)


def admin(url: str, database: str | None = None) -> Any:
    import pymysql

    parts = urlsplit(url)
    return pymysql.connect(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=database,
        autocommit=True,
        charset="utf8mb4",
        init_command="SET time_zone = '+00:00'",
    )


@pytest.fixture(scope="module")
def source() -> Iterator[tuple[MySqlConnector, Any]]:
    """The connector and an admin cursor on a database holding ``facts`` and smaller tables."""
    url = os.environ.get(MARIADB_ENV)
    if not url:
        pytest.skip(f"{MARIADB_ENV} is not set (run .ci/start-mariadb.sh)")
    name = f"fs_reads_{uuid.uuid4().hex[:10]}"
    with admin(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn = admin(url, name)
    cursor = conn.cursor()
    cursor.execute(
        "CREATE TABLE facts (id BIGINT UNSIGNED NOT NULL PRIMARY KEY, at DATETIME(6) NOT NULL, "
        "stamp TIMESTAMP(6) NOT NULL, day DATE NOT NULL, v VARCHAR(10))"
    )
    rows = [
        (
            i,
            START + timedelta(minutes=i),
            START + timedelta(minutes=i),
            (START + timedelta(hours=i)).date(),
            None if i % 11 == 0 else f"v{i % 7}",
        )
        for i in range(1, ROWS + 1)
    ]
    cursor.executemany("INSERT INTO facts VALUES (%s, %s, %s, %s, %s)", rows)
    cursor.execute("CREATE TABLE pairs (a INT NOT NULL, b INT NOT NULL, PRIMARY KEY (a, b))")
    cursor.execute("INSERT INTO pairs VALUES (1, 1), (2, 2)")
    cursor.execute("CREATE TABLE labels (code VARCHAR(5) NOT NULL PRIMARY KEY)")
    cursor.execute("INSERT INTO labels VALUES ('a'), ('b')")
    cursor.execute("CREATE TABLE empty (id INT NOT NULL PRIMARY KEY)")
    parts = urlsplit(url)
    connection_string = (
        f"Server={parts.hostname};Port={parts.port};Database={name};"
        f"UID={unquote(parts.username or '')};PWD={unquote(parts.password or '')}"
    )
    yield MySqlConnector({"connectionString": connection_string}), cursor
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def read_all(connector: MySqlConnector, table: str, **kwargs: Any) -> pa.Table:
    batches = list(connector.read(table, **kwargs))
    if not batches:
        return pa.table({})
    return pa.Table.from_batches(batches)


def ids(table: pa.Table) -> list[int]:
    return sorted(table.column("id").to_pylist()) if table.num_rows else []


def test_full_read_equals_the_source(source: tuple[MySqlConnector, Any]) -> None:
    connector, cursor = source
    batches = list(connector.read("facts", batch_rows=700))
    assert max(b.num_rows for b in batches) <= 700
    table = pa.Table.from_batches(batches).sort_by("id")
    cursor.execute("SELECT id, at, stamp, day, v FROM facts ORDER BY id")
    expected = [
        {"id": i, "at": at, "stamp": stamp.replace(tzinfo=UTC), "day": day, "v": v}
        for i, at, stamp, day, v in cursor.fetchall()
    ]
    assert table.num_rows == ROWS
    assert table.to_pylist() == expected


def test_window_is_half_open(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    start, end = START + timedelta(minutes=10), START + timedelta(minutes=20)
    for column in ("at", "stamp"):
        window = ReadWindow(column, start, end)
        assert ids(read_all(connector, "facts", window=window)) == list(range(10, 20))
    aware = ReadWindow("stamp", start.replace(tzinfo=UTC), None)
    assert ids(read_all(connector, "facts", window=aware))[:2] == [10, 11]
    plus_one = timezone(timedelta(hours=1))
    shifted = ReadWindow("at", None, (end + timedelta(hours=1)).replace(tzinfo=plus_one))
    assert ids(read_all(connector, "facts", window=shifted)) == list(range(1, 20))


def test_window_on_a_date_column(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    window = ReadWindow("day", datetime(2024, 1, 2), datetime(2024, 1, 3))
    table = read_all(connector, "facts", window=window)
    assert {d.isoformat() for d in table.column("day").to_pylist()} == {"2024-01-02"}
    assert table.num_rows == 24


def test_consecutive_windows_read_each_row_once(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    bounds = [None, START + timedelta(minutes=1000), START + timedelta(minutes=3333), None]
    seen: list[int] = []
    for low, high in itertools.pairwise(bounds):
        seen += ids(read_all(connector, "facts", window=ReadWindow("stamp", low, high)))
    assert sorted(seen) == list(range(1, ROWS + 1))


def test_splits_cover_each_key_once(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    ranges = connector.split("facts", parts=4, min_rows=100)
    assert len(ranges) == 4
    seen: list[int] = []
    for key_range in ranges:
        seen += ids(read_all(connector, "facts", key_range=key_range))
    assert seen == list(range(1, ROWS + 1))


def test_splits_within_a_window(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    window = ReadWindow("at", START + timedelta(minutes=100), START + timedelta(minutes=300))
    ranges = connector.split("facts", parts=3, window=window)
    seen: list[int] = []
    for key_range in ranges:
        seen += ids(read_all(connector, "facts", window=window, key_range=key_range))
    assert sorted(seen) == list(range(100, 300))


def test_unsplittable_tables(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    assert connector.split("pairs", parts=4) == [None]
    assert connector.split("labels", parts=4) == [None]
    assert connector.split("empty", parts=4) == [None]
    assert connector.split("facts", parts=1) == [None]
    assert connector.split("facts", parts=4, min_rows=ROWS) == [None]


def test_open_ended_key_ranges(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    assert ids(read_all(connector, "facts", key_range=KeyRange("id", None, 3))) == [1, 2]
    assert ids(read_all(connector, "facts", key_range=KeyRange("ID", ROWS - 1, None))) == [
        ROWS - 1,
        ROWS,
    ]


def test_empty_results_yield_no_batches(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    assert list(connector.read("empty")) == []
    late = ReadWindow("at", datetime(2030, 1, 1), None)
    assert list(connector.read("facts", window=late)) == []


def test_bad_window_and_key_columns(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    with pytest.raises(SourceConfigError, match="DATE, DATETIME or TIMESTAMP"):
        list(connector.read("facts", window=ReadWindow("v", START, None)))
    with pytest.raises(SourceConfigError, match="integer"):
        list(connector.read("facts", key_range=KeyRange("at", 1, 2)))


@pytest.mark.parametrize(
    "bound",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=2))),  # year 0 in UTC
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-2))),  # year 10000
    ],
)
def test_a_bound_outside_utcs_years_is_invalid(
    source: tuple[MySqlConnector, Any], bound: datetime
) -> None:
    connector, _ = source
    with pytest.raises(InvalidRequest, match="years 1 to 9999"):
        list(connector.read("facts", window=ReadWindow("at", start=bound)))
    with pytest.raises(InvalidRequest, match="years 1 to 9999"):
        connector.split("facts", parts=3, window=ReadWindow("at", end=bound))


def test_ordered_read(source: tuple[MySqlConnector, Any]) -> None:
    connector, _ = source
    table = read_all(connector, "facts", ordered=True, batch_rows=999, columns=["id"])
    assert table.column("id").to_pylist() == list(range(1, ROWS + 1))
