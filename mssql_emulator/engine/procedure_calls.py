"""EXEC of user stored procedures: binding arguments, the procedure's own variables, RETURN.

A call yields the results of the body's statements, then one result carrying the return
status and, for arguments passed ``OUTPUT``, their new values (``outputs``: one row whose
columns are the formal parameters in declared order, typed as the caller's variables).

An RPC call may ask for a parameter's default value and its output at once, which T-SQL
cannot say; the front end writes that argument ``@var OUTPUT DEFAULT``.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import TokenType

from mssql_emulator.contract import ResultSet, SqlError, SqlType, StatementResult
from mssql_emulator.engine import conversions, errors, table_types, variable_values
from mssql_emulator.engine.catalog import TableDef
from mssql_emulator.engine.procedure_text import ProcedureParam, parse
from mssql_emulator.engine.results import Hint
from mssql_emulator.engine.table_types import TableValue
from mssql_emulator.engine.tsql_text import parse_tsql, split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

_NAME_PART = r'(?:\[(?:[^\]]|\]\])+\]|"(?:[^"]|"")+"|[\w#$]+)'
_PROC_NAME = rf"{_NAME_PART}(?:\s*\.\s*(?:{_NAME_PART})?){{0,3}}"
_EXEC = re.compile(
    rf"^EXEC(?:UTE)?\s+(?:@(\w+)\s*=\s*)?({_PROC_NAME})(?:\s+(.*?))?\s*;?\s*$", re.I | re.S
)
# A batch may call a procedure by name alone: ``someProc 'a', 1``.
_BARE = re.compile(rf"^({_PROC_NAME})(?:\s+(.*?))?\s*;?\s*$", re.S)
# EXEC ('SELECT ' + @list): dynamic SQL, run in a scope of its own.
_EXEC_STRING = re.compile(r"^EXEC(?:UTE)?\s*\((.*)\)\s*;?\s*$", re.I | re.S)
_KEYWORDS = {
    "SELECT", "INSERT", "UPDATE", "DELETE", "CREATE", "DROP", "ALTER", "SET", "DECLARE",
    "USE", "BEGIN", "COMMIT", "ROLLBACK", "PRINT", "TRUNCATE", "MERGE", "SAVE", "RAISERROR",
    "THROW", "GRANT", "REVOKE", "DENY", "WAITFOR", "IF", "WHILE", "WITH", "RETURN", "ELSE",
    "GOTO", "BREAK", "CONTINUE", "END", "OPEN", "CLOSE", "FETCH", "DEALLOCATE", "BULK",
    "CHECKPOINT", "DBCC", "KILL", "READTEXT", "WRITETEXT", "UPDATETEXT", "SHUTDOWN",
}  # fmt: skip
_MAX_NESTING = 32
_depths: weakref.WeakKeyDictionary[DuckDBSession, int] = weakref.WeakKeyDictionary()


class ProcedureReturn(Exception):
    """``RETURN [status]``: leaves the procedure (or batch) being run."""

    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(frozen=True)
class Argument:
    name: str | None  # formal parameter named by the caller (without @)
    text: str | None  # value expression; None for DEFAULT
    output: bool
    default_into: str | None = None  # RPC: the default value, returned into this variable


@dataclass(frozen=True)
class Call:
    procedure: TableDef
    shown: str
    status_var: str | None
    arguments: list[Argument]
    returns_status: bool = True  # EXEC (string) sends no return status


def return_from(session: DuckDBSession, text: str) -> ProcedureReturn:
    """The exception a ``RETURN [expr]`` statement raises."""
    rest = text.strip()[6:].strip().rstrip(";").strip()
    if not rest:
        return ProcedureReturn(0)
    value = session.expression_value(parse_tsql("SELECT " + rest).expressions[0])
    try:
        return ProcedureReturn(0 if value is None else int(value))
    except (TypeError, ValueError):
        raise SqlError(
            245, f"Conversion failed when converting the value '{value}' to data type int."
        ) from None


def find_call(session: DuckDBSession, text: str) -> Call | None:
    """The call when ``text`` executes a user procedure of the catalog, else None."""
    first = text[:12].split(None, 1)[0].upper() if text.strip() else ""
    status_var = None
    if first in ("EXEC", "EXECUTE") or first.startswith(("EXEC(", "EXECUTE(")):
        dynamic = _EXEC_STRING.match(text)
        if dynamic is not None:
            item = parse_tsql("SELECT " + dynamic.group(1)).expressions[0]
            statement = session.expression_value(item)
            return _dynamic(str(statement or ""), "", "EXECUTE", None, [], returns_status=False)
        match = _EXEC.match(text)
        if match is None:
            return None
        status_var, name, args = match.group(1), match.group(2), match.group(3)
    elif first and first not in _KEYWORDS and first[0] not in "@(;":
        bare = _BARE.match(text)
        if bare is None:
            return None
        name, args = bare.group(1), bare.group(2)
    else:
        return None
    if split_name(name)[-1].lower() == "sp_executesql":
        return _executesql(session, name.strip(), status_var, _arguments(args or ""))
    try:
        proc = session.translator().resolve_table(split_name(name), name)[2]
    except SqlError:
        return None
    if proc.kind != "P" or proc.definition is None:
        return None
    return Call(proc, name.strip(), status_var, _arguments(args or ""))


def _executesql(
    session: DuckDBSession, shown: str, status_var: str | None, arguments: list[Argument]
) -> Call:
    """``EXEC sp_executesql @stmt [, @params [, arguments…]]`` as a call of a one-off procedure."""
    texts: list[str] = []
    for position, key in enumerate(("stmt", "params")):
        if position >= len(arguments) or arguments[position].name not in (None, key):
            break
        value = _argument_value(session, arguments[position])[0]
        texts.append("" if value is None else str(value))
    if not texts:
        raise SqlError(
            214, "Procedure expects parameter '@statement' of type 'ntext/nchar/nvarchar'.", state=2
        )
    declared = texts[1] if len(texts) > 1 else ""
    return _dynamic(texts[0], declared, shown, status_var, arguments[len(texts) :])


def _dynamic(
    statement: str,
    declared: str,
    shown: str,
    status_var: str | None,
    arguments: list[Argument],
    *,
    returns_status: bool = True,
) -> Call:
    body = statement if statement.strip() else "RETURN 0"  # NULL or blank text runs nothing
    definition = f"CREATE PROCEDURE sp_executesql {declared}\nAS\n{body}"
    procedure = TableDef(0, "sys", "sp_executesql", "P", definition=definition)
    return Call(procedure, shown, status_var, arguments, returns_status)


def _arguments(text: str) -> list[Argument]:
    if not text.strip():
        return []
    try:
        tokens = list(TSQL().tokenize(text))
    except TokenError as exc:
        raise SqlError(
            105, "Unclosed quotation mark after the character string ''.", severity=15
        ) from exc
    pieces: list[tuple[int, int]] = []
    depth, start = 0, 0
    for i, tok in enumerate(tokens):
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
        elif tok.token_type == TokenType.COMMA and depth == 0:
            pieces.append((start, i))
            start = i + 1
    pieces.append((start, len(tokens)))
    out = []
    for begin, end in pieces:
        toks = tokens[begin:end]
        if not toks:
            raise errors.syntax_error(",")
        name = None
        if (
            len(toks) >= 3
            and toks[0].token_type == TokenType.PARAMETER
            and toks[2].token_type == TokenType.EQ
        ):
            name, toks = toks[1].text, toks[3:]
            if not toks:
                raise errors.syntax_error("=")
        output = use_default = False
        if len(toks) > 2 and [t.text.upper() for t in toks[-2:]] in (
            ["OUTPUT", "DEFAULT"],
            ["OUT", "DEFAULT"],
        ):
            use_default, toks = True, toks[:-2]  # the RPC form, see the module docstring
        if len(toks) > 1 and toks[-1].text.upper() in ("OUTPUT", "OUT"):
            output, toks = True, toks[:-1]
        value = text[toks[0].start : toks[-1].end + 1]
        if len(toks) == 1 and toks[0].text.upper() == "DEFAULT":
            out.append(Argument(name, None, output))
        elif use_default:
            out.append(Argument(name, None, True, value))
        else:
            out.append(Argument(name, value, output))
    return out


def run(
    session: DuckDBSession,
    call: Call,
    call_params: dict[str, Any],
    call_types: dict[str, SqlType | None],
    line: int,
) -> Iterator[StatementResult]:
    """Run ``call`` from the caller's scope (its variables plus the request's parameters)."""
    parsed = parse(call.procedure.definition or "")
    name = call.procedure.name
    caller_vars, caller_types = session.variables, session.variable_types
    scope_vars = {**caller_vars, **call_params}
    scope_types = {**caller_types, **call_types}
    if call.status_var is not None and call.status_var.lower() not in scope_vars:
        raise errors.must_declare("@" + call.status_var)
    depth = _depths.get(session, 0)
    if depth >= _MAX_NESTING:
        raise SqlError(
            217,
            "Maximum stored procedure, function, trigger, or view nesting level exceeded "
            "(limit 32).",
        )
    session.variables, session.variable_types = scope_vars, scope_types
    try:
        frame, frame_types, outputs = _bind(session, name, parsed.params, call.arguments)
    except SqlError as exc:
        exc.line = line
        raise
    except duckdb.Error as exc:
        error = errors.from_duckdb(exc, errors.ErrorContext(session.database))
        error.line = line
        raise error from exc
    finally:
        session.variables, session.variable_types = caller_vars, caller_types
    status = 0
    session.variables, session.variable_types = frame, frame_types
    _depths[session] = depth + 1
    try:
        try:
            yield from session.run_statements(parsed.body)
        except ProcedureReturn as done:
            status = done.status
        outputs_result = _outputs(session, parsed.params, outputs, scope_types)
    finally:
        _depths[session] = depth
        session.variables, session.variable_types = caller_vars, caller_types
    for formal, target in outputs:
        value = frame.get(formal.name.lower())
        key = target.lower()
        target_type = scope_types.get(key) or formal.type
        converted = variable_values.convert(session, value, formal.type, target_type)
        if key in caller_vars:
            caller_vars[key] = converted
        elif key in call_params:
            call_params[key] = converted
    if call.status_var is not None:
        key = call.status_var.lower()
        if key in caller_vars:
            caller_vars[key] = status
        else:
            call_params[key] = status
    yield StatementResult(
        return_status=status if call.returns_status else None, outputs=outputs_result
    )


def _bind(
    session: DuckDBSession, proc: str, params: list[ProcedureParam], arguments: list[Argument]
) -> tuple[dict[str, Any], dict[str, SqlType | None], list[tuple[ProcedureParam, str]]]:
    """The procedure's frame (values by parameter) and the OUTPUT arguments' variables."""
    by_name = {p.name.lower(): p for p in params}
    given: dict[str, Argument] = {}
    named = False
    for position, arg in enumerate(arguments):
        if arg.name is None:
            if named:
                raise SqlError(
                    119,
                    f"Must pass parameter number {position + 1} and subsequent parameters as "
                    "'@name = value'. After the form '@name = value' has been used, all "
                    "subsequent parameters must be passed in the form '@name = value'.",
                    severity=15,
                )
            if position >= len(params):
                raise SqlError(
                    8144, f"Procedure or function {proc} has too many arguments specified.", state=1
                )
            given[params[position].name.lower()] = arg
            continue
        named = True
        if arg.name.lower() not in by_name:
            raise SqlError(8145, f"@{arg.name} is not a parameter for procedure {proc}.", state=1)
        given[arg.name.lower()] = arg
    frame: dict[str, Any] = {}
    types: dict[str, SqlType | None] = {}
    outputs: list[tuple[ProcedureParam, str]] = []
    for param in params:
        key = param.name.lower()
        passed = given.get(key)
        types[key] = param.type
        if passed is not None and passed.default_into is not None and param.output:
            outputs.append((param, passed.default_into.lstrip("@")))
        if passed is None or passed.text is None:
            if param.default is None:
                if param.table_type is not None:  # an empty table, as SQL Server passes
                    level = _depths.get(session, 0) + 1
                    frame[key] = table_types.empty(session, param.name, param.table_type, level)
                    continue
                raise SqlError(
                    201,
                    f"Procedure or function '{proc}' expects parameter '@{param.name}', "
                    "which was not supplied.",
                    state=4,
                )
            frame[key] = _default(session, param)
            continue
        value, source_type = _argument_value(session, passed)
        if passed.output:
            if not param.output:
                raise SqlError(
                    8162,
                    f'The formal parameter "@{param.name}" was not declared as an OUTPUT '
                    "parameter, but the actual parameter passed in requested output.",
                )
            target = passed.text.strip()
            if not target.startswith("@") or target.startswith("@@"):
                raise SqlError(
                    179,
                    "Cannot use the OUTPUT option when passing a constant to a stored procedure.",
                    severity=15,
                )
            outputs.append((param, target[1:]))
        if param.table_type is not None:
            if value is not None and not isinstance(value, TableValue):
                raise SqlError(
                    206,
                    f"Operand type clash: {source_type} is incompatible with {param.table_type}",
                )
            frame[key] = value
            continue
        if isinstance(value, TableValue):
            raise SqlError(
                206, f"Operand type clash: table type is incompatible with {param.declared}"
            )
        frame[key] = variable_values.convert(session, value, source_type, param.type)
    return frame, types, outputs


def _argument_value(session: DuckDBSession, arg: Argument) -> tuple[Any, SqlType | None]:
    assert arg.text is not None
    text = arg.text.strip()
    if re.fullmatch(r"@[\w@#$]+", text) and not text.startswith("@@"):
        key = text[1:].lower()
        if key not in session.variables:
            raise errors.must_declare(text)
        return session.variables[key], session.variable_types.get(key)
    bare = re.fullmatch(r"[A-Za-z_][\w$#]*|\[(?:[^\]]|\]\])+\]", text)
    if bare and text.upper() != "NULL":  # EXEC p name: a bare identifier is a string
        return split_name(text)[0], None
    return session.expression_value(parse_tsql("SELECT " + text).expressions[0]), None


def _default(session: DuckDBSession, param: ProcedureParam) -> Any:
    assert param.default is not None
    saved = session.variables, session.variable_types
    session.variables, session.variable_types = {}, {}
    try:
        value = session.expression_value(parse_tsql("SELECT " + param.default).expressions[0])
    finally:
        session.variables, session.variable_types = saved
    return variable_values.convert(session, value, None, param.type)


def _outputs(
    session: DuckDBSession,
    params: list[ProcedureParam],
    outputs: list[tuple[ProcedureParam, str]],
    caller_types: dict[str, SqlType | None],
) -> ResultSet | None:
    """One row of the OUTPUT arguments' values, typed as the caller's variables."""
    if not outputs:
        return None
    order = {p.name.lower(): i for i, p in enumerate(params)}
    chosen = sorted(outputs, key=lambda item: order[item[0].name.lower()])
    values: dict[str, Any] = {}
    exprs = []
    hints: list[Hint] = []
    for i, (formal, target) in enumerate(chosen):
        target_type = caller_types.get(target.lower()) or formal.type or SqlType("int")
        value = session.variables.get(formal.name.lower())
        values[f"o{i}"] = variable_values.bindable(value)
        source = variable_values.source_duck(formal.type, value)
        exprs.append(f'{conversions.cast_expr(f"$o{i}", target_type, source)} AS "@{formal.name}"')
        hints.append((target_type, True, False))
    with variable_values.bound_only(session, values):
        result = session.select(f"SELECT {', '.join(exprs)}", hints)
        assert result.result_set is not None
        batches = list(result.result_set.batches)
    return ResultSet(result.result_set.columns, iter(batches))
