"""Connect in Chromium: the form from the spec's auth schema, create, test, secrets kept out."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from console_harness import console_link, create_account
from service_harness import SQLSERVER_SPEC_ID, ApiClient, RunningServer, new_org_id

from mssql_emulator.testing import RunningEmulator, running_emulator

INIT = "CREATE SCHEMA shop; CREATE TABLE shop.Items (ItemID INT PRIMARY KEY, Label NVARCHAR(20));"
WRONG_PASSWORD = "Wr0ng-Passw0rd-42"


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[INIT]) as running:
        yield running


def _connection_string(emulator: RunningEmulator, password: str | None = None) -> str:
    return (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={password or emulator.password};Encrypt=False;"
    )


def _sign_in(page: Any, server: RunningServer, org_id: str, *, read_only: bool = False) -> None:
    page.goto(console_link(server, org_id, read_only=read_only))
    page.wait_for_url(re.compile(r"/console/dataflows$"))


def _open_form(page: Any) -> None:
    page.get_by_role("link", name="Connect", exact=True).click()
    page.get_by_role("link", name="Connect sql-server").click()
    page.wait_for_url(re.compile(rf"/console/connect/{SQLSERVER_SPEC_ID}$"))


def _create(page: Any, name: str, connection_string: str) -> None:
    page.get_by_label("Name").fill(name)
    page.get_by_label("Connection string").fill(connection_string)
    page.get_by_role("button", name="Create account").click()


def test_the_form_follows_the_auth_schema(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    _open_form(page)
    secret = page.get_by_label("Connection string")
    assert secret.get_attribute("type") == "password"
    assert secret.get_attribute("autocomplete") == "off"
    assert secret.get_attribute("required") is not None
    help_id = secret.get_attribute("aria-describedby")
    help_text = page.locator(f"#{help_id}").inner_text()
    assert "connection string to connect to any SQL Server database" in help_text
    assert page.locator("form.schema-form .required").count() == 2  # name and connection string


def test_connect_then_test_succeeds(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    _open_form(page)
    _create(page, "Shop DB", _connection_string(emulator))
    page.wait_for_url(re.compile(r"/console/accounts/[^/]+/test$"))
    account_id = page.url.rsplit("/", 2)[-2]
    created = org_api.get(f"/connections/{account_id}").json()["items"][0]
    assert created["name"] == "Shop DB"
    assert created["auth"]["specName"] == "Connection String Based Authentication"
    page.get_by_role("button", name="Test connection").click()
    result = page.get_by_test_id("test-result")
    assert "The connection works" in result.inner_text()
    assert result.get_attribute("role") == "status"
    assert emulator.password not in page.content()
    page.goto(f"{console_server.base_url}/console/accounts")
    row = page.locator(f"tr[data-account-id='{account_id}']")
    assert row.get_by_test_id("last-test").inner_text().startswith("passed ")


def _last_test(page: Any, server: RunningServer, account_id: str) -> str:
    page.goto(f"{server.base_url}/console/accounts")
    text: str = (
        page.locator(f"tr[data-account-id='{account_id}']").get_by_test_id("last-test").inner_text()
    )
    return text


def test_a_wrong_password_shows_the_classified_error_and_never_the_password(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    _open_form(page)
    _create(page, "Wrong password", _connection_string(emulator, WRONG_PASSWORD))
    page.wait_for_url(re.compile(r"/console/accounts/[^/]+/test$"))
    assert WRONG_PASSWORD not in page.content()
    account_id = page.url.rsplit("/", 2)[-2]
    assert _last_test(page, console_server, account_id).startswith("never")
    page.go_back()
    page.get_by_role("button", name="Test connection").click()
    result = page.get_by_role("alert")
    assert "The connection failed." in result.inner_text()
    api_answer = org_api.get(f"/connections/{account_id}/test").json()
    assert api_answer["result"] is False
    assert api_answer["message"] in result.inner_text()
    assert WRONG_PASSWORD not in page.content()
    # the accounts list shows the last test (here the API's), with its message, and no secret
    last = _last_test(page, console_server, account_id)
    assert last.startswith("failed ") and api_answer["message"] in last
    assert WRONG_PASSWORD not in page.content()


def test_a_refused_form_says_why_and_forgets_the_secret(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    _open_form(page)
    _create(page, "Typo", "Server=nowhere;Password=Hunter2-secret;")
    problem = page.get_by_test_id("problem")
    assert "The account was not created." in problem.inner_text()
    assert "User ID is required" in problem.inner_text()
    assert page.get_by_label("Name").input_value() == "Typo"
    assert page.get_by_label("Connection string").input_value() == ""
    assert "Hunter2-secret" not in page.content()
    assert org_api.get("/connections").json()["items"] == []


def test_the_form_works_from_the_keyboard(
    console_server: RunningServer, org_api: ApiClient, page: Any, emulator: RunningEmulator
) -> None:
    _sign_in(page, console_server, org_api.org_id)
    page.goto(f"{console_server.base_url}/console/connect/{SQLSERVER_SPEC_ID}")
    page.get_by_label("Name").focus()
    page.keyboard.type("Typed DB")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "account-description"
    page.keyboard.type("typed by keyboard")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "param-connectionString"
    page.keyboard.type(_connection_string(emulator))
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/console/accounts/[^/]+/test$"))
    button = page.get_by_role("button", name="Test connection")
    button.focus()
    page.keyboard.press("Enter")
    assert "The connection works" in page.get_by_test_id("test-result").inner_text()


def test_a_read_only_session_sees_no_connect_form(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    account = create_account(org_api, "Read only view")
    _sign_in(page, console_server, org_api.org_id, read_only=True)
    assert page.get_by_role("link", name="Connect", exact=True).count() == 0
    page.goto(f"{console_server.base_url}/console/connect")
    assert page.get_by_test_id("read-only").is_visible()
    assert page.get_by_role("link", name="Connect sql-server").count() == 0
    page.goto(f"{console_server.base_url}/console/connect/{SQLSERVER_SPEC_ID}")
    assert page.locator("form.schema-form").count() == 0
    assert page.locator("input[type=password]").count() == 0
    page.goto(f"{console_server.base_url}/console/accounts/{account}/test")
    assert page.get_by_role("heading", name="Account Read only view").is_visible()
    assert page.get_by_role("button", name="Test connection").count() == 0


def test_another_orgs_account_is_not_found(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    theirs = create_account(org_api, "Their DB")
    other = ApiClient(console_server, org_id=new_org_id(), client_id="c-other-connect")
    try:
        assert other.get("/flows").status_code == 200
        _sign_in(page, console_server, other.org_id)
    finally:
        other.close()
    response = page.goto(f"{console_server.base_url}/console/accounts/{theirs}/test")
    assert response.status == 404
    assert "not found" in page.get_by_test_id("problem").inner_text()
    assert "Their DB" not in page.content()
