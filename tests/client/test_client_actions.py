"""The SDK's calls beyond CRUD, against the live server and the SQL Server emulator:
flow enable/disable, run cancel, connection test/explore/preview, dataset preview,
a run's errors and failed records, mapping sets and sandboxes (sync and async twins)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sdk_resources import make_flow
from service_harness import FLOW_SPEC_ID, ApiClient

from flowservice.client import AsyncClient, Client, NotFound
from mssql_emulator.testing import RunningEmulator, running_emulator

pytestmark = pytest.mark.timeout(120)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50),
  UpdatedAt DATETIME2, ShipDate NVARCHAR(20));
INSERT INTO sales.Orders VALUES
  (1, N'Ann', '2024-03-01 12:00:00', N'2024-03-05'),
  (2, N'Bob', '2024-03-01 12:30:00', N'soon'),
  (3, N'Cé', '2024-03-02 08:15:00', N'2024-03-07');
"""


def _connection_string(emulator: RunningEmulator) -> str:
    return (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={emulator.password};Encrypt=False;"
    )


def _later() -> str:
    return str(int(time.time()) + 86_400)


def test_explore_a_connection_preview_its_table_and_the_copied_dataset(client: Client) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        parts = make_flow(client, connection_string=_connection_string(emulator), delta_column=None)
        assert client.connections.test(parts.connection_id) == {"result": True}
        assert "sales.Orders" in [
            obj.path for obj in client.connections.explore(parts.connection_id)
        ]
        described = client.connections.describe(parts.connection_id, "sales.Orders")
        names = [c["name"] for c in described["schema"]["columns"]]
        assert names == ["OrderID", "Customer", "UpdatedAt", "ShipDate"]
        assert "data" not in described
        preview = client.connections.preview(parts.connection_id, "sales.Orders", count=2)
        assert [row["OrderID"] for row in preview["data"]] == [1, 2]

        run = client.wait_for_run(client.flows.run(parts.flow_id).id, timeout=60, poll_interval=0.2)
    assert run.succeeded, run.metrics
    shown = client.datasets.preview(parts.dataset_id, limit=2)
    assert shown["count"] == 2 and len(shown["data"]) == 2
    assert {row["Customer"] for row in client.datasets.preview(parts.dataset_id)["data"]} == {
        "Ann",
        "Bob",
        "Cé",
    }
    errors = client.runs.errors(run.id)
    assert errors.status == "success" and errors.errors == [] and errors.failed_records == []


def test_a_failed_connection_tests_false_and_its_runs_errors_say_why(client: Client) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        wrong = _connection_string(emulator).replace(emulator.password, "Wr0ng!pw")
        parts = make_flow(client, connection_string=wrong, delta_column=None)
        tested = client.connections.test(parts.connection_id)
        assert tested["result"] is False and tested["message"]
        assert "Wr0ng" not in tested["message"]
        run = client.wait_for_run(client.flows.run(parts.flow_id).id, timeout=60, poll_interval=0.2)
    assert run.status == "failed"
    errors = client.runs.errors(run.id)
    assert errors.status == "failed" and errors.errors and errors.errors[0]["message"]
    assert errors.failed_records == []
    assert "Wr0ng" not in str(errors.errors)


def test_a_runs_failed_records_come_from_data_access(client: Client) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        parts = make_flow(client, connection_string=_connection_string(emulator), delta_column=None)
        mapping = client.mapping_sets.create(
            {
                "dataSetId": parts.dataset_id,
                "mappings": [
                    {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
                    {
                        "sourceAttribute": 'to_date(ShipDate, "yyyy-MM-dd")',
                        "destinationXdmPath": "shipped",
                    },
                ],
            }
        )
        assert client.mapping_sets.get(mapping.id).id == mapping.id
        assert mapping.id in [m.id for m in client.mapping_sets.list()]
        flow = client.flows.create(
            {
                "name": "mapped copy",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [parts.source_id],
                "targetConnectionIds": [parts.target_id],
                "transformations": [
                    {"name": "Copy", "params": {}},
                    {"name": "Mapping", "params": {"mappingId": mapping.id}},
                ],
                "scheduleParams": {"startTime": _later(), "frequency": "once"},
                "options": {"partialIngestionPercent": "50"},
            }
        )
        run = client.wait_for_run(client.flows.run(flow.id).id, timeout=60, poll_interval=0.2)
    assert run.succeeded, run.metrics
    errors = client.runs.errors(run.id)
    assert [r["row"] for r in errors.failed_records] == [1]
    (failed,) = errors.failed_records
    assert failed["record"]["ShipDate"] == "soon" and failed["errors"]


def test_disable_enable_a_flow_and_cancel_a_waiting_run(client: Client) -> None:
    parts = make_flow(client, delta_column=None)
    disabled = client.flows.disable(parts.flow_id)
    flow = client.flows.get(parts.flow_id)
    assert flow.state == "disabled" and flow.etag == disabled.etag
    client.flows.enable(parts.flow_id)
    assert client.flows.get(parts.flow_id).state == "enabled"

    waiting = client.flows.run(parts.flow_id, {"startTime": _later()})
    client.runs.cancel(waiting.id)
    assert client.runs.get(waiting.id).status == "cancelled"
    with pytest.raises(NotFound):
        client.runs.cancel("00000000-0000-0000-0000-000000000000")


def test_sandboxes_list_shows_prod(client: Client, api: ApiClient) -> None:
    sandboxes = client.sandboxes.list()
    assert "prod" in [s.name for s in sandboxes]
    assert all(s.state for s in sandboxes)


def test_the_async_twin_offers_the_same_calls(client: Client, api: ApiClient) -> None:
    parts = make_flow(client, delta_column=None)

    async def main() -> dict[str, Any]:
        async with AsyncClient(
            api.server.base_url, token=api.token, api_key=api.client_id, org=api.org_id
        ) as aclient:
            await aclient.flows.disable(parts.flow_id)
            state = (await aclient.flows.get(parts.flow_id)).state
            await aclient.flows.enable(parts.flow_id)
            tested = await aclient.connections.test(parts.connection_id)
            waiting = await aclient.flows.run(parts.flow_id, {"startTime": _later()})
            await aclient.runs.cancel(waiting.id)
            errors = await aclient.runs.errors(waiting.id)
            sandboxes = [s.name for s in await aclient.sandboxes.list()]
            mapping_sets = [m.id async for m in aclient.mapping_sets.list()]
            return {
                "state": state,
                "tested": tested["result"],
                "status": errors.status,
                "sandboxes": sandboxes,
                "mapping_sets": mapping_sets,
            }

    seen = asyncio.run(main())
    assert seen == {
        "state": "disabled",
        "tested": False,
        "status": "cancelled",
        "sandboxes": ["prod"],
        "mapping_sets": [],
    }
    assert client.flows.get(parts.flow_id).state == "enabled"
