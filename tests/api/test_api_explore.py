"""/connections/{id}/test and /explore without a connector (emulator tests come later)."""

from __future__ import annotations

from service_harness import ApiClient, RunningServer, problem_code

from flowservice.store import db
from flowservice.store.repos import identity, resources
from flowservice.store.repos.resources import Scope

DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


def _connection_without_connector(api: ApiClient, server: RunningServer) -> str:
    """A stored connection whose spec has no connector (written through the store layer)."""
    assert api.get("/connections").status_code == 200  # provisions the org
    engine = db.make_engine(server.settings.effective_database_url)
    with db.transaction(db.session_factory(engine)) as session:
        sandbox = identity.get_sandbox(session, org_id=api.org_id, name="prod")
        scope = Scope(api.org_id, sandbox.id, "prod", api.subject, api.client_id)
        row = resources.insert_resource(
            session,
            scope=scope,
            kind="connections",
            name="lake",
            state="enabled",
            spec_id=DATA_LAKE_SPEC_ID,
            doc={
                "description": None,
                "connectionSpec": {"id": DATA_LAKE_SPEC_ID, "version": "1.0"},
                "auth": {"specName": "none", "params": {}, "order": []},
            },
        )
        row_id = row.id
    engine.dispose()
    return row_id


def test_no_connector_is_a_clear_400(api: ApiClient, server: RunningServer) -> None:
    conn_id = _connection_without_connector(api, server)
    tested = api.get(f"/connections/{conn_id}/test")
    assert tested.status_code == 400
    assert "No connector is installed" in tested.json()["errorMessage"]
    explored = api.get(f"/connections/{conn_id}/explore", params={"objectType": "root"})
    assert explored.status_code == 400
    assert "No connector is installed" in explored.json()["errorMessage"]


def test_unknown_connection_is_404(api: ApiClient) -> None:
    assert problem_code(api.get("/connections/missing/test")) == "FLOW-1101-404"
    response = api.get(
        "/connections/missing/explore", params={"objectType": "table", "object": "dbo.t"}
    )
    assert problem_code(response) == "FLOW-1101-404"


def test_bad_explore_parameters_are_400(api: ApiClient, server: RunningServer) -> None:
    conn_id = _connection_without_connector(api, server)
    url = f"/connections/{conn_id}/explore"
    assert api.get(url, params={"objectType": "folder"}).status_code == 400
    assert api.get(url, params={"objectType": "table"}).status_code == 400
    assert (
        api.get(url, params={"objectType": "table", "object": "a.b", "count": "-3"}).status_code
        == 400
    )
    assert api.get(url, params={"objectType": "root", "limit": "0"}).status_code == 400
