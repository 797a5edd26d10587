"""Add data in Chromium: the emulator's schemas and tables as a tree, a table's columns and rows."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from console_harness import console_link, create_account
from service_harness import (
    ApiClient,
    RunningServer,
    created_id,
    new_org_id,
    sql_server_connection_body,
)

from flowservice.console import pages_explore
from mssql_emulator.testing import RunningEmulator, running_emulator

ROWS = 150
INIT = [
    "ALTER DATABASE testdb SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);"
    "CREATE SCHEMA sales;"
    "CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(40), Note NVARCHAR(20));"
    "ALTER TABLE sales.Orders ENABLE CHANGE_TRACKING;"
    "CREATE TABLE sales.Lines (Region NVARCHAR(5) NOT NULL, Line INT NOT NULL, Qty INT,"
    " CONSTRAINT pk_lines PRIMARY KEY (Line, Region));"
    "CREATE SCHEMA hr;"
    "CREATE TABLE hr.People (Name NVARCHAR(20));",
    "INSERT INTO sales.Orders VALUES "
    + ", ".join(f"({i}, N'customer {i:03d}', NULL)" for i in range(1, ROWS + 1))
    + ";",
]


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=INIT) as running:
        yield running


def _account(api: ApiClient, emulator: RunningEmulator, name: str = "Warehouse") -> str:
    text = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={emulator.password};Encrypt=False;"
    )
    account: str = created_id(api.post("/connections", json=sql_server_connection_body(text, name)))
    return account


def _sign_in(page: Any, server: RunningServer, org_id: str, *, read_only: bool = False) -> None:
    page.goto(console_link(server, org_id, read_only=read_only))
    page.wait_for_url(re.compile(r"/console/dataflows$"))


def test_the_tree_lists_schemas_and_tables(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _sign_in(page, console_server, org_api.org_id)
    page.get_by_role("link", name="Add data").click()
    page.get_by_role("link", name="Explore Warehouse").click()
    page.wait_for_url(re.compile(rf"/console/accounts/{account}/explore$"))
    sales = page.locator("li[data-schema='sales']")
    assert page.locator("li[data-schema='hr']").count() == 1
    orders = sales.get_by_role("link", name="Orders")
    assert not orders.is_visible()  # a closed <details> until its summary is opened
    sales.locator("summary").click()
    assert orders.is_visible() and sales.get_by_role("link", name="Lines").is_visible()
    orders.click()
    page.wait_for_url(re.compile(r"/explore/table\?object=sales\.Orders$"))
    assert page.get_by_role("heading", name="sales.Orders").is_visible()


def test_a_table_shows_columns_key_change_tracking_and_100_rows(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _sign_in(page, console_server, org_api.org_id)
    page.goto(
        f"{console_server.base_url}/console/accounts/{account}/explore/table?object=sales.Orders"
    )
    columns = page.get_by_test_id("columns")
    order_id = columns.locator("tr[data-column='OrderID']")
    assert "int" in order_id.inner_text() and "primary key" in order_id.inner_text()
    assert "nvarchar(40)" in columns.locator("tr[data-column='Customer']").inner_text()
    assert page.get_by_test_id("primary-key").inner_text() == "OrderID"
    assert page.get_by_test_id("change-tracking").inner_text().startswith("enabled")
    preview = page.get_by_test_id("preview")
    assert preview.locator("tbody tr").count() == pages_explore.PREVIEW_ROWS
    assert "customer 001" in preview.inner_text()
    assert "NULL" in preview.locator("tbody tr").first.inner_text()
    assert "the preview stops at 100" in page.content()


def test_a_composite_key_and_an_untracked_table(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _sign_in(page, console_server, org_api.org_id)
    base = f"{console_server.base_url}/console/accounts/{account}/explore/table?object="
    page.goto(base + "sales.Lines")
    assert page.get_by_test_id("primary-key").inner_text() == "Line, Region"
    assert "off for this table" in page.get_by_test_id("change-tracking").inner_text()
    page.goto(base + "hr.People")
    assert page.get_by_test_id("primary-key").inner_text() == "none"
    assert page.get_by_test_id("preview").count() == 0
    response = page.goto(base + "sales.Nope")
    assert response.status == 404


def test_a_large_source_is_paged(
    console_server: RunningServer,
    org_api: ApiClient,
    page: Any,
    emulator: RunningEmulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pages_explore, "TREE_PAGE", 2)  # the server runs in this process
    account = _account(org_api, emulator)
    _sign_in(page, console_server, org_api.org_id)
    page.goto(f"{console_server.base_url}/console/accounts/{account}/explore")
    assert "Objects 1 to 2; the source has more" in page.get_by_test_id("tree-range").inner_text()
    page.get_by_role("link", name="Next objects").click()
    assert "Objects 3 to 3." in page.get_by_test_id("tree-range").inner_text()
    assert page.get_by_role("link", name="Next objects").count() == 0
    assert page.get_by_role("link", name="Previous objects").is_visible()


def test_a_read_only_session_can_explore(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _sign_in(page, console_server, org_api.org_id, read_only=True)
    page.goto(f"{console_server.base_url}/console/accounts/{account}/explore")
    assert page.locator("li[data-schema='sales']").count() == 1
    assert page.locator("form").count() == 1  # only "Sign out"


def test_another_orgs_account_is_not_found(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    theirs = create_account(org_api, "Their warehouse")
    other = ApiClient(console_server, org_id=new_org_id(), client_id="c-other-explore")
    try:
        assert other.get("/flows").status_code == 200
        _sign_in(page, console_server, other.org_id)
    finally:
        other.close()
    for path in ("explore", "explore/table?object=sales.Orders"):
        response = page.goto(f"{console_server.base_url}/console/accounts/{theirs}/{path}")
        assert response.status == 404
        assert "not found" in page.get_by_test_id("problem").inner_text()
    page.goto(f"{console_server.base_url}/console/explore")
    assert "Their warehouse" not in page.content()
