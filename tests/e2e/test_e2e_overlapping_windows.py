"""On-demand windows over the emulator: no window copies a committed row version again.

The probe that found the defect: after a committed window, ``POST /runs`` with
``windowStartTime: 0`` and ``windowEndTime`` = now appended every row again.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flow_journey import Journey, build_flow, commits, read_dataset, wait_for_run
from service_harness import (
    ApiClient,
    RunningServer,
    make_settings,
    new_org_id,
    problem_code,
    start_server,
)

from mssql_emulator.testing import running_emulator

pytestmark = pytest.mark.timeout(120)

ROWS = 100
T0 = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)  # row i was updated at T0 + i minutes
INIT = (
    "CREATE SCHEMA sales;"
    "CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, UpdatedAt DATETIME2);"
    "INSERT INTO sales.Orders VALUES "
    + ", ".join(
        f"({i}, '{(T0 + timedelta(minutes=i)).strftime('%Y-%m-%d %H:%M:%S')}')" for i in range(ROWS)
    )
    + ";"
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def client(home: Path) -> Iterator[ApiClient]:
    settings = make_settings(
        home,
        f"sqlite:///{home / 'flowservice.db'}",
        scheduler_interval_seconds=0.3,
        run_retry_attempts=2,
        run_retry_base_delay=0.1,
    )
    server: RunningServer = start_server(settings)
    api = ApiClient(server, org_id=new_org_id(), client_id="overlap-client")
    yield api
    api.close()
    server.stop()


def minute(i: int) -> int:
    """Epoch seconds of T0 + i minutes."""
    return int((T0 + timedelta(minutes=i)).timestamp())


def now() -> int:
    return int(time.time())


def window(start: int | str, end: int | str, **extra: Any) -> dict[str, Any]:
    return {"windowStartTime": start, "windowEndTime": end, **extra}


def run_window(api: ApiClient, flow_id: str, params: dict[str, Any]) -> dict[str, Any]:
    made = api.post("/runs", json={"flowId": flow_id, "params": params})
    assert made.status_code == 201, made.text
    done = wait_for_run(api, made.json()["id"])
    assert done["metrics"]["statusSummary"]["status"] == "success", done
    return done


def parked_run(api: ApiClient, flow_id: str, start: int, end: int) -> str:
    """A run of ``[start, end)`` that waits for a later start time, then cancelled."""
    made = api.post(
        "/runs", json={"flowId": flow_id, "params": window(start, end, startTime=now() + 3600)}
    )
    assert made.status_code == 201, made.text
    run_id = str(made.json()["id"])
    assert api.post(f"/runs/{run_id}/action", params={"op": "cancel"}).status_code == 200
    return run_id


def order_ids(api: ApiClient, home: Path, journey: Journey) -> list[int]:
    table = read_dataset(api, home, journey.dataset_id)
    return sorted(table.column("OrderID").to_pylist())


def refused(response: Any, *words: str) -> str:
    assert response.status_code == 400, response.text
    assert problem_code(response) == "FLOW-1455-400", response.text
    message = str(response.json()["errorMessage"])
    for word in words:
        assert word in message, (word, message)
    return message


def test_overlapping_and_gapped_windows_are_refused(client: ApiClient, home: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column="UpdatedAt",
            schedule={"startTime": now() + 86_400, "frequency": "once"},
        )
        flow_id = journey.flow_id
        # before anything is committed the flow has no position: any past window is fine
        later = parked_run(client, flow_id, minute(60), minute(90))

        first = run_window(client, flow_id, window(minute(0), minute(50)))
        assert first["metrics"]["recordSummary"]["outputRecordCount"] == 50
        assert order_ids(client, home, journey) == list(range(50))
        versions = commits(home, journey.dataset_id)

        # the probe: from 0 to now would append the 50 committed rows again
        probe = client.post("/runs", json={"flowId": flow_id, "params": window(0, now())})
        refused(probe, first["id"], f"[{minute(0)}, {minute(50)})")
        # the same window again (it used to be "replayed", reporting 50 rows written)
        same = client.post(
            "/runs", json={"flowId": flow_id, "params": window(minute(0), minute(50))}
        )
        refused(same, first["id"])
        # a window inside the committed one, as strings
        inside = client.post(
            "/runs",
            json={"flowId": flow_id, "params": window(str(minute(10)), str(minute(20)))},
        )
        refused(inside, first["id"])
        # after the position: [50, 55) would never be copied
        gap = client.post("/runs", json={"flowId": flow_id, "params": window(minute(55), now())})
        refused(gap, f"at or before {minute(50)}")
        # a re-trigger is held to the same rule: [60, 90) starts after the position
        again = client.post(f"/runs/{later}/action", params={"op": "re-trigger"})
        refused(again, f"at or before {minute(50)}")
        assert client.get(f"/runs/{later}").json()["items"][0]["state"] == "cancelled"

        assert commits(home, journey.dataset_id) == versions
        assert order_ids(client, home, journey) == list(range(50))
        runs = client.get("/runs", params={"property": f"flowId=={flow_id}"}).json()["items"]
        assert {r["id"] for r in runs} == {first["id"], later}

        # continuing from the position copies the next rows, once
        second = run_window(client, flow_id, window(minute(50), minute(70)))
        assert second["metrics"]["recordSummary"]["outputRecordCount"] == 20
        # now the parked run's window overlaps the second run's: refused, naming it
        again = client.post(f"/runs/{later}/action", params={"op": "re-trigger"})
        refused(again, second["id"], f"[{minute(50)}, {minute(70)})")

        # a parked run that continues from the position may be re-triggered
        last = parked_run(client, flow_id, minute(70), now())
        assert client.post(f"/runs/{last}/action", params={"op": "re-trigger"}).status_code == 200
        done = wait_for_run(client, last)
        assert done["metrics"]["statusSummary"]["status"] == "success", done
        assert done["metrics"]["recordSummary"]["outputRecordCount"] == ROWS - 70
        assert order_ids(client, home, journey) == list(range(ROWS))
