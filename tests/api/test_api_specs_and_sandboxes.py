"""/connectionSpecs and the sandbox-management API."""

from __future__ import annotations

from service_harness import (
    SANDBOX_API,
    SQLSERVER_SPEC_ID,
    ApiClient,
    problem_code,
    sql_server_connection_body,
)

DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


def test_sql_server_spec_is_served_as_documented(api: ApiClient) -> None:
    response = api.get(f"/connectionSpecs/{SQLSERVER_SPEC_ID}")
    assert response.status_code == 200
    (spec,) = response.json()["items"]
    assert spec["name"] == "sql-server"
    assert spec["providerId"] == "0ed90a81-07f4-4586-8190-b40eccef1c5a"
    assert spec["version"] == "1.0"
    (auth,) = spec["authSpec"]
    assert auth["name"] == "Connection String Based Authentication"
    assert auth["type"] == "connectionString"
    prop = auth["spec"]["properties"]["connectionString"]
    assert prop["format"] == "password"
    assert prop["pattern"].startswith("^(Data Source=)")
    assert auth["spec"]["required"] == ["connectionString"]
    assert spec["sourceSpec"]["spec"]["required"] == ["tableName"]
    assert "columns" in spec["sourceSpec"]["spec"]["properties"]
    assert spec["permissionsInfo"]["view"][0]["permissions"] == ["read"]


def test_spec_filters(api: ApiClient) -> None:
    by_name = api.get("/connectionSpecs", params={"property": 'name=="sql-server"'}).json()
    assert [s["id"] for s in by_name["items"]] == [SQLSERVER_SPEC_ID]
    both = api.get(
        "/connectionSpecs", params={"property": f"id=={SQLSERVER_SPEC_ID},{DATA_LAKE_SPEC_ID}"}
    )
    assert sorted(s["id"] for s in both.json()["items"]) == sorted(
        [SQLSERVER_SPEC_ID, DATA_LAKE_SPEC_ID]
    )
    provider = api.get(
        "/connectionSpecs", params={"property": "providerId==0ed90a81-07f4-4586-8190-b40eccef1c5a"}
    )
    assert len(provider.json()["items"]) >= 2
    assert api.get("/connectionSpecs", params={"property": "bogus"}).status_code == 400


def test_unknown_spec_is_404(api: ApiClient) -> None:
    response = api.get("/connectionSpecs/00000000-0000-0000-0000-000000000000")
    assert problem_code(response) == "FLOW-1101-404"


def test_specs_need_a_token(api: ApiClient) -> None:
    assert api.get("/connectionSpecs", headers={"Authorization": None}).status_code == 403


def test_every_org_has_prod(api: ApiClient) -> None:
    listing = api.get("/sandboxes", prefix=SANDBOX_API)
    assert listing.status_code == 200
    (prod,) = listing.json()["sandboxes"]
    assert prod["name"] == "prod" and prod["isDefault"] is True and prod["type"] == "production"
    assert api.get("/", prefix=SANDBOX_API).json()["sandboxes"][0]["name"] == "prod"


def test_sandbox_create_get_delete(api: ApiClient) -> None:
    body = {"name": "dev-1", "title": "Dev one", "type": "development"}
    created = api.post("/sandboxes", prefix=SANDBOX_API, json=body)
    assert created.status_code == 202, created.text
    assert created.json()["name"] == "dev-1" and created.json()["state"] == "active"
    dup = api.post("/sandboxes", prefix=SANDBOX_API, json=body)
    assert dup.status_code == 409
    got = api.get("/sandboxes/dev-1", prefix=SANDBOX_API)
    assert got.status_code == 200 and got.json()["title"] == "Dev one"

    dev = api.as_other(sandbox="dev-1")
    conn = dev.post("/connections", json=sql_server_connection_body()).json()
    deleted = api.delete("/sandboxes/dev-1", prefix=SANDBOX_API)
    assert deleted.status_code == 202 and deleted.json()["state"] == "deleted"
    assert api.get("/sandboxes/dev-1", prefix=SANDBOX_API).status_code == 404
    # resources of a deleted sandbox are gone with it
    assert dev.get(f"/connections/{conn['id']}").status_code == 404
    api.post("/sandboxes", prefix=SANDBOX_API, json=body)
    assert dev.get(f"/connections/{conn['id']}").status_code == 404


def test_prod_cannot_be_deleted_and_bad_sandboxes_are_rejected(api: ApiClient) -> None:
    assert api.delete("/sandboxes/prod", prefix=SANDBOX_API).status_code == 400
    for body in (
        {"name": "Has Spaces", "title": "t", "type": "development"},
        {"name": "ok", "title": "t", "type": "weird"},
        {"name": "ok", "title": "t"},
        {"name": "ok", "title": "t", "type": "development", "extra": 1},
    ):
        assert api.post("/sandboxes", prefix=SANDBOX_API, json=body).status_code == 400, body


def test_read_only_token_cannot_manage_sandboxes(api: ApiClient) -> None:
    reader = api.as_other(scope="read")
    body = {"name": "nope", "title": "t", "type": "development"}
    assert reader.post("/sandboxes", prefix=SANDBOX_API, json=body).status_code == 403
    assert reader.get("/sandboxes", prefix=SANDBOX_API).status_code == 200


def test_openapi_describes_every_route(api: ApiClient) -> None:
    doc = api.http.get("/openapi.json").json()
    paths = doc["paths"]
    for path in (
        "/data/foundation/flowservice/connections",
        "/data/foundation/flowservice/connections/{connection_id}",
        "/data/foundation/flowservice/connections/{connection_id}/test",
        "/data/foundation/flowservice/connections/{connection_id}/explore",
        "/data/foundation/flowservice/connectionSpecs",
        "/data/foundation/flowservice/connectionSpecs/{spec_id}",
        "/data/foundation/sandbox-management/sandboxes",
        "/data/foundation/sandbox-management/sandboxes/{name}",
    ):
        assert path in paths, path
        for operation in paths[path].values():
            assert operation.get("summary"), (path, operation)
    create = paths["/data/foundation/flowservice/connections"]["post"]
    assert "requestBody" in create
    assert api.http.get("/docs").status_code == 200


def test_concurrent_creates_of_one_sandbox_have_one_winner(api: ApiClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    assert api.get("/connections").status_code == 200  # provision the org first
    body = {"name": "race", "title": "Race", "type": "development"}

    def create(_: int) -> int:
        client = api.as_other()
        try:
            return client.post("/sandboxes", prefix=SANDBOX_API, json=body).status_code
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(create, range(6)))
    assert statuses.count(202) == 1 and set(statuses) == {202, 409}, statuses
