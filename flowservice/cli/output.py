"""How resource commands print: readable tables by default, ``-o json`` for scripts.

JSON output is the API's own camelCase objects (``Model.to_wire()``), so a
script reads the same fields as the API reference shows.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flowservice.client.models import Model


class Format(StrEnum):
    table = "table"
    json = "json"


OutputOption = Annotated[
    Format, typer.Option("-o", "--output", help="table for people, json for scripts")
]


@dataclass(frozen=True)
class Column:
    header: str
    value: Callable[[Any], Any]


def when(epoch_ms: int | None) -> str:
    """Epoch milliseconds as UTC time to the second (``-`` when unknown)."""
    if epoch_ms is None:
        return "-"
    return datetime.fromtimestamp(epoch_ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def console() -> Console:
    # wide enough that ids are never cut when stdout is a pipe
    return Console(soft_wrap=False, width=None if _is_tty() else 200, highlight=False)


def _is_tty() -> bool:
    return Console().is_terminal


def to_json(value: Any) -> str:
    """Models as their wire objects, at any depth; stable indentation for diffs."""
    return json.dumps(_wire(value), indent=2, ensure_ascii=False, default=str)


def _wire(value: Any) -> Any:
    if isinstance(value, Model):
        return value.to_wire()
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    return value


def print_json(value: Any) -> None:
    typer.echo(to_json(value))


def rows_table(rows: Sequence[Any], columns: Sequence[Column]) -> Table:
    table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
    for column in columns:
        table.add_column(column.header, overflow="fold")
    for row in rows:
        table.add_row(*(escape(cell(column.value(row))) for column in columns))
    return table


def print_rows(rows: Sequence[Any], columns: Sequence[Column], output: Format) -> None:
    if output is Format.json:
        print_json(list(rows))
        return
    console().print(rows_table(rows, columns))


def print_one(item: Model | dict[str, Any], output: Format) -> None:
    """One resource: every top-level field as a ``field  value`` row, or its JSON."""
    if output is Format.json:
        print_json(item)
        return
    wire = item.to_wire() if isinstance(item, Model) else item
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for key, value in wire.items():
        table.add_row(escape(key), escape(cell(value)))
    console().print(table)


def records_table(records: Sequence[dict[str, Any]], fields: Sequence[str] = ()) -> Table:
    """Rows of data (a preview): a column per field, in the given order then any others."""
    names = list(fields)
    for record in records:
        names += [key for key in record if key not in names]
    return rows_table(records, [Column(name, _getter(name)) for name in names])


def _getter(name: str) -> Callable[[Any], Any]:
    def get(record: Any) -> Any:
        return record.get(name)

    return get
