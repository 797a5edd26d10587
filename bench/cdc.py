"""A Change Tracking merge run against a full copy of the same 1 M-row table, in one sitting.

Usage: ``.venv/bin/python bench/cdc.py [--rows 1000000] [--change-percent 1] [--rounds 3]``
(also ``--poll-seconds 0.5``, ``--run-timeout 1800``, and ``--set FLOWSERVICE_X=value`` for
service settings, as in ``bench/ingest.py``; any variable of the service's environment can be
set that way, e.g. ``--set _RJEM_MALLOC_CONF=...`` for the jemalloc inside deltalake)

The emulator and ``flowservice serve`` (default settings) run in their own processes, as in
``bench/ingest.py``. The table is ingest's 10-column table with its ``bigint`` primary key;
Change Tracking is switched on for the database and the table through mssql-python with
autocommit. Two flows read it: A copies it whole (no ``cdcEnabled``, no deltaColumn: each run
overwrites its dataset) and B merges its changes (source ``cdcEnabled: true``, target
``writeMode: merge``). A's first copy and B's first run (its snapshot) come first. Then each
round changes ``--change-percent`` of the rows at the source, with one autocommit statement
each: 80 % of the changes are updates of rows spread over the whole key range
(``id % stride = round``), 10 % deletes (also spread) and 10 % inserts of new keys past the
highest. Then A and B run on demand (``POST /runs``, polled every ``--poll-seconds``), in
alternating order from round to round so both see the same machine noise; a run's time is
its own ``durationSummary`` (connect, read, write, Delta commit). Each round prints both
times, where they went (``copyActivity``: reading the source; ``promotionActivity``: the
write or merge after the last batch), what the lake recorded in B's merge commit (files
rewritten, unchanged rows copied), and B/A; the median of the rounds
is compared with the target (<= 0.25). Memory: the peak PSS of the service's process tree
during each kind of run (target < 500 MB), sampled as ``bench/ingest.py`` does, and what it
still holds 2 s after the last run.

After the last round B's dataset must hold the source's rows: the bench compares the row
count and the sums of ``id`` and ``qty`` (which every update changes) of the source with
B's Delta table, read directly from its ``basePath``, then times
``POST /flows/{flowId}/verify`` on B and on A ("verify: not available" without the route).
Exits 1 when B's dataset differs from the source.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import mssql_python
import pyarrow as pa
import pyarrow.compute as pc
from bench_table import DATABASE, PASSWORD, USER, init_script, insert_statement
from deltalake import DeltaTable
from ingest import MB, MemorySampler

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

TABLE = "dbo.bench"
TARGET_RATIO = 0.25
TARGET_PSS = 500 * MB
VERIFY_TIMEOUT_SECONDS = 1800


class Source:
    """The source database through mssql-python, every statement in autocommit."""

    def __init__(self, port: int) -> None:
        self._connection = mssql_python.connect(
            f"Server=tcp:127.0.0.1,{port};Database={DATABASE};UID={USER};PWD={PASSWORD};Encrypt=no",
            autocommit=True,
        )

    def execute(self, sql: str) -> int:
        """Run one statement; the rows it changed (-1 for DDL)."""
        cursor = self._connection.cursor()
        cursor.execute(sql)
        count = int(cursor.rowcount)
        cursor.close()
        return count

    def row(self, sql: str) -> tuple[Any, ...]:
        cursor = self._connection.cursor()
        cursor.execute(sql)
        found = cursor.fetchone()
        cursor.close()
        assert found is not None, sql
        return tuple(found)

    def close(self) -> None:
        self._connection.close()


@dataclass(frozen=True)
class ChangePlan:
    """How many rows a round updates, deletes and inserts, and where."""

    rows: int
    percent: float

    @property
    def changes(self) -> int:
        return max(3, round(self.rows * self.percent / 100))

    @property
    def updates(self) -> int:
        return self.changes * 8 // 10

    @property
    def inserts(self) -> int:
        return self.changes // 10

    @property
    def deletes(self) -> int:
        return self.changes - self.updates - self.inserts

    def statements(self, round_no: int, next_key: int) -> list[tuple[str, str]]:
        """(kind, SQL) for one round; updates and deletes fall on keys spread over the table."""
        update_stride = max(1, self.rows // self.updates)
        delete_stride = max(2, self.rows // self.deletes)
        return [
            (
                "updated",
                "UPDATE dbo.bench SET qty = qty + 1, note = CONCAT('round "
                f"{round_no} ', id), amount = amount + 1 "
                f"WHERE id % {update_stride} = {round_no % update_stride} AND id <= {self.rows}",
            ),
            (
                "deleted",
                f"DELETE FROM dbo.bench WHERE id % {delete_stride} = "
                f"{delete_stride - 1 - round_no % delete_stride} AND id <= {self.rows}",
            ),
            ("inserted", insert_statement(next_key, next_key + self.inserts - 1)),
        ]


@dataclass(frozen=True)
class RunTimes:
    """One finished run: its own duration, its activities', counts, the tree's peak PSS."""

    seconds: float
    copy_seconds: float
    promotion_seconds: float
    wall_seconds: float
    read: int
    written: int
    merged: str
    tracking: dict[str, Any]
    peak_pss: int

    def describe(self) -> str:
        parts = [
            f"{self.seconds:6.2f} s (copy {self.copy_seconds:.2f} + promotion "
            f"{self.promotion_seconds:.2f}; POST to final poll {self.wall_seconds:.2f})",
            f"read {self.read:,}, wrote {self.written:,}",
        ]
        if self.merged:
            parts.append(self.merged)
        if self.tracking:
            versions = f"{self.tracking.get('fromVersion', '-')}→{self.tracking.get('toVersion')}"
            parts.append(f"versions {versions}")
        parts.append(f"peak PSS {self.peak_pss / MB:.0f} MB")
        return ", ".join(parts)


class Service:
    """The API calls of the bench on one running service."""

    def __init__(self, walk: Walkthrough, access: Access, *, sql_port: int, pid: int) -> None:
        self.walk = walk
        self.access = access
        self.sql_port = sql_port
        self.pid = pid  # the service's; its process tree is what memory counts

    def created(self, path: str, body: dict[str, Any]) -> str:
        return str(self.walk.call("POST", path, body=body, expect=201, quiet=True)["id"])

    def create_flow(self, name: str, *, cdc: bool) -> tuple[str, str]:
        """A base connection, dataset, source, target and flow; (flow id, dataset id)."""
        api = API_PREFIX
        conn = self.created(
            f"{api}/connections",
            {
                "name": f"{name} connection",
                "auth": {
                    "specName": "Connection String Based Authentication",
                    "params": {"connectionString": self._connection_string()},
                },
                "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
            },
        )
        made = self.walk.call(
            "POST", f"{CATALOG_PREFIX}/dataSets", body={"name": name}, expect=201, quiet=True
        )
        dataset = str(made[0]).removeprefix("@/dataSets/")
        source_params: dict[str, Any] = {"tableName": TABLE}
        target_params: dict[str, Any] = {"dataSetId": dataset}
        if cdc:
            source_params["cdcEnabled"] = True
            target_params["writeMode"] = "merge"
        source = self.created(
            f"{api}/sourceConnections",
            {
                "name": f"{name} source",
                "baseConnectionId": conn,
                "data": {"format": "tabular"},
                "params": source_params,
                "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
            },
        )
        target = self.created(
            f"{api}/targetConnections",
            {
                "name": f"{name} target",
                "data": {"format": "parquet_xdm"},
                "params": target_params,
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            },
        )
        flow = self.created(
            f"{api}/flows",
            {
                "name": name,
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [{"name": "Copy", "params": {}}],
                # its own schedule lies a day ahead: only the bench's on-demand runs happen
                "scheduleParams": {"startTime": str(int(time.time()) + 86400), "frequency": "once"},
            },
        )
        return flow, dataset

    def _connection_string(self) -> str:
        return (
            f"Data Source=127.0.0.1,{self.sql_port};Initial Catalog={DATABASE};"
            f"Integrated Security=False;User ID={USER};Password={PASSWORD};Encrypt=False;"
        )

    def run(self, flow: str, *, poll_seconds: float, timeout: float) -> RunTimes:
        """``POST /runs`` for ``flow``, polled to the end, with the tree's PSS sampled."""
        sampler = MemorySampler(self.pid)
        with sampler:
            posted = time.perf_counter()
            run_id = self.created(f"{API_PREFIX}/runs", {"flowId": flow})
            deadline = posted + timeout
            while True:
                time.sleep(poll_seconds)
                found = self.walk.call("GET", f"{API_PREFIX}/runs/{run_id}", quiet=True)
                run = found["items"][0]
                status = run["metrics"]["statusSummary"]
                if status["status"] in FINAL_STATUSES:
                    break
                if time.perf_counter() > deadline:
                    raise TimeoutError(f"run {run_id} still {status['status']} after {timeout} s")
            wall = time.perf_counter() - posted
        assert status["status"] == "success", status
        records = run["metrics"]["recordSummary"]
        activities = {a["id"]: a["durationSummary"] for a in run["activities"]}
        merged = ""
        if "createdRecordCount" in records:
            merged = (
                f"merged +{records['createdRecordCount']:,} ~{records['updatedRecordCount']:,} "
                f"-{records['deletedRecordCount']:,}"
            )
        return RunTimes(
            seconds=_span(run["metrics"]["durationSummary"]),
            copy_seconds=_span(activities.get("copyActivity", {})),
            promotion_seconds=_span(activities.get("promotionActivity", {})),
            wall_seconds=wall,
            read=int(records["inputRecordCount"]),
            written=int(records["outputRecordCount"]),
            merged=merged,
            tracking=status.get("extensions", {}).get("changeTracking", {}),
            peak_pss=sampler.peak_tree_pss,
        )

    def base_path(self, dataset: str) -> str:
        found = self.walk.call("GET", f"{CATALOG_PREFIX}/dataSets/{dataset}", quiet=True)
        return str(found[dataset]["basePath"])

    def verify(self, flow: str) -> dict[str, Any] | None:
        """``POST /flows/{flowId}/verify``'s report, its wall time added; None without the route."""
        with httpx.Client(base_url=self.access.base_url, timeout=VERIFY_TIMEOUT_SECONDS) as http:
            started = time.perf_counter()
            answer = http.post(f"{API_PREFIX}/flows/{flow}/verify", headers=self.access.headers())
            elapsed = time.perf_counter() - started
        if answer.status_code in (404, 405) and "flowId" not in answer.text:
            return None
        answer.raise_for_status()
        report: dict[str, Any] = answer.json()
        report["wallSeconds"] = elapsed
        return report


def _span(duration: dict[str, Any]) -> float:
    if "startedAtUTC" not in duration or "completedAtUTC" not in duration:
        return 0.0
    return (int(duration["completedAtUTC"]) - int(duration["startedAtUTC"])) / 1000


def enable_change_tracking(source: Source) -> None:
    source.execute(
        f"ALTER DATABASE [{DATABASE}] SET CHANGE_TRACKING = ON "
        "(CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON)"
    )
    source.execute("ALTER TABLE [dbo].[bench] ENABLE CHANGE_TRACKING")


def source_sums(source: Source) -> tuple[int, int, int]:
    count, ids, qty = source.row(
        "SELECT COUNT_BIG(*), SUM(id), SUM(CAST(qty AS bigint)) FROM " + TABLE
    )
    return int(count), int(ids), int(qty)


def dataset_sums(base_path: str) -> tuple[int, int, int]:
    """Row count and sums of ``id`` and ``qty`` of a Delta table, read in this process."""
    table = DeltaTable(base_path).to_pyarrow_dataset().to_table(columns=["id", "qty"])
    ids = pc.sum(table.column("id")).as_py() or 0
    qty = pc.sum(table.column("qty").cast("int64")).as_py() or 0
    return table.num_rows, int(ids), int(qty)


@dataclass(frozen=True)
class MergeCommit:
    """What the lake recorded in the table's latest commit, a merge."""

    files_removed: int
    files: int
    rows_copied: int
    rows: int

    def describe(self) -> str:
        return (
            f"merge commit: rewrote {self.files_removed} of {self.files} files, "
            f"copying {self.rows_copied:,} unchanged rows of {self.rows:,}"
        )


def merge_commit(base_path: str) -> MergeCommit:
    """The counts the lake's merge wrote into the table's latest commit."""
    table = DeltaTable(base_path)
    info = table.history(1)[0]
    merged = json.loads(info.get("flowservice.merged", "{}"))
    actions = pa.table(table.get_add_actions(flatten=True))
    return MergeCommit(
        files_removed=int(merged.get("filesRewritten", 0)),
        files=actions.num_rows,
        rows_copied=int(merged.get("rowsCopied", 0)),
        rows=int(pc.sum(actions.column("num_records")).as_py() or 0),
    )


@contextmanager
def started(rows: int, settings: dict[str, str]) -> Iterator[tuple[Service, Source]]:
    """A loaded emulator with Change Tracking on, a service, a token; stopped on the way out."""
    with tempfile.TemporaryDirectory(prefix="flowservice-bench-cdc-") as scratch:
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
        source = None
        walk = None
        try:
            source = Source(sql_port)
            enable_change_tracking(source)
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
            api = Service(walk, access, sql_port=sql_port, pid=service.pid)
            yield api, source
        finally:
            if walk is not None:
                walk.close()
            if source is not None:
                source.close()
            if service is not None:
                service.stop()
            emulator.stop()


@dataclass
class Rounds:
    """What the measurement found, in the order measured."""

    first_copy: RunTimes
    snapshot: RunTimes
    pairs: list[tuple[RunTimes, RunTimes]]  # (full copy A, change run B) per round
    merges: list[MergeCommit]  # B's commit per round
    baseline_pss: int
    idle_pss: int = 0  # after the last run

    @property
    def ratios(self) -> list[float]:
        return [b.seconds / a.seconds for a, b in self.pairs]


def measure(args: argparse.Namespace, settings: dict[str, str]) -> int:
    plan = ChangePlan(args.rows, args.change_percent)
    timing = {"poll_seconds": args.poll_seconds, "timeout": args.run_timeout}
    with started(args.rows, settings) as (api, source):
        flow_a, _ = api.create_flow("bench full copy", cdc=False)
        flow_b, dataset_b = api.create_flow("bench change tracking", cdc=True)
        time.sleep(1.0)  # let the service finish starting its helpers
        baseline = MemorySampler(api.pid).tree_pss()
        first = api.run(flow_a, **timing)
        print(f"A first full copy:  {first.describe()}", flush=True)
        snapshot = api.run(flow_b, **timing)
        print(f"B snapshot (first): {snapshot.describe()}", flush=True)
        assert first.written == snapshot.written == args.rows
        assert snapshot.tracking.get("snapshot") is True, snapshot.tracking
        found = Rounds(first, snapshot, [], [], baseline)
        base_b = api.base_path(dataset_b)
        next_key = args.rows + 1
        for round_no in range(args.rounds):
            began = time.perf_counter()
            changed = {}
            for kind, sql in plan.statements(round_no, next_key):
                changed[kind] = source.execute(sql)
            next_key += plan.inserts
            rows_now = source_sums(source)[0]
            applied = time.perf_counter() - began
            summary = ", ".join(f"{n:,} {kind}" for kind, n in changed.items())
            print(
                f"round {round_no + 1}: {summary} at the source in {applied:.2f} s "
                f"({rows_now:,} rows)",
                flush=True,
            )
            order = [("A", flow_a), ("B", flow_b)]
            if round_no % 2:
                order.reverse()  # alternate, so neither always runs right after the changes
            times = {}
            for label, flow in order:
                times[label] = api.run(flow, **timing)
            full, change = times["A"], times["B"]
            assert full.written == rows_now, f"A copied {full.written:,}, expected {rows_now:,}"
            assert change.tracking.get("snapshot") is False, change.tracking
            print(f"  A full copy:  {full.describe()}")
            print(f"  B change run: {change.describe()}")
            found.merges.append(merge_commit(base_b))
            print(f"    {found.merges[-1].describe()}")
            print(f"  B / A = {change.seconds / full.seconds:.3f}", flush=True)
            found.pairs.append((full, change))
        time.sleep(2.0)  # what the service keeps once the runs are over
        found.idle_pss = MemorySampler(api.pid).tree_pss()
        report(found)
        return check_copy(api, source, flow_a, flow_b, base_b)


def report(found: Rounds) -> None:
    full = [a.seconds for a, _ in found.pairs]
    change = [b.seconds for _, b in found.pairs]
    ratio = statistics.median(found.ratios)
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    listed = ", ".join(f"{r:.3f}" for r in found.ratios)
    print("summary")
    first, snapshot = found.first_copy.seconds, found.snapshot.seconds
    print(f"  A first full copy {first:.2f} s, B snapshot {snapshot:.2f} s")
    print(f"  full copy (A): median {statistics.median(full):.2f} s of {len(full)}")
    print(f"  change run (B): median {statistics.median(change):.2f} s of {len(change)}")
    print(f"  B / A: median {ratio:.3f} of rounds [{listed}] (target <= {TARGET_RATIO}: {verdict})")
    copying = statistics.median(b.copy_seconds for _, b in found.pairs)
    promoting = statistics.median(b.promotion_seconds for _, b in found.pairs)
    rewritten = statistics.median(m.rows_copied / max(m.rows, 1) for m in found.merges)
    print(
        f"  change run (B), medians: copy {copying:.2f} s, promotion (the merge) "
        f"{promoting:.2f} s, copying {rewritten:.0%} of the rows unchanged into new files"
    )
    peaks = {
        "before the runs": found.baseline_pss,
        "during full copies (A)": max(
            [found.first_copy.peak_pss, *(a.peak_pss for a, _ in found.pairs)]
        ),
        "during the snapshot (B)": found.snapshot.peak_pss,
        "during change runs (B)": max(b.peak_pss for _, b in found.pairs),
        "2 s after the last run": found.idle_pss,
    }
    for what, pss in peaks.items():
        print(f"  service tree PSS {what}: {pss / MB:.0f} MB")
    print(f"  (target < {TARGET_PSS / MB:.0f} MB)", flush=True)


def check_copy(api: Service, source: Source, flow_a: str, flow_b: str, base_b: str) -> int:
    """B's dataset against the source (count and sums); then verify on B and on A."""
    expected = source_sums(source)
    got = dataset_sums(base_b)
    same = got == expected
    print(
        f"B's dataset: {got[0]:,} rows, sum(id) {got[1]:,}, sum(qty) {got[2]:,}; source "
        f"{expected[0]:,}, {expected[1]:,}, {expected[2]:,}: {'equal' if same else 'DIFFERENT'}",
        flush=True,
    )
    for label, flow in (("B", flow_b), ("A", flow_a)):
        verified = api.verify(flow)
        if verified is None:
            print("verify: not available")
            break
        print(
            f"verify {label}: equal={verified['equal']} in {verified['wallSeconds']:.2f} s "
            f"(its own {verified['seconds']:.2f} s; source {verified['sourceRowCount']:,} rows, "
            f"dataset {verified['datasetRowCount']:,}; missing {verified['missing']['count']}, "
            f"extra {verified['extra']['count']}, different {verified['different']['count']}; "
            f"{verified['sourcePasses']} source passes, {verified['levels']} levels)",
            flush=True,
        )
        same = same and (label != "B" or bool(verified["equal"]))
    return 0 if same else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument(
        "--change-percent", type=float, default=1.0, help="rows changed per round (percent)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="change rounds, each a pair of runs")
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=0.5,
        help="how often a run is polled (each poll is an API request the service serves)",
    )
    parser.add_argument(
        "--run-timeout", type=float, default=1800, help="seconds before a run counts as stuck"
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
    return measure(args, settings)


if __name__ == "__main__":
    raise SystemExit(main())
