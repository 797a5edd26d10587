"""`flowservice demo`: the emulator with a sample database, the service, and the whole journey."""

from __future__ import annotations

import secrets
import shlex
import signal
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from flowservice.demo.processes import (
    ChildProcess,
    free_port,
    issue_token,
    start_emulator,
    start_service,
)
from flowservice.demo.sample_db import DATABASE, init_script, table_sizes
from flowservice.demo.walkthrough import Access, Outcome, run_walkthrough
from flowservice.errors import FlowServiceError

DEMO_ORG = "DEMO@AdobeOrg"
DEMO_CLIENT = "flowservice-demo"
SQL_USER = "demo_reader"
DEFAULT_ROWS = 100_000


def _token(home: Path, base_url: str) -> Access:
    """A token made by ``flowservice auth token`` itself, on the demo's home."""
    issued = issue_token(home, org=DEMO_ORG, client_id=DEMO_CLIENT)
    return Access(base_url, issued["accessToken"], issued["apiKey"], issued["orgId"])


def _connection_string(port: int, password: str) -> str:
    # the emulator runs without TLS, hence Encrypt=False (see docs/sqlserver-connector.md)
    return (
        f"Data Source=127.0.0.1,{port};Initial Catalog={DATABASE};Integrated Security=False;"
        f"User ID={SQL_USER};Password={password};Encrypt=False;"
    )


def _cli_command() -> str:
    """``flowservice`` as this demo runs it: the interpreter's own, so it works off PATH too."""
    return f"{shlex.quote(sys.executable)} -m flowservice"


def _curl_help(base_url: str, home: Path) -> str:
    token_cmd = (
        f"{_cli_command()} auth token --org {DEMO_ORG} --client-id {DEMO_CLIENT} "
        f"--home {shlex.quote(str(home))}"
    )
    return "\n".join(
        [
            "Try it yourself (the token command prints a fresh token; it is never shown here):",
            f"  TOKEN=$({token_cmd})",
            f"  curl -s {base_url}/data/foundation/flowservice/flows \\",
            '    -H "Authorization: Bearer $TOKEN" \\',
            f'    -H "x-api-key: {DEMO_CLIENT}" -H "x-gw-ims-org-id: {DEMO_ORG}" \\',
            '    -H "x-sandbox-name: prod"',
            f"  API docs: {base_url}/docs",
        ]
    )


def _database_help(sql_port: int, password: str) -> str:
    # the one password the demo prints: a throwaway login of a local in-memory emulator
    return "\n".join(
        [
            "The demo database, for your own SQL client (a throwaway SQL Server emulator on this",
            "machine, in memory, gone when the demo stops; its login is made fresh on every start,",
            "so its password is shown here and nowhere else):",
            f"  host 127.0.0.1, port {sql_port}, database {DATABASE}, user {SQL_USER}, "
            f"password {password}",
            "  it speaks TDS without TLS (Encrypt=False, or Encrypt=no for ODBC), e.g.:",
            f"  {_connection_string(sql_port, password)}",
        ]
    )


def _wait_for_ctrl_c(children: list[ChildProcess], help_text: str) -> None:
    """Print ``help_text``, then wait until Ctrl-C (or SIGTERM) or a child stops on its own."""
    try:
        typer.echo("\n" + help_text)
        typer.echo("\nBoth are running; press Ctrl-C to stop them.")
        while True:
            for child in children:
                if not child.running():
                    typer.echo(
                        f"the {child.name} stopped on its own; see {child.log_path}", err=True
                    )
                    return
            time.sleep(0.3)
    except KeyboardInterrupt:
        typer.echo("")


def demo(
    home: Annotated[
        Path, typer.Option("--home", help="Data directory of the demo's service")
    ] = Path(".flowservice-demo"),
    port: Annotated[int, typer.Option("--port", help="API port (0: any free port)")] = 8080,
    sql_port: Annotated[
        int, typer.Option("--sql-port", help="Emulator port (0: any free port)")
    ] = 14333,
    rows: Annotated[
        int, typer.Option("--rows", min=40, help="Rows in the sample database, all tables")
    ] = DEFAULT_ROWS,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Stop both processes after the walkthrough")
    ] = False,
) -> None:
    """Start the SQL Server emulator and the service, then walk through the whole journey."""
    home = home.resolve()
    home.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    sql_port = sql_port or free_port()
    children: list[ChildProcess] = []
    # SIGTERM ends the demo like Ctrl-C: the children live in their own sessions and must be stopped
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        password = "Demo_" + secrets.token_urlsafe(12)
        base_url, outcome = _start_and_walk(home, port, sql_port, rows, password, children)
        _print_summary(outcome, home)
        if not no_wait:
            help_text = _curl_help(base_url, home) + "\n\n" + _database_help(sql_port, password)
            _wait_for_ctrl_c(children, help_text)
    except FlowServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        # always, even on a bug: the children run in their own sessions and would outlive us
        for child in reversed(children):
            child.stop()
        if children:
            typer.echo("Stopped the service and the emulator.")


def _start_and_walk(
    home: Path, port: int, sql_port: int, rows: int, password: str, children: list[ChildProcess]
) -> tuple[str, Outcome]:
    """Start both processes (appended to ``children`` as they start), then the walkthrough."""
    sizes = table_sizes(rows)
    init = home / "sample_sales.sql"
    init.write_text(init_script(rows), encoding="utf-8")
    started = time.monotonic()
    typer.echo(
        f"Starting the SQL Server emulator on 127.0.0.1:{sql_port} with {sizes.total:,} rows"
    )
    children.append(
        start_emulator(
            home=home,
            port=sql_port,
            user=SQL_USER,
            password=password,
            database=DATABASE,
            init=init,
            timeout=300,
        )
    )
    typer.echo(
        f"  database {DATABASE}: sales.customers {sizes.customers:,}, sales.products "
        f"{sizes.products:,}, sales.orders {sizes.orders:,}, sales.order_lines "
        f"{sizes.order_lines:,} rows, loaded in {time.monotonic() - started:.1f} s"
    )
    base_url = f"http://127.0.0.1:{port}"
    typer.echo(f"Starting flowservice on {base_url} (home {home})")
    children.append(start_service(home=home, port=port, timeout=120))
    access = _token(home, base_url)
    typer.echo(f"Token for org {access.org_id}, x-api-key {access.api_key}: Bearer ****")
    outcome = run_walkthrough(
        access,
        _connection_string(sql_port, password),
        typer.echo,
        secrets=(password, access.token),
    )
    return base_url, outcome


def _print_summary(outcome: Outcome, home: Path) -> None:
    typer.echo("\nSummary")
    for flow in outcome.flows:
        how = "mapped" if flow.mapped else "as is"
        typer.echo(
            f"  {flow.table} ({how}): {flow.rows_copied:,} rows copied in {flow.run_seconds:.2f} s"
        )
        typer.echo(f"    dataset {flow.dataset_id} at {flow.dataset_path}")
        typer.echo(f"    flow {flow.flow_id}, run {flow.run_id}")
    typer.echo(f"  logs: {home / 'service.log'}, {home / 'emulator.log'}")
