"""The HTTP journey every e2e test drives: connection → explore → dataset → connections → flow."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from deltalake import DeltaTable
from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    create_dataset,
    created_id,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

from flowservice.settings import CONVERSION_PREFIX
from mssql_emulator.testing import RunningEmulator

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


def build_flow(
    api: ApiClient,
    emulator: RunningEmulator,
    *,
    table: str,
    delta_column: str | None,
    schedule: dict[str, Any],
    mappings: list[dict[str, Any]] | None = None,
    options: dict[str, Any] | None = None,
    source_params: dict[str, Any] | None = None,
    target_params: dict[str, Any] | None = None,
) -> Journey:
    """Every resource up to the flow, through the documented requests (``source_params`` and
    ``target_params`` add to the connections' params, e.g. cdcEnabled or writeMode)."""
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
    dataset_id = create_dataset(api, f"{table} copy")
    source_body = source_connection_body(name="source", base_id=conn, table=table)
    source_body["params"].update(source_params or {})
    source = created_id(api.post("/sourceConnections", json=source_body))
    target_body = target_connection_body(name="target", dataset_id=dataset_id)
    target_body["params"].update(target_params or {})
    target = created_id(api.post("/targetConnections", json=target_body))
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
