"""`datasets preview | export` and `connections preview`: a dataset's or a table's rows.

The previews read the API's preview answers (``GET /dataSets/{id}/preview``, at
most 1000 rows; ``GET /connections/{id}/explore?preview=true``). ``export``
streams the whole dataset (``GET /data/foundation/export/datasets/{id}/export``)
as CSV or Parquet, to ``--out`` or to stdout.
"""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import typer

from flowservice.cli.output import Format, OutputOption, console, print_json, records_table
from flowservice.cli.profiles import ProfileOption
from flowservice.cli.resources import connections_app, datasets_app
from flowservice.cli.session import fail, open_client

MAX_ROWS = 1000

IdArgument = Annotated[str, typer.Argument(metavar="ID", show_default=False)]
RowsOption = Annotated[
    int, typer.Option("--limit", min=1, max=MAX_ROWS, metavar="N", help="Rows (1 to 1000)")
]


class FileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


def _field_names(answer: dict[str, Any]) -> list[str]:
    return [
        str(f["name"]) for f in answer.get("fields") or [] if isinstance(f, dict) and "name" in f
    ]


def preview_dataset(
    dataset_id: IdArgument,
    limit: RowsOption = 20,
    output: OutputOption = Format.table,
    profile: ProfileOption = None,
) -> None:
    """The first rows of a dataset."""
    with open_client(profile) as client:
        answer = client.datasets.preview(dataset_id, limit=limit)
    if output is Format.json:
        print_json(answer.get("data") or [])
        return
    console().print(records_table(answer.get("data") or [], _field_names(answer)))


def export_dataset(
    dataset_id: IdArgument,
    file_format: Annotated[
        FileFormat, typer.Option("--format", help="File format")
    ] = FileFormat.csv,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", metavar="FILE", help="Write here (default stdout)", show_default=False
        ),
    ] = None,
    profile: ProfileOption = None,
) -> None:
    """Write every current row of a dataset as one CSV or Parquet file, streamed as it comes."""
    if out is None and file_format is FileFormat.parquet and sys.stdout.isatty():
        fail("Parquet is binary: give --out FILE or redirect stdout")
    destination: Path | BinaryIO = out if out is not None else sys.stdout.buffer
    with open_client(profile) as client:
        try:
            written = client.datasets.export(dataset_id, file_format.value, destination)
        except OSError as exc:
            fail(f"cannot write {out or 'stdout'}: {exc.strerror}")
    if out is None:
        sys.stdout.buffer.flush()
        return
    typer.echo(f"wrote {written} bytes to {out}", err=True)


def preview_table(
    connection_id: IdArgument,
    table: Annotated[
        str, typer.Option("--table", metavar="SCHEMA.TABLE", help="The table to read")
    ],
    limit: RowsOption = 20,
    output: OutputOption = Format.table,
    profile: ProfileOption = None,
) -> None:
    """The first rows of a source table, read through the connection."""
    with open_client(profile) as client:
        answer = client.connections.preview(connection_id, table, count=limit)
    rows = answer.get("data") or []
    if output is Format.json:
        print_json(rows)
        return
    columns = [str(c["name"]) for c in (answer.get("schema") or {}).get("columns") or []]
    console().print(records_table(rows, columns))


def register_all() -> None:
    datasets_app.command("preview")(preview_dataset)
    datasets_app.command("export")(export_dataset)
    connections_app.command("preview")(preview_table)
