"""Read a large mixed-type table from the emulator with mssql-python's Arrow fetch.

Prints rows/s over TDS and the ratio to DuckDB's own Arrow scan of the same data,
both measured in this run:

    .venv/bin/python bench/emulator_read.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import uuid
from multiprocessing.connection import Connection

import duckdb
import numpy as np
import pyarrow as pa

from mssql_emulator.engine import DuckDBEngine
from mssql_emulator.testing import running_emulator

DDL = """
CREATE TABLE dbo.bench (
    id int NOT NULL PRIMARY KEY,
    big bigint NOT NULL,
    amount decimal(19,4) NULL,
    ratio float NULL,
    name nvarchar(50) NULL,
    code varchar(20) NULL,
    created datetime2(3) NULL,
    day date NULL,
    flag bit NULL,
    token uniqueidentifier NULL
)
"""


def make_data(rows: int) -> pa.Table:
    rng = np.random.default_rng(7)
    ids = np.arange(rows, dtype=np.int32)
    millis = rng.integers(0, 86_400_000 * 3650, rows) + 1_577_836_800_000
    return pa.table(
        {
            "id": ids,
            "big": (ids.astype(np.int64) * 7_919) - 2**40,
            "amount": pa.array(rng.integers(-(10**9), 10**9, rows))
            .cast(pa.decimal128(23, 4))
            .cast(pa.decimal128(19, 4)),
            "ratio": rng.random(rows) * 1e6,
            "name": pa.array([f"customer name {i}" for i in range(rows)]),
            "code": pa.array([f"C{i % 100_000:06d}" for i in range(rows)]),
            "created": pa.array(millis, pa.timestamp("ms")).cast(pa.timestamp("us")),
            "day": pa.array((millis // 86_400_000).astype(np.int32), pa.date32()),
            "flag": pa.array(ids % 3 == 0),
            "token": pa.array([str(uuid.UUID(int=int(i) * 7_777_777)) for i in ids]),
        }
    )


def serve(rows: int, conn: Connection) -> None:
    """Child process: load the table, serve it, report the port, wait for the word to stop."""
    engine = DuckDBEngine(["benchdb"])
    engine.run_script("benchdb", DDL)
    engine.load_arrow("benchdb", "dbo.bench", make_data(rows))
    with running_emulator(database="benchdb", engine=engine) as emu:
        conn.send(emu.odbc_connection_string())
        conn.recv()
    engine.close()


def read_over_tds(conn_str: str, batch_size: int) -> tuple[int, float]:
    import mssql_python

    conn = mssql_python.connect(conn_str, timeout=30)
    try:
        cur = conn.cursor()
        started = time.perf_counter()
        cur.execute("SELECT * FROM dbo.bench")
        rows = sum(batch.num_rows for batch in cur.arrow_reader(batch_size))
        return rows, time.perf_counter() - started
    finally:
        conn.close()


def duckdb_scan(data: pa.Table) -> tuple[int, float]:
    con = duckdb.connect()
    con.register("src", data)
    con.execute("CREATE TABLE bench AS SELECT * FROM src")
    started = time.perf_counter()
    reader = con.sql("SELECT * FROM bench").to_arrow_reader(65536)
    rows = sum(batch.num_rows for batch in reader)
    elapsed = time.perf_counter() - started
    con.close()
    return rows, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=65536)
    args = parser.parse_args()

    data = make_data(args.rows)
    engine = DuckDBEngine(["benchdb"])
    engine.run_script("benchdb", DDL)
    engine.load_arrow("benchdb", "dbo.bench", data)
    with running_emulator(database="benchdb", engine=engine) as emu:
        tds = [
            read_over_tds(emu.odbc_connection_string(), args.batch_size) for _ in range(args.repeat)
        ]
    duck = [duckdb_scan(data) for _ in range(args.repeat)]
    engine.close()
    rows, tds_best = tds[0][0], min(t for _, t in tds)
    assert rows == args.rows, f"read {rows} rows, expected {args.rows}"
    duck_best = min(t for _, t in duck)
    tds_rate = rows / tds_best
    duck_rate = rows / duck_best
    print(f"rows: {rows:,}  columns: 10  (best of {args.repeat})")
    print(f"mssql-python arrow_reader over TDS: {tds_rate:,.0f} rows/s ({tds_best:.2f} s)")
    print(f"DuckDB Arrow scan of the same table: {duck_rate:,.0f} rows/s ({duck_best:.2f} s)")
    print(f"ratio TDS / DuckDB: {tds_rate / duck_rate:.3f}")


if __name__ == "__main__":
    main()
