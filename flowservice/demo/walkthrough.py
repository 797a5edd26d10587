"""The tutorial's requests, then the rest of the journey, against a running service."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from flowservice.demo.sample_db import DELTA_COLUMN, FLOW_TABLE
from flowservice.errors import FlowServiceError
from flowservice.settings import API_PREFIX, CATALOG_PREFIX, CONVERSION_PREFIX

SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
FINAL_STATUSES = ("success", "failed", "cancelled")
_SHORT_BODY = 150

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
class Outcome:
    """What the walkthrough made and what the run copied."""

    connection_id: str
    dataset_id: str
    flow_id: str
    run_id: str
    rows_copied: int
    run_seconds: float
    dataset_path: str
    preview_rows: int


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= _SHORT_BODY else text[: _SHORT_BODY - 1] + "…"


class Walkthrough:
    """Sends each request, printing method, path and a short body (secrets masked)."""

    def __init__(self, access: Access, echo: Echo, *, secrets: tuple[str, ...]) -> None:
        self._access = access
        self._echo = echo
        self._secrets = tuple(s for s in secrets if s)
        self._http = httpx.Client(base_url=access.base_url, timeout=60)

    def close(self) -> None:
        self._http.close()

    def _masked(self, text: str) -> str:
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
            self._echo(self._masked(line + ("  " + _short(body) if body is not None else "")))
        response = self._http.request(
            method, path, headers=self._access.headers(), json=body, params=params
        )
        if response.status_code != expect:
            raise WalkthroughFailed(
                self._masked(f"{method} {shown} answered {response.status_code}: {response.text}")
            )
        answer = response.json() if response.content else None
        if not quiet:
            self._echo(self._masked(f"  ← {response.status_code} {_short(answer)}"))
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


def _mappings(columns: list[str]) -> list[dict[str, Any]]:
    """Every column as it is, plus one expression to show the mapping language."""
    mappings = [{"sourceType": "ATTRIBUTE", "source": c, "destination": c} for c in columns]
    mappings.append(
        {"sourceType": "EXPRESSION", "source": "upper(ship_city)", "destination": "ship_city_uc"}
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
    """Connection → test → explore → dataset → source/target → mapping set → flow → run → data."""
    walk = Walkthrough(access, echo, secrets=secrets)
    api, catalog = API_PREFIX, CATALOG_PREFIX
    try:
        echo("\n1. Connect the SQL Server database (the tutorial's request)")
        conn = walk.call(
            "POST", f"{api}/connections", body=_connection_body(connection_string), expect=201
        )["id"]
        walk.call("GET", f"{api}/connections/{conn}/test")
        echo("\n2. Explore: list the tables, then describe and preview one")
        root = walk.call("GET", f"{api}/connections/{conn}/explore", params={"objectType": "root"})
        echo(f"  tables: {', '.join(item['path'] for item in root)}")
        described = walk.call(
            "GET",
            f"{api}/connections/{conn}/explore",
            params={"objectType": "table", "object": FLOW_TABLE, "preview": "true", "count": 3},
        )
        columns = [str(c["name"]) for c in described["schema"]["columns"]]
        echo(f"  {FLOW_TABLE}: {len(columns)} columns, {len(described.get('data', []))} rows shown")
        echo("\n3. A dataset in the lake, and the source and target connections")
        made = walk.call(
            "POST",
            f"{catalog}/dataSets",
            body={"name": "Demo orders", "description": f"{FLOW_TABLE} from the demo database"},
            expect=201,
        )
        dataset_id = str(made[0]).removeprefix("@/dataSets/")
        source = walk.call(
            "POST",
            f"{api}/sourceConnections",
            body={
                "name": "Database source connection",
                "baseConnectionId": conn,
                "data": {"format": "tabular"},
                "params": {"tableName": FLOW_TABLE},
                "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
            },
            expect=201,
        )["id"]
        target = walk.call(
            "POST",
            f"{api}/targetConnections",
            body={
                "name": "Database target connection",
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": dataset_id},
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            },
            expect=201,
        )["id"]
        echo("\n4. A mapping set (Data Prep)")
        mapping = walk.call(
            "POST",
            f"{CONVERSION_PREFIX}/mappingSets",
            body={
                "name": "Demo orders mapping",
                "dataSetId": dataset_id,
                "mappings": _mappings(columns),
            },
        )["id"]
        echo(f"\n5. The dataflow: copy rows by {DELTA_COLUMN}, once, starting now")
        flow = walk.call(
            "POST",
            f"{api}/flows",
            body={
                "name": "Demo orders dataflow",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [
                    {
                        "name": "Copy",
                        "params": {"deltaColumn": {"name": DELTA_COLUMN, "timezone": "UTC"}},
                    },
                    {"name": "Mapping", "params": {"mappingId": mapping, "mappingVersion": 0}},
                ],
                "scheduleParams": {"startTime": str(int(time.time())), "frequency": "once"},
            },
            expect=201,
        )["id"]
        echo("\n6. The scheduler starts the run; poll it until it ends")
        run = _wait_for_run(walk, flow, echo, timeout=run_timeout)
        status = run["metrics"]["statusSummary"]
        if status["status"] != "success":
            raise WalkthroughFailed(f"run {run['id']} ended {status['status']}: {_short(status)}")
        echo("\n7. The data: dataset, preview and batches")
        dataset = walk.call("GET", f"{catalog}/dataSets/{dataset_id}")[dataset_id]
        preview = walk.call("GET", f"{catalog}/dataSets/{dataset_id}/preview", params={"limit": 3})
        walk.call("GET", f"{catalog}/batches", params={"dataSet": dataset_id})
    finally:
        walk.close()
    duration = run["metrics"]["durationSummary"]
    return Outcome(
        connection_id=conn,
        dataset_id=dataset_id,
        flow_id=flow,
        run_id=str(run["id"]),
        rows_copied=int(run["metrics"]["recordSummary"]["outputRecordCount"]),
        run_seconds=(int(duration["completedAtUTC"]) - int(duration["startedAtUTC"])) / 1000,
        dataset_path=str(dataset["basePath"]),
        preview_rows=len(preview["data"]),
    )


def _wait_for_run(walk: Walkthrough, flow_id: str, echo: Echo, *, timeout: float) -> dict[str, Any]:
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
                echo(f"  run {run['id']}: {status}")
                last = status
            if status in FINAL_STATUSES:
                walk.call("GET", f"{API_PREFIX}/runs/{run['id']}")
                return run
        time.sleep(0.5)
    raise WalkthroughFailed(f"the flow's run did not end within {timeout:.0f} s")
