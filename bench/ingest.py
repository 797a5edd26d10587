"""A 10-column table from the emulator into a dataset through a real flow run over HTTP.

Usage: ``.venv/bin/python bench/ingest.py [--rows 1000000] [--scale-check] [--repeat 2]``
(also ``--poll-seconds 0.5``)

The emulator (``python -m mssql_emulator``) and the service (``flowservice serve``)
each run in their own process. For each size the script reads the table with raw
mssql-python ``cursor.arrow_reader`` in a fresh child process (best of ``--repeat``),
then creates connection, dataset, source/target connections and a ``once`` flow
through the API and waits for its run to succeed (one ``GET /runs`` every
``--poll-seconds``, default 0.5 s: each poll is API work that competes with the run),
sampling the service process's resident memory (psutil, every 20 ms) meanwhile.
It prints rows/s of both, the ratio run time / raw read time (target ≤ 1.3; the
run time is the run's own ``durationSummary``, read + Delta commit) and the
service's peak RSS (target under 500 MB). ``--scale-check`` runs ``--rows`` and
5 × ``--rows`` on fresh processes and prints both peaks: memory should stay flat
while the table grows.
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from flowservice.demo.processes import free_port, issue_token, start_emulator, start_service
from flowservice.demo.walkthrough import (
    DATA_LAKE_SPEC_ID,
    FINAL_STATUSES,
    FLOW_SPEC_ID,
    SQLSERVER_SPEC_ID,
    Access,
    Walkthrough,
)
from flowservice.settings import API_PREFIX, CATALOG_PREFIX

COLUMNS = (
    "id bigint NOT NULL PRIMARY KEY, qty int, price decimal(19,4), ratio float, "
    "flag bit, code nvarchar(20), note varchar(40), created datetime2(6), "
    "day date, amount money"
)
NAMES = ("id", "qty", "price", "ratio", "flag", "code", "note", "created", "day", "amount")
# the statement the connector sends for a whole-table read, so the ratio is the product's cost
RAW_SELECT = "SELECT " + ", ".join(f"[{n}]" for n in NAMES) + " FROM [dbo].[bench]"
USER, PASSWORD, DATABASE = "bench", "Bench_Pass1", "benchdb"
MB = 1024 * 1024


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


def _raw_read(port: int, out: mp.Queue[tuple[int, float]]) -> None:
    import mssql_python
    import pyarrow  # noqa: F401  (mssql-python imports it lazily: keep that out of the timing)

    connection = mssql_python.connect(
        f"Server=tcp:127.0.0.1,{port};Database={DATABASE};UID={USER};PWD={PASSWORD};Encrypt=no",
        autocommit=True,
    )
    cursor = connection.cursor()
    started = time.perf_counter()
    cursor.execute(RAW_SELECT, ())
    rows = sum(batch.num_rows for batch in cursor.arrow_reader(65536))
    elapsed = time.perf_counter() - started
    connection.close()
    out.put((rows, elapsed))


def raw_read_seconds(port: int, rows: int) -> float:
    """One raw read in a fresh process (its imports and memory are its own)."""
    context = mp.get_context("spawn")
    out: mp.Queue[tuple[int, float]] = context.Queue()
    child = context.Process(target=_raw_read, args=(port, out))
    child.start()
    got, elapsed = out.get(timeout=3600)
    child.join()
    assert got == rows, f"raw read returned {got} rows, expected {rows}"
    return elapsed


class RssSampler:
    """Peak resident memory of a process and its children, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def current(self) -> int:
        total = int(self._process.memory_info().rss)
        for child in self._process.children(recursive=True):
            with contextlib.suppress(psutil.NoSuchProcess):
                total += int(child.memory_info().rss)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.current())
            self._stop.wait(self._interval)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Measured:
    rows: int
    raw_seconds: float
    run_seconds: float
    wall_seconds: float
    baseline_rss: int
    peak_rss: int

    @property
    def ratio(self) -> float:
        return self.run_seconds / self.raw_seconds


def _created(walk: Walkthrough, path: str, body: dict[str, Any]) -> str:
    return str(walk.call("POST", path, body=body, expect=201, quiet=True)["id"])


def flow_run(
    walk: Walkthrough, port: int, sampler: RssSampler, poll_seconds: float
) -> dict[str, Any]:
    """Every resource up to a ``once`` flow, then its run, polled to the end."""
    api = API_PREFIX
    connection_string = (
        f"Data Source=127.0.0.1,{port};Initial Catalog={DATABASE};Integrated Security=False;"
        f"User ID={USER};Password={PASSWORD};Encrypt=False;"
    )
    conn = _created(
        walk,
        f"{api}/connections",
        {
            "name": "bench",
            "auth": {
                "specName": "Connection String Based Authentication",
                "params": {"connectionString": connection_string},
            },
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        },
    )
    made = walk.call(
        "POST", f"{CATALOG_PREFIX}/dataSets", body={"name": "bench"}, expect=201, quiet=True
    )
    dataset_id = str(made[0]).removeprefix("@/dataSets/")
    source = _created(
        walk,
        f"{api}/sourceConnections",
        {
            "name": "bench source",
            "baseConnectionId": conn,
            "data": {"format": "tabular"},
            "params": {"tableName": "dbo.bench"},
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        },
    )
    target = _created(
        walk,
        f"{api}/targetConnections",
        {
            "name": "bench target",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": dataset_id},
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
        },
    )
    flow = _created(
        walk,
        f"{api}/flows",
        {
            "name": "bench flow",
            "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [{"name": "Copy", "params": {}}],
            "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
        },
    )
    with sampler:
        while True:
            # list items are whole runs: one request per poll, as a client would make
            items = walk.call(
                "GET", f"{api}/runs", params={"property": f"flowId=={flow}"}, quiet=True
            )["items"]
            if items and items[0]["metrics"]["statusSummary"]["status"] in FINAL_STATUSES:
                run: dict[str, Any] = items[0]
                return run
            time.sleep(poll_seconds)


def measure(rows: int, repeat: int, poll_seconds: float) -> Measured:
    """Fresh emulator and service; raw reads; one flow run with the service's RSS sampled."""
    with tempfile.TemporaryDirectory(prefix="flowservice-bench-") as scratch:
        home = Path(scratch)
        init = home / "bench.sql"
        init.write_text(init_script(rows), encoding="utf-8")
        sql_port, api_port = free_port(), free_port()
        print(f"[{rows:,} rows] loading the emulator ...", flush=True)
        emulator = start_emulator(
            home=home, port=sql_port, user=USER, password=PASSWORD, database=DATABASE,
            init=init, timeout=3600,
        )  # fmt: skip
        service = None
        try:
            raw = min(raw_read_seconds(sql_port, rows) for _ in range(repeat))
            print(f"[{rows:,} rows] raw arrow_reader: {raw:.2f} s", flush=True)
            service = start_service(
                home=home,
                port=api_port,
                timeout=120,
                settings={
                    "FLOWSERVICE_SCHEDULER_INTERVAL_SECONDS": "0.2",
                    "FLOWSERVICE_LOG_LEVEL": "WARNING",
                },
            )
            issued = issue_token(home, org="BENCH@AdobeOrg", client_id="bench")
            access = Access(
                f"http://127.0.0.1:{api_port}",
                issued["accessToken"],
                issued["apiKey"],
                issued["orgId"],
            )
            walk = Walkthrough(access, print, secrets=(PASSWORD, issued["accessToken"]))
            sampler = RssSampler(service.pid)
            baseline = sampler.current()
            started = time.perf_counter()
            run = flow_run(walk, sql_port, sampler, poll_seconds)
            wall = time.perf_counter() - started
            walk.close()
        finally:
            if service is not None:
                service.stop()
            emulator.stop()
    metrics = run["metrics"]
    status = metrics["statusSummary"]
    assert status["status"] == "success", status
    copied = int(metrics["recordSummary"]["outputRecordCount"])
    assert copied == rows, f"the run copied {copied} rows, expected {rows}"
    duration = metrics["durationSummary"]
    run_seconds = (int(duration["completedAtUTC"]) - int(duration["startedAtUTC"])) / 1000
    return Measured(rows, raw, run_seconds, wall, baseline, sampler.peak)


def report(m: Measured) -> None:
    print(f"[{m.rows:,} rows]")
    print(
        f"  raw arrow_reader read: {m.raw_seconds:7.2f} s  {m.rows / m.raw_seconds:12,.0f} rows/s"
    )
    print(
        f"  flow run (read+write): {m.run_seconds:7.2f} s  {m.rows / m.run_seconds:12,.0f} rows/s"
    )
    print(f"  ratio run / raw read:  {m.ratio:7.2f}    (target <= 1.3)", flush=True)
    print(f"  wall time, flow created -> run success: {m.wall_seconds:.2f} s")
    print(
        f"  service RSS: {m.baseline_rss / MB:.0f} MB before the run, "
        f"peak {m.peak_rss / MB:.0f} MB (target < 500 MB)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=2, help="raw reads; the best counts")
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=0.5,
        help="how often the run is polled (each poll is an API request the service serves)",
    )
    parser.add_argument(
        "--scale-check", action="store_true", help="also run 5 x --rows and compare RSS peaks"
    )
    args = parser.parse_args()
    sizes = [args.rows, args.rows * 5] if args.scale_check else [args.rows]
    results = []
    for rows in sizes:
        results.append(measure(rows, args.repeat, args.poll_seconds))
        report(results[-1])
    if args.scale_check:
        small, large = results
        print(
            f"scale check: peak RSS {small.peak_rss / MB:.0f} MB at {small.rows:,} rows, "
            f"{large.peak_rss / MB:.0f} MB at {large.rows:,} rows "
            f"(x{large.peak_rss / small.peak_rss:.2f} for x{large.rows / small.rows:.0f} rows)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
