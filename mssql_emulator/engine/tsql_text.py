"""T-SQL text: multi-part names and parsing with SQL Server's syntax error."""

from __future__ import annotations

import re
from typing import cast

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from mssql_emulator.engine import errors

__all__ = ["parse_tsql", "split_name"]


def split_name(text: str) -> list[str]:
    """``[db].dbo."t"`` → ['db', 'dbo', 't'] (empty parts kept, e.g. ``db..t``)."""
    parts: list[str] = []
    for match in re.finditer(
        r'\[((?:[^\]]|\]\])*)\]|"((?:[^"]|"")*)"|([^.\s\[\]"]+)|(?<=\.)(?=\.)', text.strip()
    ):
        if match.group(1) is not None:
            parts.append(match.group(1).replace("]]", "]"))
        elif match.group(2) is not None:
            parts.append(match.group(2))
        elif match.group(3) is not None:
            parts.append(match.group(3))
        else:
            parts.append("")
    return parts


def parse_tsql(text: str) -> exp.Expression:
    try:
        parsed = sqlglot.parse_one(text, read="tsql")
    except ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        near = str(err.get("highlight") or "").strip() or text.split()[-1]
        raise errors.syntax_error(near) from exc
    if parsed is None:
        raise errors.syntax_error(text[:20])
    return cast(exp.Expression, parsed)
