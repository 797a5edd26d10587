"""Connect over plain HTTP: the forms need the CSRF token, a read-only session changes nothing."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from console_harness import console_link, create_account
from service_harness import SQLSERVER_SPEC_ID, ApiClient, RunningServer

CONNECT = f"/console/connect/{SQLSERVER_SPEC_ID}"
SECRET = "Data Source=h;Initial Catalog=d;Integrated Security=False;User ID=u;Password=Zq9-xx;"


@pytest.fixture
def browser_like(console_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console_server.base_url, timeout=30) as http:
        yield http


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _form(csrf: str, name: str = "Posted") -> dict[str, str]:
    return {
        "csrf": csrf,
        "authSpec": "Connection String Based Authentication",
        "name": name,
        "param.connectionString": SECRET,
    }


def test_connect_needs_the_csrf_token_and_never_echoes_the_secret(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    browser_like.get(console_link(console_server, org_api.org_id))
    csrf = _csrf(browser_like.get(CONNECT).text)
    assert browser_like.post(CONNECT, data=_form(csrf + "x")).status_code == 403
    assert org_api.get("/connections").json()["items"] == []
    done = browser_like.post(CONNECT, data=_form(csrf))
    assert done.status_code == 303
    account = done.headers["location"].split("/")[3]
    page = browser_like.get(done.headers["location"])
    assert "Zq9-xx" not in page.text and "Test connection" in page.text
    stored = org_api.get(f"/connections/{account}").json()["items"][0]
    assert stored["name"] == "Posted"
    refused = browser_like.post(CONNECT, data={**_form(csrf), "name": ""})
    assert refused.status_code == 400 and "Name is required" in refused.text
    assert "Zq9-xx" not in refused.text


def test_a_read_only_session_cannot_connect_nor_test(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    account = create_account(org_api, "Existing")
    browser_like.get(console_link(console_server, org_api.org_id, read_only=True))
    html = browser_like.get(CONNECT).text
    assert 'type="password"' not in html
    csrf = _csrf(html)  # the sign-out form's
    refused = browser_like.post(CONNECT, data=_form(csrf))
    assert refused.status_code == 403 and "read-only" in refused.text
    tested = browser_like.post(f"/console/accounts/{account}/test", data={"csrf": csrf})
    assert tested.status_code == 403
    assert [c["name"] for c in org_api.get("/connections").json()["items"]] == ["Existing"]
