"""Monitoring overview and Settings in Debian's Chromium, with runs against the emulator."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from console_harness import console_link, create_flow
from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    RunningServer,
    add_dev_sandbox,
    create_dataset,
    created_id,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

from mssql_emulator.testing import RunningEmulator, running_emulator

pytestmark = pytest.mark.timeout(180)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50));
INSERT INTO sales.Orders VALUES (1, N'Ann'), (2, N'Bob'), (3, N'Cé'), (4, N'Dan'), (5, N'Eve');
CREATE TABLE sales.Returns (ReturnID INT PRIMARY KEY, OrderID INT);
INSERT INTO sales.Returns VALUES (1, 2), (2, 4), (3, 5);
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[INIT]) as running:
        yield running


def _copy_flow(api: ApiClient, emulator: RunningEmulator, table: str) -> str:
    """A flow that copies ``table`` of the emulator into a new dataset, made through the API."""
    text = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};Password={emulator.password};"
        "Encrypt=False;"
    )
    conn = created_id(api.post("/connections", json=sql_server_connection_body(text)))
    dataset = create_dataset(api, f"{table} copy")
    source = created_id(
        api.post(
            "/sourceConnections", json=source_connection_body(name=table, base_id=conn, table=table)
        )
    )
    target = created_id(
        api.post("/targetConnections", json=target_connection_body(name=table, dataset_id=dataset))
    )
    body = {
        "name": f"copy {table}",
        "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
        "sourceConnectionIds": [source],
        "targetConnectionIds": [target],
        "transformations": [{"name": "Copy", "params": {}}],
        "scheduleParams": {
            "startTime": str(int(time.time()) + 86_400),
            "frequency": "day",
            "interval": "1",
        },
    }
    return created_id(api.post("/flows", json=body))


def _run(api: ApiClient, flow_id: str) -> dict[str, Any]:
    """Run the flow now and wait for its success; its API item."""
    run_id = created_id(api.post("/runs", json={"flowId": flow_id}))
    deadline = time.monotonic() + 90
    while True:
        item: dict[str, Any] = api.get(f"/runs/{run_id}").json()["items"][0]
        status = item["metrics"]["statusSummary"]["status"]
        if status in ("success", "failed", "cancelled"):
            assert status == "success", item
            return item
        assert time.monotonic() < deadline, f"run {run_id} is still {status}"
        time.sleep(0.2)


def _by_day(runs: list[dict[str, Any]]) -> Counter[str]:
    """Records written per UTC day of each run's completion, as the chart's bars are labelled."""
    days: Counter[str] = Counter()
    for run in runs:
        done = run["metrics"]["durationSummary"]["completedAtUTC"] / 1000
        day = datetime.fromtimestamp(done, UTC).strftime("%Y-%m-%d")
        days[day] += run["metrics"]["recordSummary"]["outputRecordCount"]
    return days


def _bars(page: Any) -> list[tuple[str, int]]:
    """(label, value) of every bar of the chart, read from the SVG in the page."""
    rects = page.locator("[data-testid=ingestion-chart] svg rect.bar")
    return [
        (
            str(r.locator("title").text_content()).split(":")[0],
            int(str(r.get_attribute("data-value"))),
        )
        for r in rects.all()
    ]


def _sign_in(page: Any, server: RunningServer, org_id: str, *, read_only: bool = False) -> None:
    page.goto(console_link(server, org_id, read_only=read_only))
    page.wait_for_url(re.compile(r"/console/dataflows$"))


def test_monitoring_charts_the_records_of_runs_through_the_api(
    console_server: RunningServer, org_api: ApiClient, emulator: RunningEmulator, page: Any
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    page.goto(f"{console_server.base_url}/console/monitoring")
    assert "No records were ingested" in page.get_by_test_id("no-ingestion").inner_text()
    orders = _copy_flow(org_api, emulator, "sales.Orders")
    returns = _copy_flow(org_api, emulator, "sales.Returns")
    order_runs = [_run(org_api, orders), _run(org_api, orders)]
    return_runs = [_run(org_api, returns)]
    assert [r["metrics"]["recordSummary"]["outputRecordCount"] for r in order_runs] == [5, 5]

    page.reload()
    svg = page.locator("[data-testid=ingestion-chart] svg")
    assert "Records ingested per day in sandbox prod" in str(
        svg.locator("title").first.text_content()
    )
    bars = _bars(page)
    assert len(bars) == 7
    expected = _by_day(order_runs + return_runs)
    assert {label: value for label, value in bars if value} == dict(expected)
    assert sum(value for _, value in bars) == 13
    # the same numbers in the table, for those who cannot see the chart
    page.get_by_text("The numbers as a table").click()
    cells = page.get_by_test_id("ingestion-table").locator("tbody tr")
    assert cells.count() == 7
    assert [c.locator("td").inner_text() for c in cells.all()] == [f"{v:,}" for _, v in bars]

    # one flow, over the last day: 24 hourly bars holding only its runs' records
    page.get_by_label("Dataflow").select_option(label="copy sales.Orders")
    page.get_by_label("Range").select_option(label="last 1 day")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url(re.compile(rf"flow={orders}"))
    hourly = _bars(page)
    assert len(hourly) == 24
    assert sum(value for _, value in hourly) == 10
    assert "dataflow copy sales.Orders" in page.get_by_role("heading", level=2).first.inner_text()


def test_switching_sandbox_shows_only_that_sandboxs_flows(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    add_dev_sandbox(org_api)
    dev = ApiClient(
        console_server, org_id=org_api.org_id, client_id=org_api.client_id, sandbox="dev"
    )
    create_flow(org_api, "Prod flow")
    create_flow(dev, "Dev flow")
    _sign_in(page, console_server, org_api.org_id)
    assert page.get_by_role("link", name="Prod flow").is_visible()
    page.goto(f"{console_server.base_url}/console/settings")
    assert page.locator("tr[data-sandbox=prod]").inner_text().strip().endswith("current")
    page.get_by_label("Work in sandbox").select_option("dev")
    page.get_by_role("button", name="Switch sandbox").click()
    page.wait_for_url(re.compile(r"/console/settings\?done=sandbox$"))
    assert page.get_by_test_id("sandbox").inner_text() == "dev"
    assert page.locator("tr[data-sandbox=dev]").inner_text().strip().endswith("current")
    page.goto(f"{console_server.base_url}/console/dataflows")
    assert page.get_by_role("link", name="Dev flow").is_visible()
    assert page.get_by_role("link", name="Prod flow").count() == 0
    dev.close()


def test_an_alert_subscription_secret_is_shown_once_then_deleted(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    page.goto(f"{console_server.base_url}/console/settings")
    expiry = page.get_by_test_id("session-expiry").inner_text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(in \d+ min\)", expiry)
    page.get_by_label("Name").fill("On-call hook")
    page.get_by_label("Webhook URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("A run starts").uncheck()
    page.get_by_label("Delay before a run counts as late (minutes)").fill("30")
    page.get_by_label("Error rate threshold (% of records failed)").fill("2.5")
    page.get_by_role("button", name="Create subscription").click()
    secret = page.get_by_test_id("new-secret").inner_text().strip()
    assert len(secret) >= 32
    listed = org_api.get("/alerts/subscriptions").json()["items"]
    assert len(listed) == 1 and "secret" not in listed[0]
    made = listed[0]
    assert made["name"] == "On-call hook" and made["delayMinutes"] == 30
    assert made["errorRatePercent"] == 2.5 and "sources_flow_run_start" not in made["kinds"]
    row = page.locator(f"tr[data-subscription-id='{made['id']}']")
    assert "http://127.0.0.1:9/hook" in row.inner_text()

    page.goto(f"{console_server.base_url}/console/settings")
    assert page.get_by_test_id("new-secret").count() == 0
    assert secret not in page.content()
    page.locator(f"tr[data-subscription-id='{made['id']}']").get_by_role(
        "button", name="Delete subscription On-call hook"
    ).click()
    page.wait_for_url(re.compile(r"done=deleted$"))
    assert "is deleted" in page.get_by_role("status").inner_text()
    assert org_api.get("/alerts/subscriptions").json()["items"] == []


def test_a_bad_subscription_is_refused_in_place(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    page.goto(f"{console_server.base_url}/console/settings")
    page.get_by_label("Name").fill("Bad rate")
    page.get_by_label("Webhook URL").fill("http://127.0.0.1:9/hook")
    page.get_by_label("Error rate threshold (% of records failed)").fill("250")
    page.get_by_role("button", name="Create subscription").click()
    assert "errorRatePercent" in page.locator("[role=alert]").inner_text()
    assert page.get_by_label("Name").input_value() == "Bad rate"
    assert page.get_by_test_id("new-secret").count() == 0
    assert org_api.get("/alerts/subscriptions").json()["items"] == []


def test_a_read_only_session_sees_settings_without_forms(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    add_dev_sandbox(org_api)
    made = org_api.post(
        "/alerts/subscriptions", json={"name": "Existing", "url": "http://127.0.0.1:9/x"}
    )
    assert made.status_code == 201
    _sign_in(page, console_server, org_api.org_id, read_only=True)
    page.goto(f"{console_server.base_url}/console/settings")
    assert page.locator("tr[data-sandbox=dev]").is_visible()
    assert page.get_by_role("rowheader", name="Existing").is_visible()
    assert page.locator("main form").count() == 0
    assert page.locator("main button").count() == 0
    assert made.json()["secret"] not in page.content()
    page.goto(f"{console_server.base_url}/console/monitoring")
    assert page.locator("main form[method=post]").count() == 0
