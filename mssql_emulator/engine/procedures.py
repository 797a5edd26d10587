"""System stored procedures: what drivers call (``sp_datatype_info_100`` …) and app locks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlglot import exp

from mssql_emulator.contract import Message, SqlError, SqlType, StatementResult
from mssql_emulator.engine import (
    applocks,
    change_tracking_admin,
    errors,
    table_collations,
    type_info,
)
from mssql_emulator.engine.tsql_text import parse_tsql, split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

# Parameters of the system procedures implemented here, in declaration order.
_APPLOCK_PARAMS = {
    "sp_getapplock": ("resource", "lockmode", "lockowner", "locktimeout", "dbprincipal"),
    "sp_releaseapplock": ("resource", "lockowner", "dbprincipal"),
}


def arguments(session: DuckDBSession, text: str) -> list[tuple[str | None, Any]]:
    """``[@name =] value, …`` of an EXEC, evaluated in order (name as written, or None)."""
    out: list[tuple[str | None, Any]] = []
    if not text.strip():
        return out
    node = parse_tsql("SELECT " + text)
    for item in node.expressions:
        name = None
        if isinstance(item, exp.EQ) and isinstance(item.this, exp.Parameter):
            name, item = item.this.name, item.expression
        if isinstance(item, exp.Column) and not item.table:
            out.append((name, item.name))  # EXEC p name: a bare identifier is a string
            continue
        out.append((name, session.expression_value(item)))
    return out


def _bind(
    proc: str, declared: tuple[str, ...], args: list[tuple[str | None, Any]]
) -> dict[str, Any]:
    """Arguments by parameter name, as SQL Server binds them (8144, 8145, 119)."""
    bound: dict[str, Any] = {}
    named = False
    for position, (name, value) in enumerate(args):
        if name is None:
            if named:
                raise SqlError(
                    119,
                    "Must pass parameter number 2 and subsequent parameters as '@name = value'. "
                    "After the form '@name = value' has been used, all subsequent parameters "
                    "must be passed in the form '@name = value'.",
                    severity=15,
                )
            if position >= len(declared):
                raise SqlError(
                    8144,
                    f"Procedure or function {proc} has too many arguments specified.",
                    state=2,
                )
            bound[declared[position]] = value
            continue
        named = True
        if name.lower() not in declared:
            raise SqlError(8145, f"@{name} is not a parameter for procedure {proc}.", state=2)
        bound[name.lower()] = value
    return bound


def run(session: DuckDBSession, parts: list[str], args: str) -> StatementResult:
    """``EXEC [db.][schema.]name args``: the system procedures the emulator knows, else 2812."""
    name = parts[-1] if parts else ""
    lowered = name.lower()
    if lowered in ("sp_datatype_info_100", "sp_datatype_info"):
        bound = _bind(lowered, ("data_type", "odbcver"), arguments(session, args))
        return type_info.datatype_info(
            int(bound.get("data_type") or 0), int(bound.get("odbcver") or 2)
        )
    if lowered == "sp_reset_connection":  # a pooled connection is handed to a new user
        session.reset_connection()
        return StatementResult(return_status=0)
    if lowered == "sp_set_session_context":
        return StatementResult(return_status=0)
    if lowered == change_tracking_admin.CLEANUP_PROCEDURE:
        result = change_tracking_admin.cleanup(session, args)
        result.return_status = 0
        return result
    if lowered in ("sp_prepare", "sp_execute", "sp_prepexec"):
        raise errors.not_supported(f"EXECUTE {lowered} in a batch")
    if lowered == table_collations.PROCEDURE:
        bound = _bind(lowered, ("object",), arguments(session, args))
        return table_collations.table_collations(session, str(bound.get("object") or ""))
    if lowered == "sp_helptext":
        bound = _bind(lowered, ("objname", "columnname"), arguments(session, args))
        result = _helptext(session, str(bound.get("objname") or ""))
        result.return_status = 0
        return result
    if lowered in _APPLOCK_PARAMS:
        bound = _bind(lowered, _APPLOCK_PARAMS[lowered], arguments(session, args))
        if lowered == "sp_getapplock":
            return _getapplock(session, bound)
        return _releaseapplock(session, bound)
    written = ".".join(parts)
    raise SqlError(2812, f"Could not find stored procedure '{written}'.", state=62)


# -- application locks ---------------------------------------------------------------------------

_FAILED = -999


def _option(value: Any, param: str, choices: dict[str, str]) -> tuple[str | None, list[Message]]:
    chosen = choices.get(str(value).lower()) if value is not None else None
    if chosen is None:
        text = f"Option '{value}' not recognized for '@{param}' parameter."
        return None, [Message(15625, text, severity=10)]
    return chosen, []


def _lock_key(session: DuckDBSession, bound: dict[str, Any]) -> applocks.Key:
    principal = bound.get("dbprincipal") or "public"
    resource = str(bound["resource"])[:255]
    return (session.database.lower(), str(principal).lower(), resource)


def _invalid_resource(proc: str) -> StatementResult:
    return StatementResult(
        return_status=_FAILED,
        messages=[Message(1224, f"An invalid application lock resource was passed to {proc}.", 16)],
    )


def _getapplock(session: DuckDBSession, bound: dict[str, Any]) -> StatementResult:
    if "lockmode" not in bound:
        raise SqlError(
            201,
            "Procedure or function 'sp_getapplock' expects parameter '@LockMode', which was "
            "not supplied.",
            state=4,
        )
    if "resource" not in bound:
        return StatementResult(return_status=_FAILED)
    if bound["resource"] is None:
        return _invalid_resource("sp_getapplock")
    mode, messages = _option(bound["lockmode"], "LockMode", applocks.MODES)
    owner, owner_messages = _option(bound.get("lockowner", "Transaction"), "LockOwner", _OWNERS)
    if mode is None or owner is None:
        return StatementResult(return_status=_FAILED, messages=messages + owner_messages)
    if owner == "Transaction" and not session.in_transaction:
        text = (
            "You attempted to acquire a transactional application lock without an active "
            "transaction."
        )
        return StatementResult(return_status=_FAILED, messages=[Message(15626, text, severity=10)])
    timeout = bound.get("locktimeout")
    timeout = -1 if timeout is None else int(timeout)  # @@LOCK_TIMEOUT: wait for ever
    if timeout < -1:
        return StatementResult(return_status=_FAILED)
    key = _lock_key(session, bound)
    try:
        status = session.applocks.acquire(key, (session.spid, owner.lower()), mode, timeout)
    except applocks.Cancelled:
        raise SqlError(3617, "The query was cancelled.", severity=11) from None
    return StatementResult(return_status=status)


_OWNERS = {"transaction": "Transaction", "session": "Session"}


def _releaseapplock(session: DuckDBSession, bound: dict[str, Any]) -> StatementResult:
    if "resource" not in bound:
        return StatementResult(return_status=_FAILED)
    if bound["resource"] is None:
        return _invalid_resource("sp_releaseapplock")
    owner, messages = _option(bound.get("lockowner", "Transaction"), "LockOwner", _OWNERS)
    if owner is None:
        return StatementResult(return_status=_FAILED, messages=messages)
    key = _lock_key(session, bound)
    if session.applocks.release(key, (session.spid, owner.lower())):
        return StatementResult(return_status=0)
    principal = bound.get("dbprincipal") or "public"
    text = (
        f"Cannot release the application lock (Database Principal: '{principal}', "
        f"Resource: '{key[2]}') because it is not currently held."
    )
    return StatementResult(return_status=_FAILED, messages=[Message(1223, text, severity=16)])


# -- sp_helptext -------------------------------------------------------------------------------


def _helptext(session: DuckDBSession, name: str) -> StatementResult:
    """The text of a procedure or view, one row per line (column ``Text``)."""
    try:
        obj = session.translator().resolve_table(split_name(name), name)[2]
    except SqlError:
        raise SqlError(
            15009,
            f"The object '{name}' does not exist in database '{session.database}' or is "
            "invalid for this operation.",
        ) from None
    if obj.definition is None:
        raise SqlError(15197, f"There is no text for object '{name}'.")
    lines = obj.definition.splitlines(keepends=True) or [""]
    values = ", ".join("('" + line.replace("'", "''") + "')" for line in lines)
    hint = (SqlType("nvarchar", length=255), True, False)
    return session.select(f'SELECT * FROM (VALUES {values}) AS t("Text")', [hint])
