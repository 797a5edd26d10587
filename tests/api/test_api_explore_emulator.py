"""Test and explore routes through the real SQL Server connector against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from service_harness import ApiClient, problem_code, sql_server_connection_body

from mssql_emulator.testing import RunningEmulator, running_emulator

INIT = """
ALTER DATABASE testdb SET CHANGE_TRACKING = ON (CHANGE_RETENTION = 2 DAYS, AUTO_CLEANUP = ON);
CREATE SCHEMA test1;
CREATE TABLE test1.Mytable (TestID INT PRIMARY KEY, Name NVARCHAR(50), Datefield DATETIME2);
ALTER TABLE test1.Mytable ENABLE CHANGE_TRACKING;
INSERT INTO test1.Mytable VALUES (1, N'one', '2022-06-22 17:19:33'), (2, N'two', NULL),
  (3, N'three', '2022-06-24 08:00:00');
CREATE TABLE test1.Lines (Region NVARCHAR(5) NOT NULL, Line INT NOT NULL, Qty INT,
  CONSTRAINT pk_lines PRIMARY KEY (Line, Region));
CREATE TABLE test1.Notes (Body NVARCHAR(20));
"""


@pytest.fixture(scope="module")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(init_sql=[INIT]) as running:
        yield running


def _connection(api: ApiClient, emulator: RunningEmulator, password: str | None = None) -> str:
    text = (
        f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
        f"Integrated Security=False;User ID={emulator.user};"
        f"Password={password or emulator.password};Encrypt=False;"
    )
    response = api.post("/connections", json=sql_server_connection_body(text))
    assert response.status_code == 201, response.text
    conn_id: str = response.json()["id"]
    return conn_id


def test_test_route(api: ApiClient, emulator: RunningEmulator) -> None:
    good = _connection(api, emulator)
    assert api.get(f"/connections/{good}/test").json() == {"result": True}
    bad = _connection(api, emulator, password="Wr0ngPassw0rd")
    failed = api.get(f"/connections/{bad}/test")
    assert failed.status_code == 200
    assert failed.json()["result"] is False and failed.json()["message"]
    assert "Wr0ngPassw0rd" not in failed.text and emulator.password not in failed.text
    # the last test is kept for the console, and goes with its connection
    for tested in (good, bad):
        assert api.delete(f"/connections/{tested}").status_code == 204
        assert api.get(f"/connections/{tested}/test").status_code == 404


def test_explore_root_table_and_preview(api: ApiClient, emulator: RunningEmulator) -> None:
    conn = _connection(api, emulator)
    url = f"/connections/{conn}/explore"
    root = api.get(url, params={"objectType": "root"})
    assert root.status_code == 200
    assert {
        "type": "table",
        "name": "test1.Mytable",
        "path": "test1.Mytable",
        "canPreview": True,
        "canFetchSchema": True,
    } in root.json()

    table = api.get(url, params={"objectType": "table", "object": "test1.Mytable"}).json()
    assert table["format"] == "flat" and "data" not in table
    columns = {c["name"]: c for c in table["schema"]["columns"]}
    assert columns["TestID"]["xdm"] == {"type": "integer"}
    assert columns["Datefield"]["xdm"] == {"type": "string", "format": "date-time"}
    assert columns["Datefield"]["meta:xdmType"] == "date-time"
    assert columns["TestID"]["meta"] == {
        "originalType": "int",
        "nullable": False,
        "primaryKeyPosition": 1,
    }
    assert columns["Name"]["meta"] == {"originalType": "nvarchar(50)", "nullable": True}
    # datetime2 defaults to 7 digits; we keep microseconds, so the column says it is lossy
    assert columns["Datefield"]["meta"]["lossy"] is True

    preview = api.get(
        url,
        params={"objectType": "table", "object": "test1.Mytable", "preview": "true", "count": "2"},
    ).json()
    assert len(preview["data"]) == 2
    first = next(row for row in preview["data"] if row["TestID"] == 1)
    assert first == {"TestID": 1, "Name": "one", "Datefield": "2022-06-22T17:19:33"}

    missing = api.get(url, params={"objectType": "table", "object": "test1.Nope"})
    assert problem_code(missing) == "FLOW-1101-404"


def test_explore_shows_the_primary_key_and_change_tracking(
    api: ApiClient, emulator: RunningEmulator
) -> None:
    url = f"/connections/{_connection(api, emulator)}/explore"

    def table(name: str, **extra: str) -> dict[str, Any]:
        response = api.get(url, params={"objectType": "table", "object": name, **extra})
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    tracked = table("test1.Mytable")
    assert tracked["schema"]["primaryKey"] == ["TestID"]
    # the init script made 1 tracked write (the INSERT), so the current version is 1
    assert tracked["changeTracking"] == {
        "enabled": True,
        "databaseEnabled": True,
        "currentVersion": 1,
        "minValidVersion": 0,
    }
    assert (
        table("test1.Mytable", preview="true", count="1")["changeTracking"]
        == (tracked["changeTracking"])
    )
    lines = table("test1.Lines")
    assert lines["schema"]["primaryKey"] == ["Line", "Region"]
    assert {c["name"]: c["meta"].get("primaryKeyPosition") for c in lines["schema"]["columns"]} == {
        "Region": 2,
        "Line": 1,
        "Qty": None,
    }
    assert lines["changeTracking"] == {
        "enabled": False,
        "databaseEnabled": True,
        "currentVersion": 1,
        "minValidVersion": None,
    }
    notes = table("test1.Notes")
    assert notes["schema"]["primaryKey"] == [] and notes["changeTracking"]["enabled"] is False
