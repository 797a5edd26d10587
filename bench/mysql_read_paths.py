"""Ways to read a MySQL / MariaDB table into Arrow, timed on the same 10-column table.

Usage: ``.venv/bin/python bench/mysql_read_paths.py [--url mysql://u:p@host:port/] [--rows N]
[--repeat 3] [--batch 65536] [--keep]`` (``--url`` defaults to ``FLOWSERVICE_TEST_MARIADB_URL``,
as printed by ``.ci/start-mariadb.sh``).

Creates a database ``fs_bench_read`` holding ``wide`` (``--rows`` rows of BIGINT, INT,
DECIMAL(18,4), DOUBLE, VARCHAR(32), DATETIME(6), DATE, TINYINT, TIMESTAMP(6) and a nullable
VARCHAR), generated server-side, and times each path reading it whole into one Arrow table:

* ``connector``: ``MySqlConnector.read`` (ConnectorX's Arrow stream + exact-type conform);
* ``connectorx``: ConnectorX ``arrow_stream`` of plain ``SELECT *`` (what the reader itself costs);
* ``mysqlclient``, ``pymysql``, ``mariadb``, ``asyncmy``: each driver's unbuffered cursor,
  ``fetchmany(batch)`` rows turned into Arrow columns of the connector's types.

The median of ``--repeat`` runs is printed with rows/s and the ratio to the fastest. A driver
that is not installed is reported and skipped. Drops the database unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote, urlsplit

import pyarrow as pa

DATABASE = "fs_bench_read"
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("qty", pa.int32()),
        ("amount", pa.decimal128(18, 4)),
        ("ratio", pa.float64()),
        ("label", pa.large_string()),
        ("created", pa.timestamp("us")),
        ("day", pa.date32()),
        ("flag", pa.int8()),
        ("stamp", pa.timestamp("us", tz="UTC")),
        ("note", pa.large_string()),
    ]
)
CREATE = """CREATE TABLE wide (
  id BIGINT NOT NULL PRIMARY KEY, qty INT NOT NULL, amount DECIMAL(18,4) NOT NULL,
  ratio DOUBLE NOT NULL, label VARCHAR(32) NOT NULL, created DATETIME(6) NOT NULL,
  day DATE NOT NULL, flag TINYINT NOT NULL, stamp TIMESTAMP(6) NOT NULL, note VARCHAR(32) NULL
) DEFAULT CHARSET = utf8mb4"""
# seq_1_to_N is MariaDB's Sequence engine; a MySQL run would need another row source
FILL = """INSERT INTO wide
SELECT seq, seq % 1000, seq * 1.2345, seq / 7, CONCAT('label-', seq % 9973),
       TIMESTAMP('2024-01-01') + INTERVAL seq SECOND + INTERVAL seq % 1000000 MICROSECOND,
       DATE('2000-01-01') + INTERVAL seq % 9000 DAY, seq % 2,
       TIMESTAMP('2024-01-01') + INTERVAL seq SECOND, IF(seq % 5 = 0, NULL, 'n😀')
FROM seq_1_to_{rows}"""


class Target:
    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 3306
        self.user = unquote(parts.username or "")
        self.password = unquote(parts.password or "")

    def connection_string(self) -> str:
        return (
            f"Server={self.host};Port={self.port};Database={DATABASE};"
            f"UID={self.user};PWD={self.password}"
        )

    def url(self) -> str:
        return f"mysql://{self.user}:{self.password}@{self.host}:{self.port}/{DATABASE}"


def prepare(target: Target, rows: int) -> None:
    import pymysql

    conn = pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        autocommit=True,
        init_command="SET time_zone = '+00:00'",
    )
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS {DATABASE}")
        cursor.execute(f"USE {DATABASE}")
        cursor.execute("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_NAME = 'wide'")
        exists = cursor.fetchone()[0] == 1
        if exists:
            cursor.execute("SELECT COUNT(*) FROM wide")
            if cursor.fetchone()[0] == rows:
                conn.close()
                return
            cursor.execute("DROP TABLE wide")
        cursor.execute(CREATE)
        started = time.perf_counter()
        cursor.execute(FILL.format(rows=int(rows)))
        print(f"filled {rows:,} rows in {time.perf_counter() - started:.1f} s")
    conn.close()


def drop(target: Target) -> None:
    import pymysql

    conn = pymysql.connect(
        host=target.host, port=target.port, user=target.user, password=target.password
    )
    with conn.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
    conn.close()


def rows_to_batch(rows: list[tuple[Any, ...]]) -> pa.RecordBatch:
    """Driver rows → Arrow columns of the connector's types (one Python object per value)."""
    columns = list(zip(*rows, strict=True))
    arrays = []
    for values, field in zip(columns, SCHEMA, strict=True):
        if pa.types.is_timestamp(field.type) and field.type.tz is not None:
            arrays.append(pa.array(values, pa.timestamp("us")).cast(field.type))
        else:
            arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def via_connector(target: Target, batch: int) -> pa.Table:
    from flowservice.connectors.mysql.connector import MySqlConnector

    connector = MySqlConnector({"connectionString": target.connection_string()})
    return pa.Table.from_batches(list(connector.read("wide", batch_rows=batch)))


def via_connectorx(target: Target, batch: int) -> pa.Table:
    import connectorx

    reader = connectorx.read_sql(
        target.url(),
        "SELECT * FROM wide",
        return_type="arrow_stream",
        batch_size=batch,
        pre_execution_query=["SET time_zone = '+00:00'"],
    )
    return reader.read_all()


def _dbapi_batches(cursor: Any, batch: int) -> Iterator[pa.RecordBatch]:
    cursor.execute("SELECT * FROM wide")
    while rows := cursor.fetchmany(batch):
        yield rows_to_batch(list(rows))


def via_mysqlclient(target: Target, batch: int) -> pa.Table:
    import MySQLdb
    import MySQLdb.cursors

    conn = MySQLdb.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=DATABASE,
        charset="utf8mb4",
        init_command="SET time_zone = '+00:00'",
    )
    cursor = conn.cursor(MySQLdb.cursors.SSCursor)
    table = pa.Table.from_batches(list(_dbapi_batches(cursor, batch)), schema=SCHEMA)
    conn.close()
    return table


def via_pymysql(target: Target, batch: int) -> pa.Table:
    import pymysql
    import pymysql.cursors

    conn = pymysql.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=DATABASE,
        charset="utf8mb4",
        init_command="SET time_zone = '+00:00'",
        cursorclass=pymysql.cursors.SSCursor,
    )
    table = pa.Table.from_batches(list(_dbapi_batches(conn.cursor(), batch)), schema=SCHEMA)
    conn.close()
    return table


def via_mariadb(target: Target, batch: int) -> pa.Table:
    import mariadb

    conn = mariadb.connect(
        host=target.host,
        port=target.port,
        user=target.user,
        password=target.password,
        database=DATABASE,
        init_command="SET time_zone = '+00:00'",
    )
    cursor = conn.cursor(buffered=False)
    table = pa.Table.from_batches(list(_dbapi_batches(cursor, batch)), schema=SCHEMA)
    conn.close()
    return table


def via_asyncmy(target: Target, batch: int) -> pa.Table:
    async def run() -> pa.Table:
        import asyncmy
        from asyncmy.cursors import SSCursor

        conn = await asyncmy.connect(
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            database=DATABASE,
            init_command="SET time_zone = '+00:00'",
        )
        batches = []
        async with conn.cursor(SSCursor) as cursor:
            await cursor.execute("SELECT * FROM wide")
            while rows := await cursor.fetchmany(batch):
                batches.append(rows_to_batch(list(rows)))
        conn.close()
        return pa.Table.from_batches(batches, schema=SCHEMA)

    return asyncio.run(run())


PATHS: dict[str, Callable[[Target, int], pa.Table]] = {
    "connector": via_connector,
    "connectorx": via_connectorx,
    "mysqlclient": via_mysqlclient,
    "pymysql": via_pymysql,
    "mariadb": via_mariadb,
    "asyncmy": via_asyncmy,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("FLOWSERVICE_TEST_MARIADB_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch", type=int, default=65536)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    if not args.url:
        parser.error("give --url or set FLOWSERVICE_TEST_MARIADB_URL (.ci/start-mariadb.sh)")
    target = Target(args.url)
    prepare(target, args.rows)
    reference: pa.Table | None = None
    results: dict[str, float] = {}
    try:
        for name in args.paths.split(","):
            times: list[float] = []
            try:
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    table = PATHS[name](target, args.batch)
                    times.append(time.perf_counter() - started)
            except ImportError as exc:
                print(f"{name:12} skipped: {exc.name} is not installed")
                continue
            assert table.num_rows == args.rows, (name, table.num_rows)
            ordered = table.sort_by("id")
            if name != "connectorx":  # its plain SELECT * keeps reader-native types
                if reference is None:
                    reference = ordered
                assert ordered.equals(reference), f"{name} read different values"
            results[name] = statistics.median(times)
            print(
                f"{name:12} median {results[name]:.2f} s  ({', '.join(f'{t:.2f}' for t in times)})"
            )
    finally:
        if not args.keep:
            drop(target)
    fastest = min(results.values())
    print(f"\n{args.rows:,} rows x 10 columns, batch {args.batch}, median of {args.repeat}:")
    for name, seconds in sorted(results.items(), key=lambda kv: kv[1]):
        print(
            f"  {name:12} {seconds:7.2f} s  {args.rows / seconds:>12,.0f} rows/s  "
            f"x{seconds / fastest:.2f}"
        )


if __name__ == "__main__":
    main()
