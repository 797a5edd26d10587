"""SQL Server errors: constructors for the ones the engine raises, and DuckDB translation."""

from __future__ import annotations

import logging
import re

import duckdb

from mssql_emulator.contract import SqlError
from mssql_emulator.engine.catalog import TableDef
from mssql_emulator.engine.conversions import ERROR_PREFIX

_log = logging.getLogger(__name__)

_DUCK_TO_SQL = {
    "INT8": "tinyint",
    "UINT8": "tinyint",
    "INT16": "smallint",
    "INT32": "int",
    "INT64": "bigint",
    "INT128": "bigint",
    "BOOL": "bit",
    "DOUBLE": "float",
    "FLOAT": "real",
    "VARCHAR": "varchar",
    "STRING_LITERAL": "varchar",
    "INTEGER_LITERAL": "int",
    "INTEGER": "int",
    "BIGINT": "bigint",
    "SMALLINT": "smallint",
    "UTINYINT": "tinyint",
    "BOOLEAN": "bit",
    "BLOB": "varbinary",
    "DATE": "date",
    "TIME": "time",
    "TIMESTAMP": "datetime2",
    "UUID": "uniqueidentifier",
}
_OPERATORS = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulo"}


# Errors that end the batch and roll back the open transaction even with XACT_ABORT OFF
# (SQL Server dooms the transaction): deadlock victims, conversion failures, and DDL that
# found its object already there.
_TRANSACTION_ABORTING = frozenset({1205, 241, 242, 245, 2714, 8114, 8169})


def aborts_transaction(number: int) -> bool:
    return number in _TRANSACTION_ABORTING


def syntax_error(near: str) -> SqlError:
    return SqlError(102, f"Incorrect syntax near '{near}'.", severity=15)


def invalid_object(name: str) -> SqlError:
    return SqlError(208, f"Invalid object name '{name}'.")


def invalid_column(name: str) -> SqlError:
    return SqlError(207, f"Invalid column name '{name}'.")


def must_declare(name: str) -> SqlError:
    return SqlError(137, f'Must declare the scalar variable "{name}".', severity=15)


def object_exists(name: str) -> SqlError:
    return SqlError(2714, f"There is already an object named '{name}' in the database.")


def permission_denied(verb: str, database: str, schema: str, name: str) -> SqlError:
    return SqlError(
        229,
        f"The {verb} permission was denied on the object '{name}', database '{database}', "
        f"schema '{schema}'.",
        severity=14,
        state=5,
    )


def not_supported(what: str) -> SqlError:
    return SqlError(
        40517,
        f"Keyword or statement option '{what}' is not supported in this version of SQL Server.",
        severity=16,
    )


class ErrorContext:
    """What the failing statement was doing, to word DuckDB's errors like SQL Server."""

    def __init__(self, database: str, table: TableDef | None = None, verb: str = "") -> None:
        self.database = database
        self.table = table
        self.verb = verb


_NOT_NULL = re.compile(r"NOT NULL constraint failed: (?:[\w\"]+\.)*\"?([^\".]+)\"?$", re.M)
_DUP = re.compile(r"[Dd]uplicate key \"(.*?)\"(?: violates| *$)", re.S)
_CONVERT = re.compile(r"Could not convert string ['\"](.*?)['\"] to '?([A-Z0-9_]+)")
_RANGE_CAST = re.compile(r"Type \w+ with value (\S+) can't be cast .* destination type (\w+)")
_COLUMN = re.compile(r'Referenced column "?(.*?)"? not found')
_TABLE = re.compile(r"Table with name \"?(.*?)\"? does not exist")
_FUNCTION = re.compile(r"(?:Scalar|Table) Function with name \"?(\w+)\"? does not exist")
_NEAR = re.compile(r'at or near "(.*?)"')
_NO_TABLE = re.compile(r'Referenced table "?(.*?)"? not found')
_NO_COLUMN_IN = re.compile(r'Table "(.*?)" does not have a column named "(.*?)"')
_CALL = re.compile(r"(?:function call \"|argument types ')([^(\"']+)\(([^)]*)\)")
_GROUP_BY = re.compile(r'column "(.*?)" must appear in the GROUP BY clause')
_ORDER_TERM = re.compile(r"ORDER term out of range")
_MISSING_PARAM = re.compile(r"prepared statement parameters?: (\w+)")
_OVERFLOW = re.compile(r"Overflow in \w+ of (\w+)")
_RAISED = re.compile(re.escape(ERROR_PREFIX) + r"(\d+)\|(\d+)\|(.*)")


def _key_values(raw: str) -> str:
    parts = [p.split(": ", 1)[1] if ": " in p else p for p in raw.split(", ")]
    return ", ".join(parts)


def from_duckdb(exc: duckdb.Error, ctx: ErrorContext) -> SqlError:
    """The SQL Server error matching a DuckDB exception."""
    text = str(exc)
    # An error raised by one of our macros; DuckDB may also echo the query's text (with
    # such calls in it) after the first line of an unrelated error.
    raised = _RAISED.search(text.split("\n", 1)[0])
    if raised:
        return SqlError(int(raised[1]), raised[3], severity=int(raised[2]))
    if isinstance(exc, duckdb.InterruptException):
        return SqlError(3617, "The query was cancelled.", severity=11)
    table = ctx.table
    schema_table = f"{table.schema}.{table.name}" if table else "?"
    if isinstance(exc, duckdb.ConstraintException):
        match = _NOT_NULL.search(text)
        if match:
            verb = (ctx.verb or "INSERT").upper()
            return SqlError(
                515,
                f"Cannot insert the value NULL into column '{match.group(1)}', table "
                f"'{ctx.database}.{schema_table}'; column does not allow nulls. {verb} fails.",
                state=2,
            )
        match = _DUP.search(text)
        if match and table is not None:
            raw = match.group(1)
            key = _key_values(raw)
            named = [p.split(": ", 1)[0].strip('"').lower() for p in raw.split(", ") if ": " in p]
            ix = next(
                (
                    i
                    for i in table.indexes
                    if i.unique and named and [c.lower() for c, _ in i.columns] == named
                ),
                None,
            )
            if ix is None:
                ix = table.primary_key or next((i for i in table.indexes if i.unique), None)
            if ix is not None and not ix.primary_key and not ix.unique_constraint:
                return SqlError(
                    2601,
                    f"Cannot insert duplicate key row in object '{schema_table}' with "
                    f"unique index '{ix.name}'. The duplicate key value is ({key}).",
                    severity=14,
                )
            kind = "PRIMARY KEY" if ix is None or ix.primary_key else "UNIQUE KEY"
            name = ix.name if ix else "PK"
            return SqlError(
                2627,
                f"Violation of {kind} constraint '{name}'. Cannot insert duplicate key "
                f"in object '{schema_table}'. The duplicate key value is ({key}).",
                severity=14,
            )
    if "Division by zero" in text:
        return SqlError(8134, "Divide by zero error encountered.")
    if isinstance(exc, duckdb.ConversionException):
        match = _CONVERT.search(text)
        if match:
            value, target = match.group(1), match.group(2)
            if target in _DUCK_TO_SQL:
                return SqlError(
                    245,
                    f"Conversion failed when converting the varchar value "
                    f"'{value}' to data type {_DUCK_TO_SQL[target]}.",
                )
            if target == "UUID":
                return SqlError(
                    8169,
                    "Conversion failed when converting from a character "
                    "string to uniqueidentifier.",
                )
            if target.startswith("DECIMAL"):
                return SqlError(8114, "Error converting data type varchar to numeric.")
        if any(w in text for w in ("DATE", "TIME", "date field", "time field", "timestamp")):
            return SqlError(
                241, "Conversion failed when converting date and/or time from character string."
            )
        match = _RANGE_CAST.search(text)
        if match:
            target = _DUCK_TO_SQL.get(match.group(2), match.group(2).lower())
            return SqlError(
                220, f"Arithmetic overflow error for data type {target}, value = {match.group(1)}."
            )
        if "DECIMAL" in text:
            return SqlError(
                8115, "Arithmetic overflow error converting numeric to data type numeric."
            )
    if isinstance(exc, duckdb.OutOfRangeException):
        match = _OVERFLOW.search(text)
        target = _DUCK_TO_SQL.get(match.group(1), "int") if match else "int"
        return SqlError(
            8115, f"Arithmetic overflow error converting expression to data type {target}."
        )
    if isinstance(exc, duckdb.BinderException):
        match = _COLUMN.search(text)
        if match:
            return invalid_column(match.group(1).split(".")[-1])
        mapped = _binder_error(text)
        if mapped is not None:
            return mapped
    if isinstance(exc, duckdb.CatalogException):
        match = _TABLE.search(text)
        if match:
            return invalid_object(match.group(1))
        match = _FUNCTION.search(text)
        if match:
            return SqlError(
                195, f"'{match.group(1)}' is not a recognized built-in function name.", severity=15
            )
    if isinstance(exc, duckdb.ParserException):
        match = _NEAR.search(text)
        # The engine binds variables as DuckDB parameters ``$name``; clients wrote ``@name``.
        return syntax_error(match.group(1).replace("$", "@") if match else "")
    match = _MISSING_PARAM.search(text)
    if match:
        return must_declare("@" + match.group(1))
    if isinstance(exc, duckdb.TransactionException) and "onflict" in text:
        return SqlError(
            1205,
            "Transaction was deadlocked on lock resources with another "
            "process and has been chosen as the deadlock victim. Rerun the "
            "transaction.",
            severity=13,
            state=51,
        )
    if isinstance(exc, duckdb.CatalogException):
        return SqlError(208, "Invalid object name.", state=1)
    if isinstance(exc, duckdb.NotImplementedException):
        return not_supported("this statement")
    if isinstance(exc, duckdb.ConversionException | duckdb.InvalidInputException):
        return SqlError(8114, "Error converting data type varchar to numeric.")
    # Nothing DuckDB says reaches the client: the log keeps its text for debugging.
    _log.warning("unmapped DuckDB error: %s", text)
    return SqlError(
        8630,
        "Internal Query Processor Error: The query processor encountered an unexpected error "
        "during execution.",
        severity=17,
    )


def _sql_type(duck: str) -> str:
    base = duck.strip().split("(")[0].upper()
    if base.startswith("DECIMAL"):
        return "numeric"
    return _DUCK_TO_SQL.get(base, base.lower())


def _binder_error(text: str) -> SqlError | None:
    """SQL Server's error for what DuckDB's binder refused."""
    match = _NO_TABLE.search(text)
    if match:
        return SqlError(4104, f'The multi-part identifier "{match.group(1)}" could not be bound.')
    match = _NO_COLUMN_IN.search(text)
    if match:
        return invalid_column(match.group(2))
    match = _CALL.search(text)
    if match:
        name, types = match.group(1).strip(), [t for t in match.group(2).split(",") if t.strip()]
        shown = _sql_type(types[0]) if types else "varchar"
        if name in _OPERATORS:
            wanted = next((t for t in types if "VARCHAR" in t or "STRING" in t), types[0])
            return SqlError(
                8117,
                f"Operand data type {_sql_type(wanted)} is invalid for {_OPERATORS[name]} "
                "operator.",
            )
        if not types:
            return SqlError(174, f"The {name} function requires 1 argument(s).", severity=15)
        return SqlError(
            8116, f"Argument data type {shown} is invalid for argument 1 of {name} function."
        )
    match = _GROUP_BY.search(text)
    if match:
        return SqlError(
            8120,
            f"Column '{match.group(1)}' is invalid in the select list because it is not "
            "contained in either an aggregate function or the GROUP BY clause.",
        )
    if _ORDER_TERM.search(text):
        return SqlError(
            108,
            "The ORDER BY position number is out of range of the number of items in the "
            "select list.",
            severity=15,
        )
    if "Set operations can only apply to expressions with the same number" in text:
        return SqlError(
            205,
            "All queries combined using a UNION, INTERSECT or EXCEPT operator must have an "
            "equal number of expressions in their target lists.",
        )
    return None
