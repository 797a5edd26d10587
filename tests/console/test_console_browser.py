"""The console in Debian's Chromium: sign-in, the screens, their actions, keyboard use."""

from __future__ import annotations

import re
from typing import Any

from console_harness import console_link, create_account, create_flow
from service_harness import ApiClient, RunningServer, new_org_id


def _open(page: Any, link: str) -> None:
    """Follow a console link and wait for the page it continues to."""
    page.goto(link)
    page.wait_for_url(re.compile(r"/console/dataflows$"))


def _row(page: Any, attribute: str, value: str) -> Any:
    return page.locator(f"tr[{attribute}='{value}']")


def test_a_console_link_signs_in_once(
    console_server: RunningServer, org_api: ApiClient, page: Any, browser: Any
) -> None:
    link = console_link(console_server, org_api.org_id)
    page.goto(link)
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    assert page.get_by_test_id("sandbox").inner_text() == "prod"
    assert "token=" not in page.url
    fresh = browser.new_context()
    try:
        again = fresh.new_page()
        again.goto(link)
        assert "already been used" in again.locator("[role=alert]").inner_text()
        assert again.get_by_label("Access token").is_visible()
    finally:
        fresh.close()


def test_an_expired_link_shows_the_sign_in_page(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    link = console_link(console_server, org_api.org_id, ttl="1s")
    page.wait_for_timeout(2100)
    page.goto(link)
    assert "expired" in page.locator("[role=alert]").inner_text()
    page.goto(f"{console_server.base_url}/console/dataflows")
    assert page.url.endswith("/console/sign-in")


def test_sign_in_with_an_access_token(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    create_flow(org_api, "Token flow")
    page.goto(f"{console_server.base_url}/console/sign-in")
    page.get_by_label("Access token").fill(org_api.token)
    page.get_by_label("Sandbox").fill("prod")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    assert page.get_by_role("link", name="Token flow").is_visible()
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(re.compile(r"/console/sign-in$"))


def test_dataflows_list_run_now_and_monitoring(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    flow_id, _ = create_flow(org_api, "Orders to the lake")
    _open(page, console_link(console_server, org_api.org_id))
    row = _row(page, "data-flow-id", flow_id)
    assert row.get_by_test_id("state").inner_text() == "enabled"
    assert "every 15 minutes" in row.inner_text()
    assert "never run" in row.inner_text()
    row.get_by_role("button", name="Run Orders to the lake now").click()
    page.wait_for_url(re.compile(rf"/console/dataflows/{flow_id}/runs\?started=1$"))
    assert "A run has started." in page.get_by_role("status").inner_text()
    runs = org_api.get(f"/runs?property=flowId=={flow_id}").json()["items"]
    assert len(runs) == 1
    run_row = _row(page, "data-run-id", runs[0]["id"])
    assert run_row.count() == 1
    # the run fails against a closed port: reload until it has, then open its detail
    for _ in range(60):
        page.reload()
        if "failed" in _row(page, "data-run-id", runs[0]["id"]).inner_text():
            break
        page.wait_for_timeout(500)
    page.get_by_label("Failures only").check()
    page.get_by_role("button", name="Apply").click()
    page.wait_for_url(re.compile(r"failures=1"))
    _row(page, "data-run-id", runs[0]["id"]).get_by_role("link").click()
    page.wait_for_url(re.compile(rf"/console/runs/{runs[0]['id']}$"))
    assert page.get_by_test_id("run-status").inner_text() == "failed"
    assert page.get_by_test_id("run-errors").inner_text().strip()
    assert "Traceback" not in page.content()


def test_disable_and_enable_round_trip(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    flow_id, _ = create_flow(org_api, "Switch flow")
    _open(page, console_link(console_server, org_api.org_id))
    _row(page, "data-flow-id", flow_id).get_by_role("button", name="Disable Switch flow").click()
    page.wait_for_url(re.compile(r"done=disable$"))
    assert _row(page, "data-flow-id", flow_id).get_by_test_id("state").inner_text() == "disabled"
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "disabled"
    # a disabled flow cannot run: the API's own refusal, shown in place
    _row(page, "data-flow-id", flow_id).get_by_role("button", name="Run Switch flow now").click()
    assert "enable it first" in page.locator("[role=alert]").inner_text()
    _row(page, "data-flow-id", flow_id).get_by_role("button", name="Enable Switch flow").click()
    page.wait_for_url(re.compile(r"done=enable$"))
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "enabled"


def test_deleting_an_account_in_use_names_its_flows(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    account = create_account(org_api, "Shared warehouse")
    create_flow(org_api, "First user", account=account)
    create_flow(org_api, "Second user", account=account)
    _open(page, console_link(console_server, org_api.org_id))
    page.get_by_role("link", name="Sources").click()
    sql_server = page.locator("tr", has_text="sql-server")
    assert sql_server.get_by_test_id("account-count").inner_text() == "1"
    page.get_by_role("link", name="Accounts").click()
    row = _row(page, "data-account-id", account)
    row.get_by_role("button", name="Delete account Shared warehouse").click()
    alert = page.locator("[role=alert]")
    assert "dataflows still use it" in alert.inner_text()
    listed = page.get_by_test_id("blocking-flows").locator("li").all_inner_texts()
    assert listed == ["First user", "Second user"]
    assert org_api.get(f"/connections/{account}").status_code == 200


def test_deleting_a_flow_then_its_account(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    account = create_account(org_api, "Lonely account")
    flow_id, _ = create_flow(org_api, "Short lived", account=account)
    _open(page, console_link(console_server, org_api.org_id))
    _row(page, "data-flow-id", flow_id).get_by_role("button", name="Delete Short lived").click()
    page.wait_for_url(re.compile(r"done=delete$"))
    assert _row(page, "data-flow-id", flow_id).count() == 0
    assert org_api.get(f"/flows/{flow_id}").status_code == 404


def test_a_read_only_session_has_no_action_buttons(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    flow_id, _ = create_flow(org_api, "Look only")
    _open(page, console_link(console_server, org_api.org_id, read_only=True))
    row = _row(page, "data-flow-id", flow_id)
    assert row.is_visible()
    assert row.get_by_role("button").count() == 0
    assert page.get_by_text("read-only").is_visible()
    # a form forged into the page (with the session's CSRF token) still gets a plain 403
    with page.expect_navigation():
        page.evaluate(
            """(id) => {
                const form = document.createElement("form");
                form.method = "post";
                form.action = `/console/dataflows/${id}/disable`;
                const csrf = document.querySelector("input[name=csrf]").cloneNode();
                form.appendChild(csrf);
                document.body.appendChild(form);
                form.submit();
            }""",
            flow_id,
        )
    assert "read-only" in page.get_by_test_id("problem").inner_text()
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "enabled"


def test_another_orgs_data_never_shows(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    theirs = ApiClient(console_server, org_id=new_org_id(), client_id="other-org-client")
    create_flow(theirs, "Not yours")
    create_flow(org_api, "Yours")
    _open(page, console_link(console_server, org_api.org_id))
    assert page.get_by_role("link", name="Yours").is_visible()
    for screen in ("Dataflows", "Accounts", "Sources"):
        page.get_by_role("link", name=screen).click()
        assert "Not yours" not in page.content()
    theirs.close()


def test_keyboard_reaches_the_main_actions(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    flow_id, _ = create_flow(org_api, "Keyboard flow")
    _open(page, console_link(console_server, org_api.org_id))
    page.wait_for_url(re.compile(r"/console/dataflows$"))
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    assert page.evaluate("getComputedStyle(document.activeElement).left") != "-999px"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "document.activeElement.getAttribute('aria-label')"
                " || document.activeElement.textContent.trim()"
            )
        )
        if reached[-1] == "Disable Keyboard flow":
            break
    assert reached[0] == "Keyboard flow"
    assert "Disable Keyboard flow" in reached
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"done=disable$"))
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "disabled"
