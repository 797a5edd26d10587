"""Editing an account's name and description in Chromium, through the API's PATCH handler."""

from __future__ import annotations

import re
from typing import Any

from console_harness import console_link, create_account
from service_harness import ApiClient, RunningServer


def _sign_in(page: Any, server: RunningServer, org_id: str, *, read_only: bool = False) -> None:
    page.goto(console_link(server, org_id, read_only=read_only))
    page.wait_for_url(re.compile(r"/console/dataflows$"))


def _open_edit(page: Any, server: RunningServer, name: str) -> None:
    page.goto(f"{server.base_url}/console/accounts")
    page.get_by_role("link", name=f"Edit account {name}").click()
    page.wait_for_url(re.compile(r"/console/accounts/[^/]+/edit$"))


def test_a_rename_is_saved_and_the_secret_kept(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    account = create_account(org_api, "Old name")
    before = org_api.get(f"/connections/{account}").json()["items"][0]
    _sign_in(page, console_server, org_api.org_id)
    _open_edit(page, console_server, "Old name")
    assert page.get_by_label("Name").input_value() == "Old name"
    assert page.locator("input[type=password]").count() == 0
    page.get_by_label("Name").fill("New name")
    page.get_by_label("Description").fill("renamed in the console")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/console/accounts$"))
    assert page.get_by_role("link", name="New name", exact=True).is_visible()
    after = org_api.get(f"/connections/{account}").json()["items"][0]
    assert after["name"] == "New name"
    assert after["description"] == "renamed in the console"
    assert after["auth"] == before["auth"]
    assert after["etag"] != before["etag"]


def test_a_stale_etag_says_so_in_plain_words(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    account = create_account(org_api, "Shared")
    _sign_in(page, console_server, org_api.org_id)
    _open_edit(page, console_server, "Shared")
    etag = org_api.get(f"/connections/{account}").json()["items"][0]["etag"]
    changed = org_api.patch(
        f"/connections/{account}",
        json=[{"op": "replace", "path": "/name", "value": "Changed meanwhile"}],
        headers={"If-Match": etag},
    )
    assert changed.status_code == 200, changed.text
    page.get_by_label("Name").fill("Mine")
    page.get_by_role("button", name="Save").click()
    alert = page.get_by_role("alert").inner_text()
    assert "changed by someone else" in alert and "does not match" in alert
    assert page.get_by_label("Name").input_value() == "Changed meanwhile"
    assert org_api.get(f"/connections/{account}").json()["items"][0]["name"] == "Changed meanwhile"


def test_a_read_only_session_sees_no_edit(
    console_server: RunningServer, org_api: ApiClient, page: Any
) -> None:
    account = create_account(org_api, "Look only")
    _sign_in(page, console_server, org_api.org_id, read_only=True)
    page.goto(f"{console_server.base_url}/console/accounts")
    assert page.get_by_role("link", name="Look only", exact=True).is_visible()
    assert page.get_by_role("link", name="Edit account Look only").count() == 0
    page.goto(f"{console_server.base_url}/console/accounts/{account}/edit")
    assert page.get_by_test_id("read-only").is_visible()
    assert page.get_by_role("button", name="Save").count() == 0
