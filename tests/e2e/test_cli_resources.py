"""The resource commands against a live server and the SQL Server emulator: create from
JSON/YAML files, list/get/delete, enable/disable, run, cancel, errors, explore, preview and
export, each with tables for people and ``-o json`` for scripts."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import yaml
from cli_harness import config_dir, invoke, logged_in, profile_of, run_cli
from dataset_exports import (
    build_history,
    csv_expected,
    current_rows,
    new_dataset,
    read_csv,
    read_parquet,
)
from flow_journey import build_flow, connection_string, wait_for_run
from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    created_id,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

from flowservice.api.runtime import Runtime
from flowservice.cli.profiles import Profile, save_profile
from mssql_emulator.testing import running_emulator

__all__ = ["config_dir", "logged_in"]

pytestmark = pytest.mark.timeout(180)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50),
  Amount DECIMAL(10,2), ShipDate NVARCHAR(20));
INSERT INTO sales.Orders VALUES (1, N'Ann', 10.50, N'2024-03-05'), (2, N'Bob', 20.00, N'soon'),
  (3, N'Cé', NULL, N'2024-03-07');
"""


def _ok(*args: str) -> str:
    result = invoke(*args)
    assert result.exit_code == 0, (args, result.output)
    return result.stdout


def _json(*args: str) -> Any:
    return json.loads(_ok(*args, "-o", "json"))


def test_a_whole_journey_through_the_resource_commands(
    client: ApiClient, logged_in: Path, tmp_path: Path
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        body = sql_server_connection_body(
            connection_string(emulator.host, emulator.port, emulator), name="sales db"
        )
        (tmp_path / "connection.yaml").write_text(yaml.safe_dump(body))
        connection_id = _ok("connections", "create", "-f", str(tmp_path / "connection.yaml"))
        connection_id = connection_id.strip()
        assert _ok("connections", "test", connection_id).strip() == "ok"
        tables = _ok("connections", "explore", connection_id)
        assert tables.splitlines()[0].split() == ["TABLE", "TYPE"]
        assert "sales.Orders" in tables
        described = _json("connections", "explore", connection_id, "--table", "sales.Orders")
        assert [c["name"] for c in described["schema"]["columns"]][:2] == ["OrderID", "Customer"]
        assert "OrderID" in _ok("connections", "explore", connection_id, "--table", "sales.Orders")
        rows = _json("connections", "preview", connection_id, "--table", "sales.Orders")
        assert [r["OrderID"] for r in rows] == [1, 2, 3]

        (tmp_path / "dataset.json").write_text(json.dumps({"name": "orders copy"}))
        created = _json("datasets", "create", "-f", str(tmp_path / "dataset.json"))
        dataset_id = created["id"]
        source = created_id(
            client.post(
                "/sourceConnections",
                json=source_connection_body(
                    name="src", base_id=connection_id, table="sales.Orders"
                ),
            )
        )
        target = created_id(
            client.post(
                "/targetConnections",
                json=target_connection_body(name="dst", dataset_id=dataset_id),
            )
        )
        flow_body = {
            "name": "copy orders",
            "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
            "sourceConnectionIds": [source],
            "targetConnectionIds": [target],
            "transformations": [{"name": "Copy", "params": {}}],
            "scheduleParams": {"startTime": int(time.time()) + 86_400, "frequency": "once"},
        }
        (tmp_path / "flow.yaml").write_text(yaml.safe_dump(flow_body))
        # '-' reads the body from stdin
        made = invoke("flows", "create", "-f", "-", stdin=yaml.safe_dump(flow_body))
        assert made.exit_code == 0, made.output
        flow_id = _ok("flows", "create", "-f", str(tmp_path / "flow.yaml")).strip()

        listed = _ok("flows", "list")
        assert listed.splitlines()[0].split()[:3] == ["ID", "NAME", "STATE"]
        assert flow_id in listed and made.stdout.strip() in listed
        assert {f["id"] for f in _json("flows", "list")} == {flow_id, made.stdout.strip()}
        assert len(_json("flows", "list", "--limit", "1")) == 1
        assert _json("flows", "get", flow_id)["name"] == "copy orders"
        assert "copy orders" in _ok("flows", "get", flow_id)

        assert "disabled" in _ok("flows", "disable", flow_id)
        assert _json("flows", "list", "--filter", "state==disabled")[0]["id"] == flow_id
        _ok("flows", "enable", flow_id)
        assert _json("flows", "get", flow_id)["state"] == "enabled"

        run_id = _json("flows", "run", flow_id)["id"]
        assert wait_for_run(client, run_id)["metrics"]["statusSummary"]["status"] == "success"

    runs = _json("runs", "list", "--filter", f"flowId=={flow_id}")
    assert [r["id"] for r in runs] == [run_id]
    runs_table = _ok("runs", "list")
    assert runs_table.splitlines()[0].split()[:3] == ["ID", "FLOW", "STATUS"]
    assert run_id in runs_table and "success" in runs_table
    assert _json("runs", "get", run_id)["flowId"] == flow_id
    assert _ok("runs", "errors", run_id).strip().splitlines()[-1] == "no errors"

    preview = _json("datasets", "preview", dataset_id)
    assert sorted(r["OrderID"] for r in preview) == [1, 2, 3]
    assert "Ann" in _ok("datasets", "preview", dataset_id)
    exported = _ok("datasets", "export", dataset_id, "--format", "csv")
    header, *lines = exported.strip().splitlines()
    assert header.split(",")[:2] == ['"OrderID"', '"Customer"'] and len(lines) == 3
    assert sorted(lines)[0].startswith('1,"Ann",10.50')
    out = tmp_path / "orders.parquet"
    _ok("datasets", "export", dataset_id, "--format", "parquet", "--out", str(out))
    table = pq.read_table(io.BytesIO(out.read_bytes())).sort_by("OrderID")
    assert table.num_rows == 3 and table.column_names[:2] == ["OrderID", "Customer"]
    assert table.column("Customer").to_pylist() == ["Ann", "Bob", "Cé"]
    assert dataset_id in _ok("datasets", "list")

    assert _ok("flows", "delete", flow_id).strip() == f"deleted flow {flow_id}"
    gone = invoke("flows", "get", flow_id)
    assert gone.exit_code == 2 and gone.stderr.startswith("error: ")
    assert "404" in gone.stderr
    _ok("flows", "delete", made.stdout.strip())
    for path in ("/sourceConnections/" + source, "/targetConnections/" + target):
        client.delete(path)
    _ok("connections", "delete", connection_id)
    _ok("datasets", "delete", dataset_id)
    assert _json("connections", "list") == []


def test_export_writes_every_current_row(
    client: ApiClient, logged_in: Path, tmp_path: Path
) -> None:
    """More rows than a preview holds, changed by a merge: the export is the current state."""
    runtime = Runtime.start(client.server.settings)
    try:
        dataset_id = new_dataset(client)
        build_history(runtime, client, dataset_id)
        expected = current_rows(runtime, client, dataset_id)
    finally:
        runtime.close()
    assert expected.num_rows == 5_900
    out = tmp_path / "all.parquet"
    _ok("datasets", "export", dataset_id, "--format", "parquet", "--out", str(out))
    assert read_parquet(out.read_bytes()).equals(expected)
    # as a real process, to stdout, the way a shell pipes it
    child = run_cli("datasets", "export", dataset_id, "--format", "csv", config_dir=logged_in)
    assert child.returncode == 0, child.stderr
    assert read_csv(child.stdout.encode()).equals(csv_expected(expected))
    missing = invoke("datasets", "export", "nosuchdataset", "--out", str(tmp_path / "x.csv"))
    assert missing.exit_code == 2 and "404" in missing.stderr
    assert not (tmp_path / "x.csv").exists()


def test_runs_cancel_and_errors_with_failed_records(client: ApiClient, logged_in: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        later = int(datetime.now(UTC).timestamp()) + 86_400
        journey = build_flow(
            client,
            emulator,
            table="sales.Orders",
            delta_column=None,
            schedule={"startTime": later, "frequency": "once"},
            mappings=[
                {"sourceAttribute": "OrderID", "destinationXdmPath": "orderId"},
                {
                    "sourceAttribute": 'to_date(ShipDate, "yyyy-MM-dd")',
                    "destinationXdmPath": "shipped",
                },
            ],
            options={"partialIngestionPercent": "50"},
        )
        waiting = client.post(
            "/runs", json={"flowId": journey.flow_id, "params": {"startTime": later}}
        ).json()["id"]
        assert _ok("runs", "cancel", waiting).strip() == f"run {waiting} cancelled"
        assert _json("runs", "get", waiting)["metrics"]["statusSummary"]["status"] == "cancelled"

        run_id = client.post("/runs", json={"flowId": journey.flow_id}).json()["id"]
        assert wait_for_run(client, run_id)["metrics"]["statusSummary"]["status"] == "success"
    found = _json("runs", "errors", run_id)
    assert found["runId"] == run_id and found["errors"] == []
    (failed,) = found["failedRecords"]
    assert failed["row"] == 1 and failed["record"]["ShipDate"] == "soon"
    shown = _ok("runs", "errors", run_id)
    assert "1 failed record(s)" in shown and "soon" in shown


def test_service_errors_print_error_and_exit_2_without_the_token(
    client: ApiClient, config_dir: Path
) -> None:
    forged = profile_of(client)
    bad_token = forged.token[:-6] + "AAAAAA"
    save_profile("default", forged.__class__(**{**forged.__dict__, "token": bad_token}))
    result = invoke("connections", "list")
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and "401" in result.stderr
    assert bad_token not in result.output
    result = invoke("flows", "get", "no-such-flow", "--profile", "nobody")
    assert result.exit_code == 2 and "no profile named 'nobody'" in result.stderr


def test_create_refuses_a_file_that_is_not_one_object(logged_in: Path, tmp_path: Path) -> None:
    (tmp_path / "list.yaml").write_text("- a\n- b\n")
    result = invoke("connections", "create", "-f", str(tmp_path / "list.yaml"))
    assert result.exit_code == 2 and "must hold one object" in result.stderr
    result = invoke("connections", "create", "-f", str(tmp_path / "missing.json"))
    assert result.exit_code == 2 and result.stderr.startswith("error: cannot read")


def test_a_service_that_does_not_answer_is_an_error_after_the_retries(config_dir: Path) -> None:
    save_profile(
        "default",
        Profile(url="http://127.0.0.1:1", org="X@AdobeOrg", token="t0ken-x", api_key="k"),
    )
    result = invoke("flows", "list")
    assert result.exit_code == 2
    *warnings, last = result.stderr.strip().splitlines()
    assert warnings and all(w.startswith("warning: GET ") for w in warnings)
    assert last.startswith("error: ") and "got no answer" in last
    assert "t0ken-x" not in result.output
