"""Console page times in an empty sandbox and in one with 1,000 flows and 100,000 runs.

Usage: ``.venv/bin/python bench/console_pages.py [--repeat 5] [--database-url URL]``
(``--database-url postgresql+psycopg://.../db``: a PostgreSQL metadata DB; the bench
creates and drops a database of its own next to the one named)

One ``flowservice serve`` on a temporary home, and the SQL Server emulator in a child
process as the account's live source (so Connect, Add data, the table with its 100-row
preview and the dataflow wizard are timed too). A flow is made through the API and run
once; every page is timed (the median of ``--repeat`` GETs, after one to warm up). Then
999 copies of the flow and 100,000 runs of it are written straight into the metadata DB
(``list_scale``'s way: rows of real run records), and every page is timed again.

Target (issue 15): every page under 1 s in the large sandbox. Prints each page's median in
both sandboxes and the ratio; exits 1 on a page that does not answer 200.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from list_scale import BATCH, FIRST_RUN_US, postgres_database
from sqlalchemy import insert, select

from flowservice.api.runtime import Runtime
from flowservice.demo.processes import free_port, issue_token, service_env, start_service
from flowservice.flows.run_json import run_to_record
from flowservice.flows.run_state import RecordCounts, Run, RunStatus
from flowservice.flows.schedule import EPOCH
from flowservice.settings import API_PREFIX, CATALOG_PREFIX, Settings
from flowservice.store.tables import Resource
from mssql_emulator.testing import running_emulator_process

ORG = "CONSOLEBENCH@AdobeOrg"
SQLSERVER_SPEC = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC = "14518937-270c-4525-bdec-c2ba7cce3860"
FLOWS, RUNS = 1_000, 100_000
TABLE = "crm.People"
INIT = [
    "CREATE SCHEMA crm; CREATE TABLE crm.People (PersonID INT PRIMARY KEY, "
    "Name NVARCHAR(40), Updated DATETIME2 NOT NULL);",
    "INSERT INTO crm.People VALUES "
    + ", ".join(
        f"({i}, N'person {i}', '2024-01-01T{i // 60 % 24:02d}:{i % 60:02d}:00')"
        for i in range(1, 1001)
    ),
]


class Api:
    """The API as the bench's one client."""

    def __init__(self, base_url: str, token: dict[str, str]) -> None:
        self.http = httpx.Client(
            base_url=base_url,
            timeout=120,
            headers={
                "Authorization": f"Bearer {token['accessToken']}",
                "x-api-key": token["apiKey"],
                "x-gw-ims-org-id": token["orgId"],
                "x-sandbox-name": "prod",
            },
        )

    def create(self, path: str, body: dict[str, Any], prefix: str = API_PREFIX) -> str:
        answer = self.http.post(prefix + path, json=body)
        answer.raise_for_status()
        made = answer.json()
        return str(made[0]).removeprefix("@/dataSets/") if isinstance(made, list) else made["id"]


def build_flow(api: Api, connection_string: str) -> dict[str, str]:
    """An account on the emulator, a dataset, a flow copying ``TABLE`` and its finished run."""
    auth = {
        "specName": "Connection String Based Authentication",
        "params": {"connectionString": connection_string},
    }
    account = api.create(
        "/connections",
        {"name": "CRM", "auth": auth, "connectionSpec": {"id": SQLSERVER_SPEC, "version": "1.0"}},
    )
    dataset = api.create("/dataSets", {"name": "people"}, prefix=CATALOG_PREFIX)
    source = api.create(
        "/sourceConnections",
        {
            "name": "people source",
            "baseConnectionId": account,
            "data": {"format": "tabular"},
            "params": {"tableName": TABLE},
            "connectionSpec": {"id": SQLSERVER_SPEC, "version": "1.0"},
        },
    )
    target = api.create(
        "/targetConnections",
        {
            "name": "people target",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": dataset},
            "connectionSpec": {"id": DATA_LAKE_SPEC, "version": "1.0"},
        },
    )
    flow = api.create(
        "/flows",
        {
            "name": "Busy flow",
            "flowSpec": {"id": FLOW_SPEC, "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [],
            "scheduleParams": {"startTime": str(int(time.time()) + 86_400), "frequency": "once"},
        },
    )
    run = api.create("/runs", {"flowId": flow})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        items = api.http.get(f"{API_PREFIX}/runs/{run}").json()["items"]
        if items[0]["metrics"]["statusSummary"]["status"] in ("success", "failed"):
            break
        time.sleep(0.5)
    return {"account": account, "flow": flow, "run": run}


def fill(settings: Settings, flow_id: str) -> None:
    """999 copies of the flow and 100,000 finished runs of it, written through the store."""
    runtime = Runtime.start(settings)
    try:
        with runtime.transaction() as session:
            flow = session.scalars(select(Resource).where(Resource.id == flow_id)).one()
            template = {c.key: getattr(flow, c.key) for c in Resource.__table__.columns}
            copies = [
                template | {"id": str(uuid.uuid4()), "name": f"Copy {i:04d}", "etag": "e"}
                for i in range(1, FLOWS)
            ]
            session.execute(insert(Resource), copies)
        batch: list[dict[str, Any]] = []
        for index in range(RUNS):
            created = EPOCH + timedelta(microseconds=FIRST_RUN_US + index * 900_000_000)
            run = Run(
                id=str(uuid.uuid4()),
                flow_id=flow_id,
                flow_spec_id=FLOW_SPEC,
                flow_spec_version="1.0",
                created_at=created,
                source_connection_ids=list(template["doc"]["sourceConnectionIds"]),
                target_connection_ids=list(template["doc"]["targetConnectionIds"]),
                status=RunStatus.SUCCESS if index % 10 else RunStatus.FAILED,
                started_at=created,
                completed_at=created + timedelta(seconds=40),
                updated_at=created + timedelta(seconds=40),
                counts=RecordCounts(input_records=1000, output_records=1000, output_bytes=65_536),
            )
            batch.append(
                template
                | {
                    "id": run.id,
                    "kind": "runs",
                    "parent_id": flow_id,
                    "state": str(run.status),
                    "name": None,
                    "doc": {"run": run_to_record(run), "startAtUs": 0},
                }
            )
            if len(batch) == BATCH:
                with runtime.transaction() as session:
                    session.execute(insert(Resource), batch)
                batch = []
    finally:
        runtime.close()


def console_link(home: Path, base_url: str, url: str | None) -> str:
    argv = [sys.executable, "-m", "flowservice", "auth", "console-link", "--org", ORG]
    argv += ["--url", base_url, "--home", str(home)]
    env = service_env() | ({"FLOWSERVICE_DATABASE_URL": url} if url else {})
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120, check=True)
    match = re.search(r"http://\S+/console/link\?token=\S+", done.stdout)
    if not match:
        raise SystemExit(f"no console link in: {done.stdout!r} {done.stderr!r}")
    return match.group(0)


def pages(ids: dict[str, str], first_page: str) -> dict[str, str]:
    account, flow = ids["account"], ids["flow"]
    paths = {
        "Sources": "/console/sources",
        "Accounts": "/console/accounts",
        "Connect: catalog": "/console/connect",
        "Connect: form": f"/console/connect/{SQLSERVER_SPEC}",
        "Connect: test page": f"/console/accounts/{account}/test",
        "Add data: accounts": "/console/explore",
        "Add data: tree": f"/console/accounts/{account}/explore",
        "Add data: table + preview": f"/console/accounts/{account}/explore/table?object={TABLE}",
        "Wizard: step 1": f"/console/accounts/{account}/dataflow?table={TABLE}",
        "Dataflows": "/console/dataflows",
        "Runs of a flow": f"/console/dataflows/{flow}/runs",
        "Runs, failures only": f"/console/dataflows/{flow}/runs?failures=1",
        "Run detail": f"/console/runs/{ids['run']}",
        "Monitoring, 7 days": "/console/monitoring?days=7",
        "Monitoring, 90 days": "/console/monitoring?days=90",
        "Monitoring, a flow, 90 days": f"/console/monitoring?days=90&flow={flow}",
        "Settings": "/console/settings",
    }
    more = re.search(r'href="(/console/dataflows\?continuationToken=[^"]+)"', first_page)
    if more:
        paths["Dataflows, page 2"] = more.group(1).replace("&amp;", "&")
    return paths


def time_pages(http: httpx.Client, paths: dict[str, str], repeat: int) -> dict[str, float]:
    medians: dict[str, float] = {}
    for name, path in paths.items():
        http.get(path)  # warm: templates compile on a kind's first request
        samples = []
        for _ in range(repeat):
            started = time.perf_counter()
            answer = http.get(path)
            samples.append(time.perf_counter() - started)
            if answer.status_code != 200:
                raise SystemExit(f"{name} ({path}) answered {answer.status_code}")
        medians[name] = statistics.median(samples)
    return medians


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--database-url", help="a PostgreSQL server (default: SQLite)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="flowservice-console-bench-") as scratch,
        postgres_database(args.database_url) as url,
        running_emulator_process(init_sql=INIT) as emulator,
    ):
        home, port = Path(scratch), free_port()
        base_url = f"http://127.0.0.1:{port}"
        env = {"FLOWSERVICE_DATABASE_URL": url} if url else {}
        service = start_service(home=home, port=port, timeout=120, settings=env)
        try:
            api = Api(base_url, issue_token(home, org=ORG, client_id="console-bench"))
            connection_string = (
                f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
                f"Integrated Security=False;User ID={emulator.user};"
                f"Password={emulator.password};Encrypt=False;"
            )
            ids = build_flow(api, connection_string)
            with httpx.Client(base_url=base_url, timeout=120, follow_redirects=True) as http:
                http.get(console_link(home, base_url, url)).raise_for_status()
                small = time_pages(http, pages(ids, ""), args.repeat)
                started = time.perf_counter()
                fill(Settings(home=home, database_url=url), ids["flow"])
                print(
                    f"{FLOWS:,} flows and {RUNS:,} runs written in "
                    f"{time.perf_counter() - started:.0f} s",
                    flush=True,
                )
                first = http.get("/console/dataflows").text
                large = time_pages(http, pages(ids, first), args.repeat)
        finally:
            service.stop()
    store = "PostgreSQL" if args.database_url else "SQLite"
    print(f"\n{store} metadata DB; median of {args.repeat} GETs per page, in ms")
    print(f"{'page':<30}{'1 flow':>9}{'1,000 flows':>13}{'ratio':>8}  under 1 s")
    for name, seconds in large.items():
        before = small.get(name)
        ratio = f"x{seconds / before:.2f}" if before else "—"
        shown = f"{before * 1000:.0f}" if before else "—"
        verdict = "yes" if seconds < 1.0 else "NO"
        print(f"{name:<30}{shown:>9}{seconds * 1000:>13.0f}{ratio:>8}  {verdict}")
    slowest = max(large, key=lambda n: large[n])
    print(f"slowest with 1,000 flows and 100,000 runs: {slowest}, {large[slowest] * 1000:.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
