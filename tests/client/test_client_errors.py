"""The service's error bodies, raised as the SDK's one exception tree, with no secret in them."""

from __future__ import annotations

import pytest
from sdk_resources import make_flow
from service_harness import ApiClient, problem_code, sql_server_connection_body

from flowservice.client import (
    BadRequest,
    Client,
    Conflict,
    FlowServiceError,
    Forbidden,
    NotFound,
    PreconditionFailed,
    Unauthorized,
)


def test_not_found_carries_the_code_and_request_id(client: Client) -> None:
    with pytest.raises(NotFound) as caught:
        client.connections.get("0" * 32)
    error = caught.value
    assert isinstance(error, FlowServiceError)
    assert (error.status, error.code) == (404, "FLOW-1101-404")
    assert error.request_id and error.request_id in str(error)
    assert "0" * 32 in error.message


def test_bad_request_carries_the_servers_code(client: Client, api: ApiClient) -> None:
    body = sql_server_connection_body()
    body["connectionSpec"] = {"id": "not-a-spec", "version": "1.0"}
    expected = problem_code(api.post("/connections", json=body))
    with pytest.raises(BadRequest) as caught:
        client.connections.create(body)
    assert caught.value.status == 400
    assert caught.value.code == expected and expected.startswith("FLOW-")


def test_a_connection_in_use_is_a_conflict(client: Client) -> None:
    parts = make_flow(client)
    with pytest.raises(Conflict) as caught:
        client.connections.delete(parts.connection_id)
    assert (caught.value.status, caught.value.code) == (400, "FLOW-1418-400")
    assert client.connections.get(parts.connection_id).id == parts.connection_id


def test_a_stale_etag_is_precondition_failed(client: Client) -> None:
    parts = make_flow(client)
    stale = client.flows.get(parts.flow_id).etag
    assert stale is not None
    renamed = client.flows.patch(parts.flow_id, [{"op": "replace", "path": "/name", "value": "a"}])
    assert renamed.etag != stale
    assert client.flows.get(parts.flow_id).name == "a"
    with pytest.raises(PreconditionFailed) as caught:
        client.flows.patch(
            parts.flow_id, [{"op": "replace", "path": "/name", "value": "b"}], etag=stale
        )
    assert isinstance(caught.value, Conflict)
    assert (caught.value.status, caught.value.code) == (412, "FLOW-1404-412")
    client.flows.delete(parts.flow_id)
    with pytest.raises(NotFound):
        client.flows.get(parts.flow_id)


def test_gateway_errors_and_no_secret_in_them(api: ApiClient) -> None:
    bad_token = api.token[:-4] + "AAAA"
    with Client(api.server.base_url, bad_token, api.client_id, api.org_id) as client:
        with pytest.raises(Unauthorized) as unauthorized:
            client.connections.get("x")
        assert repr(client) == (
            f"Client(base_url={api.server.base_url!r}, org={api.org_id!r}, sandbox='prod')"
        )
    assert (unauthorized.value.status, unauthorized.value.code) == (401, "401013")
    other = Client(api.server.base_url, api.token, "someone-else", api.org_id)
    with other, pytest.raises(Forbidden) as forbidden:
        list(other.flows.list())
    assert (forbidden.value.status, forbidden.value.code) == (403, "403003")
    for error in (unauthorized.value, forbidden.value):
        for text in (str(error), repr(error), str(error.args)):
            assert api.token not in text and bad_token not in text


def test_a_password_never_reaches_an_error(client: Client) -> None:
    body = sql_server_connection_body("Data Source=db;User ID=u;Password=Hunter2Secret;")
    body["auth"]["params"]["nonsense"] = "Password=Hunter2Secret"
    with pytest.raises(BadRequest) as caught:
        client.connections.create(body)
    assert "Hunter2Secret" not in str(caught.value) + repr(caught.value)


def test_a_bad_resource_id_is_refused_before_sending(client: Client) -> None:
    with pytest.raises(ValueError):
        client.flows.get("../connections")
