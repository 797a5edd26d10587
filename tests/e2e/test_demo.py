"""`flowservice demo` as a user runs it: a subprocess, its output, the datasets it leaves."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from deltalake import DeltaTable

from flowservice.demo.sample_db import table_sizes

pytestmark = pytest.mark.timeout(180)

STEPS = (
    "1. Connect the SQL Server database",
    "→ POST /data/foundation/flowservice/connections ",
    "→ GET /data/foundation/flowservice/connections/",
    "2. Explore: list the tables",
    "tables: sales.customers, sales.order_lines, sales.orders, sales.products",
    "→ POST /data/foundation/catalog/dataSets ",
    "→ POST /data/foundation/flowservice/sourceConnections ",
    "→ POST /data/foundation/flowservice/targetConnections ",
    "→ POST /data/foundation/conversion/mappingSets ",
    "→ POST /data/foundation/flowservice/flows ",
    "→ GET /data/foundation/flowservice/runs/",
    "→ GET /data/foundation/catalog/batches?",
    "Stopped the service and the emulator.",
)


def _demo_argv(home: Path, *extra: str) -> list[str]:
    argv = [sys.executable, "-m", "flowservice", "demo", "--home", str(home)]
    return [*argv, "--port", "0", "--sql-port", "0", *extra]


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("FLOWSERVICE_")}


def _summary(output: str, table: str) -> tuple[int, Path]:
    match = re.search(
        rf"{re.escape(table)} \(\w+ ?\w*\): ([\d,]+) rows copied in [\d.]+ s\n"
        r"    dataset \w+ at (\S+)",
        output,
    )
    assert match, output
    return int(match.group(1).replace(",", "")), Path(match.group(2))


def _ports(output: str) -> tuple[int, int]:
    sql = re.search(r"emulator on 127\.0\.0\.1:(\d+)", output)
    api = re.search(r"flowservice on http://127\.0\.0\.1:(\d+)", output)
    assert sql and api, output
    return int(sql.group(1)), int(api.group(1))


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


DATABASE_BLOCK = "The demo database, for your own SQL client"


def _assert_no_secrets(output: str) -> None:
    """No token anywhere; the demo database's password only in the block meant to show it."""
    masked, _, database_block = output.partition(DATABASE_BLOCK)
    assert "Password=****;" in masked
    assert not re.search(r"Password=(?!\*\*\*\*;)", masked), "a password was printed"
    assert "PWD=" not in output
    assert "eyJ" not in output, "a token was printed"  # every JWT starts with eyJ
    assert "Bearer ****" in output
    if database_block:
        password = re.search(r", password (\S+)\n", database_block)
        assert password, database_block
        assert password.group(1) not in masked


def test_demo_default_rows_copies_orders_and_customers(tmp_path: Path) -> None:
    home = tmp_path / "demo"
    started = time.monotonic()
    done = subprocess.run(
        _demo_argv(home, "--no-wait"), capture_output=True, text=True, env=_env(), timeout=170
    )
    elapsed = time.monotonic() - started
    output = done.stdout
    assert done.returncode == 0, output + done.stderr
    for step in STEPS:
        assert step in output, f"{step!r} missing from:\n{output}"
    _assert_no_secrets(output + done.stderr)
    assert DATABASE_BLOCK not in output  # nothing to connect to once the demo has stopped
    assert "→ GET /data/foundation/catalog/batches?limit=50&start=0&dataSet=" in output
    sizes = table_sizes(100_000)
    assert sizes.total == 100_000
    assert "sales.orders 40,000" in output

    copied, path = _summary(output, "sales.orders")
    assert copied == sizes.orders
    orders = DeltaTable(str(path)).to_pyarrow_table().sort_by("order_id")
    assert orders.num_rows == sizes.orders
    assert orders.column("order_id").to_pylist() == list(range(1, sizes.orders + 1))
    row = orders.slice(7, 1).to_pylist()[0]  # order 8: a gift, every column filled
    assert row["gift_note"] == "Alles Gute, Łukasz! 🎁"
    assert row["signature"] == b"sig:8"
    assert row["is_gift"] is True
    assert str(row["total"]) == "5.0800" and str(row["discount"]) == "0.0800"
    # placed at 2023-01-01 00:08:08 +02:00
    assert row["placed_at"]["utc"] == datetime(2022, 12, 31, 22, 8, 8, tzinfo=UTC)
    assert row["placed_at"]["offset_minutes"] == 120
    assert row["modified_at"] == datetime(2024, 2, 1, 0, 1, 28, tzinfo=UTC)
    assert re.fullmatch(r"[0-9a-f-]{36}", row["order_key"])
    assert orders.schema.field("total").type == pa.decimal128(19, 4)
    assert orders.column("gift_note").null_count == sizes.orders - sizes.orders // 8

    copied, path = _summary(output, "sales.customers")
    assert copied == sizes.customers
    customers = DeltaTable(str(path)).to_pyarrow_table().sort_by("customer_id")
    assert customers.num_rows == sizes.customers
    first = customers.slice(0, 1).to_pylist()[0]
    assert first["first_name"] == "José" and first["first_name_uc"] == "JOSÉ"
    assert first["home"] == f"José in {first['city']}"

    sql_port, api_port = _ports(output)
    assert not _listening(api_port) and not _listening(sql_port)
    assert (home / "service.log").exists() and (home / "emulator.log").exists()
    print(f"demo with {sizes.total:,} rows took {elapsed:.1f} s")


def test_demo_waits_until_ctrl_c_then_stops_both(tmp_path: Path) -> None:
    demo = subprocess.Popen(
        _demo_argv(tmp_path / "demo", "--rows", "500"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    assert demo.stdout is not None
    lines: list[str] = []
    for line in demo.stdout:
        lines.append(line)
        if "press Ctrl-C" in line:
            break
    output = "".join(lines)
    assert "press Ctrl-C" in output, output
    assert "curl -s http://127.0.0.1:" in output and "x-sandbox-name: prod" in output
    assert f"TOKEN=$({sys.executable} -m flowservice auth token --org DEMO@AdobeOrg" in output
    assert "2>/dev/null" not in output
    _assert_no_secrets(output)
    sql_port, api_port = _ports(output)
    assert _listening(api_port) and _listening(sql_port)
    _try_it_yourself_in_bash(output, tmp_path)
    _query_the_demo_database(output, sql_port)
    demo.send_signal(signal.SIGINT)
    rest, _ = demo.communicate(timeout=60)
    assert demo.returncode == 0, output + rest
    assert "Stopped the service and the emulator." in rest
    assert not _listening(api_port) and not _listening(sql_port)


def _try_it_yourself_in_bash(output: str, tmp_path: Path) -> None:
    """The printed lines, as printed, in bash with a PATH that has no ``flowservice``."""
    block = output.split("Try it yourself", 1)[1].split("API docs", 1)[0]
    commands = [line.strip() for line in block.splitlines()[1:] if line.strip()]
    assert commands[0].startswith("TOKEN=$(") and commands[1].startswith("curl -s ")
    script = "\n".join(
        [
            "set -eu",
            *commands[:1],
            'echo "token length ${#TOKEN}" >&2',
            # the printed curl, plus a flag that writes its status after the body
            "\n".join(commands[1:]) + " -w '\\n%{http_code}'",
        ]
    )
    env = {**_env(), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 0, done.stderr
    token_length = re.search(r"token length (\d+)", done.stderr)
    assert token_length and int(token_length.group(1)) > 0, done.stderr
    body, _, status = done.stdout.rpartition("\n")
    assert status == "200", done.stdout
    names = sorted(flow["name"] for flow in json.loads(body)["items"])
    assert names == ["Demo sales.customers dataflow", "Demo sales.orders dataflow"]
    assert "eyJ" not in done.stderr  # the token went into TOKEN, not onto the terminal


def _query_the_demo_database(output: str, sql_port: int) -> None:
    """The printed host, port, user and password let one's own client in."""
    import mssql_python

    found = re.search(
        r"host (\S+), port (\d+), database (\w+), user (\w+), password (\S+)\n", output
    )
    assert found, output
    host, port, database, user, password = found.groups()
    assert int(port) == sql_port
    conn = mssql_python.connect(
        f"Server={host},{port};Database={database};UID={user};PWD={password};Encrypt=no",
        timeout=10,
    )
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT COUNT(*) FROM sales.customers")
        row = cursor.fetchone()
        assert row is not None and row[0] == table_sizes(500).customers
    finally:
        conn.close()


def test_demo_without_the_emulator_says_how_to_get_it(tmp_path: Path) -> None:
    # a None entry in sys.modules makes find_spec report the package as absent
    script = (
        "import sys; sys.modules['mssql_emulator'] = None; "
        "from flowservice.cli.main import main; main()"
    )
    argv = [sys.executable, "-c", script, *_demo_argv(tmp_path / "demo", "--no-wait")[3:]]
    done = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=60)
    assert done.returncode == 1
    assert "needs the SQL Server emulator (package mssql_emulator)" in done.stderr
    assert "Traceback" not in done.stderr


def test_demo_with_its_api_port_taken_says_so_and_stops_the_emulator(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        api_port = int(taken.getsockname()[1])
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            sql_port = int(probe.getsockname()[1])
        argv = [sys.executable, "-m", "flowservice", "demo", "--home", str(tmp_path / "demo")]
        argv += ["--port", str(api_port), "--sql-port", str(sql_port), "--rows", "100"]
        done = subprocess.run(argv, capture_output=True, text=True, env=_env(), timeout=120)
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"port {api_port} on 127.0.0.1 is in use" in done.stderr
    assert "pass --port with another port" in done.stderr
    assert "Traceback" not in done.stderr
    assert "Stopped the service and the emulator." in done.stdout
    assert not _listening(sql_port)
