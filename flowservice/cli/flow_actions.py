"""`flows run [--watch]|enable|disable`, `runs cancel|errors`, `connections test|explore`."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console

from flowservice.cli.flows import flows_app
from flowservice.cli.output import (
    Column,
    Format,
    OutputOption,
    console,
    print_json,
    print_rows,
)
from flowservice.cli.profiles import ProfileOption
from flowservice.cli.resources import connections_app, runs_app
from flowservice.cli.session import EXIT_RUN_FAILED, open_client
from flowservice.cli.watch import summary, watch_run
from flowservice.client.models import run_errors
from flowservice.secrets import redact

EXIT_INTERRUPTED = 130  # as a shell reports SIGINT

IdArgument = Annotated[str, typer.Argument(metavar="ID", show_default=False)]
FlowIdArgument = Annotated[str, typer.Argument(metavar="FLOW_ID", show_default=False)]
RunIdArgument = Annotated[str, typer.Argument(metavar="RUN_ID", show_default=False)]


def run_flow(
    flow_id: FlowIdArgument,
    watch: Annotated[
        bool, typer.Option("--watch", "-w", help="Show progress until the run ends")
    ] = False,
    interval: Annotated[
        float, typer.Option("--interval", min=0.1, metavar="SECONDS", help="Poll interval")
    ] = 1.0,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, metavar="SECONDS", help="Give up watching after")
    ] = 3600.0,
    output: OutputOption = Format.table,
    profile: ProfileOption = None,
) -> None:
    """Start a run of FLOW_ID now; with --watch, exit 0 on success and 1 on failed/cancelled."""
    with open_client(profile) as client:
        run = client.flows.run(flow_id)
        if not watch:
            if output is Format.json:
                print_json(run)
            else:
                typer.echo(f"run {run.id} {run.status}")
            return
        # progress on stderr when stdout is for the JSON answer
        shown = Console(stderr=True) if output is Format.json else console()
        shown.print(f"run {run.id} of flow {flow_id}", highlight=False, soft_wrap=True)
        try:
            finished, progress = watch_run(
                client, run.id, shown, interval=interval, timeout=timeout
            )
        except KeyboardInterrupt:
            typer.echo(f"stopped watching; run {run.id} goes on (flowservice runs get)", err=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
    if output is Format.json:
        print_json(finished)
    else:
        shown.print(summary(finished, progress), highlight=False, soft_wrap=True)
    if not finished.succeeded:
        for error in run_errors(finished) or [{"message": f"the run is {finished.status}"}]:
            typer.echo(f"error: {redact(str(error.get('message', error)))}", err=True)
        raise typer.Exit(EXIT_RUN_FAILED)


def enable_flow(flow_id: FlowIdArgument, profile: ProfileOption = None) -> None:
    """Enable FLOW_ID: its scheduled runs start again."""
    with open_client(profile) as client:
        client.flows.enable(flow_id)
    typer.echo(f"flow {flow_id} enabled")


def disable_flow(flow_id: FlowIdArgument, profile: ProfileOption = None) -> None:
    """Disable FLOW_ID: no new runs; runs waiting for their start are cancelled."""
    with open_client(profile) as client:
        client.flows.disable(flow_id)
    typer.echo(f"flow {flow_id} disabled")


def cancel_run(run_id: RunIdArgument, profile: ProfileOption = None) -> None:
    """Cancel RUN_ID."""
    with open_client(profile) as client:
        client.runs.cancel(run_id)
    typer.echo(f"run {run_id} cancelled")


def show_run_errors(
    run_id: RunIdArgument, output: OutputOption = Format.table, profile: ProfileOption = None
) -> None:
    """Why RUN_ID failed, and the rows it could not load (with the reason of each)."""
    with open_client(profile) as client:
        found = client.runs.errors(run_id)
    if output is Format.json:
        print_json(found)
        return
    typer.echo(f"run {found.run_id}: {found.status}")
    if found.errors:
        print_rows(
            found.errors,
            (
                Column("CODE", lambda e: e.get("code")),
                Column("MESSAGE", lambda e: e.get("message")),
            ),
            output,
        )
    if found.failed_records:
        typer.echo(f"{len(found.failed_records)} failed record(s):")
        print_rows(
            found.failed_records,
            (
                Column("ROW", lambda r: r.get("row")),
                Column("RECORD", lambda r: r.get("record")),
                Column("ERRORS", lambda r: r.get("errors")),
            ),
            output,
        )
    if not found.errors and not found.failed_records:
        typer.echo("no errors")


def test_connection(connection_id: IdArgument, profile: ProfileOption = None) -> None:
    """Check that a connection reaches its source; exit 1 when it does not."""
    with open_client(profile) as client:
        result = client.connections.test(connection_id)
    if result.get("result"):
        typer.echo("ok")
        return
    typer.echo(f"error: {result.get('message') or 'the connection failed'}", err=True)
    raise typer.Exit(EXIT_RUN_FAILED)


def explore_connection(
    connection_id: IdArgument,
    table: Annotated[
        str | None,
        typer.Option("--table", metavar="SCHEMA.TABLE", help="Show this table's columns"),
    ] = None,
    output: OutputOption = Format.table,
    profile: ProfileOption = None,
) -> None:
    """The tables a connection can read, or with --table the columns of one."""
    with open_client(profile) as client:
        if table is None:
            objects = client.connections.explore(connection_id)
            print_rows(
                objects,
                (Column("TABLE", lambda o: o.path), Column("TYPE", lambda o: o.type)),
                output,
            )
            return
        described = client.connections.describe(connection_id, table)
    if output is Format.json:
        print_json(described)
        return
    schema = described.get("schema") or {}
    keys = set(schema.get("primaryKey") or [])
    print_rows(
        schema.get("columns") or [],
        (
            Column("COLUMN", lambda c: c.get("name")),
            Column("TYPE", lambda c: (c.get("meta") or {}).get("originalType") or c.get("type")),
            Column("NULLABLE", lambda c: (c.get("meta") or {}).get("nullable")),
            Column("KEY", lambda c: "yes" if c.get("name") in keys else ""),
        ),
        output,
    )


def register_all() -> None:
    flows_app.command("run")(run_flow)
    flows_app.command("enable")(enable_flow)
    flows_app.command("disable")(disable_flow)
    runs_app.command("cancel")(cancel_run)
    runs_app.command("errors")(show_run_errors)
    connections_app.command("test")(test_connection)
    connections_app.command("explore")(explore_connection)
