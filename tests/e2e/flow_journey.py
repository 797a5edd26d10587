"""The HTTP journey every e2e test drives: connection → explore → dataset → connections → flow."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable
from service_harness import ApiClient, sql_server_connection_body

from flowservice.settings import CATALOG_PREFIX, CONVERSION_PREFIX
from mssql_emulator.testing import RunningEmulator

FLOW_SPEC_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
SQLSERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
FINAL = ("success", "failed", "cancelled")


@dataclass(frozen=True)
class Journey:
    connection_id: str
    dataset_id: str
    source_id: str
    target_id: str
    flow_id: str


def connection_string(host: str, port: int, emulator: RunningEmulator) -> str:
    return (
        f"Data Source={host},{port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={emulator.password};Encrypt=False;"
    )


def created_id(response: Any) -> str:
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def build_flow(
    api: ApiClient,
    emulator: RunningEmulator,
    *,
    table: str,
    delta_column: str | None,
    schedule: dict[str, Any],
    mappings: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
) -> Journey:
    """Every resource up to the flow, through the documented requests."""
    conn = created_id(
        api.post(
            "/connections",
            json=sql_server_connection_body(
                connection_string(emulator.host, emulator.port, emulator)
            ),
        )
    )
    assert api.get(f"/connections/{conn}/test").json() == {"result": True}
    root = api.get(f"/connections/{conn}/explore", params={"objectType": "root"}).json()
    assert table in [obj["path"] for obj in root]
    described = api.get(
        f"/connections/{conn}/explore", params={"objectType": "table", "object": table}
    ).json()
    assert described["schema"]["columns"]
    made = api.request("POST", "/dataSets", prefix=CATALOG_PREFIX, json={"name": f"{table} copy"})
    assert made.status_code == 201, made.text
    dataset_id = str(made.json()[0]).removeprefix("@/dataSets/")
    source = created_id(
        api.post(
            "/sourceConnections",
            json={
                "name": "source",
                "baseConnectionId": conn,
                "data": {"format": "tabular"},
                "params": {"tableName": table},
                "connectionSpec": {"id": SQLSERVER_SPEC_ID, "version": "1.0"},
            },
        )
    )
    target = created_id(
        api.post(
            "/targetConnections",
            json={
                "name": "target",
                "data": {"format": "parquet_xdm"},
                "params": {"dataSetId": dataset_id},
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
            },
        )
    )
    copy: dict[str, Any] = {"name": "Copy", "params": {}}
    if delta_column is not None:
        copy["params"]["deltaColumn"] = {"name": delta_column, "timezone": "UTC"}
    transformations = [copy]
    if mappings is not None:
        mapping_set = api.request(
            "POST",
            "/mappingSets",
            prefix=CONVERSION_PREFIX,
            json={"dataSetId": dataset_id, "mappings": mappings},
        )
        assert mapping_set.status_code in (200, 201), mapping_set.text
        transformations.append(
            {"name": "Mapping", "params": {"mappingId": mapping_set.json()["id"]}}
        )
    extra: dict[str, Any] = {} if options is None else {"options": options}
    flow = created_id(
        api.post(
            "/flows",
            json={
                "name": f"copy {table}",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": transformations,
                "scheduleParams": schedule,
                **extra,
            },
        )
    )
    return Journey(conn, dataset_id, source, target, flow)


def runs_of(api: ApiClient, flow_id: str) -> list[dict[str, Any]]:
    response = api.get("/runs", params={"property": f"flowId=={flow_id}"})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


def get_run(api: ApiClient, run_id: str) -> dict[str, Any]:
    response = api.get(f"/runs/{run_id}")
    assert response.status_code == 200, response.text
    item: dict[str, Any] = response.json()["items"][0]
    return item


def wait_for_run(
    api: ApiClient, run_id: str, *, states: tuple[str, ...] = FINAL, timeout: float = 60
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        run = get_run(api, run_id)
        if run["metrics"]["statusSummary"]["status"] in states:
            return run
        assert time.monotonic() < deadline, f"run {run_id} still {run['state']}"
        time.sleep(0.2)


def wait_for_first_run(api: ApiClient, flow_id: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while not (items := runs_of(api, flow_id)):
        assert time.monotonic() < deadline, "the scheduler created no run"
        time.sleep(0.2)
    return str(items[0]["id"])


def read_dataset(api: ApiClient, home: Any, dataset_id: str) -> pa.Table:
    """The dataset's rows, read straight from the lake with deltalake."""
    path = home / "lake"
    tables = [p.parent for p in path.rglob("_delta_log") if dataset_id in str(p)]
    assert len(tables) == 1, tables
    return DeltaTable(str(tables[0])).to_pyarrow_table()


def commits(home: Any, dataset_id: str) -> int:
    path = home / "lake"
    tables = [p.parent for p in path.rglob("_delta_log") if dataset_id in str(p)]
    if not tables:
        return 0
    return len(list((tables[0] / "_delta_log").glob("*.json")))
