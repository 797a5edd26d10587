"""Parsing CREATE TABLE bodies and index column lists (sqlglot cannot read all of T-SQL's)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot.dialects.tsql import TSQL
from sqlglot.tokenizer_core import Token, TokenType

from mssql_emulator.engine import errors, sqltypes
from mssql_emulator.engine.catalog import ColumnDef
from mssql_emulator.engine.foreign_keys import ForeignKeySpec

_COLUMN_STOP = {
    "NOT",
    "NULL",
    "CONSTRAINT",
    "PRIMARY",
    "UNIQUE",
    "IDENTITY",
    "CHECK",
    "REFERENCES",
    "COLLATE",
    "DEFAULT",
    "ROWGUIDCOL",
    "SPARSE",
    "FOREIGN",
}


@dataclass
class KeySpec:
    name: str | None
    primary: bool
    clustered: bool | None
    columns: list[tuple[str, bool]]
    index: bool = False


@dataclass
class TableSpec:
    parts: list[str]
    columns: list[ColumnDef] = field(default_factory=list)
    keys: list[KeySpec] = field(default_factory=list)
    foreign_keys: list[ForeignKeySpec] = field(default_factory=list)


def tokenize(text: str) -> list[Token]:
    return [t for t in TSQL().tokenize(text)]


def _word(tok: Token) -> str:
    if tok.token_type in (TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.IDENTIFIER):
        return ""
    # sqlglot reads "PRIMARY KEY" and "FOREIGN KEY" as one token.
    return tok.text.upper().split()[0] if tok.text else ""


def _split_items(tokens: list[Token]) -> list[list[Token]]:
    items: list[list[Token]] = [[]]
    depth = 0
    for tok in tokens:
        if tok.token_type == TokenType.L_PAREN:
            depth += 1
        elif tok.token_type == TokenType.R_PAREN:
            depth -= 1
        if tok.token_type == TokenType.COMMA and depth == 0:
            items.append([])
        else:
            items[-1].append(tok)
    return [i for i in items if i]


def _paren_group(tokens: list[Token], start: int) -> tuple[list[Token], int]:
    """Tokens inside the parenthesis opening at ``start`` and the index after it."""
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i].token_type == TokenType.L_PAREN:
            depth += 1
        elif tokens[i].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                return tokens[start + 1 : i], i + 1
    raise errors.syntax_error(tokens[-1].text)


def _name_part(tokens: list[Token], i: int) -> tuple[str, int]:
    """One name part; ``#t``/``##t`` arrive as hash tokens before the name."""
    prefix = ""
    while i < len(tokens) - 1 and tokens[i].token_type == TokenType.HASH:
        prefix += "#"
        i += 1
    return prefix + tokens[i].text, i + 1


def parse_name(tokens: list[Token], i: int) -> tuple[list[str], int]:
    first, i = _name_part(tokens, i)
    parts = [first]
    while i < len(tokens) and tokens[i].token_type == TokenType.DOT:
        if i + 1 < len(tokens) and tokens[i + 1].token_type == TokenType.DOT:
            parts.append("")
            i += 1
            continue
        part, i = _name_part(tokens, i + 1)
        parts.append(part)
    return parts, i


def index_columns(tokens: list[Token]) -> list[tuple[str, bool]]:
    out = []
    for item in _split_items(tokens):
        desc = len(item) > 1 and _word(item[1]) == "DESC"
        out.append((item[0].text, desc))
    return out


def _key(tokens: list[Token], i: int, name: str | None) -> KeySpec:
    word = _word(tokens[i])
    primary = word == "PRIMARY"
    i += 1
    if primary and i < len(tokens) and _word(tokens[i]) == "KEY":
        i += 1
    clustered: bool | None = None
    if i < len(tokens) and _word(tokens[i]) in ("CLUSTERED", "NONCLUSTERED"):
        clustered = _word(tokens[i]) == "CLUSTERED"
        i += 1
    cols: list[tuple[str, bool]] = []
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
        inner, i = _paren_group(tokens, i)
        cols = index_columns(inner)
    return KeySpec(name, primary, clustered, cols)


def _foreign_key(
    item: list[Token], i: int, name: str | None, column: str | None
) -> tuple[ForeignKeySpec, int]:
    """Parse ``[FOREIGN KEY (cols)] REFERENCES t [(cols)] [ON DELETE|UPDATE action]…``."""
    spec = ForeignKeySpec(name, [column] if column else [], [])
    if _word(item[i]) == "FOREIGN":
        i += 1
        if i < len(item) and _word(item[i]) == "KEY":
            i += 1
        if i < len(item) and item[i].token_type == TokenType.L_PAREN:
            inner, i = _paren_group(item, i)
            spec.columns = [c for c, _ in index_columns(inner)]
    if i >= len(item) or _word(item[i]) != "REFERENCES":
        raise errors.syntax_error(item[min(i, len(item) - 1)].text)
    spec.referenced, i = parse_name(item, i + 1)
    if i < len(item) and item[i].token_type == TokenType.L_PAREN:
        inner, i = _paren_group(item, i)
        spec.referenced_columns = [c for c, _ in index_columns(inner)]
    while i + 2 < len(item) and _word(item[i]) == "ON":
        event = _word(item[i + 1])
        words = [_word(item[i + 2])]
        i += 3
        if words[0] in ("SET", "NO") and i < len(item):
            words.append(_word(item[i]))
            i += 1
        action = " ".join(words)
        if event == "DELETE":
            spec.on_delete = action
        elif event == "UPDATE":
            spec.on_update = action
    return spec, i


def parse_create_table(text: str) -> TableSpec:
    """``CREATE TABLE name (columns and constraints) [ON ...] [WITH (...)]``."""
    tokens = tokenize(text)
    if len(tokens) < 4:
        raise errors.syntax_error(tokens[-1].text if tokens else "")
    parts, i = parse_name(tokens, 2)
    if i >= len(tokens) or tokens[i].token_type != TokenType.L_PAREN:
        raise errors.syntax_error(tokens[min(i, len(tokens) - 1)].text)
    body, _ = _paren_group(tokens, i)
    spec = TableSpec(parts)
    for item in _split_items(body):
        first = _word(item[0])
        if first == "CONSTRAINT":
            name = item[1].text
            if _word(item[2]) in ("PRIMARY", "UNIQUE"):
                spec.keys.append(_key(item, 2, name))
            elif _word(item[2]) == "FOREIGN":
                spec.foreign_keys.append(_foreign_key(item, 2, name, None)[0])
            continue
        if first in ("PRIMARY", "UNIQUE"):
            spec.keys.append(_key(item, 0, None))
            continue
        if first == "FOREIGN":
            spec.foreign_keys.append(_foreign_key(item, 0, None, None)[0])
            continue
        if first in ("CHECK", "PERIOD"):
            continue
        if first == "INDEX":
            key = _key(item, 1, None)
            key.name = item[1].text
            key.primary = False
            clustered_at = 2
            if _word(item[clustered_at]) in ("CLUSTERED", "NONCLUSTERED"):
                key.clustered = _word(item[clustered_at]) == "CLUSTERED"
                inner, _ = _paren_group(item, clustered_at + 1)
            else:
                inner, _ = _paren_group(item, clustered_at)
            key.columns = index_columns(inner)
            key.index = True
            spec.keys.append(key)
            continue
        spec.columns.append(_column(item, spec, text))
    if not spec.columns:
        raise errors.syntax_error(")")
    return spec


def _column(item: list[Token], spec: TableSpec, text: str) -> ColumnDef:
    name = item[0].text
    if len(item) < 2:
        raise errors.syntax_error(name)
    if _word(item[1]) == "AS":
        raise errors.not_supported("computed column")
    type_name = item[1].text
    i = 2
    # Multi-word type names: "double precision", "national character varying".
    while i < len(item) and _word(item[i]) in ("PRECISION", "VARYING", "CHARACTER"):
        type_name += " " + item[i].text
        i += 1
    args: list[str] = []
    if i < len(item) and item[i].token_type == TokenType.L_PAREN:
        inner, i = _paren_group(item, i)
        args = [t.text for t in inner if t.token_type != TokenType.COMMA]
    col = ColumnDef(name, sqltypes.parse_type(type_name, args))
    explicit_null: bool | None = None
    while i < len(item):
        word = _word(item[i])
        if word == "NOT" and i + 1 < len(item) and _word(item[i + 1]) == "NULL":
            explicit_null = False
            i += 2
        elif word == "NULL":
            explicit_null = True
            i += 1
        elif word == "IDENTITY":
            seed, inc = 1, 1
            i += 1
            if i < len(item) and item[i].token_type == TokenType.L_PAREN:
                inner, i = _paren_group(item, i)
                nums = [t.text for t in inner if t.token_type != TokenType.COMMA]
                seed, inc = int(nums[0]), int(nums[1])
            col.identity = (seed, inc)
        elif word == "CONSTRAINT":
            constraint_name = item[i + 1].text
            i += 2
            if i < len(item) and _word(item[i]) in ("PRIMARY", "UNIQUE"):
                key = _key(item, i, constraint_name)
                key.columns = [(name, False)]
                spec.keys.append(key)
                i = _skip_key(item, i)
            elif i < len(item) and _word(item[i]) in ("FOREIGN", "REFERENCES"):
                foreign, i = _foreign_key(item, i, constraint_name, name)
                spec.foreign_keys.append(foreign)
        elif word in ("PRIMARY", "UNIQUE"):
            key = _key(item, i, None)
            key.columns = [(name, False)]
            spec.keys.append(key)
            i = _skip_key(item, i)
        elif word == "DEFAULT":
            j = i + 1
            depth = 0
            while j < len(item):
                tok = item[j]
                if tok.token_type == TokenType.L_PAREN:
                    depth += 1
                elif tok.token_type == TokenType.R_PAREN:
                    depth -= 1
                elif depth == 0 and j > i + 1 and _word(tok) in _COLUMN_STOP:
                    break
                j += 1
            col.default = text[item[i + 1].start : item[j - 1].end + 1].strip()
            i = j
        elif word in ("FOREIGN", "REFERENCES"):
            foreign, i = _foreign_key(item, i, None, name)
            spec.foreign_keys.append(foreign)
        elif word == "CHECK":
            i += 1
            while (
                i < len(item)
                and item[i].token_type != TokenType.L_PAREN
                and _word(item[i]) not in _COLUMN_STOP
            ):
                i += 1
            if i < len(item) and item[i].token_type == TokenType.L_PAREN:
                _, i = _paren_group(item, i)
        elif word == "COLLATE":
            i += 2
        elif word == "GENERATED":
            # GENERATED ALWAYS AS ROW START|END: a system-time period column of a temporal table.
            words = [_word(t) for t in item[i : i + 6]]
            if "START" in words:
                col.default = "SYSUTCDATETIME()"
            elif "END" in words:
                col.default = "'9999-12-31 23:59:59.9999999'"
            i += 1
        else:
            i += 1
    primary = any(k.primary and k.columns == [(name, False)] for k in spec.keys)
    col.nullable = (
        explicit_null if explicit_null is not None else not (primary or col.identity is not None)
    )
    if primary:
        col.nullable = False
    return col


def _skip_key(item: list[Token], i: int) -> int:
    i += 1
    if i < len(item) and _word(item[i]) == "KEY":
        i += 1
    if i < len(item) and _word(item[i]) in ("CLUSTERED", "NONCLUSTERED"):
        i += 1
    return i


def parse_column_defs(text: str) -> TableSpec:
    """Column definitions separated by commas, as after ``ALTER TABLE t ADD``."""
    tokens = tokenize(text)
    spec = TableSpec([])
    for item in _split_items(tokens):
        if _word(item[0]) in ("CONSTRAINT", "PRIMARY", "UNIQUE", "CHECK", "FOREIGN", "INDEX"):
            raise errors.not_supported("ALTER TABLE ADD CONSTRAINT")
        spec.columns.append(_column(item, spec, text))
    return spec
