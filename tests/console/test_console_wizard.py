"""The dataflow wizard in Chromium, against the real server and the SQL Server emulator."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from console_harness import console_link
from service_harness import (
    ApiClient,
    RunningServer,
    create_dataset,
    created_id,
    new_org_id,
    sql_server_connection_body,
)

from flowservice.settings import CATALOG_PREFIX
from mssql_emulator.testing import RunningEmulator, running_emulator

INIT = [
    "CREATE SCHEMA crm;"
    "CREATE TABLE crm.People (PersonID INT PRIMARY KEY, Name NVARCHAR(40),"
    " Updated DATETIME2 NOT NULL);",
    "INSERT INTO crm.People VALUES (1, N'Ann', '2020-01-01T10:00:00'),"
    " (2, N'BOB', '2020-02-01T10:00:00'), (3, N'Cleo', '2020-03-01T10:00:00');",
]
FINAL = ("success", "failed", "cancelled")


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=INIT) as running:
        yield running


def _account(api: ApiClient, emulator: RunningEmulator) -> str:
    text = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={emulator.password};Encrypt=False;"
    )
    account: str = created_id(
        api.post("/connections", json=sql_server_connection_body(text, "CRM"))
    )
    return account


def _open_wizard(page: Any, server: RunningServer, org_id: str, account: str) -> None:
    page.goto(console_link(server, org_id))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    page.goto(f"{server.base_url}/console/accounts/{account}/explore/table?object=crm.People")
    page.get_by_role("link", name="Create a dataflow").click()
    page.wait_for_url(re.compile(rf"/console/accounts/{account}/dataflow\?table=crm.People$"))


def _flows(api: ApiClient) -> list[Any]:
    items: list[Any] = api.get("/flows").json()["items"]
    return items


def _first_run(api: ApiClient, flow_id: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        items = api.get(f"/runs?property=flowId=={flow_id}").json()["items"]
        if items and items[0]["metrics"]["statusSummary"]["status"] in FINAL:
            return dict(items[0])
        assert time.monotonic() < deadline, f"no finished run of {flow_id}: {items}"
        time.sleep(0.3)


def test_the_wizard_creates_a_flow_whose_run_fills_a_new_dataset(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _open_wizard(page, console_server, org_api.org_id, account)
    # step 1, by keyboard: a new dataset
    page.get_by_label("Dataflow name").fill("People copy")
    page.get_by_label("A new dataset").check()
    page.get_by_label("Name of the new dataset").focus()
    page.keyboard.type("people")
    page.keyboard.press("Enter")
    # step 2: an expression, checked, then next
    page.get_by_label("Destination 1").fill("name_lower")
    page.get_by_label("Expression 1").fill("lower(Name)")
    page.get_by_role("button", name="Check").click()
    assert page.get_by_test_id("check-summary").inner_text() == "All mappings are valid."
    assert page.get_by_label("Expression 1").input_value() == "lower(Name)"
    page.get_by_role("button", name="Next: schedule").click()
    # step 3: once, starting now, incremental by the datetime2 column
    page.get_by_label("Frequency").select_option("once")
    page.get_by_label("Incremental by").select_option("delta:Updated")
    assert "UTC" in page.get_by_text("Start time (UTC)").inner_text()
    page.get_by_role("button", name="Next: review").click()
    review = page.get_by_test_id("review").inner_text()
    assert "a new dataset named people" in review and "lower(Name)" in review
    assert "new rows by the column Updated" in review
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/console/dataflows/[^/]+/runs$"))

    flows = _flows(org_api)
    assert [f["name"] for f in flows] == ["People copy"]
    flow_id = flows[0]["id"]
    assert page.url.endswith(f"/console/dataflows/{flow_id}/runs")
    page.goto(f"{console_server.base_url}/console/dataflows")
    assert "People copy" in page.get_by_role("main").inner_text()

    run = _first_run(org_api, flow_id)
    assert run["metrics"]["statusSummary"]["status"] == "success", run
    datasets = org_api.request("GET", "/dataSets", prefix=CATALOG_PREFIX).json()
    (dataset_id,) = [key for key, item in datasets.items() if item["name"] == "people"]
    preview = org_api.request("GET", f"/dataSets/{dataset_id}/preview", prefix=CATALOG_PREFIX)
    rows = sorted(preview.json()["data"], key=lambda r: r["PersonID"])
    assert [(r["PersonID"], r["name_lower"]) for r in rows] == [(1, "ann"), (2, "bob"), (3, "cleo")]


def test_a_merge_flow_keeps_the_key_and_delete_mode_chosen_in_the_wizard(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _open_wizard(page, console_server, org_api.org_id, account)
    page.get_by_label("Dataflow name").fill("People mirror")
    page.get_by_label("Name of the new dataset").fill("people mirror")
    page.get_by_role("button", name="Next: mapping").click()
    page.get_by_role("button", name="Next: schedule").click()
    assert "the primary key (PersonID)" in page.locator("#key-columns-help").inner_text()
    page.get_by_label("Write mode").select_option("merge")
    page.get_by_label("Key columns (merge only)").fill("personid, Nope")
    page.get_by_role("button", name="Next: review").click()
    assert "Nope is not a column" in page.get_by_test_id("problem").inner_text()
    assert page.get_by_label("Key columns (merge only)").input_value() == "personid, Nope"
    page.get_by_label("Key columns (merge only)").fill("personid")
    page.get_by_label("Rows deleted at the source (merge only)").select_option("soft")
    page.get_by_role("button", name="Next: review").click()
    review = page.get_by_test_id("review").inner_text()
    assert "merging by PersonID; rows deleted at the source are kept and marked" in review
    page.get_by_role("button", name="Create").click()
    page.wait_for_url(re.compile(r"/console/dataflows/[^/]+/runs$"))

    (flow,) = _flows(org_api)
    target = org_api.get(f"/targetConnections/{flow['targetConnectionIds'][0]}").json()
    params = target["items"][0]["params"]
    assert (params["writeMode"], params["keyColumns"], params["deleteMode"]) == (
        "merge",
        ["PersonID"],
        "soft",
    )
    assert _first_run(org_api, flow["id"])["metrics"]["statusSummary"]["status"] == "success"


def test_an_invalid_expression_is_shown_at_step_2_and_blocks_the_way(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    _open_wizard(page, console_server, org_api.org_id, account)
    page.get_by_label("Name of the new dataset").fill("people")
    page.get_by_role("button", name="Next: mapping").click()
    page.get_by_label("Destination 1").fill("bad")
    page.get_by_label("Expression 1").fill("lower(NoSuchColumn)")
    page.get_by_role("button", name="Check").click()
    result = page.locator("#mapping-0-result")
    assert "NoSuchColumn" in result.inner_text()
    assert page.get_by_label("Expression 1").get_attribute("aria-describedby") == "mapping-0-result"
    page.get_by_role("button", name="Next: schedule").click()
    assert "NoSuchColumn" in page.locator("#mapping-0-result").inner_text()
    assert page.get_by_role("button", name="Create").count() == 0
    # fixed, it moves on; merge with an added mapping is refused at step 3
    page.get_by_label("Expression 1").fill("lower(Name)")
    page.get_by_role("button", name="Next: schedule").click()
    page.get_by_label("Write mode").select_option("merge")
    page.get_by_role("button", name="Next: review").click()
    assert "Merge and Change Tracking" in page.get_by_test_id("problem").inner_text()
    form = page.locator("form.wizard-form")
    assert form.get_attribute("aria-describedby") == "wizard-problem"
    assert _flows(org_api) == []


def test_tampered_fields_are_refused_or_rechecked(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    other = ApiClient(console_server, org_id=new_org_id(), client_id=f"c-{new_org_id()[:8]}")
    assert other.get("/flows").status_code == 200  # registers the other org
    foreign = create_dataset(other, "theirs")
    create_dataset(org_api, "ours")
    account = _account(org_api, emulator)
    _open_wizard(page, console_server, org_api.org_id, account)
    # a dataset id of another org put into the select: the API's answer is "not found"
    page.evaluate(
        "id => { document.querySelector('#dataset-id option:last-child').value = id; }",
        foreign,
    )
    page.get_by_label("An existing dataset").check()
    page.get_by_label("Existing dataset", exact=True).select_option(label="ours")
    page.get_by_role("button", name="Next: mapping").click()
    assert "not found" in page.get_by_test_id("problem").inner_text().lower()
    # an edited signed state: refused outright
    page.evaluate(
        "() => { const s = document.querySelector('input[name=state]'); s.value += 'x'; }"
    )
    page.get_by_role("button", name="Next: mapping").click()
    assert "could not be accepted" in page.get_by_role("main").inner_text()
    assert _flows(org_api) == [] and _flows(other) == []
    other.close()


def test_a_read_only_session_sees_no_create_a_dataflow(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    account = _account(org_api, emulator)
    page.goto(console_link(console_server, org_api.org_id, read_only=True))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    page.goto(
        f"{console_server.base_url}/console/accounts/{account}/explore/table?object=crm.People"
    )
    assert page.get_by_test_id("primary-key").inner_text() == "PersonID"
    assert page.get_by_role("link", name="Create a dataflow").count() == 0
    page.goto(f"{console_server.base_url}/console/accounts/{account}/dataflow?table=crm.People")
    assert page.get_by_test_id("read-only").is_visible()
    assert page.get_by_role("button", name="Next: mapping").count() == 0
