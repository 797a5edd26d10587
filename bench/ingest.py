"""A 10-column table from the emulator into a dataset through real flow runs over HTTP.

Usage: ``.venv/bin/python bench/ingest.py [--rows 1000000] [--repeat 3] [--scale-check
[--scale-factor 10] [--scale-repeat 1]]`` (also ``--poll-seconds 0.5``, and
``--set FLOWSERVICE_X=value`` for service settings, e.g.
``--set FLOWSERVICE_SOURCE_READ_PARTS=1`` or ``--set FLOWSERVICE_ISOLATED_SOURCE_READS=false``
to compare read strategies)

The emulator (``python -m mssql_emulator``) and the service (``flowservice serve``,
default settings) each run in their own process. The script creates connection,
dataset, source/target connections and a flow through the API, then ``--repeat``
times, alternately: reads the table with raw mssql-python ``cursor.arrow_reader``
in a fresh child process, and runs the flow on demand (``POST /runs``) and polls it
to the end (one ``GET /runs/{id}`` every ``--poll-seconds``: API work that competes
with the run). Alternating puts both under the same machine noise; each pair gives
a ratio run time / raw read time (the run time is the run's own
``durationSummary``: connect, read, Delta commit), and the median of the pairs is
compared with the target (≤ 1.3). The service process's own CPU time per run (it
conforms and writes; the source is read in forked processes) is printed too: on
shared cores it is steadier than the ratio. Memory: the peak, over the whole measurement, of
the service's process tree, as PSS (shared pages split between the processes that
map them, so the service and the source-read processes it forks are each counted
once; target under 400 MB), next to the service process's own peak RSS.
``--scale-check`` runs ``--rows`` and ``--scale-factor`` × ``--rows`` (default 5; 10
compares 1 M with 10 M rows) on fresh processes and prints both ratios and memory peaks:
the peaks should stay flat while the table grows. ``--scale-repeat`` sets the pairs for the
larger size (default: ``--repeat``), since a 10 M-row pair takes minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import psutil
from bench_table import DATABASE, PASSWORD, USER, init_script, read_raw, run_child

from flowservice.demo.processes import free_port, issue_token, start_emulator, start_service
from flowservice.demo.walkthrough import (
    DATA_LAKE_SPEC_ID,
    FLOW_SPEC_ID,
    SQLSERVER_SPEC_ID,
    Access,
    Walkthrough,
)

MB = 1024 * 1024


def raw_read_seconds(port: int, rows: int) -> float:
    """One raw ``arrow_reader`` read of the table, in a fresh process."""
    got, elapsed, _ = run_child(read_raw, port, 65536)
    assert got == rows, f"raw read returned {got} rows, expected {rows}"
    return elapsed


class MemorySampler:
    """Peak PSS of a process tree and peak RSS of its root, sampled in a thread."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self._process = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak_tree_pss = 0
        self.peak_rss = 0
        self._thread = threading.Thread(target=self._run, daemon=True)

    def tree_pss(self) -> int:
        total = 0
        for process in [self._process, *self._process.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                total += int(process.memory_full_info().pss)
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                self.peak_rss = max(self.peak_rss, int(self._process.memory_info().rss))
            self.peak_tree_pss = max(self.peak_tree_pss, self.tree_pss())
            self._stop.wait(self._interval)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class Measured:
    rows: int
    pairs: list[tuple[float, float]]  # (raw read seconds, run seconds), in the order measured
    baseline_pss: int
    peak_pss: int
    peak_rss: int
    service_cpu: list[float]  # CPU seconds of the service process itself per run (the writer)

    @property
    def ratios(self) -> list[float]:
        return [run / raw for raw, run in self.pairs]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)


def create_flow(walk: Walkthrough, port: int) -> str:
    """Every resource up to a full-copy flow whose own schedule lies a day ahead."""
    connection_string = (
        f"Data Source=127.0.0.1,{port};Initial Catalog={DATABASE};Integrated Security=False;"
        f"User ID={USER};Password={PASSWORD};Encrypt=False;"
    )
    sdk = walk.sdk
    conn = sdk.connections.create(
        {
            "name": "bench",
            "auth": {
                "specName": "Connection String Based Authentication",
                "params": {"connectionString": connection_string},
            },
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        }
    ).id
    dataset_id = sdk.datasets.create({"name": "bench"}).id
    source = sdk.source_connections.create(
        {
            "name": "bench source",
            "baseConnectionId": conn,
            "data": {"format": "tabular"},
            "params": {"tableName": "dbo.bench"},
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        }
    ).id
    target = sdk.target_connections.create(
        {
            "name": "bench target",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": dataset_id},
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
        }
    ).id
    return sdk.flows.create(
        {
            "name": "bench flow",
            "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [{"name": "Copy", "params": {}}],
            "scheduleParams": {"startTime": str(int(time.time()) + 86400), "frequency": "once"},
        }
    ).id


def run_on_demand(walk: Walkthrough, flow: str, rows: int, poll_seconds: float) -> float:
    """``POST /runs`` for ``flow``, polled to the end; the run's own duration in seconds."""
    run_id = walk.sdk.flows.run(flow).id
    while True:
        time.sleep(poll_seconds)
        run = walk.sdk.runs.get(run_id)
        if run.finished:
            break
    metrics = run.metrics
    assert run.succeeded, metrics.get("statusSummary")
    copied = int(metrics["recordSummary"]["outputRecordCount"])
    assert copied == rows, f"the run copied {copied} rows, expected {rows}"
    duration = metrics["durationSummary"]
    return (int(duration["completedAtUTC"]) - int(duration["startedAtUTC"])) / 1000


def measure(rows: int, repeat: int, poll_seconds: float, settings: dict[str, str]) -> Measured:
    """Fresh emulator and service; ``repeat`` pairs of (raw read, flow run), memory sampled."""
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
            service = start_service(
                home=home,
                port=api_port,
                timeout=120,
                settings={"FLOWSERVICE_LOG_LEVEL": "WARNING", **settings},
            )
            issued = issue_token(home, org="BENCH@AdobeOrg", client_id="bench")
            access = Access(
                f"http://127.0.0.1:{api_port}",
                issued["accessToken"],
                issued["apiKey"],
                issued["orgId"],
            )
            walk = Walkthrough(access, print, secrets=(PASSWORD, issued["accessToken"]))
            walk.transport.quiet = True
            flow = create_flow(walk, sql_port)
            sampler = MemorySampler(service.pid)
            time.sleep(1.0)  # let the service finish starting its helpers
            baseline = sampler.tree_pss()
            pairs = []
            cpu: list[float] = []
            with sampler:
                for _ in range(repeat):
                    raw = raw_read_seconds(sql_port, rows)
                    spent = _cpu_seconds(service.pid)
                    run = run_on_demand(walk, flow, rows, poll_seconds)
                    print(f"[{rows:,} rows] raw read {raw:.2f} s, flow run {run:.2f} s", flush=True)
                    pairs.append((raw, run))
                    cpu.append(_cpu_seconds(service.pid) - spent)
            walk.close()
        finally:
            if service is not None:
                service.stop()
            emulator.stop()
    return Measured(rows, pairs, baseline, sampler.peak_tree_pss, sampler.peak_rss, cpu)


def _cpu_seconds(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return float(times.user + times.system)


def report(m: Measured) -> None:
    raw = min(r for r, _ in m.pairs)
    run = min(r for _, r in m.pairs)
    print(f"[{m.rows:,} rows]")
    print(f"  raw arrow_reader read (best): {raw:7.2f} s  {m.rows / raw:12,.0f} rows/s")
    print(f"  flow run, read+write (best):  {run:7.2f} s  {m.rows / run:12,.0f} rows/s")
    pairs = ", ".join(f"{r:.2f}" for r in m.ratios)
    print(f"  ratio run / raw read: median {m.ratio:.2f} of pairs [{pairs}]  (target <= 1.3)")
    cpu = ", ".join(f"{c:.2f}" for c in m.service_cpu)
    print(
        f"  service process CPU per run (its writer; source reads are other processes): "
        f"median {statistics.median(m.service_cpu):.2f} s of [{cpu}]"
    )
    print(
        f"  memory: service tree PSS {m.baseline_pss / MB:.0f} MB before the runs, "
        f"peak {m.peak_pss / MB:.0f} MB (target < 400 MB); "
        f"service process peak RSS {m.peak_rss / MB:.0f} MB",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="pairs of raw read and flow run")
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=0.5,
        help="how often the run is polled (each poll is an API request the service serves)",
    )
    parser.add_argument(
        "--scale-check",
        action="store_true",
        help="also run --scale-factor x --rows and compare ratios and memory peaks",
    )
    parser.add_argument("--scale-factor", type=int, default=5, help="the larger size's multiple")
    parser.add_argument(
        "--scale-repeat", type=int, default=None, help="pairs at the larger size (default --repeat)"
    )
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="FLOWSERVICE_X=VALUE",
        help="a service setting (repeatable)",
    )
    args = parser.parse_args()
    settings = dict(item.split("=", 1) for item in args.set)
    sizes = [(args.rows, args.repeat)]
    if args.scale_check:
        large_repeat = args.repeat if args.scale_repeat is None else args.scale_repeat
        sizes.append((args.rows * args.scale_factor, large_repeat))
    results = []
    for rows, repeat in sizes:
        results.append(measure(rows, repeat, args.poll_seconds, settings))
        report(results[-1])
    if args.scale_check:
        small, large = results
        print(
            f"scale check: peak PSS {small.peak_pss / MB:.0f} MB at {small.rows:,} rows, "
            f"{large.peak_pss / MB:.0f} MB at {large.rows:,} rows "
            f"(x{large.peak_pss / small.peak_pss:.2f} for x{large.rows / small.rows:.0f} rows); "
            f"run / raw read median {small.ratio:.2f} and {large.ratio:.2f} "
            f"(targets: peaks under 400 MB, flat; at most 1.2 at {large.rows:,} rows)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
