"""`flowservice flows run FLOW_ID --watch` as a real process on a real emulator run:
progress lines on a pipe, a summary, exit 0 on success and 1 on a failed run."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from cli_harness import cli_env, config_dir, logged_in, run_cli
from flow_journey import build_flow
from service_harness import (
    FLOW_SPEC_ID,
    ApiClient,
    create_dataset,
    created_id,
    source_connection_body,
    sql_server_connection_body,
    target_connection_body,
)

from mssql_emulator.testing import running_emulator

__all__ = ["config_dir", "logged_in"]

pytestmark = pytest.mark.timeout(180)

INIT = """
CREATE SCHEMA sales;
CREATE TABLE sales.Orders (OrderID INT PRIMARY KEY, Customer NVARCHAR(50), Amount DECIMAL(10,2));
INSERT INTO sales.Orders VALUES (1, N'Ann', 10.50), (2, N'Bob', 20.00), (3, N'Cé', NULL);
"""
LATER = {"startTime": int(time.time()) + 86_400, "frequency": "once"}


def test_watch_a_run_to_success_shows_progress_and_exits_0(
    client: ApiClient, logged_in: Path
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client, emulator, table="sales.Orders", delta_column=None, schedule=LATER
        )
        done = run_cli(
            "flows", "run", journey.flow_id, "--watch", "--interval", "0.2", config_dir=logged_in
        )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[0].startswith("run ") and journey.flow_id in lines[0]
    summary = lines[-1]
    for progress in lines[1:-1]:
        assert progress.split(":")[0] in ("scheduled", "inProgress"), progress
        assert "rows read" in progress and "rows/s" in progress and "elapsed" in progress
    assert "success: 3 rows read, 3 written, 0 failed" in summary
    assert "rows/s" in summary and "elapsed" in summary
    # a pipe gets plain lines: no cursor movement, no colour codes
    assert "\x1b" not in done.stdout
    assert client.token not in done.stdout + done.stderr


def test_watch_a_failing_run_exits_1_and_says_why_without_the_password(
    client: ApiClient, logged_in: Path
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client, emulator, table="sales.Orders", delta_column=None, schedule=LATER
        )
        # the source table goes away before the run
        assert emulator.server is not None
        emulator.server.engine.run_script(  # type: ignore[attr-defined]
            emulator.database, "DROP TABLE sales.Orders;"
        )
        done = run_cli(
            "flows", "run", journey.flow_id, "--watch", "--interval", "0.2", config_dir=logged_in
        )
    assert done.returncode == 1, (done.stdout, done.stderr)
    assert "failed" in done.stdout.strip().splitlines()[-1]
    assert done.stderr.startswith("error: ")
    assert emulator.password not in done.stdout + done.stderr


def test_watch_with_json_output_prints_the_final_run(client: ApiClient, logged_in: Path) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client, emulator, table="sales.Orders", delta_column=None, schedule=LATER
        )
        done = run_cli(
            "flows",
            "run",
            journey.flow_id,
            "-w",
            "--interval",
            "0.2",
            "-o",
            "json",
            config_dir=logged_in,
        )
    assert done.returncode == 0, done.stderr
    run = json.loads(done.stdout)
    assert run["metrics"]["statusSummary"]["status"] == "success"
    assert "rows read" in done.stderr  # progress went to stderr


def _flow_on_a_closed_port(client: ApiClient) -> str:
    """A flow whose source never answers: its run stays inProgress, retrying."""
    closed = (
        "Data Source=127.0.0.1,1;Initial Catalog=sales;Integrated Security=False;"
        "User ID=loader;Password=S3cret!pw;Encrypt=False;"
    )
    conn = created_id(client.post("/connections", json=sql_server_connection_body(closed)))
    dataset = create_dataset(client, "never filled")
    source = created_id(
        client.post(
            "/sourceConnections",
            json=source_connection_body(name="s", base_id=conn, table="sales.Orders"),
        )
    )
    target = created_id(
        client.post("/targetConnections", json=target_connection_body(name="t", dataset_id=dataset))
    )
    return created_id(
        client.post(
            "/flows",
            json={
                "name": "never ends",
                "flowSpec": {"id": FLOW_SPEC_ID, "version": "1.0"},
                "sourceConnectionIds": [source],
                "targetConnectionIds": [target],
                "transformations": [{"name": "Copy", "params": {}}],
                "scheduleParams": LATER,
            },
        )
    )


def test_watch_gives_up_after_its_timeout_with_exit_2(client: ApiClient, logged_in: Path) -> None:
    flow_id = _flow_on_a_closed_port(client)
    done = run_cli(
        "flows", "run", flow_id, "--watch", "--interval", "0.2", "--timeout", "1",
        config_dir=logged_in,
    )  # fmt: skip
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert done.stderr.startswith("error: ") and "after 1s" in done.stderr
    assert "S3cret" not in done.stdout + done.stderr


def test_ctrl_c_stops_watching_but_not_the_run(client: ApiClient, logged_in: Path) -> None:
    flow_id = _flow_on_a_closed_port(client)
    child = subprocess.Popen(
        [sys.executable, "-m", "flowservice", "flows", "run", flow_id, "-w", "--interval", "0.2"],
        env=cli_env(logged_in),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    first = child.stdout.readline()
    assert first.startswith("run ")
    run_id = first.split()[1]
    assert "rows read" in child.stdout.readline()  # watching
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=30)
    assert child.returncode == 130, (out, err)
    assert f"run {run_id} goes on" in err and "Traceback" not in err
    status = client.get(f"/runs/{run_id}").json()["items"][0]["metrics"]["statusSummary"]
    assert status["status"] in ("scheduled", "inProgress")
    client.post(f"/runs/{run_id}/action", params={"op": "cancel"})


def test_watch_at_a_terminal_draws_a_live_line_then_the_summary(
    client: ApiClient, logged_in: Path
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        journey = build_flow(
            client, emulator, table="sales.Orders", delta_column=None, schedule=LATER
        )
        controller, terminal = pty.openpty()
        try:
            child = subprocess.Popen(
                [sys.executable, "-m", "flowservice", "flows", "run", journey.flow_id, "-w",
                 "--interval", "0.2"],
                env=cli_env(logged_in, TERM="xterm"),
                stdin=subprocess.DEVNULL,
                stdout=terminal,
                stderr=terminal,
            )  # fmt: skip
            code = child.wait(timeout=120)
            os.close(terminal)
            shown = b""
            while True:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:  # the terminal's other end is closed: all read
                    break
                if not chunk:
                    break
                shown += chunk
        finally:
            os.close(controller)
    assert code == 0, shown
    text = shown.decode("utf-8", "replace")
    assert "success: 3 rows read, 3 written, 0 failed" in text
