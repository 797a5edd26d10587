"""Helpers for engine tests: run T-SQL on a session and collect columns and rows."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from mssql_emulator.contract import Column, Param, Session, SqlType, StatementResult


def results(
    session: Session, sql: str, params: list[Param] | None = None
) -> list[tuple[StatementResult, list[dict[str, Any]]]]:
    out = []
    for result in session.execute(sql, params):
        rows: list[dict[str, Any]] = []
        if result.result_set is not None:
            for batch in result.result_set.batches:
                rows.extend(batch.to_pylist())
        out.append((result, rows))
    return out


def query(
    session: Session, sql: str, params: list[Param] | None = None
) -> tuple[list[Column], list[tuple[Any, ...]]]:
    """Columns and rows (as tuples) of the last result set of a batch."""
    columns: list[Column] = []
    rows: list[tuple[Any, ...]] = []
    for result in session.execute(sql, params):
        if result.result_set is not None:
            columns = result.result_set.columns
            batches = list(result.result_set.batches)
            rows = []
            for batch in batches:
                # By position: result columns may share a name (``t.name, s.name``).
                values = [col.to_pylist() for col in batch.columns]
                rows.extend(zip(*values, strict=True))
    return columns, rows


def scalar(session: Session, sql: str, params: list[Param] | None = None) -> Any:
    _, rows = query(session, sql, params)
    return rows[0][0]


def arrow(session: Session, sql: str) -> pa.Table:
    for result in session.execute(sql):
        if result.result_set is not None:
            batches = list(result.result_set.batches)
            if batches:
                return pa.Table.from_batches(batches)
    raise AssertionError("no rows")


def run(session: Session, sql: str, params: list[Param] | None = None) -> list[StatementResult]:
    return [r for r, _ in results(session, sql, params)]


def param(name: str, type_text: str, value: Any) -> Param:
    from mssql_emulator.engine.sqltypes import parse_type_text

    t: SqlType = parse_type_text(type_text)
    return Param(name, t, value)


def ticks(value: dt.datetime) -> int:
    """A datetime as 100 ns ticks since 0001-01-01: datetimeoffset's ``utc`` in the engine."""
    return (value - dt.datetime(1, 1, 1)) // dt.timedelta(microseconds=1) * 10
