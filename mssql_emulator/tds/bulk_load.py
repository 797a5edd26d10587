"""Bulk load: ``INSERT BULK table (col type, …) [WITH (…)]`` then a BulkLoadBCP message.

The statement only announces the load; the rows follow as packet type 0x07 and are
inserted by the session in one statement, answered with DONE and the row count.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import pyarrow as pa

from mssql_emulator.contract import SqlError
from mssql_emulator.tds import tokens
from mssql_emulator.tds.bulk_rows import decode_bulk
from mssql_emulator.tds.definitions import split_top_level
from mssql_emulator.tds.packets import MessageWriter
from mssql_emulator.tds.tokens import DoneStatus

_HEAD = re.compile(r"\s*insert\s+bulk\s+", re.IGNORECASE)
_IDENT = re.compile(r'\[(?:[^\]]|\]\])*\]|"(?:[^"]|"")*"|[^\s.(),\[\]"]+')


@dataclass(frozen=True)
class InsertBulk:
    """What an INSERT BULK statement announced."""

    table: str
    columns: list[str]
    options: frozenset[str]


@runtime_checkable
class BulkTarget(Protocol):
    """A session able to insert an Arrow table's rows into a table in one statement."""

    def bulk_insert(
        self,
        table: str,
        columns: list[str],
        data: pa.Table,
        source_types: list[str],
        *,
        keep_identity: bool,
    ) -> int: ...


def _unquote(ident: str) -> str:
    if ident.startswith("["):
        return ident[1:-1].replace("]]", "]")
    if ident.startswith('"'):
        return ident[1:-1].replace('""', '"')
    return ident


def _closing_paren(text: str, start: int) -> int:
    """Index of the ``)`` matching the ``(`` at ``start`` (brackets and quotes skipped)."""
    depth = 0
    quote = ""
    for i in range(start, len(text)):
        char = text[i]
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "[\"'":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return i
    raise SqlError(102, "Incorrect syntax near ')'.", severity=15)


def parse_insert_bulk(sql: str) -> InsertBulk | None:
    """The announced load, or None when ``sql`` is not an INSERT BULK statement."""
    head = _HEAD.match(sql)
    if head is None:
        return None
    pos = head.end()
    parts: list[str] = []
    while True:
        match = _IDENT.match(sql, pos)
        if match is None:
            raise SqlError(102, "Incorrect syntax near 'BULK'.", severity=15)
        parts.append(match.group(0))
        pos = match.end()
        if pos < len(sql) and sql[pos] == ".":
            pos += 1
            continue
        break
    table = ".".join(parts)
    rest = sql[pos:].lstrip()
    columns: list[str] = []
    if rest.startswith("("):
        end = _closing_paren(rest, 0)
        for definition in split_top_level(rest[1:end]):
            name = _IDENT.match(definition.strip())
            if name is not None:
                columns.append(_unquote(name.group(0)))
        rest = rest[end + 1 :].lstrip()
    options: set[str] = set()
    if rest[:4].lower() == "with":
        inner = rest[4:].strip()
        if inner.startswith("("):
            inner = inner[1 : _closing_paren(inner, 0)]
        options = {
            o.strip().split("=")[0].split("(")[0].strip().upper() for o in split_top_level(inner)
        }
    return InsertBulk(table, columns, frozenset(o for o in options if o))


class BulkLoader:
    """Per connection: the load announced by the last INSERT BULK, consumed by its rows."""

    def __init__(self, writer: MessageWriter, session: object) -> None:
        self.writer = writer
        self.session = session
        self.pending: InsertBulk | None = None

    def announce(self, sql: str) -> bool:
        """Handle ``sql`` if it is INSERT BULK (answering it); False for any other batch."""
        try:
            request = parse_insert_bulk(sql)
        except SqlError as exc:
            self._error(exc)
            return True
        if request is None:
            return False
        self.pending = request
        self.writer.write(tokens.done(DoneStatus.FINAL))
        return True

    def load(self, payload: bytes) -> None:
        """Insert the rows of one BulkLoadBCP message; answer DONE(COUNT) or the error."""
        request, self.pending = self.pending, None
        try:
            rows = decode_bulk(payload)
            if request is None:
                raise SqlError(
                    4804,
                    "While reading current row from host, a premature "
                    "end-of-message was encountered--an incoming data stream was "
                    "interrupted when the server expected to see more data. The host "
                    "program may have terminated. Ensure that you are using a "
                    "supported client application programming interface (API).",
                )
            if not isinstance(self.session, BulkTarget):
                raise SqlError(4806, "Bulk load is not supported by this session.")
            names = request.columns or [c.name for c in rows.columns]
            if len(names) != len(rows.columns):
                colid = min(len(names), len(rows.columns)) + 1
                raise SqlError(
                    4815,
                    f"Received an invalid column length from the bcp client for colid {colid}.",
                )
            count = self.session.bulk_insert(
                request.table,
                names,
                rows.table,
                [c.duckdb_type for c in rows.columns],
                keep_identity="KEEPIDENTITY" in request.options
                or "KEEP_IDENTITY" in request.options,
            )
        except SqlError as exc:
            self._error(exc)
            return
        self.writer.write(tokens.done(DoneStatus.COUNT, count))

    def _error(self, exc: SqlError) -> None:
        self.writer.write(
            tokens.message(exc.number, exc.message, severity=max(exc.severity, 11), state=exc.state)
        )
        self.writer.write(tokens.done(DoneStatus.ERROR))
