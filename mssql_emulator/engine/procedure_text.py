"""Reading ``CREATE [OR ALTER] PROCEDURE`` text: name, parameters and body.

The body is kept as text and split into statements only when the procedure runs, so a
body may use statements the emulator cannot run without failing its CREATE.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import TokenError
from sqlglot.tokenizer_core import Token, TokenType

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import errors, sqltypes
from mssql_emulator.engine.splitter import Statement, split_statements
from mssql_emulator.engine.tsql_text import split_name

# A batch starting with one of these is one statement: the module body runs to its end.
_MODULE_BATCH = re.compile(
    r"^(?:\s|--[^\n]*\n|/\*.*?\*/)*(?:CREATE\s+(?:OR\s+ALTER\s+)?|ALTER\s+)PROC(?:EDURE)?\b",
    re.I | re.S,
)
_MENTIONS_PROC = re.compile(r"\bPROC(?:EDURE)?\b", re.I)
_PARAM_END = {"OUTPUT", "OUT", "READONLY", "VARYING", "NULL"}


@dataclass(frozen=True)
class ProcedureParam:
    """One declared parameter; ``type`` is None for a table type (``table_type`` names it)."""

    name: str  # without the @
    type: SqlType | None
    default: str | None = None  # T-SQL expression text
    output: bool = False
    readonly: bool = False
    table_type: str | None = None

    @property
    def declared(self) -> str:
        """The type as SQL Server shows it (sys.parameters, INFORMATION_SCHEMA)."""
        if self.type is None:
            return self.table_type or ""
        return str(self.type)


@dataclass(frozen=True)
class ProcedureText:
    parts: list[str]
    params: list[ProcedureParam]
    body: str
    alter: bool  # ALTER PROCEDURE
    or_alter: bool


def batch_statements(sql: str) -> list[Statement]:
    """The statements of a batch; one that creates or alters a procedure is all of it."""
    if _MODULE_BATCH.match(sql) is not None:
        return [Statement(sql.strip().rstrip(";").rstrip(), 1)]
    parts = split_statements(sql)
    if _MENTIONS_PROC.search(sql):
        for part in parts[1:]:
            if _MODULE_BATCH.match(part.text):
                raise SqlError(
                    111,
                    "'CREATE/ALTER PROCEDURE' must be the first statement in a query batch.",
                    severity=15,
                    line=part.line,
                )
    return parts


def is_procedure_ddl(text: str) -> bool:
    return _MODULE_BATCH.match(text) is not None


def _tokens(text: str) -> list[Token]:
    try:
        return list(TSQL().tokenize(text))
    except TokenError as exc:
        raise SqlError(
            105, "Unclosed quotation mark after the character string ''.", severity=15
        ) from exc


def _upper(tok: Token) -> str:
    if tok.token_type in (TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.IDENTIFIER):
        return ""
    return tok.text.upper()


@lru_cache(maxsize=512)
def parse(text: str) -> ProcedureText:
    """Parse a procedure's CREATE/ALTER text (102 on syntax errors)."""
    tokens = _tokens(text)
    i = 0
    alter = or_alter = False
    if _upper(tokens[0]) == "ALTER":
        alter, i = True, 1
    else:
        i = 1
        if i + 1 < len(tokens) and _upper(tokens[i]) == "OR" and _upper(tokens[i + 1]) == "ALTER":
            or_alter, i = True, i + 2
    if i >= len(tokens) or _upper(tokens[i]) not in ("PROC", "PROCEDURE"):
        raise errors.syntax_error(tokens[min(i, len(tokens) - 1)].text)
    i += 1
    name_start = i
    if i >= len(tokens) or tokens[i].token_type in (TokenType.PARAMETER, TokenType.L_PAREN):
        raise errors.syntax_error(tokens[min(i, len(tokens) - 1)].text)
    i += 1
    while i + 1 < len(tokens) and tokens[i].token_type == TokenType.DOT:
        i += 2
    parts = split_name(text[tokens[name_start].start : tokens[i - 1].end + 1])
    if i < len(tokens) and tokens[i].token_type == TokenType.SEMICOLON:
        i += 2  # ;number (numbered procedures)
    wrapped = i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN
    if wrapped:
        i += 1
    params: list[ProcedureParam] = []
    while i < len(tokens) and tokens[i].token_type == TokenType.PARAMETER:
        param, i = _param(text, tokens, i)
        if any(p.name.lower() == param.name.lower() for p in params):
            raise SqlError(
                134,
                f'The variable name "@{param.name}" has already been declared. Variable '
                "names must be unique within a query batch or stored procedure.",
                severity=15,
            )
        params.append(param)
        if i < len(tokens) and tokens[i].token_type == TokenType.COMMA:
            i += 1
    if wrapped:
        if i >= len(tokens) or tokens[i].token_type != TokenType.R_PAREN:
            raise errors.syntax_error(tokens[min(i, len(tokens) - 1)].text)
        i += 1
    # WITH RECOMPILE / ENCRYPTION / EXECUTE AS …, FOR REPLICATION: accepted, not kept.
    if i < len(tokens) and _upper(tokens[i]) in ("WITH", "FOR"):
        i += 1
        while i < len(tokens) and not (
            tokens[i].token_type == TokenType.ALIAS
            and _upper(tokens[i - 1]) not in ("EXECUTE", "EXEC")
        ):
            i += 1
    if i >= len(tokens) or tokens[i].token_type != TokenType.ALIAS:
        near = tokens[i].text if i < len(tokens) else tokens[-1].text
        raise errors.syntax_error(near)
    body = text[tokens[i].end + 1 :].strip()
    if not body:
        raise errors.syntax_error(tokens[i].text)
    return ProcedureText(parts, params, body, alter, or_alter)


def _param(text: str, tokens: list[Token], i: int) -> tuple[ProcedureParam, int]:
    if i + 1 >= len(tokens):
        raise errors.syntax_error("@")
    name = tokens[i + 1].text
    i += 2
    if i < len(tokens) and tokens[i].token_type == TokenType.ALIAS:
        i += 1
    type_start = i
    depth = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            if depth == 0:
                break
            depth -= 1
        elif depth == 0 and (
            tok.token_type in (TokenType.EQ, TokenType.COMMA, TokenType.ALIAS)
            or _upper(tok) in _PARAM_END
            or _upper(tok) in ("WITH", "FOR")
        ):
            break
        i += 1
    if i == type_start:
        raise errors.syntax_error(tokens[i].text if i < len(tokens) else name)
    type_text = text[tokens[type_start].start : tokens[i - 1].end + 1]
    default: str | None = None
    output = readonly = False
    while i < len(tokens):
        word = _upper(tokens[i])
        if tokens[i].token_type == TokenType.EQ:
            i += 1
            start = i
            while i < len(tokens) and not (
                tokens[i].token_type in (TokenType.COMMA, TokenType.R_PAREN, TokenType.ALIAS)
                or _upper(tokens[i]) in ("OUTPUT", "OUT", "READONLY", "WITH", "FOR")
            ):
                i += 1
            if i == start:
                raise errors.syntax_error("=")
            default = text[tokens[start].start : tokens[i - 1].end + 1]
        elif word in ("OUTPUT", "OUT"):
            output, i = True, i + 1
        elif word == "READONLY":
            readonly, i = True, i + 1
        elif word in ("VARYING", "NULL", "NOT"):
            i += 1
        else:
            break
    sql_type, table_type = _param_type(type_text)
    if table_type is not None and not readonly:
        raise SqlError(
            352,
            f'The table-valued parameter "@{name}" must be declared with the READONLY option.',
            severity=15,
        )
    return ProcedureParam(name, sql_type, default, output, readonly, table_type), i


def _param_type(type_text: str) -> tuple[SqlType | None, str | None]:
    parts = split_name(type_text) if "(" not in type_text else [type_text]
    if len(parts) == 1:
        try:
            return sqltypes.parse_type_text(type_text), None
        except SqlError:
            if type_text.strip().lower() in ("cursor", "table"):
                raise errors.not_supported(f"{type_text.strip().upper()} parameters") from None
    # A user-defined (table) type: resolved when the procedure runs.
    return None, ".".join(parts) if len(parts) > 1 else f"dbo.{parts[0]}"
