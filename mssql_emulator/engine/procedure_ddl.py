"""CREATE/ALTER/DROP PROCEDURE: the catalog entry, ``__sys`` rows and SQL Server's errors."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from mssql_emulator.contract import SqlError, StatementResult
from mssql_emulator.engine import (
    errors,
    procedure_text,
    routine_catalog,
    system_tables,
    table_types,
)
from mssql_emulator.engine.catalog import DatabaseCatalog, TableDef
from mssql_emulator.engine.tsql_text import split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_DROP = re.compile(r"^DROP\s+PROC(?:EDURE)?\s+(IF\s+EXISTS\s+)?(.+?)\s*;?\s*$", re.I | re.S)


def handles(text: str) -> bool:
    """Whether ``text`` is DDL of procedures or table types (this module runs it)."""
    return (
        procedure_text.is_procedure_ddl(text)
        or _DROP.match(text) is not None
        or table_types.handles(text)
    )


def run(session: DuckDBSession, text: str) -> StatementResult:
    if table_types.handles(text):
        return table_types.run(session, text)
    match = _DROP.match(text)
    if match is not None:
        for name in _split_names(match.group(2)):
            _drop(session, name, if_exists=bool(match.group(1)))
        return StatementResult()
    return _create(session, text)


def _locate(session: DuckDBSession, parts: list[str]) -> tuple[DatabaseCatalog, str, str]:
    """Catalog, schema and name a procedure named by ``parts`` has (or would have)."""
    if not parts or not parts[-1]:
        raise errors.syntax_error("PROCEDURE")
    name = parts[-1]
    if name.startswith("#"):
        raise errors.not_supported("temporary stored procedures")
    schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
    db = parts[-3] if len(parts) >= 3 and parts[-3] else session.database
    database = session.resolve_database(db)
    catalog = session.catalog(database) if database else None
    if catalog is None:
        raise SqlError(
            911, f"Database '{db}' does not exist. Make sure that the name is entered correctly."
        )
    if len(parts) >= 3 and catalog.name.lower() != session.database.lower():
        raise SqlError(
            166,
            "'CREATE/ALTER PROCEDURE' does not allow specifying the database name as a "
            "prefix to the object name.",
            severity=15,
        )
    schema_name = catalog.schema_name(schema)
    if schema_name is None or schema.lower() in ("sys", "information_schema"):
        raise SqlError(
            2760,
            f'The specified schema name "{schema}" either does not exist '
            "or you do not have permission to use it.",
        )
    return catalog, schema_name, name


def _create(session: DuckDBSession, text: str) -> StatementResult:
    parsed = procedure_text.parse(text)
    catalog, schema, name = _locate(session, parsed.parts)
    for position, param in enumerate(parsed.params, start=1):
        if param.table_type is not None and table_types.find(session, param.table_type) is None:
            raise SqlError(
                2715,
                f"Column, parameter, or variable #{position}: Cannot find data type "
                f"{param.table_type}.",
            )
    existing = catalog.get(schema, name)
    if existing is not None and (existing.kind != "P" or not (parsed.alter or parsed.or_alter)):
        raise errors.object_exists(name)
    if existing is None and parsed.alter:
        raise errors.invalid_object(name)
    db = catalog.name
    with session.write_scope(db), catalog.lock:
        if existing is not None:
            for stmt in routine_catalog.delete_procedure_statements(
                db, existing.object_id, keep_object=True
            ):
                session.ddl_statement(stmt)
            existing.definition = text
            rows = routine_catalog.procedure_rows(catalog, existing, parsed.params)
            del rows["objects"]
        else:
            proc = TableDef(catalog.new_object_id(), schema, name, "P", definition=text)
            rows = routine_catalog.procedure_rows(catalog, proc, parsed.params)
            catalog.add(proc)
        for stmt in system_tables.insert_statements(db, rows):
            session.ddl_statement(stmt)
        session.mark_ddl()
    return StatementResult()


def _drop(session: DuckDBSession, name_text: str, *, if_exists: bool) -> None:
    parts = split_name(name_text)
    try:
        catalog, schema, name = _locate(session, parts)
    except SqlError:
        if if_exists:
            return
        raise
    proc = catalog.get(schema, name)
    if proc is None:
        if if_exists:
            return
        raise SqlError(
            3701,
            f"Cannot drop the procedure '{name_text}', because it does not exist or you do "
            "not have permission.",
            severity=11,
        )
    if proc.kind != "P":
        shown = "table" if proc.kind == "U" else "view"
        raise SqlError(
            3705,
            f"Cannot use DROP PROCEDURE with '{name_text}' because '{name_text}' is a {shown}. "
            f"Use DROP {shown.upper()}.",
        )
    db = catalog.name
    with session.write_scope(db), catalog.lock:
        for stmt in routine_catalog.delete_procedure_statements(
            db, proc.object_id, keep_object=False
        ):
            session.ddl_statement(stmt)
        catalog.remove(proc)
        session.mark_ddl()


def _split_names(text: str) -> list[str]:
    return [n.strip() for n in re.split(r",(?![^\[]*\])", text) if n.strip()]
