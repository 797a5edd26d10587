"""Time three ways to read a PostgreSQL table into Arrow: ADBC, psycopg binary COPY, ConnectorX.

Usage: ``.venv/bin/python bench/postgres_read_paths.py [--url postgresql://...] [--rows 1000000]``
(default URL: ``FLOWSERVICE_TEST_POSTGRES_URL``, as ``.ci/start-postgres.sh`` prints it).

A scratch database ``flowservice_bench_<random>`` gets one table of ``--rows`` rows and ten
columns (bigint key, int, numeric(18,4), float8, text, varchar, timestamptz, timestamp, date,
boolean); it is dropped at the end. Each path reads the whole table into Arrow record batches
three times; the median time, rows per second and the ratio to the fastest are printed. Every
path ends with the same exact Arrow types (numeric as decimal128(18,4)), so the cost of making
a path exact counts in its time: ADBC gives numeric as text (cast to decimal in Arrow), psycopg
yields Python objects (turned into Arrow column by column), ConnectorX casts numeric in SQL.
The results are compared for equality once. Last, the connector's own ``read`` (ADBC with
the casts it makes for exactness: numeric as text, finite dates only) is timed the same way.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import pyarrow as pa

COLUMNS = """
id bigint PRIMARY KEY, qty integer, price numeric(18,4), ratio double precision,
name text, code varchar(40), created timestamptz, local_at timestamp, day date, active boolean
"""
FILL = """
INSERT INTO bench
SELECT g, g % 1000, (g::bigint * 7919 % 100000000)::numeric / 10000, g / 3.0, 'name ' || g,
       md5(g::text), timestamptz '2020-01-01 00:00:00+00' + g * interval '1 second',
       timestamp '2020-01-01' + g * interval '1 ms', date '2000-01-01' + (g % 9000),
       g % 3 = 0
FROM generate_series(1, %s) AS g
"""
SELECT = "SELECT * FROM bench"
SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("qty", pa.int32()),
        ("price", pa.decimal128(18, 4)),
        ("ratio", pa.float64()),
        ("name", pa.string()),
        ("code", pa.string()),
        ("created", pa.timestamp("us", tz="UTC")),
        ("local_at", pa.timestamp("us")),
        ("day", pa.date32()),
        ("active", pa.bool_()),
    ]
)


def plain_url(url: str) -> str:
    """``postgresql://...`` without SQLAlchemy's ``+driver`` suffix."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(scheme="postgresql"))


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def read_adbc(url: str) -> pa.Table:
    import adbc_driver_postgresql.dbapi as adbc

    batches: list[pa.RecordBatch] = []
    with adbc.connect(url) as conn, conn.cursor() as cursor:
        cursor.execute(SELECT)
        for batch in cursor.fetch_record_batch():
            arrays = [_storage(column) for column in batch.columns]
            arrays[2] = arrays[2].cast(pa.decimal128(18, 4))
            batches.append(pa.RecordBatch.from_arrays(arrays, schema=SCHEMA))
    return pa.Table.from_batches(batches, schema=SCHEMA)


def _storage(array: pa.Array) -> pa.Array:
    return array.storage if isinstance(array, pa.ExtensionArray) else array


def read_psycopg_copy(url: str, batch_rows: int = 65536) -> pa.Table:
    import psycopg

    batches: list[pa.RecordBatch] = []
    types = ["int8", "int4", "numeric", "float8", "text", "varchar"]
    types += ["timestamptz", "timestamp", "date", "bool"]
    copy_sql = f"COPY ({SELECT}) TO STDOUT (FORMAT BINARY)"
    with (
        psycopg.connect(url) as conn,
        conn.cursor() as cursor,
        cursor.copy(copy_sql) as copy,  # type: ignore[arg-type]
    ):
        copy.set_types(types)
        rows: list[tuple[object, ...]] = []
        for row in copy.rows():
            rows.append(row)
            if len(rows) == batch_rows:
                batches.append(_columns(rows))
                rows = []
        if rows:
            batches.append(_columns(rows))
    return pa.Table.from_batches(batches, schema=SCHEMA)


def _columns(rows: list[tuple[object, ...]]) -> pa.RecordBatch:
    columns = list(zip(*rows, strict=True))
    arrays = [
        pa.array(values, type=field.type) for values, field in zip(columns, SCHEMA, strict=True)
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=SCHEMA)


def read_connectorx(url: str) -> pa.Table:
    import connectorx as cx

    # ConnectorX reads numeric as float64 unless told otherwise: the text keeps it exact
    sql = SELECT.replace("*", ", ".join(_cx_items()))
    table = cx.read_sql(url, sql, return_type="arrow")
    arrays = [table.column(i).combine_chunks() for i in range(table.num_columns)]
    arrays[2] = arrays[2].cast(pa.decimal128(18, 4))
    arrays = [
        a if a.type == f.type else a.cast(f.type) for a, f in zip(arrays, SCHEMA, strict=True)
    ]
    return pa.Table.from_arrays(arrays, schema=SCHEMA)


def read_connectorx_stream(url: str, batch_rows: int = 65536) -> pa.Table:
    import connectorx as cx

    sql = SELECT.replace("*", ", ".join(_cx_items()))
    reader = cx.read_sql(url, sql, return_type="arrow_stream", batch_size=batch_rows)
    batches: list[pa.RecordBatch] = []
    for batch in reader:
        arrays = [column for column in batch.columns]
        arrays[2] = arrays[2].cast(pa.decimal128(18, 4))
        arrays = [
            a if a.type == f.type else a.cast(f.type) for a, f in zip(arrays, SCHEMA, strict=True)
        ]
        batches.append(pa.RecordBatch.from_arrays(arrays, schema=SCHEMA))
    return pa.Table.from_batches(batches, schema=SCHEMA)


def _cx_items() -> list[str]:
    return [f"{f.name}::text AS {f.name}" if f.name == "price" else f.name for f in SCHEMA]


def read_connector(url: str) -> pa.Table:
    """The product's own path: ``PostgresConnector.read`` (ADBC plus its SQL casts)."""
    from flowservice.connectors.postgresql.connector import PostgresConnector

    parts = urlsplit(url)
    text = (
        f"Server={parts.hostname};Port={parts.port};Database={parts.path.lstrip('/')};"
        f"UID={parts.username};Password='{(parts.password or '').replace(chr(39), chr(39) * 2)}'"
    )
    batches = list(PostgresConnector({"connectionString": text}).read("public.bench"))
    table = pa.Table.from_batches(batches)
    # the connector promises large_string; compare values with the others' plain strings
    return table.cast(SCHEMA)


def timed(read: Callable[[str], pa.Table], url: str, repeat: int) -> tuple[float, pa.Table]:
    seconds: list[float] = []
    table = pa.table({})
    for _ in range(repeat):
        started = time.perf_counter()
        table = read(url)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds), table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("FLOWSERVICE_TEST_POSTGRES_URL"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.url:
        raise SystemExit("pass --url or set FLOWSERVICE_TEST_POSTGRES_URL")
    import psycopg

    admin = plain_url(args.url)
    name = f"flowservice_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = with_database(admin, name)
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE bench ({COLUMNS})")
            conn.execute(FILL.replace("%s", str(int(args.rows))))
            conn.execute("VACUUM ANALYZE bench")
        paths: dict[str, Callable[[str], pa.Table]] = {
            "adbc-driver-postgresql": read_adbc,
            "psycopg binary COPY": read_psycopg_copy,
            "PostgresConnector.read": read_connector,
            "connectorx (whole table)": read_connectorx,
            "connectorx (arrow_stream)": read_connectorx_stream,
        }
        results: dict[str, float] = {}
        tables: dict[str, pa.Table] = {}
        for label, read in paths.items():
            try:
                results[label], tables[label] = timed(read, url, args.repeat)
            except ImportError as exc:  # connectorx is only needed here: pip install connectorx
                print(f"  {label}: skipped ({exc.name} is not installed)", flush=True)
                continue
            print(f"  {label}: {results[label]:.2f} s", flush=True)
        reference = tables["adbc-driver-postgresql"].sort_by("id")
        for label, table in tables.items():
            same = table.sort_by("id").equals(reference)
            print(f"  {label}: {table.num_rows} rows, equal to ADBC's: {same}")
        best = min(results.values())
        print(f"\n{args.rows:,} rows x 10 columns, median of {args.repeat}")
        print(f"{'path':<26}{'seconds':>9}{'rows/s':>14}{'x fastest':>11}")
        for label, seconds in sorted(results.items(), key=lambda item: item[1]):
            rate = args.rows / seconds
            print(f"{label:<26}{seconds:>9.2f}{rate:>14,.0f}{seconds / best:>11.2f}")
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
