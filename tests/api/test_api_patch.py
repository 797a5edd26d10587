"""PATCH /connections/{id}: JSON Patch with If-Match, re-validation, immutable spec."""

from __future__ import annotations

from service_harness import ApiClient, problem_code, sql_server_connection_body


def _create(api: ApiClient) -> dict[str, str]:
    response = api.post("/connections", json=sql_server_connection_body())
    assert response.status_code == 201
    created: dict[str, str] = response.json()
    return created


def test_patch_name_and_description_with_quoted_and_bare_etag(api: ApiClient) -> None:
    created = _create(api)
    ops = [{"op": "replace", "path": "/name", "value": "renamed"}]
    first = api.patch(
        f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert first.status_code == 200, first.text
    assert first.json()["id"] == created["id"] and first.json()["etag"] != created["etag"]
    bare = first.json()["etag"].strip('"')
    ops = [{"op": "add", "path": "/description", "value": "new words"}]
    second = api.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": bare})
    assert second.status_code == 200
    item = api.get(f"/connections/{created['id']}").json()["items"][0]
    assert item["name"] == "renamed" and item["description"] == "new words"
    assert item["etag"] == second.json()["etag"]
    assert item["updatedAt"] >= item["createdAt"]
    ops = [{"op": "remove", "path": "/description"}]
    third = api.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": item["etag"]})
    assert third.status_code == 200
    assert "description" not in api.get(f"/connections/{created['id']}").json()["items"][0]


def test_if_match_missing_is_1403_and_stale_is_1404(api: ApiClient) -> None:
    created = _create(api)
    ops = [{"op": "replace", "path": "/name", "value": "n"}]
    missing = api.patch(f"/connections/{created['id']}", json=ops)
    assert problem_code(missing) == "FLOW-1403-400"
    api.patch(f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]})
    stale = api.patch(
        f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert stale.status_code == 412
    assert problem_code(stale) == "FLOW-1404-412"
    assert "does not match the current version" in stale.json()["errorMessage"]


def test_unsupported_op_is_1434(api: ApiClient) -> None:
    created = _create(api)
    ops = [{"op": "move", "from": "/name", "path": "/description"}]
    response = api.patch(
        f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert problem_code(response) == "FLOW-1434-400"


def test_connection_spec_cannot_change(api: ApiClient) -> None:
    created = _create(api)
    ops = [
        {
            "op": "replace",
            "path": "/connectionSpec/id",
            "value": "c604ff05-7f1a-43c0-8e18-33bf874cb11c",
        }
    ]
    response = api.patch(
        f"/connections/{created['id']}", json=ops, headers={"If-Match": created["etag"]}
    )
    assert problem_code(response) == "FLOW-1414-400"


def test_params_are_revalidated_and_secret_replaced(api: ApiClient) -> None:
    created = _create(api)
    url = f"/connections/{created['id']}"
    bad = [{"op": "replace", "path": "/auth/params", "value": {"connectionString": "nonsense"}}]
    rejected = api.patch(url, json=bad, headers={"If-Match": created["etag"]})
    assert rejected.status_code == 400
    new = "Server=newhost;Database=db2;UID=u2;PWD=N3wSecret;"
    good = [{"op": "replace", "path": "/auth/params", "value": {"connectionString": new}}]
    accepted = api.patch(url, json=good, headers={"If-Match": created["etag"]})
    assert accepted.status_code == 200, accepted.text
    item = api.get(url).json()["items"][0]
    shown = item["auth"]["params"]["connectionString"]
    assert "newhost" in shown and "N3wSecret" not in shown


def test_auth_params_are_checked_against_the_spec_as_on_create(api: ApiClient) -> None:
    created = _create(api)
    url = f"/connections/{created['id']}"
    headers = {"If-Match": created["etag"]}
    for ops in (
        [{"op": "add", "path": "/auth/params/extra", "value": "x"}],
        [
            {
                "op": "replace",
                "path": "/auth/params",
                "value": {"connectionString": "Server=h;Database=d;UID=u;PWD=p;", "Extra": 1},
            }
        ],
    ):
        response = api.patch(url, json=ops, headers=headers)
        assert problem_code(response) == "FLOW-1455-400", response.text
        assert "is not a parameter of" in response.json()["errorMessage"]
    item = api.get(url).json()["items"][0]
    assert item["etag"] == created["etag"]
    assert list(item["auth"]["params"]) == ["connectionString"]


def test_sending_back_the_masked_value_keeps_the_secret(api: ApiClient, server: object) -> None:
    created = _create(api)
    url = f"/connections/{created['id']}"
    shown = api.get(url).json()["items"][0]["auth"]["params"]
    ops = [
        {"op": "replace", "path": "/auth/params", "value": shown},
        {"op": "replace", "path": "/name", "value": "still works"},
    ]
    response = api.patch(url, json=ops, headers={"If-Match": created["etag"]})
    assert response.status_code == 200, response.text
    from service_harness import RunningServer

    from flowservice.secrets import SecretBox
    from flowservice.store import db
    from flowservice.store.connection_auth import auth_params
    from flowservice.store.tables import Resource

    assert isinstance(server, RunningServer)
    engine = db.make_engine(server.settings.effective_database_url)
    with db.session_factory(engine)() as session:
        row = session.get(Resource, created["id"])
        assert row is not None
        params = auth_params(row, SecretBox.from_settings(server.settings))
    engine.dispose()
    assert "Password=S3cret!pw" in params["connectionString"]


def test_bad_patch_bodies_are_400_and_change_nothing(api: ApiClient) -> None:
    created = _create(api)
    url = f"/connections/{created['id']}"
    headers = {"If-Match": created["etag"]}
    for body in (
        {"op": "replace"},
        [],
        [{"op": "replace", "path": "/nope/deeper", "value": 1}],
        [{"op": "add", "path": "/color", "value": "blue"}],
        [{"op": "replace", "path": "/name", "value": 5}],
        [{"path": "/name"}],
    ):
        response = api.patch(url, json=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
    assert api.get(url).json()["items"][0]["etag"] == created["etag"]


def test_patch_unknown_id_is_404(api: ApiClient) -> None:
    ops = [{"op": "replace", "path": "/name", "value": "n"}]
    response = api.patch("/connections/unknown", json=ops, headers={"If-Match": '"x"'})
    assert response.status_code == 404


def test_concurrent_patches_with_one_etag_have_one_winner(api: ApiClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    created = _create(api)
    url = f"/connections/{created['id']}"

    def rename(i: int) -> int:
        client = api.as_other()
        try:
            ops = [{"op": "replace", "path": "/name", "value": f"writer-{i}"}]
            return client.patch(url, json=ops, headers={"If-Match": created["etag"]}).status_code
        finally:
            client.close()

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = sorted(pool.map(rename, range(6)))
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 412}


def test_wrong_method_is_a_problem_body(api: ApiClient) -> None:
    response = api.request("PUT", "/connections")
    assert response.status_code == 405
    assert response.json()["status"] == 405 and "report" in response.json()
