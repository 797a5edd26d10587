"""Settings and Monitoring over plain HTTP: CSRF, read-only refusals, unknown sandboxes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from console_harness import console_link
from service_harness import ApiClient, RunningServer


@pytest.fixture
def browser_like(console_server: RunningServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=console_server.base_url, timeout=30) as http:
        yield http


def _signed_in(http: httpx.Client, link: str) -> str:
    """Follow the link; the CSRF token of the settings page."""
    assert http.get(link).status_code == 200
    page = http.get("/console/settings")
    assert page.status_code == 200, page.text
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_settings_forms_need_the_csrf_token(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    csrf = _signed_in(browser_like, console_link(console_server, org_api.org_id))
    body = {"name": "x", "url": "http://127.0.0.1:9/x", "delay": "5", "rate": "1"}
    body["kind_sources_flow_run_failure"] = "on"
    refused = browser_like.post("/console/settings/alerts", data=body)
    assert refused.status_code == 403
    assert org_api.get("/alerts/subscriptions").json()["items"] == []
    made = browser_like.post("/console/settings/alerts", data={**body, "csrf": csrf})
    assert made.status_code == 200 and 'data-testid="new-secret"' in made.text
    assert made.headers["cache-control"] == "no-store"
    moved = browser_like.post("/console/settings/sandbox", data={"sandbox": "prod"})
    assert moved.status_code == 403


def test_switching_to_an_unknown_sandbox_says_so_in_place(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    csrf = _signed_in(browser_like, console_link(console_server, org_api.org_id))
    answer = browser_like.post(
        "/console/settings/sandbox", data={"sandbox": "nowhere", "csrf": csrf}
    )
    assert answer.status_code == 404 and "Sandbox nowhere is not found" in answer.text
    assert 'data-testid="sandbox">prod<' in browser_like.get("/console/settings").text


def test_a_read_only_session_cannot_post_settings(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    assert browser_like.get(console_link(console_server, org_api.org_id, read_only=True))
    page = browser_like.get("/console/settings").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf  # the sign-out form's
    sub = org_api.post("/alerts/subscriptions", json={"name": "Kept", "url": "http://127.0.0.1:9/"})
    sub_id = sub.json()["id"]
    for path, data in (
        ("/console/settings/alerts", {"name": "x", "url": "http://127.0.0.1:9/x"}),
        (f"/console/settings/alerts/{sub_id}/delete", {}),
        ("/console/settings/sandbox", {"sandbox": "prod"}),
    ):
        answer = browser_like.post(path, data={**data, "csrf": csrf.group(1)})
        assert answer.status_code == 403 and "read-only" in answer.text, path
    assert len(org_api.get("/alerts/subscriptions").json()["items"]) == 1


def test_monitoring_without_a_session_leads_to_sign_in(browser_like: httpx.Client) -> None:
    for path in ("/console/monitoring", "/console/settings"):
        assert browser_like.get(path).headers["location"] == "/console/sign-in"


def test_monitoring_of_another_orgs_flow_is_not_found(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    _signed_in(browser_like, console_link(console_server, org_api.org_id))
    answer = browser_like.get("/console/monitoring", params={"flow": "not-a-flow", "days": "30"})
    assert answer.status_code == 404
    chart = browser_like.get("/console/monitoring", params={"days": "2"})
    assert chart.status_code == 200 and "last 2 days" in chart.text
    odd = browser_like.get("/console/monitoring", params={"days": "1e9"})
    assert odd.status_code == 200 and "last 7 days" in odd.text
