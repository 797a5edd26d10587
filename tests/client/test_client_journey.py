"""The whole journey through the SDK: connection → flow → run → wait, on the SQL Server
emulator, with the real driver and the real lake."""

from __future__ import annotations

import asyncio
import time

import pytest
from sdk_resources import make_flow
from service_harness import ApiClient

from flowservice.client import AsyncClient, Client, RunTimeout
from mssql_emulator.testing import running_emulator

pytestmark = pytest.mark.timeout(120)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50),
  Amount DECIMAL(10,2), UpdatedAt DATETIME2);
INSERT INTO sales.Orders VALUES
  (1, N'Ann', 10.50, '2024-03-01 12:00:00'),
  (2, N'Bob', 20.00, '2024-03-01 12:30:00'),
  (3, N'Cé', NULL, '2024-03-02 08:15:00');
"""


def test_create_a_flow_run_it_and_wait(client: Client, api: ApiClient) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        connection_string = (
            f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
            f"Integrated Security=False;User ID={emulator.user};"
            f"Password={emulator.password};Encrypt=False;"
        )
        parts = make_flow(client, connection_string=connection_string, delta_column=None)
        flow = client.flows.get(parts.flow_id)
        assert flow.source_connection_ids == [parts.source_id]
        assert flow.state == "enabled" and flow.last_run_details is None

        run = client.flows.run(parts.flow_id)
        assert run.flow_id == parts.flow_id and not run.finished
        done = client.wait_for_run(run.id, timeout=60, poll_interval=0.2)
        assert done.succeeded, done.metrics
        assert done.metrics["recordSummary"]["outputRecordCount"] == 3
        assert [r.id for r in client.runs.list(filters=[f"flowId=={parts.flow_id}"])] == [run.id]
        batches = list(client.batches.list(params={"dataSet": parts.dataset_id}))
        assert [(b.status, b.record_count) for b in batches] == [("success", 3)]
        assert client.batches.get(batches[0].id).tags["runId"] == [run.id]
        dataset = client.datasets.get(parts.dataset_id)
        assert {f["name"] for f in dataset.fields} >= {"OrderID", "Customer", "Amount"}

        async def again() -> None:
            async with AsyncClient(
                api.server.base_url, api.token, api.client_id, api.org_id
            ) as aclient:
                second = await aclient.flows.run(parts.flow_id)
                finished = await aclient.wait_for_run(second.id, timeout=60, poll_interval=0.2)
                assert finished.succeeded, finished.metrics

        asyncio.run(again())
        assert client.flows.get(parts.flow_id).last_run_details is not None


def test_wait_for_run_gives_up_with_the_last_state(client: Client) -> None:
    parts = make_flow(client)
    # a run told to start in an hour stays scheduled
    now = int(time.time())
    run = client.flows.run(
        parts.flow_id,
        {"windowStartTime": now - 600, "windowEndTime": now - 60, "startTime": now + 3600},
    )
    with pytest.raises(RunTimeout) as caught:
        client.wait_for_run(run.id, timeout=0.3, poll_interval=0.1)
    assert (caught.value.run_id, caught.value.state) == (run.id, "scheduled")
