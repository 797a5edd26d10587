"""Dispatching one T-SQL statement: session statements here, DDL and DML elsewhere."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sqlglot import exp

from mssql_emulator.contract import Message, SqlError, StatementResult
from mssql_emulator.engine import (
    change_tracking,
    changetable,
    ddl,
    dml,
    errors,
    isolation,
    procedure_calls,
    procedures,
    results,
    row_assignment,
    sqltypes,
    temp_tables,
    variable_values,
    waitfor,
)
from mssql_emulator.engine.translate import Translator, prepare, tsql_type
from mssql_emulator.engine.tsql_text import parse_tsql, split_name
from mssql_emulator.engine.typed_variables import cast_declared_variables
from mssql_emulator.engine.variant_property import resolve_variant_properties

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_SET_OPTION = re.compile(
    r"^SET\s+(?:(?:[A-Z_]+)(?:\s*,\s*[A-Z_]+)*\s+(?:ON|OFF)|TEXTSIZE\s+-?\d+|"
    r"LOCK_TIMEOUT\s+-?\d+|DATEFIRST\s+\d+|DATEFORMAT\s+\w+|LANGUAGE\s+.+|"
    r"DEADLOCK_PRIORITY\s+\w+|TRANSACTION\s+ISOLATION\s+LEVEL\s+.+|ROWCOUNT\s+\d+)$",
    re.IGNORECASE | re.DOTALL,
)
_SWITCH = re.compile(r"^SET\s+(XACT_ABORT|NOCOUNT)\s+(ON|OFF)\s*;?$", re.I)
_IDENTITY_INSERT = re.compile(r"^SET\s+IDENTITY_INSERT\s+(.+?)\s+(ON|OFF)$", re.I | re.S)
_BEGIN = re.compile(r"^BEGIN\s+(?:TRAN|TRANSACTION|DISTRIBUTED\s+TRAN(?:SACTION)?)\b", re.I)
_COMMIT = re.compile(r"^COMMIT(?:\s+(?:TRAN|TRANSACTION|WORK)\b.*)?$", re.I | re.S)
_ROLLBACK = re.compile(r"^ROLLBACK(?:\s+(?:TRAN|TRANSACTION|WORK)\b.*)?$", re.I | re.S)
_USE = re.compile(r"^USE\s+(.+?)\s*$", re.I | re.S)
_PRINT = re.compile(r"^PRINT\s+(.+)$", re.I | re.S)
_NAME_PART = r'(?:\[(?:[^\]]|\]\])+\]|"(?:[^"]|"")+"|[\w#$]+)'
_PROC_NAME = rf"{_NAME_PART}(?:\s*\.\s*(?:{_NAME_PART})?){{0,3}}"
# EXEC[UTE] [@status =] [db.][schema.]procedure [arguments]
_EXEC = re.compile(
    rf"^EXEC(?:UTE)?\s+(?:@(\w+)\s*=\s*)?({_PROC_NAME})(?:\s+(.*?))?\s*;?\s*$", re.I | re.S
)
# A batch may also start with a system procedure call without EXEC.
_BARE_SP = re.compile(
    rf"^((?:{_NAME_PART}\s*\.\s*){{0,2}}\[?sp_\w+\]?)(?:\s+(.*?))?\s*$", re.I | re.S
)


# Translations that inline per-call values (``@@ROWCOUNT``, identities, sessions, databases)
# are not reused.
_VOLATILE = re.compile(
    r"@@|SCOPE_IDENTITY|IDENT_CURRENT|dm_exec_sessions|sys\s*\.\s*databases|"
    r"change_tracking_databases",
    re.I,
)
_IF = re.compile(r"^IF\s+(.+)$", re.I | re.S)


def if_condition(text: str) -> str | None:
    """The condition of an ``IF`` statement (the guarded statement follows it), else None."""
    match = _IF.match(text)
    return match.group(1) if match else None


def run(session: DuckDBSession, text: str) -> StatementResult:
    """Run one statement of a batch."""
    context = change_tracking.statement_context(text, session.variables, session.variable_types)
    if context is None:
        return _run(session, text)
    session.ct_context, text = context
    try:
        return _run(session, text)
    finally:
        session.ct_context = None


def _run(session: DuckDBSession, text: str) -> StatementResult:
    first = text.split(None, 1)[0].upper() if text.split() else ""
    if first == "SET":
        return _set(session, text)
    if _BEGIN.match(text):
        session.begin()
        return StatementResult()
    if _COMMIT.match(text):
        session.commit()
        return StatementResult()
    if _ROLLBACK.match(text):
        session.rollback()
        return StatementResult()
    if first == "SAVE":
        raise errors.not_supported("SAVE TRANSACTION")
    match = _USE.match(text)
    if match and first == "USE":
        return _use(session, match.group(1))
    match = _PRINT.match(text)
    if match and first == "PRINT":
        value = session.expression_value(parse_tsql("SELECT " + match.group(1)).expressions[0])
        return StatementResult(messages=[Message(0, "" if value is None else str(value))])
    if first == "DECLARE":
        return _declare(session, text)
    if first == "RETURN":
        raise procedure_calls.return_from(session, text)
    if first in ("CREATE", "DROP", "ALTER", "TRUNCATE"):
        return ddl.run(session, text)
    if first in ("EXEC", "EXECUTE"):
        return _exec(session, text)
    match = _BARE_SP.match(text)
    if match and first.startswith(("SP_", "[SP_")):
        return procedures.run(session, split_name(match.group(1)), match.group(2) or "")
    if first == "WAITFOR":
        return waitfor.run(session, text, session.cancelled)
    if first in (
        "IF",
        "WHILE",
        "GOTO",
        "RAISERROR",
        "THROW",
        "MERGE",
        "GRANT",
        "REVOKE",
        "DENY",
    ):
        raise errors.not_supported(first)
    translator = session.translator()
    scope_text = prepare(text, translator.scope)
    if session.isolation_level == isolation.SNAPSHOT:
        isolation.check_snapshot_access(session, translator, scope_text)
    if first == "DELETE" and re.search(r"\bOUTPUT\b", text, re.I):
        # sqlglot reads ``DELETE t OUTPUT … WHERE`` but not ``DELETE FROM t OUTPUT … WHERE``.
        scope_text = re.sub(r"^DELETE\s+FROM\s+", "DELETE ", scope_text, flags=re.I)
    if first == "INSERT":
        key = session.insert_cache_key(text)
        prepared = session.insert_cache.get(key)
        if prepared is None:
            node = parse_tsql(scope_text)
            if not isinstance(node, exp.Insert):
                raise errors.syntax_error("INSERT")
            prepared = dml.prepare_insert(session, node)
            if not prepared.volatile:
                session.remember_insert(key, prepared)
        return dml.execute_insert(session, prepared)
    cacheable = (
        first in ("SELECT", "WITH")
        and not _VOLATILE.search(text)
        and not re.search(r"\bINTO\b", text, re.I)
    )
    if cacheable:
        cached = session.insert_cache.get(("SELECT", *session.insert_cache_key(text)))
        if cached is not None:
            sql, hints, shown = cached
            return session.select(sql, hints, shown)
    node = parse_tsql(scope_text)
    if isinstance(node, exp.Update):
        return dml.update(session, node)
    if isinstance(node, exp.Delete):
        return dml.delete(session, node)
    if isinstance(node, exp.Select) and node.args.get("into") is not None:
        return ddl.select_into(session, node)
    if isinstance(node, exp.Select) and _is_assignment(node):
        return _select_assign(session, node)
    if isinstance(node, exp.Query):
        cast_declared_variables(node, session.variable_types)
        resolve_variant_properties(node, _lookup(session, translator))
        hints = results.projection_hints(node, _lookup(session, translator))
        shown = results.projection_names(node)
        sql = translator.sql(node)
        if cacheable and not translator.scope.volatile:
            key = ("SELECT", *session.insert_cache_key(text))
            session.remember_insert(key, (sql, hints, shown))
        return session.select(sql, hints, shown)
    raise errors.syntax_error(text.split()[0])


def _exec(session: DuckDBSession, text: str) -> StatementResult:
    """``EXEC [@status =] procedure [arguments]``; the status goes into the variable."""
    match = _EXEC.match(text)
    if match is None:
        raise errors.syntax_error(text.split()[0])
    status_var = match.group(1)
    if status_var is not None and status_var.lower() not in session.variables:
        raise errors.must_declare("@" + status_var)
    result = procedures.run(session, split_name(match.group(2)), match.group(3) or "")
    if status_var is not None:
        key = status_var.lower()
        session.variables[key] = _coerce(session, key, result.return_status)
    return result


def _lookup(session: DuckDBSession, translator: Translator | None = None) -> Any:
    """Declared columns of a FROM item (tables, CHANGETABLE placeholders), else None."""
    translator = translator or session.translator()

    def lookup(table: exp.Table) -> Any:
        call = translator.scope.changetables.get(table.name)
        try:
            if call is not None:
                return changetable.result_table(
                    call, changetable.resolve(translator, table.name)[1]
                )
            name = temp_tables.special_name(table, session.variables) or table.name
            parts = [p for p in (table.catalog, table.db, name) if p]
            return translator.resolve_table(parts, name)[2]
        except SqlError:
            return None

    return lookup


def _set(session: DuckDBSession, text: str) -> StatementResult:
    match = _IDENTITY_INSERT.match(text)
    if match:
        parts = split_name(match.group(1))
        _, _, table = session.translator().resolve_table(parts, match.group(1))
        if match.group(2).upper() == "ON":
            session.identity_insert.add(table.object_id)
        else:
            session.identity_insert.discard(table.object_id)
        return StatementResult()
    switch = _SWITCH.match(text.strip())
    if switch:
        on = switch.group(2).upper() == "ON"
        if switch.group(1).upper() == "XACT_ABORT":
            session.xact_abort = on
        else:
            session.nocount = on
        return StatementResult()
    level = isolation.ISOLATION.match(text.strip())
    if level:
        session.isolation_level = isolation.level_code(level.group(1))
        return StatementResult()
    if _SET_OPTION.match(text.strip()):
        return StatementResult()
    node = parse_tsql(text)
    if isinstance(node, exp.Set):
        for item in node.expressions:
            eq = item.this if isinstance(item, exp.SetItem) else item
            if isinstance(eq, exp.EQ) and isinstance(eq.this, exp.Parameter):
                key = eq.this.name.lower()
                if key not in session.variables:
                    raise errors.must_declare("@" + eq.this.name)
                session.variables[key] = _assigned(session, key, eq.expression)
                return StatementResult()
    # Unknown SET options are accepted, as SQL Server accepts the ones drivers send.
    return StatementResult()


_CONVERTED_ON_ASSIGNMENT = {"date", "time", "datetime2", "datetime", "smalldatetime"}
_HELD_AS_TEXT = {"datetimeoffset"}  # and time(7), datetime2(7): their ticks (_TICKS)
_TICKS = ("TIME_NS", "UBIGINT")


def _assigned(session: DuckDBSession, key: str, expression: exp.Expression) -> Any:
    """The value ``SET @key = expression`` or ``DECLARE @key type = expression`` stores."""
    return _coerce(session, key, session.expression_value(_typed(session, key, expression)))


def _typed(session: DuckDBSession, key: str, expression: exp.Expression) -> exp.Expression:
    """``expression`` converted to the date or time type of variable ``key`` (a lower
    scale rounds); time(7), datetime2(7) and datetimeoffset as text, since Python times
    stop at µs."""
    declared = session.variable_types.get(key)
    if declared is None or declared.name not in _CONVERTED_ON_ASSIGNMENT | _HELD_AS_TEXT:
        return expression
    typed = exp.DataType.build(str(declared), dialect="tsql")
    expression = exp.Cast(this=expression, to=typed)
    if declared.name in _HELD_AS_TEXT or sqltypes.duckdb_type(declared) in _TICKS:
        as_text = exp.DataType.build("varchar(34)", dialect="tsql")
        expression = exp.Cast(this=expression, to=as_text)
    return expression


def _coerce(session: DuckDBSession, key: str, value: Any) -> Any:
    declared = session.variable_types.get(key)
    if declared is None or value is None:
        return value
    if sqltypes.is_string(declared) and not isinstance(value, str):
        return str(value)
    if sqltypes.duckdb_type(declared) == "UBIGINT" and isinstance(value, int):
        return variable_values.ticks_text(value)  # datetime2(7) ticks, held as text
    return value


def _declare(session: DuckDBSession, text: str) -> StatementResult:
    table_variable = temp_tables.TABLE_VARIABLE.match(text)
    if table_variable:
        return temp_tables.declare_table_variable(session, table_variable)
    node = parse_tsql(text)
    if not isinstance(node, exp.Declare):
        raise errors.syntax_error("DECLARE")
    for item in node.expressions:
        var = item.this[0] if isinstance(item.this, list) else item.this
        key = var.name.lower() if isinstance(var, exp.Parameter) else str(var).lstrip("@").lower()
        kind = item.args.get("kind")
        declared = tsql_type(kind) if isinstance(kind, exp.DataType) else None
        session.variable_types[key] = declared
        session.variables[key] = None
        default = item.args.get("default")
        if isinstance(default, exp.Expression):
            session.variables[key] = _assigned(session, key, default)
    return StatementResult()


def _use(session: DuckDBSession, name_text: str) -> StatementResult:
    parts = split_name(name_text)
    name = parts[0] if parts else name_text
    resolved = session.resolve_database(name)
    if resolved is None:
        raise SqlError(
            911, f"Database '{name}' does not exist. Make sure that the name is entered correctly."
        )
    if session.in_transaction and session.database != resolved:
        pass
    session.change_database(resolved)
    return StatementResult(
        database=resolved,
        messages=[Message(5701, f"Changed database context to '{resolved}'.", severity=0, state=1)],
    )


def _is_assignment(node: exp.Select) -> bool:
    return bool(node.expressions) and all(
        isinstance(p, exp.EQ)
        and isinstance(p.this, exp.Parameter)
        and not isinstance(p.this.this, exp.Parameter)
        for p in node.expressions
    )


def _select_assign(session: DuckDBSession, node: exp.Select) -> StatementResult:
    keys = [p.this.name.lower() for p in node.expressions]
    for key, p in zip(keys, node.expressions, strict=True):
        if key not in session.variables:
            raise errors.must_declare("@" + p.this.name)
    if row_assignment.accumulates(node, keys):
        count = row_assignment.assign_per_row(
            session, node, keys, lambda key, value: _coerce(session, key, value)
        )
        return StatementResult(rowcount=count)
    node.set(
        "expressions",
        [_typed(session, key, p.expression) for key, p in zip(keys, node.expressions, strict=True)],
    )
    sql = session.translator().sql(node)
    rows = session.rows(sql)
    if rows:
        for key, value in zip(keys, rows[-1], strict=True):
            session.variables[key] = _coerce(session, key, value)
    return StatementResult(rowcount=len(rows))
