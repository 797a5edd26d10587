"""Every header and gateway error row of flow-service-api.md §1, plus request ids and 500s."""

from __future__ import annotations

import jwt
import pytest
from service_harness import ApiClient, RunningServer, problem_code, sql_server_connection_body

from flowservice.auth.tokens import SIGNATURE_MISMATCH, issue_token


def _gateway(response: object, status: int, code: str, message: str) -> None:
    import httpx

    assert isinstance(response, httpx.Response)
    assert response.status_code == status, response.text
    assert response.json() == {"error_code": code, "message": message}
    assert response.headers["x-request-id"]


def test_missing_authorization_is_403010(api: ApiClient) -> None:
    response = api.get("/connections", headers={"Authorization": None})
    _gateway(response, 403, "403010", "Oauth token is missing.")


@pytest.mark.parametrize("value", ["Bearer garbage", "Bearer", "Basic abc", "Bearer a.b.c"])
def test_invalid_token_is_401013(api: ApiClient, value: str) -> None:
    response = api.get("/connections", headers={"Authorization": value})
    _gateway(response, 401, "401013", "Oauth token is not valid")


def test_expired_token_is_401013(api: ApiClient, server: RunningServer) -> None:
    key = server.settings.token_secret
    assert key is not None
    expired = jwt.encode(
        {
            "sub": "u",
            "org": api.org_id,
            "client_id": api.client_id,
            "scope": "write",
            "iss": "flowservice",
            "iat": 1,
            "exp": 2,
        },
        key.get_secret_value(),
        algorithm="HS256",
    )
    response = api.get("/connections", headers={"Authorization": f"Bearer {expired}"})
    _gateway(response, 401, "401013", "Oauth token is not valid")


def test_token_signed_with_another_key_is_401013(api: ApiClient) -> None:
    forged = jwt.encode(
        {
            "sub": "u",
            "org": api.org_id,
            "client_id": api.client_id,
            "scope": "write",
            "iss": "flowservice",
            "exp": 4102444800,
        },
        "another-key-another-key-another-key!",
        algorithm="HS256",
    )
    response = api.get("/connections", headers={"Authorization": f"Bearer {forged}"})
    _gateway(response, 401, "401013", SIGNATURE_MISMATCH)


def test_missing_api_key_is_403000(api: ApiClient) -> None:
    _gateway(
        api.get("/connections", headers={"x-api-key": None}), 403, "403000", "Api Key is required"
    )


def test_wrong_api_key_is_403003(api: ApiClient) -> None:
    response = api.get("/connections", headers={"x-api-key": "someone-else"})
    _gateway(response, 403, "403003", "Api Key is invalid")


def test_api_key_of_another_org_is_403003(api: ApiClient) -> None:
    # the first org to use a client id owns it; a token for another org reusing it fails
    assert api.get("/connections").status_code == 200
    thief = api.as_other(org_id="OTHER" + api.org_id)
    _gateway(thief.get("/connections"), 403, "403003", "Api Key is invalid")


def test_missing_org_header_is_400003(api: ApiClient) -> None:
    response = api.get("/connections", headers={"x-gw-ims-org-id": None})
    _gateway(response, 400, "400003", "Missing header")


def test_token_for_another_org_is_403025(api: ApiClient) -> None:
    response = api.get("/connections", headers={"x-gw-ims-org-id": "SOMEONEELSE@AdobeOrg"})
    _gateway(response, 403, "403025", "Profile is not valid")


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_missing_or_wrong_content_type_is_400(api: ApiClient, content_type: str | None) -> None:
    response = api.post(
        "/connections",
        headers={"Content-Type": content_type},
        content=b'{"name": "x"}',
    )
    assert response.status_code == 400
    assert response.json() == {
        "type": "/placeholder/type/uri",
        "status": 400,
        "title": "BadRequestError",
        "detail": "A valid content-type must be specified",
    }


def test_missing_sandbox_header_is_2105(api: ApiClient) -> None:
    response = api.get("/connections", headers={"x-sandbox-name": None})
    assert problem_code(response) == "FLOW-2105-400"
    assert response.json()["report"]["detailed-message"] == (
        "The header x-sandbox-name is missing in the request"
    )


def test_unknown_sandbox_is_404(api: ApiClient) -> None:
    response = api.get("/connections", headers={"x-sandbox-name": "nosuchbox"})
    assert response.status_code == 404
    assert problem_code(response) == "FLOW-2100-404"


def test_read_only_token_cannot_write(api: ApiClient) -> None:
    created = api.post("/connections", json=sql_server_connection_body()).json()
    reader = api.as_other(scope="read")
    assert reader.get("/connections").status_code == 200
    denied = reader.post("/connections", json=sql_server_connection_body())
    assert denied.status_code == 403
    assert problem_code(denied).endswith("-403")
    assert reader.delete(f"/connections/{created['id']}").status_code == 403
    patch = [{"op": "replace", "path": "/name", "value": "x"}]
    headers = {"If-Match": created["etag"]}
    assert (
        reader.patch(f"/connections/{created['id']}", json=patch, headers=headers).status_code
        == 403
    )
    assert api.get(f"/connections/{created['id']}").status_code == 200


def test_every_response_carries_a_request_id(api: ApiClient) -> None:
    ok = api.get("/connections")
    missing = api.get("/no/such/route")
    assert ok.headers["x-request-id"] and missing.headers["x-request-id"]
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]
    assert missing.status_code == 404
    assert missing.json()["report"]["request-id"] == missing.headers["x-request-id"]
    echoed = api.get("/connections", headers={"x-request-id": "my-trace-123"})
    assert echoed.headers["x-request-id"] == "my-trace-123"


def test_unexpected_error_is_a_500_problem_without_stack_trace(
    api: ApiClient, server: RunningServer
) -> None:
    # a stored secret no known key can decrypt is an internal failure, not the user's
    created = api.post("/connections", json=sql_server_connection_body()).json()
    from sqlalchemy import update

    from flowservice.store import db
    from flowservice.store.tables import Resource

    engine = db.make_engine(server.settings.effective_database_url)
    with engine.begin() as conn:
        conn.execute(
            update(Resource).where(Resource.id == created["id"]).values(secret_doc="not-a-token")
        )
    engine.dispose()
    response = api.get(f"/connections/{created['id']}")
    assert response.status_code == 500
    body = response.json()
    assert body["status"] == 500 and problem_code(response) == "FLOW-1102-500"
    assert body["report"]["request-id"] == response.headers["x-request-id"]
    assert "Traceback" not in response.text and 'File "' not in response.text


def test_issued_token_from_cli_code_works(api: ApiClient, server: RunningServer) -> None:
    token = issue_token(
        server.settings, org_id=api.org_id, client_id=api.client_id, subject="cli@AdobeID"
    )
    response = api.get("/connections", headers={"Authorization": f"Bearer {token.access_token}"})
    assert response.status_code == 200


def test_concurrent_first_requests_of_a_new_org(server: RunningServer) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from service_harness import new_org_id

    org = new_org_id()

    def first_call(_: int) -> int:
        client = ApiClient(server, org_id=org, client_id=f"burst-{org[:8]}")
        try:
            return client.get("/connections").status_code
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(first_call, range(8)))
    assert statuses == [200] * 8
