"""The tutorial's requests, then the rest of the journey, against a running service."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from flowservice.demo.sample_db import DELTA_COLUMN
from flowservice.errors import FlowServiceError
from flowservice.settings import API_PREFIX, CATALOG_PREFIX, CONVERSION_PREFIX

SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
FINAL_STATUSES = ("success", "failed", "cancelled")
_SHORT_BODY = 150
# (table, mapping expressions): orders copies every column as it is (all the SQL Server types);
# customers goes through a mapping set. Orders is not mapped because a Mapping of a whole
# struct column (datetimeoffset) currently writes nulls (flowservice/mapping/mapping_set.py).
FLOWS: tuple[tuple[str, dict[str, str]], ...] = (
    ("sales.orders", {}),
    (
        "sales.customers",
        {"first_name_uc": "upper(first_name)", "home": 'concat(first_name, " in ", city)'},
    ),
)

Echo = Callable[[str], None]


class WalkthroughFailed(FlowServiceError):
    """A request of the walkthrough got an answer the demo did not expect."""


@dataclass(frozen=True)
class Access:
    """Where the service is and who the demo is; ``token`` is never printed."""

    base_url: str
    token: str
    api_key: str
    org_id: str
    sandbox: str = "prod"

    def headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.token}",
            "x-api-key": self.api_key,
            "x-gw-ims-org-id": self.org_id,
            "x-sandbox-name": self.sandbox,
            "Content-Type": "application/json",
        }


@dataclass(frozen=True)
class FlowOutcome:
    """One dataflow the walkthrough made and what its run copied."""

    table: str
    mapped: bool
    dataset_id: str
    flow_id: str
    run_id: str
    rows_copied: int
    run_seconds: float
    dataset_path: str
    preview_rows: int


@dataclass(frozen=True)
class Outcome:
    """The base connection and the dataflows of one walkthrough."""

    connection_id: str
    flows: tuple[FlowOutcome, ...]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _SHORT_BODY else text[: _SHORT_BODY - 1] + "…"


class Walkthrough:
    """Sends each request, printing method, path and a short body (secrets masked)."""

    def __init__(self, access: Access, echo: Echo, *, secrets: tuple[str, ...]) -> None:
        self._access = access
        self.echo = echo
        self._secrets = tuple(s for s in secrets if s)
        self._http = httpx.Client(base_url=access.base_url, timeout=60)

    def close(self) -> None:
        self._http.close()

    def masked(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "****")
        return text

    def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: dict[str, Any] | None = None,
        expect: int = 200,
        quiet: bool = False,
    ) -> Any:
        """One request; the answer's JSON, or ``WalkthroughFailed`` naming the request."""
        shown = path + ("?" + str(httpx.QueryParams(params)) if params else "")
        if not quiet:
            line = f"→ {method} {shown}"
            self.echo(self.masked(line + ("  " + _short(body) if body is not None else "")))
        response = self._http.request(
            method, path, headers=self._access.headers(), json=body, params=params
        )
        if response.status_code != expect:
            raise WalkthroughFailed(
                self.masked(f"{method} {shown} answered {response.status_code}: {response.text}")
            )
        answer = response.json() if response.content else None
        if not quiet:
            self.echo(self.masked(f"  ← {response.status_code} {_short(answer)}"))
        return answer


def _connection_body(connection_string: str) -> dict[str, Any]:
    """The tutorial's create-connection body, word for word apart from the string."""
    return {
        "name": "Base connection for sql-server",
        "description": "Base connection for sql-server",
        "auth": {
            "specName": "Connection String Based Authentication",
            "params": {"connectionString": connection_string},
        },
        "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
    }


def _mappings(columns: list[str], expressions: dict[str, str]) -> list[dict[str, Any]]:
    """Every column as it is, plus ``expressions`` (destination → expression)."""
    mappings = [{"sourceType": "ATTRIBUTE", "source": c, "destination": c} for c in columns]
    for destination, expression in expressions.items():
        mappings.append(
            {"sourceType": "EXPRESSION", "source": expression, "destination": destination}
        )
    return mappings


def run_walkthrough(
    access: Access,
    connection_string: str,
    echo: Echo,
    *,
    secrets: tuple[str, ...],
    run_timeout: float = 600,
) -> Outcome:
    """Connection, test, explore; per table: dataset, connections, [mapping set], flow, run."""
    walk = Walkthrough(access, echo, secrets=secrets)
    api = API_PREFIX
    try:
        echo("\n1. Connect the SQL Server database (the tutorial's request)")
        echo(f"  connectionString: {walk.masked(connection_string)}")
        conn = walk.call(
            "POST", f"{api}/connections", body=_connection_body(connection_string), expect=201
        )["id"]
        walk.call("GET", f"{api}/connections/{conn}/test")
        echo("\n2. Explore: list the tables")
        root = walk.call("GET", f"{api}/connections/{conn}/explore", params={"objectType": "root"})
        echo(f"  tables: {', '.join(item['path'] for item in root)}")
        flows = [
            _dataflow(walk, step, conn, table, expressions, run_timeout=run_timeout)
            for step, (table, expressions) in enumerate(FLOWS, start=3)
        ]
    finally:
        walk.close()
    return Outcome(connection_id=conn, flows=tuple(flows))


def _dataflow(
    walk: Walkthrough,
    step: int,
    conn: str,
    table: str,
    expressions: dict[str, str],
    *,
    run_timeout: float,
) -> FlowOutcome:
    """Explore the table; dataset, connections, mapping set, flow; its run; the data."""
    api, catalog, echo = API_PREFIX, CATALOG_PREFIX, walk.echo
    how = "with a mapping set" if expressions else "every column as it is"
    echo(f"\n{step}. A dataflow for {table} ({how}), by {DELTA_COLUMN}, once, starting now")
    described = walk.call(
        "GET",
        f"{api}/connections/{conn}/explore",
        params={"objectType": "table", "object": table, "preview": "true", "count": 3},
    )
    columns = [str(c["name"]) for c in described["schema"]["columns"]]
    echo(f"  {table}: {len(columns)} columns, {len(described.get('data', []))} rows previewed")
    mappings = _mappings(columns, expressions) if expressions else None
    made = walk.call(
        "POST",
        f"{catalog}/dataSets",
        body={"name": f"Demo {table}", "description": f"{table} from the demo database"},
        expect=201,
    )
    dataset_id = str(made[0]).removeprefix("@/dataSets/")
    source = walk.call(
        "POST",
        f"{api}/sourceConnections",
        body={
            "name": f"{table} source connection",
            "baseConnectionId": conn,
            "data": {"format": "tabular"},
            "params": {"tableName": table},
            "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
        },
        expect=201,
    )["id"]
    target = walk.call(
        "POST",
        f"{api}/targetConnections",
        body={
            "name": f"{table} target connection",
            "data": {"format": "parquet_xdm"},
            "params": {"dataSetId": dataset_id},
            "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
        },
        expect=201,
    )["id"]
    copy = {"name": "Copy", "params": {"deltaColumn": {"name": DELTA_COLUMN, "timezone": "UTC"}}}
    transformations: list[dict[str, Any]] = [copy]
    if mappings:
        mapping = walk.call(
            "POST",
            f"{CONVERSION_PREFIX}/mappingSets",
            body={"name": f"{table} mapping", "dataSetId": dataset_id, "mappings": mappings},
        )["id"]
        transformations.append(
            {"name": "Mapping", "params": {"mappingId": mapping, "mappingVersion": 0}}
        )
    flow = walk.call(
        "POST",
        f"{api}/flows",
        body={
            "name": f"Demo {table} dataflow",
            "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": transformations,
            "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
        },
        expect=201,
    )["id"]
    echo("  the scheduler starts the run; poll it until it ends")
    run = _wait_for_run(walk, flow, timeout=run_timeout)
    status = run["metrics"]["statusSummary"]
    if status["status"] != "success":
        raise WalkthroughFailed(f"run {run['id']} ended {status['status']}: {_short(status)}")
    echo("  the data: dataset, preview, batches")
    dataset = walk.call("GET", f"{catalog}/dataSets/{dataset_id}")[dataset_id]
    preview = walk.call("GET", f"{catalog}/dataSets/{dataset_id}/preview", params={"limit": 3})
    walk.call("GET", f"{catalog}/batches", params={"dataSet": dataset_id})
    duration = run["metrics"]["durationSummary"]
    return FlowOutcome(
        table=table,
        mapped=bool(mappings),
        dataset_id=dataset_id,
        flow_id=flow,
        run_id=str(run["id"]),
        rows_copied=int(run["metrics"]["recordSummary"]["outputRecordCount"]),
        run_seconds=(int(duration["completedAtUTC"]) - int(duration["startedAtUTC"])) / 1000,
        dataset_path=str(dataset["basePath"]),
        preview_rows=len(preview["data"]),
    )


def _wait_for_run(walk: Walkthrough, flow_id: str, *, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    params = {"property": f"flowId=={flow_id}"}
    walk.call("GET", f"{API_PREFIX}/runs", params=params)
    last = ""
    while time.monotonic() < deadline:
        items = walk.call("GET", f"{API_PREFIX}/runs", params=params, quiet=True)["items"]
        if items:
            run: dict[str, Any] = walk.call(
                "GET", f"{API_PREFIX}/runs/{items[0]['id']}", quiet=True
            )["items"][0]
            status = str(run["metrics"]["statusSummary"]["status"])
            if status != last:
                walk.echo(f"  run {run['id']}: {status}")
                last = status
            if status in FINAL_STATUSES:
                walk.call("GET", f"{API_PREFIX}/runs/{run['id']}")
                return run
        time.sleep(0.5)
    raise WalkthroughFailed(f"the flow's run did not end within {timeout:.0f} s")
