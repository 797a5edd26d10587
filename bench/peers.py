"""flowservice against the tools it is compared with, on the same table of each source.

Usage: ``.venv/bin/python bench/peers.py [--rows 1000000] [--repeat 3]
[--sources sqlserver,postgresql,mariadb] [--tools raw,flowservice,connectorx,dlt]
[--set FLOWSERVICE_X=value]``
(the ``bench`` extra installs dlt and ConnectorX: ``pip install -e ".[bench]"``)

For each source (``peer_sources.py``: SQL Server emulator, PostgreSQL, MariaDB) one
1,000,000-row, 10-column table, then, ``--repeat`` times with the tools in turn:

* ``raw``: the driver flowservice's connector uses, reading the table into Arrow and
  nothing else (SQL Server: mssql-python's ``arrow_reader``; PostgreSQL: ADBC's binary
  COPY; MariaDB: ConnectorX);
* ``flowservice``: a flow run into a dataset, through ``flowservice serve`` (``POST /runs``,
  polled; the run's own duration: connect, read, Parquet and the Delta commit);
* ``connectorx``: ``connectorx.read_sql`` to an Arrow table, then ``deltalake.write_deltalake``;
* ``dlt``: dlt's ``sql_table`` with the pyarrow backend into a ``filesystem`` destination as a
  Delta table.

Each of raw, connectorx and dlt runs in a fresh process, timed from before it connects to
after its last write (imports done first). CPU is the client's: that process's own user +
system seconds, or, for flowservice, those of the service's process tree, sampled every
50 ms so the source-read processes it forks count too. Printed per source: the median wall
time, its ratio to ``raw``, and CPU seconds per million rows. Targets (issue 16): flowservice
at most 1.3x the raw read and faster than ConnectorX + deltalake on every source, and at
least 3x faster than dlt.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import resource
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil
from peer_sources import AUTH_SPEC, Prepared, prepared

from flowservice.demo.processes import free_port, issue_token, start_service
from flowservice.settings import API_PREFIX, CATALOG_PREFIX

DATA_LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC = "14518937-270c-4525-bdec-c2ba7cce3860"
TOOLS = ("raw", "flowservice", "connectorx", "dlt")
SOURCES = ("sqlserver", "postgresql", "mariadb")
PRELOADED = {
    "raw": ("pyarrow", "mssql_python", "adbc_driver_postgresql.dbapi", "connectorx"),
    "connectorx": ("pyarrow", "connectorx", "deltalake"),
    "dlt": ("pyarrow", "deltalake", "dlt", "dlt.sources.sql_database", "sqlalchemy"),
}
# (rows, wall seconds, CPU seconds)
Timing = tuple[int, float, float]


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _raw(ready: Prepared) -> int:
    if ready.source == "sqlserver":
        import mssql_python

        connection = mssql_python.connect(ready.raw_url, autocommit=True)
        cursor = connection.cursor()
        cursor.execute(ready.select, ())
        rows = sum(batch.num_rows for batch in cursor.arrow_reader(65536))
        connection.close()
        return rows
    if ready.source == "postgresql":
        import adbc_driver_postgresql.dbapi as adbc

        with adbc.connect(ready.raw_url) as connection, connection.cursor() as cursor:
            cursor.execute(ready.select)
            return sum(batch.num_rows for batch in cursor.fetch_record_batch())
    import connectorx

    reader = connectorx.read_sql(
        ready.raw_url, ready.select, return_type="arrow_stream", batch_size=65536
    )
    return sum(batch.num_rows for batch in reader)


def _connectorx(ready: Prepared, scratch: Path) -> int:
    import connectorx
    from deltalake import write_deltalake

    table = connectorx.read_sql(ready.connectorx_url, ready.select, return_type="arrow")
    write_deltalake(str(scratch / "cx"), table)
    return int(table.num_rows)


def _dlt(ready: Prepared, scratch: Path) -> int:
    import dlt
    from deltalake import DeltaTable
    from dlt.sources.sql_database import sql_table

    name = ready.table.rsplit(".", 1)[1]
    pipeline = dlt.pipeline(
        pipeline_name="peers",
        pipelines_dir=str(scratch / "pipelines"),
        destination=dlt.destinations.filesystem(bucket_url=str(scratch / "lake")),
        dataset_name="bench",
    )
    resource_ = sql_table(
        credentials=ready.sqlalchemy_url,
        table=name,
        schema=ready.dlt_schema,
        backend="pyarrow",
        chunk_size=100_000,
        table_adapter_callback=_floats_as_floats,
    )
    pipeline.run(resource_, table_format="delta")
    return int(DeltaTable(str(scratch / "lake" / "bench" / name)).to_pyarrow_dataset().count_rows())


def _floats_as_floats(table: Any) -> Any:
    """SQLAlchemy reads MySQL's DOUBLE as decimals (``asdecimal``), whose varying scale makes
    dlt's Delta write fail; a dlt user reading MySQL would turn them back into floats so."""
    import sqlalchemy as sa

    for column in table.columns:
        if isinstance(column.type, sa.Float) and column.type.asdecimal:
            column.type = sa.Float(asdecimal=False)
    return table


def _child(tool: str, ready: Prepared, out: mp.Queue[Timing]) -> None:
    os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"
    for module in PRELOADED[tool]:
        __import__(module)  # imports are not the tool's work
    with tempfile.TemporaryDirectory(prefix=f"flowservice-peers-{tool}-") as scratch:
        cpu, started = _cpu_seconds(), time.perf_counter()
        if tool == "raw":
            rows = _raw(ready)
        elif tool == "connectorx":
            rows = _connectorx(ready, Path(scratch))
        else:
            rows = _dlt(ready, Path(scratch))
        out.put((rows, time.perf_counter() - started, _cpu_seconds() - cpu))


def in_child(tool: str, ready: Prepared) -> Timing:
    context = mp.get_context("spawn")
    out: mp.Queue[Timing] = context.Queue()
    child = context.Process(target=_child, args=(tool, ready, out))
    child.start()
    try:
        return out.get(timeout=3600)
    finally:
        child.join()


class Service:
    """``flowservice serve`` with a flow from the source's table into a new dataset."""

    def __init__(self, home: Path, ready: Prepared, settings: dict[str, str]) -> None:
        port = free_port()
        self.process = start_service(
            home=home,
            port=port,
            timeout=120,
            settings={"FLOWSERVICE_LOG_LEVEL": "WARNING", **settings},
        )
        token = issue_token(home, org="PEERS@AdobeOrg", client_id="peers")
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=120,
            headers={
                "Authorization": f"Bearer {token['accessToken']}",
                "x-api-key": token["apiKey"],
                "x-gw-ims-org-id": token["orgId"],
                "x-sandbox-name": "prod",
            },
        )
        self.ready = ready
        self.flow = self._flow()

    def _create(self, path: str, body: dict[str, Any], prefix: str = API_PREFIX) -> str:
        answer = self.http.post(prefix + path, json=body)
        if answer.status_code != 201:
            raise SystemExit(f"POST {path}: {answer.status_code} {answer.text[:500]}")
        made = answer.json()
        return str(made[0]).removeprefix("@/dataSets/") if isinstance(made, list) else made["id"]

    def _flow(self) -> str:
        spec = {"id": self.ready.spec_id, "version": "1.0"}
        auth = {"specName": AUTH_SPEC, "params": {"connectionString": self.ready.connection_string}}
        base = self._create("/connections", {"name": "peers", "auth": auth, "connectionSpec": spec})
        dataset = self._create("/dataSets", {"name": "peers"}, prefix=CATALOG_PREFIX)
        source = self._create(
            "/sourceConnections",
            {
                "name": "peers source",
                "baseConnectionId": base,
                "data": {"format": "tabular"},
                "params": {"tableName": self.ready.table},
                "connectionSpec": spec,
            },
        )
        target = self._create(
            "/targetConnections",
            {
                "name": "peers target",
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": dataset},
                "connectionSpec": {"id": DATA_LAKE_SPEC, "version": "1.0"},
            },
        )
        return self._create(
            "/flows",
            {
                "name": "peers",
                "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [{"name": "Copy", "params": {}}],
                "scheduleParams": {
                    "startTime": str(int(time.time()) + 86_400),
                    "frequency": "once",
                },
            },
        )

    def tree_cpu(self) -> dict[int, float]:
        """CPU seconds of each process of the service's tree, by pid."""
        root = psutil.Process(self.process.pid)
        seen: dict[int, float] = {}
        for process in [root, *root.children(recursive=True)]:
            try:
                times = process.cpu_times()
            except psutil.NoSuchProcess:
                continue
            seen[process.pid] = times.user + times.system
        return seen

    def run(self) -> Timing:
        """One run; its CPU is sampled every 50 ms over the tree, because the fork server's
        source-read children are reaped by the kernel and their time is lost when they end."""
        before = self.tree_cpu()
        last = dict(before)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.05):
                last.update(self.tree_cpu())

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            run_id = self._create("/runs", {"flowId": self.flow})
            while True:
                time.sleep(0.5)
                runs = self.http.get(f"{API_PREFIX}/runs/{run_id}").json()["items"]
                metrics = runs[0]["metrics"]
                status = metrics["statusSummary"]
                if status["status"] in ("success", "failed", "cancelled"):
                    break
        finally:
            done.set()
            sampler.join()
        last.update(self.tree_cpu())
        if status["status"] != "success":
            raise SystemExit(f"the {self.ready.source} flow run ended {status}")
        duration = metrics["durationSummary"]
        seconds = (int(duration["completedAtUTC"]) - int(duration["startedAtUTC"])) / 1000
        rows = int(metrics["recordSummary"]["outputRecordCount"])
        cpu = sum(seconds_ - before.get(pid, 0.0) for pid, seconds_ in last.items())
        return rows, seconds, cpu

    def stop(self) -> None:
        self.http.close()
        self.process.stop()


@dataclass
class Results:
    rows: int
    wall: dict[str, list[float]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)

    def add(self, tool: str, timing: Timing) -> None:
        rows, wall, cpu = timing
        if rows != self.rows:
            raise SystemExit(f"{tool} read {rows:,} rows, expected {self.rows:,}")
        self.wall.setdefault(tool, []).append(wall)
        self.cpu.setdefault(tool, []).append(cpu)

    def median(self, tool: str) -> float:
        return statistics.median(self.wall[tool])


def measure(
    source: str, rows: int, repeat: int, tools: list[str], settings: dict[str, str]
) -> Results:
    results = Results(rows)
    print(f"[{source}] loading {rows:,} rows ...", flush=True)
    with (
        prepared(source, rows) as ready,
        tempfile.TemporaryDirectory(prefix="flowservice-peers-") as scratch,
    ):
        service = Service(Path(scratch), ready, settings) if "flowservice" in tools else None
        try:
            for round_ in range(repeat):
                for tool in tools:
                    timing = service.run() if service and tool == "flowservice" else None
                    if timing is None:
                        timing = in_child(tool, ready)
                    results.add(tool, timing)
                    print(
                        f"[{source}] round {round_ + 1}: {tool} {timing[1]:.2f} s, "
                        f"CPU {timing[2]:.2f} s",
                        flush=True,
                    )
        finally:
            if service is not None:
                service.stop()
    return results


def report(source: str, results: Results) -> list[str]:
    per_million = 1_000_000 / results.rows
    raw = results.median("raw") if "raw" in results.wall else None
    print(f"\n{source}: {results.rows:,} rows, medians of {len(next(iter(results.wall.values())))}")
    print(f"  {'tool':<24}{'wall s':>9}{'x raw':>8}{'CPU s / M rows':>17}")
    labels = {
        "raw": "raw driver read",
        "flowservice": "flowservice flow run",
        "connectorx": "ConnectorX + deltalake",
        "dlt": "dlt (pyarrow) + Delta",
    }
    for tool in results.wall:
        wall = results.median(tool)
        ratio = f"x{wall / raw:.2f}" if raw else "—"
        cpu = statistics.median(results.cpu[tool]) * per_million
        print(f"  {labels[tool]:<24}{wall:>9.2f}{ratio:>8}{cpu:>17.2f}")
    missed = []
    if "flowservice" in results.wall:
        ours = results.median("flowservice")
        checks = []
        if raw:
            checks.append((f"flowservice <= 1.3x raw (x{ours / raw:.2f})", ours <= 1.3 * raw))
        if "connectorx" in results.wall:
            cx = results.median("connectorx")
            checks.append(
                (f"flowservice faster than ConnectorX+deltalake ({cx / ours:.2f}x)", ours < cx)
            )
        if "dlt" in results.wall:
            dlt = results.median("dlt")
            checks.append(
                (f"flowservice >= 3x faster than dlt ({dlt / ours:.2f}x)", dlt >= 3 * ours)
            )
        for text, met in checks:
            print(f"  target {text}: {'met' if met else 'MISSED'}")
            if not met:
                missed.append(f"{source}: {text}")
    return missed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sources", default=",".join(SOURCES))
    parser.add_argument("--tools", default=",".join(TOOLS))
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="a service setting"
    )
    args = parser.parse_args()
    sources = [s for s in args.sources.split(",") if s]
    tools = [t for t in args.tools.split(",") if t]
    unknown = (set(sources) - set(SOURCES)) | (set(tools) - set(TOOLS))
    if unknown:
        parser.error(f"unknown source or tool: {', '.join(sorted(unknown))}")
    settings = dict(item.split("=", 1) for item in args.set)
    measured = {
        source: measure(source, args.rows, args.repeat, tools, settings) for source in sources
    }
    missed = [line for source, results in measured.items() for line in report(source, results)]
    print("\nall targets met" if not missed else "\nmissed:\n  " + "\n  ".join(missed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
