"""Flow runs on the Celery executor with 1 worker process and with 2, in the same sitting.

Usage: ``.venv/bin/python bench/scale.py [--flows 20] [--rows 200000] [--rounds 3]
[--concurrency 1] [--database-url postgresql+psycopg://...]``

Every part is its own OS process, as in a deployment: the SQL Server emulator,
``redis-server``, PostgreSQL (a fresh database on the server of
``--database-url``, default ``$FLOWSERVICE_TEST_POSTGRES_URL``; ``.ci/start-postgres.sh``
starts one and prints its URL), one ``flowservice serve`` (the scheduler leader, it
executes nothing) and the ``flowservice worker`` processes. ``--flows`` flows each copy
the same ``--rows``-row, 10-column table into a dataset of their own.

Each round measures both sizes, in alternating order: start the workers, ask for one
run of every flow at once (``POST /runs``), wait until all have finished (polling the
run rows in PostgreSQL), stop the workers. The time is from the first request to the
last run's end; every run must succeed with all its rows. It prints, per worker count,
the median over the rounds of runs per minute and rows per second, and the ratio of the
two throughputs (1.0 = no gain from the second worker; 2.0 = linear).

Then one accounting pass with 2 workers counts what a run costs the shared services:
PostgreSQL transactions (``pg_stat_database``) and Redis commands and queue pushes
(``INFO``), each less the background rate of the idle cluster measured just before,
divided by the runs. These are the figures behind ``docs/scaling.md``'s arithmetic.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psutil
import psycopg
import redis
from bench_table import DATABASE, PASSWORD, USER, init_script
from ingest import create_flow
from list_scale import postgres_database
from sqlalchemy.engine import make_url

from flowservice.demo.processes import free_port, service_env, start_emulator, start_service
from flowservice.demo.walkthrough import FINAL_STATUSES, Access, Walkthrough
from flowservice.settings import API_PREFIX

# pg_stat_database: a backend reports its counts at most once a second, and an idle one
# within 10 s; waiting this long before reading makes the counts complete
STATS_SETTLE_SECONDS = 11.0


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU of a process, its live descendants and the children it has reaped."""
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


@dataclass
class Phase:
    workers: int
    seconds: float
    cpu: dict[str, float]  # CPU seconds of the phase by role: workers, emulator, server

    def runs_per_minute(self, flows: int) -> float:
        return flows / self.seconds * 60

    def rows_per_second(self, flows: int, rows: int) -> float:
        return flows * rows / self.seconds


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """A throw-away ``redis-server`` (no persistence) on a free loopback port; its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed (scripts/bootstrap.sh test installs it)")
    port = free_port()
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    argv += ["no", "--dir", str(folder)]
    process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(timeout=30)


class Workers:
    """``flowservice worker`` processes, started together and stopped together."""

    def __init__(self, home: Path, env: dict[str, str], count: int, concurrency: int) -> None:
        self.processes: list[subprocess.Popen[bytes]] = []
        self.logs = [home / f"worker-{time.monotonic_ns()}-{i}.log" for i in range(count)]
        argv = [sys.executable, "-m", "flowservice", "worker", "--home", str(home)]
        argv += ["--concurrency", str(concurrency)]
        for log_path in self.logs:
            with log_path.open("wb") as log:
                self.processes.append(
                    subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        deadline = time.monotonic() + 120
        while not all(" ready." in p.read_text(errors="replace") for p in self.logs):
            if any(p.poll() is not None for p in self.processes) or time.monotonic() > deadline:
                self.stop()
                raise SystemExit(f"a worker did not start; see {self.logs}")
            time.sleep(0.2)

    def cpu_seconds(self) -> float:
        return sum(tree_cpu_seconds(p.pid) for p in self.processes)

    def runs_done(self) -> list[int]:
        return [p.read_text(errors="replace").count("run succeeded") for p in self.logs]

    def stop(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            process.wait(timeout=120)


class Cluster:
    """The emulator, Redis, a fresh PostgreSQL database and one API server, with the flows."""

    def __init__(self, stack: ExitStack, args: argparse.Namespace) -> None:
        self.home = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="scale-")))
        self.database_url = stack.enter_context(postgres_database(args.database_url))
        self.broker_url = stack.enter_context(redis_server(self.home))
        self.concurrency, self.flow_count, self.rows = args.concurrency, args.flows, args.rows
        self.settings = {
            "FLOWSERVICE_EXECUTOR": "celery",
            "FLOWSERVICE_BROKER_URL": self.broker_url,
            "FLOWSERVICE_DATABASE_URL": self.database_url,
            "FLOWSERVICE_LOG_LEVEL": "INFO",
        }
        init = self.home / "bench.sql"
        init.write_text(init_script(args.rows), encoding="utf-8")
        sql_port = free_port()
        print(f"loading {args.rows:,} rows into the emulator ...", flush=True)
        emulator = start_emulator(
            home=self.home, port=sql_port, user=USER, password=PASSWORD, database=DATABASE,
            init=init, timeout=3600,
        )  # fmt: skip
        stack.callback(emulator.stop)
        self.emulator_pid = emulator.pid
        api_port = free_port()
        # the server only plans and submits: no source-reader children for it
        server_settings = {**self.settings, "FLOWSERVICE_ISOLATED_SOURCE_READS": "false"}
        service = start_service(
            home=self.home, port=api_port, timeout=120, settings=server_settings
        )
        stack.callback(service.stop)
        self.server_pid = service.pid
        issued = self._token()
        access = Access(
            f"http://127.0.0.1:{api_port}",
            issued["accessToken"],
            issued["apiKey"],
            issued["orgId"],
        )
        self.walk = Walkthrough(access, print, secrets=(PASSWORD, issued["accessToken"]))
        stack.callback(self.walk.close)
        self.flows = [create_flow(self.walk, sql_port) for _ in range(args.flows)]
        self.pg = psycopg.connect(
            make_url(self.database_url).set(drivername="postgresql").render_as_string(False),
            autocommit=True,
        )
        stack.callback(self.pg.close)
        self.redis = redis.Redis.from_url(self.broker_url)
        stack.callback(self.redis.close)
        self.polls = 0
        self.last_busy = 0.0

    def _token(self) -> dict[str, str]:
        argv = [sys.executable, "-m", "flowservice", "auth", "token", "--org", "SCALE@AdobeOrg"]
        argv += ["--client-id", "bench", "--json", "--home", str(self.home)]
        env = {**service_env(), **self.settings}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
        if done.returncode != 0:
            raise SystemExit(f"flowservice auth token failed: {done.stderr.strip()}")
        issued: dict[str, str] = json.loads(done.stdout)
        return issued

    def workers(self, count: int) -> Workers:
        env = {**service_env(), **self.settings}
        return Workers(self.home, env, count, self.concurrency)

    def cpu_seconds(self, workers: Workers) -> dict[str, float]:
        return {
            "workers": workers.cpu_seconds(),
            "emulator": tree_cpu_seconds(self.emulator_pid),
            "server": tree_cpu_seconds(self.server_pid),
        }

    def _unfinished(self, run_ids: list[str]) -> int:
        self.polls += 1
        row = self.pg.execute(
            "SELECT count(*) FROM resources WHERE id = ANY(%s) AND state <> ALL(%s)",
            (run_ids, list(FINAL_STATUSES)),
        ).fetchone()
        assert row is not None
        return int(row[0])

    def run_all(self) -> float:
        """One run of every flow at once; seconds from the first request to the last end."""
        started = time.monotonic()
        run_ids = [
            str(self.walk.call("POST", f"{API_PREFIX}/runs", body={"flowId": f}, expect=201,
                               quiet=True)["id"])
            for f in self.flows
        ]  # fmt: skip
        while self._unfinished(run_ids):
            time.sleep(0.1)
        elapsed = time.monotonic() - started
        busy = 0.0
        for run_id in run_ids:
            run = self.walk.call("GET", f"{API_PREFIX}/runs/{run_id}", quiet=True)["items"][0]
            status = run["metrics"]["statusSummary"]["status"]
            copied = run["metrics"]["recordSummary"].get("outputRecordCount")
            assert status == "success", run["metrics"]["statusSummary"]
            assert copied == self.rows, f"run {run_id} copied {copied} rows, not {self.rows}"
            duration = run["metrics"]["durationSummary"]
            busy += (duration["completedAtUTC"] - duration["startedAtUTC"]) / 1000
        self.last_busy = busy
        return elapsed

    def counters(self) -> dict[str, float]:
        """PostgreSQL transactions of the database; Redis commands and list pushes."""
        self.polls += 1
        row = self.pg.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        ).fetchone()
        assert row is not None
        stats = self.redis.info("stats")
        pushes = self.redis.info("commandstats").get("cmdstat_lpush", {}).get("calls", 0)
        return {
            "pg_transactions": float(row[0]) - self.polls,  # less this script's own queries
            "redis_commands": float(stats["total_commands_processed"]),
            "queue_pushes": float(pushes),
            "at": time.monotonic(),
        }


def measure(cluster: Cluster, workers: int) -> Phase:
    running = cluster.workers(workers)
    try:
        before = cluster.cpu_seconds(running)
        seconds = cluster.run_all()
        after = cluster.cpu_seconds(running)
    finally:
        running.stop()
    phase = Phase(workers, seconds, {k: after[k] - before[k] for k in after})
    rate = phase.runs_per_minute(cluster.flow_count)
    spent = ", ".join(f"{k} {v:.1f}" for k, v in phase.cpu.items())
    print(
        f"  {workers} worker(s): {seconds:6.2f} s, {rate:6.1f} runs/min; CPU s: {spent}; "
        f"runs in progress on average {cluster.last_busy / seconds:.2f}; "
        f"runs per worker {running.runs_done()}",
        flush=True,
    )
    return phase


def account(cluster: Cluster) -> dict[str, float]:
    """Per-run PostgreSQL transactions and Redis commands with 2 workers, background removed."""
    running = cluster.workers(2)
    try:
        time.sleep(STATS_SETTLE_SECONDS)
        idle_start = cluster.counters()
        time.sleep(20)
        idle_end = cluster.counters()
        cluster.run_all()
        time.sleep(STATS_SETTLE_SECONDS)
        busy_end = cluster.counters()
    finally:
        running.stop()
    idle_seconds = idle_end["at"] - idle_start["at"]
    busy_seconds = busy_end["at"] - idle_end["at"]
    per_run = {}
    for key in ("pg_transactions", "redis_commands", "queue_pushes"):
        background = (idle_end[key] - idle_start[key]) / idle_seconds
        total = busy_end[key] - idle_end[key]
        per_run[key] = (total - background * busy_seconds) / cluster.flow_count
        per_run[f"{key}_idle_per_s"] = background
    return per_run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", type=int, default=20)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=1, help="runs at once per worker")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("FLOWSERVICE_TEST_POSTGRES_URL"),
        help="a PostgreSQL server to create the bench's database on",
    )
    args = parser.parse_args()
    if not args.database_url:
        parser.error("needs PostgreSQL: pass --database-url (.ci/start-postgres.sh prints one)")
    with ExitStack() as stack:
        cluster = Cluster(stack, args)
        phases: dict[int, list[Phase]] = {1: [], 2: []}
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}/{args.rounds}", flush=True)
            for workers in (1, 2) if round_ % 2 == 0 else (2, 1):
                phases[workers].append(measure(cluster, workers))
        costs = account(cluster)
    flows, rows = args.flows, args.rows
    print(
        f"{flows} flows x {rows:,} rows, {args.rounds} rounds, "
        f"--concurrency {args.concurrency} per worker, {os.cpu_count()} cores"
    )
    medians = {}
    for workers, measured in phases.items():
        seconds = statistics.median(p.seconds for p in measured)
        medians[workers] = seconds
        every = ", ".join(f"{p.seconds:.1f}" for p in measured)
        print(
            f"  {workers} worker(s): median {seconds:.2f} s [{every}]: "
            f"{flows / seconds * 60:.1f} runs/min, {flows * rows / seconds:,.0f} rows/s"
        )
    print(f"  throughput 2 workers / 1 worker: x{medians[1] / medians[2]:.2f}")
    for role in ("workers", "emulator", "server"):
        spent = statistics.median(p.cpu[role] for m in phases.values() for p in m)
        print(f"  CPU per run, {role}: {spent / flows:.2f} s (median over all phases)")
    print(
        f"  per run: {costs['pg_transactions']:.0f} PostgreSQL transactions, "
        f"{costs['redis_commands']:.0f} Redis commands, {costs['queue_pushes']:.1f} queue pushes"
    )
    print(
        f"  idle cluster (1 server, 2 workers): "
        f"{costs['pg_transactions_idle_per_s']:.1f} PostgreSQL transactions/s, "
        f"{costs['redis_commands_idle_per_s']:.1f} Redis commands/s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
