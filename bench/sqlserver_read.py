"""Read a wide table through SqlServerConnector.read and through raw ``arrow_reader``; compare.

Usage: ``.venv/bin/python bench/sqlserver_read.py [--rows 1000000] [--batch-rows 65536]``

Starts the emulator (``python -m mssql_emulator``) in its own process with a
10-column table of ``--rows`` rows, then reads it in fresh child processes,
alternating raw mssql-python ``cursor.arrow_reader`` and the connector, and
prints rows/s of each (best of ``--repeat``), the ratio connector time / raw
time (target ≤ 1.1) and each reader's peak resident memory. With
``--list-tables N`` it also times ``list_objects`` over N tables (target: 10,000
in under 2 s) against a second emulator.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

COLUMNS = (
    "id bigint NOT NULL PRIMARY KEY, qty int, price decimal(19,4), ratio float, "
    "flag bit, code nvarchar(20), note varchar(40), created datetime2(6), "
    "day date, amount money"
)
NAMES = ("id", "qty", "price", "ratio", "flag", "code", "note", "created", "day", "amount")
# The very statement the connector sends, so the ratio is the connector's own cost.
RAW_SELECT = "SELECT " + ", ".join(f"[{n}]" for n in NAMES) + " FROM [dbo].[bench]"
USER, PASSWORD, DATABASE = "bench", "Bench_Pass1", "benchdb"


def init_script(rows: int) -> str:
    return f"""
CREATE TABLE dbo.bench ({COLUMNS});
INSERT INTO dbo.bench
SELECT value, value % 1000, CAST(value AS decimal(19,4)) / 7, value * 0.5, value % 2,
       CONCAT(N'code-', value % 977), CONCAT('note ', value),
       DATEADD(second, value, CAST('2020-01-01' AS datetime2(6))),
       DATEADD(day, value % 3650, CAST('2000-01-01' AS date)),
       CAST(value AS money) / 100
FROM GENERATE_SERIES(1, {rows});
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(port: int, server: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"emulator exited with {server.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("emulator did not start in time")


def read_raw(port: int, batch_rows: int, out: mp.Queue[tuple[int, float, int]]) -> None:
    import mssql_python
    import pyarrow  # noqa: F401  (mssql-python imports it lazily: keep that out of the timing)

    connection = mssql_python.connect(
        f"Server=tcp:127.0.0.1,{port};Database={DATABASE};UID={USER};PWD={PASSWORD};Encrypt=no",
        autocommit=True,
    )
    cursor = connection.cursor()
    started = time.perf_counter()
    cursor.execute(RAW_SELECT, ())
    rows = sum(batch.num_rows for batch in cursor.arrow_reader(batch_rows))
    elapsed = time.perf_counter() - started
    connection.close()
    out.put((rows, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def read_connector(port: int, batch_rows: int, out: mp.Queue[tuple[int, float, int]]) -> None:
    from flowservice.connectors.sqlserver.connector import SqlServerConnector

    connector = SqlServerConnector(
        {
            "connectionString": f"Data Source=127.0.0.1,{port};Initial Catalog={DATABASE};"
            f"User ID={USER};Password={PASSWORD};Encrypt=false"
        }
    )
    started = time.perf_counter()
    rows = sum(batch.num_rows for batch in connector.read("dbo.bench", batch_rows=batch_rows))
    elapsed = time.perf_counter() - started
    out.put((rows, elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))


def run_child(target: Callable[..., None], port: int, batch_rows: int) -> tuple[int, float, int]:
    """Run one reader in a fresh process so its peak memory is its own."""
    context = mp.get_context("spawn")
    out: mp.Queue[tuple[int, float, int]] = context.Queue()
    child = context.Process(target=target, args=(port, batch_rows, out))
    child.start()
    result = out.get(timeout=3600)
    child.join()
    return result


def start_emulator(port: int, script: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "mssql_emulator", "--host", "127.0.0.1", "--port", str(port),
        "--user", USER, "--password", PASSWORD, "--database", DATABASE, "--init", str(script),
    ]  # fmt: skip
    return subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def time_listing(tables: int, scratch: Path) -> None:
    """Create ``tables`` tables and time the connector's one catalog query over them."""
    from flowservice.connectors.sqlserver.connector import SqlServerConnector

    script = scratch / "tables.sql"
    script.write_text(
        "CREATE SCHEMA wide;\n"
        + "\n".join(
            f"CREATE TABLE wide.t{i:06d} (id int, name nvarchar(20));" for i in range(tables)
        )
    )
    port = free_port()
    print(f"creating {tables:,} tables ...", flush=True)
    server = start_emulator(port, script)
    try:
        wait_for(port, server, timeout=3600)
        connector = SqlServerConnector(
            {
                "connectionString": f"Data Source=127.0.0.1,{port};Initial Catalog={DATABASE};"
                f"User ID={USER};Password={PASSWORD};Encrypt=false"
            }
        )
        timings = []
        for _ in range(3):
            started = time.perf_counter()
            found = connector.list_objects()
            timings.append(time.perf_counter() - started)
            if len(found) != tables:
                raise SystemExit(f"listed {len(found)} tables, expected {tables}")
        print(f"list_objects over {tables:,} tables: best {min(timings):.2f} s (target < 2 s)")
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-rows", type=int, default=65536)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--list-tables", type=int, default=0, metavar="N")
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory() as scratch:
        script = Path(scratch) / "init.sql"
        script.write_text(init_script(args.rows))
        print(f"loading {args.rows:,} rows into the emulator ...", flush=True)
        loading = time.perf_counter()
        server = start_emulator(port, script)
        try:
            wait_for(port, server, timeout=1800)
            print(f"loaded in {time.perf_counter() - loading:.1f} s", flush=True)
            raw: list[tuple[int, float, int]] = []
            ours: list[tuple[int, float, int]] = []
            for round_ in range(args.repeat):  # alternate who goes first: the server warms up
                if round_ % 2:
                    ours.append(run_child(read_connector, port, args.batch_rows))
                    raw.append(run_child(read_raw, port, args.batch_rows))
                else:
                    raw.append(run_child(read_raw, port, args.batch_rows))
                    ours.append(run_child(read_connector, port, args.batch_rows))
        finally:
            server.terminate()
            server.wait(timeout=30)
        if args.list_tables:
            time_listing(args.list_tables, Path(scratch))

    for label, runs in (("raw arrow_reader", raw), ("SqlServerConnector.read", ours)):
        rows, best, _ = min(runs, key=lambda r: r[1])
        if rows != args.rows:
            raise SystemExit(f"{label} read {rows} rows, expected {args.rows}")
        print(
            f"{label:<24} {rows / best:>12,.0f} rows/s  best {best:.2f} s  "
            f"peak RSS {max(r[2] for r in runs) / 1024:.0f} MiB"
        )
    ratio = min(r[1] for r in ours) / min(r[1] for r in raw)
    print(f"ratio connector/raw time: {ratio:.3f} (target <= 1.1)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
