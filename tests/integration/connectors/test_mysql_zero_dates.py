"""Zero dates in reads against a real MariaDB: wherever they fall, every row arrives once and
they read as NULL.

An InnoDB table keyed by one integer is read with bare dates, and the reader fails on the
first zero date; the connector then reads the rows after the last key it delivered with
the server-side guard. Other tables (another engine, another key, the key not selected)
are read with the guard from the start. Needs ``FLOWSERVICE_TEST_MARIADB_URL``.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flowservice.connectors.base import KeyRange
from flowservice.connectors.mysql.connector import MySqlConnector

MARIADB_ENV = "FLOWSERVICE_TEST_MARIADB_URL"
START = datetime(2024, 1, 1)
# how a row's dates are spoilt: not at all, a zero date, a zero month, a zero day
SPOILS = ("", "zero", "month", "day")
TABLES = {
    "keyed": "ENGINE=InnoDB",  # read with bare dates, resumed with the guard
    "aria": "ENGINE=Aria",  # another engine: always guarded
}


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
        init_command="SET time_zone = '+00:00', sql_mode = ''",  # zero dates allowed
    )


@pytest.fixture(scope="module")
def source() -> Iterator[tuple[MySqlConnector, Any]]:
    url = os.environ.get(MARIADB_ENV)
    if not url:
        pytest.skip(f"{MARIADB_ENV} is not set (run .ci/start-mariadb.sh)")
    name = f"fs_zero_{uuid.uuid4().hex[:10]}"
    with admin(url) as conn, conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{name}`")
    conn = admin(url, name)
    cursor = conn.cursor()
    for table, engine in TABLES.items():
        cursor.execute(
            f"CREATE TABLE {table} (id INT NOT NULL PRIMARY KEY, d DATE, dt DATETIME(6),"
            f" ts TIMESTAMP(6) NULL, v VARCHAR(8)) {engine}"
        )
    parts = urlsplit(url)
    connection_string = (
        f"Server={parts.hostname};Port={parts.port};Database={name};"
        f"UID={unquote(parts.username or '')};PWD={unquote(parts.password or '')}"
    )
    yield MySqlConnector({"connectionString": connection_string}), cursor
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    conn.close()


def source_row(key: int, spoil: str) -> tuple[Any, ...]:
    moment = START + timedelta(minutes=key, microseconds=key)
    day = moment.date().isoformat()
    stamp = moment.isoformat(sep=" ")
    if spoil == "zero":
        day, stamp = "0000-00-00", "0000-00-00 00:00:00"
    elif spoil == "month":
        day, stamp = f"{moment.year}-00-{moment.day:02d}", f"{moment.year}-00-05 10:00:00"
    elif spoil == "day":
        day, stamp = f"{moment.year}-{moment.month:02d}-00", f"{moment.year}-03-00 10:00:00"
    return key, day, stamp, stamp, f"v{key % 5}"


def expected_row(key: int, spoil: str) -> dict[str, Any]:
    moment = START + timedelta(minutes=key, microseconds=key)
    if spoil:  # the zero date itself, and the TIMESTAMP MariaDB stored as zero
        return {"id": key, "d": None, "dt": None, "ts": None, "v": f"v{key % 5}"}
    day: date = moment.date()
    return {
        "id": key,
        "d": day,
        "dt": moment,
        "ts": moment.replace(tzinfo=UTC),
        "v": f"v{key % 5}",
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    # the reader converts ahead of its consumer: good rows first, so that zero dates can
    # also fall after batches were delivered
    good=st.integers(min_value=0, max_value=4000),
    spoils=st.lists(st.sampled_from(SPOILS), min_size=0, max_size=40),
    table=st.sampled_from(sorted(TABLES)),
    batch_rows=st.integers(min_value=1, max_value=300),
    parts=st.integers(min_value=1, max_value=4),
    ordered=st.booleans(),
)
def test_every_row_once_with_zero_dates_as_null(
    source: tuple[MySqlConnector, Any],
    good: int,
    spoils: list[str],
    table: str,
    batch_rows: int,
    parts: int,
    ordered: bool,
) -> None:
    connector, cursor = source
    cursor.execute(f"DELETE FROM {table}")
    spoils = [""] * good + spoils
    keys = [3 * i + 1 for i in range(len(spoils))]  # gaps: ranges may start between keys
    if spoils:
        cursor.executemany(
            f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s)",
            [source_row(k, s) for k, s in zip(keys, spoils, strict=True)],
        )
    ranges = connector.split(table, parts=parts, min_rows=1)
    read: list[dict[str, Any]] = []
    for key_range in ranges:
        for batch in connector.read(
            table, batch_rows=batch_rows, key_range=key_range, ordered=ordered
        ):
            assert batch.num_rows <= batch_rows
            read += batch.to_pylist()
    if ordered and len(ranges) == 1:
        assert [r["id"] for r in read] == keys
    expected = [expected_row(k, s) for k, s in zip(keys, spoils, strict=True)]
    assert sorted(read, key=lambda r: r["id"]) == expected


def test_a_zero_date_read_without_its_key_is_guarded(source: tuple[MySqlConnector, Any]) -> None:
    connector, cursor = source
    cursor.execute("DELETE FROM keyed")
    cursor.executemany(
        "INSERT INTO keyed VALUES (%s, %s, %s, %s, %s)",
        [source_row(1, ""), source_row(2, "zero"), source_row(3, "month")],
    )
    table = pa.Table.from_batches(list(connector.read("keyed", columns=["v", "d"])))
    assert table.column("d").to_pylist() == [expected_row(1, "")["d"], None, None]


def test_a_zero_date_in_the_middle_of_a_key_range(source: tuple[MySqlConnector, Any]) -> None:
    connector, cursor = source
    cursor.execute("DELETE FROM keyed")
    spoils = ["", "", "", "zero", "", "day", ""]
    cursor.executemany(
        "INSERT INTO keyed VALUES (%s, %s, %s, %s, %s)",
        [source_row(k, s) for k, s in enumerate(spoils, start=10)],
    )
    got = [
        r
        for b in connector.read("keyed", batch_rows=2, key_range=KeyRange("id", 11, 16))
        for r in b.to_pylist()
    ]
    assert got == [expected_row(k, spoils[k - 10]) for k in range(11, 16)]
