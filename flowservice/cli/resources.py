"""`flowservice connections|flows|runs|datasets list|get|delete|create`, on the SDK.

Every command reads the profile written by ``flowservice login`` (``--profile``
picks another), prints a table or ``-o json``, and exits 2 with ``error: ...``
when the service refuses.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Annotated, Any

import typer

from flowservice.cli.flows import flows_app
from flowservice.cli.output import (
    Column,
    Format,
    OutputOption,
    print_json,
    print_one,
    print_rows,
    when,
)
from flowservice.cli.profiles import ProfileOption
from flowservice.cli.session import fail, open_client
from flowservice.client import Client
from flowservice.client.models import Connection, Flow, Run
from flowservice.client.sync import Collection, Writable

connections_app = typer.Typer(help="Base connections to sources.", no_args_is_help=True)
runs_app = typer.Typer(help="Runs of dataflows.", no_args_is_help=True)
datasets_app = typer.Typer(help="Datasets of the data lake (Catalog).", no_args_is_help=True)

FiltersOption = Annotated[
    list[str] | None,
    typer.Option(
        "--filter",
        metavar="EXPRESSION",
        help="A property filter, e.g. state==enabled or flowId==ID; repeat for AND",
        show_default=False,
    ),
]
LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, metavar="N", help="Show at most N items", show_default=False),
]
FileOption = Annotated[
    Path,
    typer.Option(
        "-f", "--file", metavar="FILE", help="The request body, JSON or YAML ('-' reads stdin)"
    ),
]


def _records(run: Run) -> dict[str, Any]:
    summary = run.metrics.get("recordSummary")
    return summary if isinstance(summary, dict) else {}


def _last_run(flow: Flow) -> Any:
    details = flow.last_run_details or {}
    return details.get("state") or details.get("status")


def _spec_id(connection: Connection) -> Any:
    return connection.connection_spec.id if connection.connection_spec else None


@dataclass(frozen=True)
class ResourceKind:
    """One collection as the CLI shows it."""

    name: str
    singular: str
    collection: Callable[[Client], Collection[Any]]
    columns: Sequence[Column]


CONNECTIONS = ResourceKind(
    "connections",
    "connection",
    lambda c: c.connections,
    (
        Column("ID", lambda r: r.id),
        Column("NAME", lambda r: r.name),
        Column("SPEC", _spec_id),
        Column("STATE", lambda r: r.state),
        Column("CREATED", lambda r: when(r.created_at)),
    ),
)
FLOWS = ResourceKind(
    "flows",
    "flow",
    lambda c: c.flows,
    (
        Column("ID", lambda r: r.id),
        Column("NAME", lambda r: r.name),
        Column("STATE", lambda r: r.state),
        Column("LAST RUN", _last_run),
        Column("UPDATED", lambda r: when(r.updated_at)),
    ),
)
RUNS = ResourceKind(
    "runs",
    "run",
    lambda c: c.runs,
    (
        Column("ID", lambda r: r.id),
        Column("FLOW", lambda r: r.flow_id),
        Column("STATUS", lambda r: r.status),
        Column("READ", lambda r: _records(r).get("inputRecordCount")),
        Column("WRITTEN", lambda r: _records(r).get("outputRecordCount")),
        Column("FAILED", lambda r: _records(r).get("failedRecordCount")),
        Column("CREATED", lambda r: when(r.created_at)),
    ),
)
DATASETS = ResourceKind(
    "datasets",
    "dataset",
    lambda c: c.datasets,
    (
        Column("ID", lambda r: r.id),
        Column("NAME", lambda r: r.name),
        Column("LAST BATCH", lambda r: r.last_batch_status),
        Column("CREATED", lambda r: when(r.created)),
    ),
)


def read_body(path: Path) -> dict[str, Any]:
    """A request body from a JSON or YAML file (YAML is a superset of JSON)."""
    import yaml

    try:
        text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")
    try:
        body = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        fail(f"{path} is not valid JSON or YAML: {exc}")
    if not isinstance(body, dict):
        fail(f"{path} must hold one object (the request body)")
    return body


def register(app: typer.Typer, kind: ResourceKind, *, writable: bool = True) -> None:
    """Add list and get (and delete and create when ``writable``) to ``app``."""

    def list_items(
        filters: FiltersOption = None,
        limit: LimitOption = None,
        output: OutputOption = Format.table,
        profile: ProfileOption = None,
    ) -> None:
        with open_client(profile) as client:
            found = kind.collection(client).list(filters=filters or ())
            items = list(islice(found, limit))
        print_rows(items, kind.columns, output)

    def get_item(
        resource_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
        output: OutputOption = Format.table,
        profile: ProfileOption = None,
    ) -> None:
        with open_client(profile) as client:
            item = kind.collection(client).get(resource_id)
        print_one(item, output)

    app.command("list", help=f"List the {kind.name} (every page).")(list_items)
    app.command("get", help=f"Show one {kind.singular}.")(get_item)
    if not writable:
        return

    def delete_item(
        resource_id: Annotated[str, typer.Argument(metavar="ID", show_default=False)],
        profile: ProfileOption = None,
    ) -> None:
        with open_client(profile) as client:
            collection = kind.collection(client)
            assert isinstance(collection, Writable)
            collection.delete(resource_id)
        typer.echo(f"deleted {kind.singular} {resource_id}")

    def create_item(
        file: FileOption,
        output: OutputOption = Format.table,
        profile: ProfileOption = None,
    ) -> None:
        body = read_body(file)
        with open_client(profile) as client:
            collection = kind.collection(client)
            assert isinstance(collection, Writable)
            created = collection.create(body)
        if output is Format.json:
            print_json(created)
        else:
            typer.echo(created.id)

    app.command("delete", help=f"Delete a {kind.singular}.")(delete_item)
    app.command(
        "create", help=f"Create a {kind.singular} from the API's request body (JSON or YAML)."
    )(create_item)


def register_all() -> None:
    register(connections_app, CONNECTIONS)
    register(flows_app, FLOWS)
    register(runs_app, RUNS, writable=False)
    register(datasets_app, DATASETS)
