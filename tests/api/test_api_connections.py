"""/connections: the tutorial's requests, the documented shapes, masking, validation."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

from service_harness import (
    SQLSERVER_SPEC_ID,
    ApiClient,
    RunningServer,
    make_settings,
    new_org_id,
    problem_code,
    sql_server_connection_body,
    start_server,
)

from flowservice.store import db
from flowservice.store.repos import identity, resources
from flowservice.store.repos.resources import Scope

TUTORIAL_BODY_AS_PRINTED = """{
      "name": "Base connection for sql-server",
      "description": "Base connection for sql-server",
      "auth": {
          "specName": "Connection String Based Authentication",
          "params": {
              "connectionString": "CONNECTION_STRING"
          }
      },
      "connectionSpec": {
          "id": "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec",
          "version": "1.0"
      }
""".replace(
    "CONNECTION_STRING",
    "Data Source=sqlserver.example;Initial Catalog=db;Integrated Security=False;"
    "User ID=admin;Password=Hunter2pw;",
)


def _count(api: ApiClient) -> int:
    response = api.get("/connections", params={"count": "true"})
    assert response.status_code == 200
    return int(response.json()["count"])


def test_tutorial_request_creates_connection_with_documented_shape(api: ApiClient) -> None:
    before_ms = int(time.time() * 1000)
    response = api.post("/connections", content=TUTORIAL_BODY_AS_PRINTED + "}")
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "etag"}
    assert body["etag"].startswith('"') and body["etag"].endswith('"')
    assert response.headers["location"].endswith(f"/connections/{body['id']}")

    got = api.get(f"/connections/{body['id']}")
    assert got.status_code == 200
    (item,) = got.json()["items"]
    assert item["id"] == body["id"]
    assert item["etag"] == item["version"] == body["etag"]
    assert item["name"] == "Base connection for sql-server"
    assert item["description"] == "Base connection for sql-server"
    assert item["connectionSpec"] == {"id": SQLSERVER_SPEC_ID, "version": "1.0"}
    assert item["state"] == "enabled"
    assert item["createdBy"] == item["updatedBy"] == api.subject
    assert item["createdClient"] == item["updatedClient"] == api.client_id
    assert item["imsOrgId"] == api.org_id
    assert item["sandboxName"] == "prod" and item["sandboxId"]
    assert before_ms <= item["createdAt"] <= int(time.time() * 1000) + 1000
    assert item["auth"]["specName"] == "Connection String Based Authentication"
    shown = item["auth"]["params"]["connectionString"]
    assert "Hunter2pw" not in got.text
    assert "Data Source=sqlserver.example" in shown and "Initial Catalog=db" in shown
    assert "****" in shown


def test_tutorial_body_as_printed_is_rejected_and_nothing_stored(api: ApiClient) -> None:
    response = api.post("/connections", content=TUTORIAL_BODY_AS_PRINTED)
    assert response.status_code == 400
    assert problem_code(response).endswith("-400")
    assert "not valid JSON" in response.json()["report"]["detailed-message"]
    assert response.json()["report"]["request-id"] == response.headers["x-request-id"]
    assert _count(api) == 0


def test_any_valid_ado_net_string_is_accepted(api: ApiClient) -> None:
    for text in (
        "Server=tcp:db,1433;Database=sales;UID=loader;PWD=pw1;",
        "password='a;b';user id=u;initial catalog=c;data source=h",
        "Data Source=h\\inst;Initial Catalog=c;Integrated Security=False;User ID=u;Password=p;",
    ):
        response = api.post("/connections", json=sql_server_connection_body(text))
        assert response.status_code == 201, (text, response.text)
    assert _count(api) == 3


def test_invalid_connection_string_is_a_clear_400_without_the_secret(api: ApiClient) -> None:
    response = api.post(
        "/connections", json=sql_server_connection_body("this is not;a connection=string;Pwd=zz9")
    )
    assert response.status_code == 400
    assert "zz9" not in response.text
    assert response.json()["report"]["detailed-message"]
    assert _count(api) == 0


def test_secret_never_returned_in_list(api: ApiClient) -> None:
    api.post("/connections", json=sql_server_connection_body())
    listing = api.get("/connections")
    assert listing.status_code == 200
    assert "S3cret!pw" not in listing.text
    assert "Password=****" in listing.text


def test_unknown_spec_id_is_400(api: ApiClient) -> None:
    body = sql_server_connection_body()
    body["connectionSpec"]["id"] = "00000000-0000-0000-0000-000000000000"
    response = api.post("/connections", json=body)
    assert response.status_code == 400
    assert "00000000-0000-0000-0000-000000000000" in response.json()["errorMessage"]


def test_unknown_spec_name_is_1415(api: ApiClient) -> None:
    body = sql_server_connection_body()
    body["auth"]["specName"] = "Basic Authentication"
    response = api.post("/connections", json=body)
    assert problem_code(response) == "FLOW-1415-400"


def test_params_failing_the_auth_schema_are_400(api: ApiClient) -> None:
    body = sql_server_connection_body()
    body["auth"]["params"] = {"connectionString": 42}
    response = api.post("/connections", json=body)
    assert response.status_code == 400
    assert "connectionString" in response.json()["errorMessage"]
    body["auth"]["params"] = {}
    response = api.post("/connections", json=body)
    assert response.status_code == 400
    assert "connectionString" in response.json()["errorMessage"]
    assert _count(api) == 0


def test_auth_params_the_spec_does_not_declare_are_400(api: ApiClient) -> None:
    body = sql_server_connection_body()
    # an undeclared param would be stored and shown as plain text, whatever it holds
    body["auth"]["params"]["password"] = "Hunter2pw"
    response = api.post("/connections", json=body)
    assert problem_code(response) == "FLOW-1455-400", response.text
    message = response.json()["errorMessage"]
    assert "auth.params.password" in message and "connectionString" in message
    assert "Hunter2pw" not in response.text
    assert _count(api) == 0


def test_unknown_top_level_field_and_wrong_types_are_400(api: ApiClient) -> None:
    body = sql_server_connection_body()
    body["color"] = "blue"
    assert api.post("/connections", json=body).status_code == 400
    body = sql_server_connection_body()
    body["name"] = ["not", "a", "string"]
    assert api.post("/connections", json=body).status_code == 400
    assert api.post("/connections", json=[1, 2]).status_code == 400
    assert _count(api) == 0


def test_empty_and_oversized_bodies_are_400(api: ApiClient) -> None:
    empty = api.post("/connections", content=b"")
    assert problem_code(empty) == "FLOW-1405-400"
    huge = sql_server_connection_body()
    huge["description"] = "x" * (1024 * 1024 + 10)
    response = api.post("/connections", content=json.dumps(huge))
    assert response.status_code == 400
    assert "exceeds" in response.json()["errorMessage"]
    assert _count(api) == 0


def test_delete_then_get_is_404(api: ApiClient) -> None:
    created = api.post("/connections", json=sql_server_connection_body()).json()
    deleted = api.delete(f"/connections/{created['id']}")
    assert deleted.status_code == 204 and deleted.content == b""
    missing = api.get(f"/connections/{created['id']}")
    assert problem_code(missing) == "FLOW-1101-404"
    assert missing.json()["report"]["id"] == created["id"]
    assert api.delete(f"/connections/{created['id']}").status_code == 404


def test_test_route_without_connector_is_clear_400(api: ApiClient) -> None:
    body = sql_server_connection_body()
    body["connectionSpec"]["id"] = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"
    # the Data Lake spec has no auth spec, so no base connection can use it
    assert problem_code(api.post("/connections", json=body)) == "FLOW-1415-400"
    assert api.get("/connections/nope/test").status_code == 404
    assert api.get("/connections/nope/explore", params={"objectType": "root"}).status_code == 404


def test_delete_refused_while_source_connections_use_it(
    api: ApiClient, server: RunningServer
) -> None:
    created = api.post("/connections", json=sql_server_connection_body()).json()
    engine = db.make_engine(server.settings.effective_database_url)
    with db.transaction(db.session_factory(engine)) as session:
        sandbox = identity.get_sandbox(session, org_id=api.org_id, name="prod")
        scope = Scope(api.org_id, sandbox.id, "prod", api.subject, api.client_id)
        user = resources.insert_resource(
            session, scope=scope, kind="sourceConnections", parent_id=created["id"], doc={}
        )
        user_id = user.id
    refused = api.delete(f"/connections/{created['id']}")
    assert problem_code(refused) == "FLOW-1418-400"
    assert api.get(f"/connections/{created['id']}").status_code == 200
    with db.transaction(db.session_factory(engine)) as session:
        row = resources.get_resource(
            session, scope=scope, kind="sourceConnections", resource_id=user_id
        )
        resources.delete_resource(session, row=row)
    engine.dispose()
    assert api.delete(f"/connections/{created['id']}").status_code == 204


def test_default_sandbox_setting_makes_the_header_optional(tmp_path: Path) -> None:
    running = start_server(make_settings(tmp_path, default_sandbox="prod"))
    try:
        client = ApiClient(running, org_id=new_org_id())
        made = client.post(
            "/connections", json=sql_server_connection_body(), headers={"x-sandbox-name": None}
        )
        assert made.status_code == 201
        item = client.get(f"/connections/{made.json()['id']}", headers={"x-sandbox-name": None})
        assert item.json()["items"][0]["sandboxName"] == "prod"
        client.close()
    finally:
        running.stop()


def test_chunked_oversized_body_is_400(api: ApiClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "'
        for _ in range(5):
            yield b"x" * 300_000
        yield b'"}'

    response = api.post("/connections", content=chunks())
    assert response.status_code == 400
    assert "exceeds" in response.json()["errorMessage"]
    assert _count(api) == 0


def test_nul_characters_are_400_on_every_database(api: ApiClient) -> None:
    # PostgreSQL cannot hold U+0000: the API refuses it up front instead of failing with a 500
    body = sql_server_connection_body()
    body["name"] = "bad\x00name"
    assert problem_code(api.post("/connections", json=body)) == "FLOW-1100-400"
    assert problem_code(api.get("/connections/abc%00def")) == "FLOW-1100-400"
    listed = api.get("/connections", params={"property": "name==a\x00b"})
    assert problem_code(listed) == "FLOW-1100-400"
    assert _count(api) == 0
