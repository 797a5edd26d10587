"""The console over plain HTTP: sign-in, sessions, CSRF and read-only edge cases."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import httpx
import pytest
from console_harness import console_link, create_flow, create_flows
from service_harness import ApiClient, RunningServer, issue_token, new_org_id
from typer.testing import CliRunner

from flowservice.cli.main import app
from flowservice.console.links import issue_link


@pytest.fixture
def browser_like(console_server: RunningServer) -> Iterator[httpx.Client]:
    """An HTTP client that keeps cookies, as a browser would."""
    with httpx.Client(base_url=console_server.base_url, timeout=30) as http:
        yield http


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def _signed_in(http: httpx.Client, link: str) -> str:
    """Follow a link; returns the dataflows page."""
    opened = http.get(link)
    assert opened.status_code == 200, opened.text
    assert "flowservice_console=" in opened.headers["set-cookie"]
    page = http.get("/console/dataflows")
    assert page.status_code == 200
    return page.text


def test_the_session_cookie_is_httponly_and_strict(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    opened = browser_like.get(console_link(console_server, org_api.org_id))
    cookie = opened.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/console" in cookie
    assert "secure" not in cookie  # plain HTTP on loopback: Secure only over TLS


def test_without_a_session_pages_lead_to_sign_in_and_forms_are_refused(
    console_server: RunningServer, browser_like: httpx.Client
) -> None:
    assert browser_like.get("/console/dataflows").headers["location"] == "/console/sign-in"
    refused = browser_like.post(
        "/console/dataflows/x/disable",
        data={"csrf": "anything"},
    )
    assert refused.status_code == 403
    assert "not signed in" in refused.text


def test_a_link_works_once(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    link = console_link(console_server, org_api.org_id)
    _signed_in(browser_like, link)
    with httpx.Client(base_url=console_server.base_url) as other:
        again = other.get(link)
        assert again.status_code == 400
        assert "already been used" in again.text
        assert "flowservice_console=" not in again.headers.get("set-cookie", "")


def test_an_expired_or_forged_link_signs_no_one_in(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    link = console_link(console_server, org_api.org_id, ttl="1s")
    time.sleep(2.1)
    expired = browser_like.get(link)
    assert expired.status_code == 400 and "expired" in expired.text
    forged = browser_like.get(link[:-4] + "AAAA")
    assert forged.status_code == 400 and "not valid" in forged.text
    # an access token is not a link, even though the same key signs both
    token = issue_token(console_server.settings, org_id=org_api.org_id, client_id="x", subject="s")
    as_link = browser_like.get("/console/link", params={"token": token.access_token})
    assert as_link.status_code == 400
    assert browser_like.get("/console/dataflows").status_code == 303


def test_sign_in_with_a_token_needs_the_form_token(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    form = browser_like.get("/console/sign-in")
    csrf = _csrf(form.text)
    missing = browser_like.post("/console/sign-in", data={"token": org_api.token})
    assert missing.status_code == 403
    wrong = browser_like.post(
        "/console/sign-in", data={"token": "not-a-token", "csrf": csrf, "sandbox": "prod"}
    )
    assert wrong.status_code == 401 and "not valid" in wrong.text
    csrf = _csrf(wrong.text)
    done = browser_like.post(
        "/console/sign-in", data={"token": org_api.token, "csrf": csrf, "sandbox": "prod"}
    )
    assert done.status_code == 303, done.text
    page = browser_like.get("/console/dataflows")
    assert page.status_code == 200 and org_api.org_id in page.text
    assert org_api.token not in page.text


def test_sign_in_into_a_missing_sandbox_says_so(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    csrf = _csrf(browser_like.get("/console/sign-in").text)
    answer = browser_like.post(
        "/console/sign-in", data={"token": org_api.token, "csrf": csrf, "sandbox": "nowhere"}
    )
    assert answer.status_code == 404 and "Sandbox nowhere is not found" in answer.text


def test_forms_need_the_session_csrf_token_and_this_origin(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    flow_id, _ = create_flow(org_api, "Guarded flow")
    html = _signed_in(browser_like, console_link(console_server, org_api.org_id))
    csrf = _csrf(html)
    action = f"/console/dataflows/{flow_id}/disable"
    assert browser_like.post(action, data={}).status_code == 403
    assert browser_like.post(action, data={"csrf": csrf + "x"}).status_code == 403
    elsewhere = browser_like.post(
        action, data={"csrf": csrf}, headers={"Origin": "http://evil.example"}
    )
    assert elsewhere.status_code == 403
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "enabled"
    done = browser_like.post(action, data={"csrf": csrf})
    assert done.status_code == 303
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "disabled"


def test_a_read_only_session_sees_no_actions_and_changes_nothing(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    flow_id, account = create_flow(org_api, "Read only flow")
    html = _signed_in(browser_like, console_link(console_server, org_api.org_id, read_only=True))
    assert "Read only flow" in html and "read-only" in html
    assert "/disable" not in html and "Run now" not in html
    csrf = _csrf(html)  # the sign-out form's
    for action in (f"/console/dataflows/{flow_id}/disable", f"/console/accounts/{account}/delete"):
        refused = browser_like.post(action, data={"csrf": csrf})
        assert refused.status_code == 403
        assert "read-only" in refused.text
    assert org_api.get(f"/flows/{flow_id}").json()["items"][0]["state"] == "enabled"


def test_sign_out_ends_the_session_on_the_server(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    html = _signed_in(browser_like, console_link(console_server, org_api.org_id))
    stolen = browser_like.cookies.get("flowservice_console")
    out = browser_like.post("/console/sign-out", data={"csrf": _csrf(html)})
    assert out.status_code == 303
    with httpx.Client(
        base_url=console_server.base_url, cookies={"flowservice_console": str(stolen)}
    ) as replay:
        assert replay.get("/console/dataflows").status_code == 303


def test_a_link_signed_with_another_key_is_refused(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    other = console_server.settings.model_copy(update={"token_secret": None})
    link = issue_link(
        other,
        base_url=console_server.base_url,
        org_id=org_api.org_id,
        client_id="someone",
        subject="s",
        scope="write",
        sandbox_name="prod",
    )
    assert browser_like.get(link).status_code == 400


def test_the_console_is_not_in_the_openapi_document(console_server: RunningServer) -> None:
    document = httpx.get(f"{console_server.base_url}/openapi.json").json()
    assert not [p for p in document["paths"] if p.startswith("/console")]


def test_another_orgs_flow_is_not_found(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    theirs = ApiClient(console_server, org_id=new_org_id(), client_id="their-client")
    their_flow, _ = create_flow(theirs, "Their secret flow")
    html = _signed_in(browser_like, console_link(console_server, org_api.org_id))
    assert "Their secret flow" not in html
    runs = browser_like.get(f"/console/dataflows/{their_flow}/runs")
    assert runs.status_code == 404 and "not found" in runs.text
    refused = browser_like.post(
        f"/console/dataflows/{their_flow}/disable", data={"csrf": _csrf(html)}
    )
    assert refused.status_code == 404
    assert theirs.get(f"/flows/{their_flow}").json()["items"][0]["state"] == "enabled"
    theirs.close()


def test_the_dataflows_list_pages_with_continuation_tokens(
    console_server: RunningServer, org_api: ApiClient, browser_like: httpx.Client
) -> None:
    names = [f"Flow {n:03d}" for n in range(53)]
    create_flows(org_api, names)
    first = _signed_in(browser_like, console_link(console_server, org_api.org_id))
    shown = re.findall(r">(Flow \d{3})</a>", first)
    assert shown == names[:50]
    more = re.search(r'href="(/console/dataflows\?continuationToken=[^"]+)"', first)
    assert more, first
    second = browser_like.get(more.group(1).replace("&amp;", "&"))
    assert re.findall(r">(Flow \d{3})</a>", second.text) == names[50:]
    assert "Next page" not in second.text


def test_the_console_link_command_needs_an_org() -> None:
    result = CliRunner().invoke(app, ["auth", "console-link"])
    assert result.exit_code != 0
    helped = CliRunner().invoke(app, ["auth", "console-link", "--help"])
    assert "--sandbox" in helped.output and "--read-only" in helped.output
