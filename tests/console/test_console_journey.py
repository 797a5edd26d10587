"""The whole console journey in Chromium: sign in, connect, explore, create, run, monitor.

Each screen is saved as a PNG under the test's own directory, or under the directory named
by ``FLOWSERVICE_SCREENSHOTS`` (how the pictures in docs/console/ are made).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from console_harness import console_link
from service_harness import SQLSERVER_SPEC_ID, ApiClient, RunningServer

from mssql_emulator.testing import RunningEmulator, running_emulator

ROWS = 7
INIT = [
    "CREATE SCHEMA crm;"
    "CREATE TABLE crm.Customers (CustomerID INT PRIMARY KEY, Name NVARCHAR(40),"
    " City NVARCHAR(40));",
    "INSERT INTO crm.Customers VALUES "
    + ", ".join(f"({i}, N'Customer {i}', N'City {i % 3}')" for i in range(1, ROWS + 1))
    + ";",
]
VIEWPORT = {"width": 1280, "height": 800}
RUN_DEADLINE_SECONDS = 90


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=INIT) as running:
        yield running


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    chosen = os.environ.get("FLOWSERVICE_SCREENSHOTS")
    folder = Path(chosen) if chosen else tmp_path / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _connection_string(emulator: RunningEmulator) -> str:
    return (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={emulator.password};Encrypt=False;"
    )


def _nav(page: Any, name: str) -> None:
    page.get_by_role("navigation", name="Console").get_by_role("link", name=name).click()


def _shot(page: Any, folder: Path, name: str) -> None:
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)


def _wait_for_success(page: Any) -> None:
    """Reload the runs page until its newest run is final; it must be a success."""
    deadline = time.monotonic() + RUN_DEADLINE_SECONDS
    status = page.locator("tbody tr").first.locator(".status")
    while True:
        if status.count() and status.inner_text() in ("success", "failed", "cancelled"):
            break
        assert time.monotonic() < deadline, "the run did not finish in time"
        time.sleep(0.5)
        page.reload()
    assert status.inner_text() == "success"


def test_the_whole_journey_from_sign_in_to_the_monitoring_chart(
    console_server: RunningServer,
    org_api: ApiClient,
    page: Any,
    emulator: RunningEmulator,
    shots: Path,
) -> None:
    page.set_viewport_size(VIEWPORT)
    base = console_server.base_url
    # sign in with a one-time link, then Sources
    page.goto(console_link(console_server, org_api.org_id))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    _nav(page, "Sources")
    page.wait_for_url(re.compile(r"/console/sources$"))
    assert page.get_by_role("link", name="Connect a sql-server account").is_visible()
    _shot(page, shots, "sources")

    # Connect: the real connection string of the emulator, then Test connection
    page.get_by_role("link", name="Connect a sql-server account").click()
    page.wait_for_url(re.compile(rf"/console/connect/{SQLSERVER_SPEC_ID}$"))
    page.get_by_label("Name").fill("CRM database")
    page.get_by_label("Description").fill("Customers of the shop")
    page.get_by_label("Connection string").fill(_connection_string(emulator))
    _shot(page, shots, "connect")
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url(re.compile(r"/console/accounts/[^/]+/test$"))
    account = page.url.rsplit("/", 2)[-2]
    page.get_by_role("button", name="Test connection").click()
    assert "The connection works" in page.get_by_test_id("test-result").inner_text()
    assert emulator.password not in page.content()
    _shot(page, shots, "connect-test")

    # Add data: the tree, then the table with its preview
    _nav(page, "Add data")
    page.get_by_role("link", name="Explore CRM database").click()
    page.wait_for_url(re.compile(rf"/console/accounts/{account}/explore$"))
    crm = page.locator("li[data-schema='crm']")
    if crm.locator("details[open]").count() == 0:  # one schema is shown open
        crm.locator("summary").click()
    _shot(page, shots, "explore-tree")
    crm.get_by_role("link", name="Customers").click()
    page.wait_for_url(re.compile(r"/explore/table\?object=crm\.Customers$"))
    assert page.get_by_test_id("primary-key").inner_text() == "CustomerID"
    assert page.get_by_test_id("preview").locator("tbody tr").count() == ROWS
    _shot(page, shots, "explore-table")

    # the wizard: a new dataset, once, starting now
    page.get_by_role("link", name="Create a dataflow").click()
    page.wait_for_url(re.compile(rf"/console/accounts/{account}/dataflow\?table=crm.Customers$"))
    page.get_by_label("Dataflow name").fill("Customers copy")
    page.get_by_label("A new dataset").check()
    page.get_by_label("Name of the new dataset").fill("customers")
    _shot(page, shots, "wizard-dataset")
    page.get_by_role("button", name="Next: mapping").click()
    page.get_by_role("button", name="Next: schedule").click()
    page.get_by_label("Frequency").select_option("once")
    page.get_by_role("button", name="Next: review").click()
    assert "a new dataset named customers" in page.get_by_test_id("review").inner_text()
    _shot(page, shots, "wizard-review")
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/console/dataflows/[^/]+/runs$"))
    flow_id = page.url.rsplit("/", 2)[-2]

    # Dataflows lists it; its scheduled run (once, now) succeeds with every row
    _nav(page, "Dataflows")
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    row = page.locator("tbody tr", has=page.get_by_role("link", name="Customers copy"))
    assert row.count() == 1
    _shot(page, shots, "dataflows")
    page.goto(f"{base}/console/dataflows/{flow_id}/runs")
    _wait_for_success(page)
    newest = page.locator("tbody tr").first
    assert newest.locator("td.num").nth(1).inner_text() == str(ROWS)  # written
    _shot(page, shots, "runs")
    newest.get_by_role("link").click()
    page.wait_for_url(re.compile(r"/console/runs/[^/]+$"))
    assert page.get_by_test_id("run-status").inner_text() == "success"
    _shot(page, shots, "run-detail")

    # Monitoring: the overview chart has a bar with the run's count
    _nav(page, "Monitoring")
    page.wait_for_url(re.compile(r"/console/monitoring$"))
    chart = page.get_by_test_id("ingestion-chart")
    values = [
        int(v)
        for v in chart.locator("rect.bar").evaluate_all("bars => bars.map(b => b.dataset.value)")
    ]
    assert ROWS in values, values
    _shot(page, shots, "monitoring")
    assert len(list(shots.glob("*.png"))) >= 10
