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
import resource
import tempfile
import time
from pathlib import Path

from bench_table import (
    DATABASE,
    PASSWORD,
    USER,
    Reading,
    init_script,
    read_raw,
    run_child,
)

from flowservice.demo.processes import ChildProcess, free_port, start_emulator


def read_connector(port: int, batch_rows: int, out: mp.Queue[Reading]) -> None:
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


def emulator(home: Path, port: int, script: Path) -> ChildProcess:
    """The emulator loaded with ``script``, in its own process (log in ``home``)."""
    return start_emulator(
        home=home, port=port, user=USER, password=PASSWORD, database=DATABASE,
        init=script, timeout=3600,
    )  # fmt: skip


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
    server = emulator(scratch, port, script)
    try:
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
        server.stop()


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
        server = emulator(Path(scratch), port, script)
        try:
            print(f"loaded in {time.perf_counter() - loading:.1f} s", flush=True)
            raw: list[Reading] = []
            ours: list[Reading] = []
            for round_ in range(args.repeat):  # alternate who goes first: the server warms up
                if round_ % 2:
                    ours.append(run_child(read_connector, port, args.batch_rows))
                    raw.append(run_child(read_raw, port, args.batch_rows))
                else:
                    raw.append(run_child(read_raw, port, args.batch_rows))
                    ours.append(run_child(read_connector, port, args.batch_rows))
        finally:
            server.stop()
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
