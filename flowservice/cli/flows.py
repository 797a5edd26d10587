"""`flowservice flows verify FLOW_ID`: compare a flow's dataset with its source, in-process.

It works on the service's home (``--home`` or ``FLOWSERVICE_HOME``) like
``flowservice auth token``: the metadata DB, the secret keys and the lake are
read directly, through the same service function as ``POST /flows/{id}/verify``.
Exit status: 0 equal, 1 not equal, 2 the comparison could not be made.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flowservice.errors import FlowServiceError
from flowservice.flows.verify_limits import DEFAULT_SAMPLES, MAX_SAMPLES
from flowservice.secrets import redact
from flowservice.settings import load_settings

flows_app = typer.Typer(help="Dataflows.", no_args_is_help=True)

CLI_ACTOR = "flowservice-cli"
EXIT_NOT_EQUAL = 1
EXIT_ERROR = 2


@flows_app.command("verify")
def verify(
    flow_id: Annotated[str, typer.Argument(help="The flow whose dataset to check")],
    org: Annotated[str, typer.Option("--org", help="IMS org id, e.g. ACME@AdobeOrg")],
    sandbox: Annotated[str, typer.Option("--sandbox", help="Sandbox name")] = "prod",
    samples: Annotated[
        int,
        typer.Option(
            "--samples", min=0, max=MAX_SAMPLES, help="Keys listed per kind of difference"
        ),
    ] = DEFAULT_SAMPLES,
    output: Annotated[str, typer.Option("-o", "--output", help="text or json")] = "text",
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Data directory (default $FLOWSERVICE_HOME or ./.flowservice)"),
    ] = None,
) -> None:
    """Compare FLOW_ID's dataset with its source table by key; exit 1 when they differ."""
    if output not in ("text", "json"):
        typer.echo("error: -o must be text or json", err=True)
        raise typer.Exit(EXIT_ERROR)
    try:
        report = _verify(flow_id, org=org, sandbox=sandbox, samples=samples, home=home)
    except FlowServiceError as exc:
        typer.echo(f"error: {redact(exc.message)}", err=True)
        raise typer.Exit(EXIT_ERROR) from None
    if output == "json":
        typer.echo(json.dumps(report, indent=2))
    else:
        print_report(report, Console())
    if not report["equal"]:
        raise typer.Exit(EXIT_NOT_EQUAL)


def _verify(
    flow_id: str, *, org: str, sandbox: str, samples: int, home: Path | None
) -> dict[str, Any]:
    from flowservice.api.runtime import Runtime
    from flowservice.api.services.flow_verify import verify_flow
    from flowservice.store.repos import identity
    from flowservice.store.repos.resources import Scope

    settings = load_settings(**({} if home is None else {"home": home}))
    runtime = Runtime.start(settings)
    try:
        with runtime.transaction() as session:
            found = identity.get_sandbox(session, org_id=org, name=sandbox)
            scope = Scope(
                org_id=org,
                sandbox_id=found.id,
                sandbox_name=found.name,
                actor=CLI_ACTOR,
                client_id=CLI_ACTOR,
            )
        return verify_flow(runtime, scope, flow_id, samples=samples)
    finally:
        runtime.close()


def print_report(report: dict[str, Any], console: Console) -> None:
    """The report as a person reads it: the verdict, the counts, the keys that differ."""
    verdict = "[bold green]EQUAL[/]" if report["equal"] else "[bold red]NOT EQUAL[/]"
    console.print(
        f"{verdict}  flow {escape(report['flowId'])}: dataset {escape(report['dataSetId'])} "
        f"vs source table {escape(report['table'])}"
    )
    table = Table(show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("rows / keys", justify="right")
    table.add_column("first keys")
    table.add_row("source rows", str(report["sourceRowCount"]), "")
    table.add_row("dataset rows", str(report["datasetRowCount"]), "")
    for kind, label in (
        ("missing", "missing from the dataset"),
        ("extra", "extra in the dataset"),
        ("different", "different values"),
    ):
        found = report[kind]
        style = "red" if found["count"] else "green"
        table.add_row(
            label, f"[{style}]{found['count']}[/]", _keys(found["samples"], found["count"])
        )
    console.print(table)
    console.print(
        f"keyed by {escape(', '.join(report['keyColumns']))}; "
        f"{len(report['columns'])} columns compared; "
        f"{report['rangesChecked']} key ranges checked in {report['levels']} level(s), "
        f"{report['sourcePasses']} source read(s); {report['seconds']:.2f} s",
        highlight=False,
    )


def _keys(samples: list[dict[str, Any]], count: int) -> str:
    shown = ", ".join(
        str(next(iter(s.values()))) if len(s) == 1 else json.dumps(s) for s in samples
    )
    more = count - len(samples)
    return escape(shown) + (f" … and {more} more" if more > 0 and samples else "")
