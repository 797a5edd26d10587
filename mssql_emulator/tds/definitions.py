"""Parse sp_executesql/sp_prepare parameter definitions such as ``@P1 int,@P2 nvarchar(max)``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from mssql_emulator.contract import SqlType

_DEF = re.compile(
    r"\s*(@[\w@$#]+)\s+([A-Za-z_][\w ]*?)\s*(?:\(\s*(max|\d+)\s*(?:,\s*(\d+)\s*)?\))?"
    r"\s*(output|out)?\s*$",
    re.IGNORECASE,
)
_SCALED = {"time", "datetime2", "datetimeoffset"}
_DECIMALS = {"decimal", "numeric"}


@dataclass(frozen=True)
class Definition:
    name: str
    type: SqlType
    output: bool


def split_top_level(text: str) -> list[str]:
    """Split on commas outside parentheses, brackets and quotes (``decimal(19,4)`` stays whole)."""
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "[\"'":
            quote = "]" if char == "[" else char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if "".join(current).strip():
        parts.append("".join(current))
    return parts


def sql_type_of(name: str, first: str | None, second: str | None) -> SqlType:
    base = name.strip().lower()
    if base in _DECIMALS:
        precision = int(first) if first and first != "max" else 18
        return SqlType(base, precision=precision, scale=int(second) if second else 0)
    if base in _SCALED:
        return SqlType(base, scale=int(first) if first and first != "max" else 7)
    if base in ("char", "varchar", "nchar", "nvarchar", "binary", "varbinary"):
        if first is None:
            return SqlType(base, length=1)
        return SqlType(base, length=-1 if first.lower() == "max" else int(first))
    if base == "float" and first and first != "max":
        return SqlType("float", precision=int(first))
    return SqlType(base)


def parse_definitions(text: str | None) -> list[Definition]:
    if not text:
        return []
    result: list[Definition] = []
    for part in split_top_level(text):
        match = _DEF.match(part)
        if match is None:
            continue
        name, type_name, first, second, output = match.groups()
        result.append(Definition(name, sql_type_of(type_name, first, second), bool(output)))
    return result
