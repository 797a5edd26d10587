"""Built-in functions SQL Server has and DuckDB lacks: types, collations, GUIDs, clocks."""

from __future__ import annotations

from typing import cast

import sqlglot
from sqlglot import exp

from mssql_emulator.contract import CLR_TYPE_IDS, SYSTEM_TYPE_IDS, SqlError

# Collations fn_helpcollations() lists; every string here compares as the first one does.
COLLATIONS = [
    ("SQL_Latin1_General_CP1_CI_AS", "Latin1-General, case-insensitive, accent-sensitive"),
    ("SQL_Latin1_General_CP1_CS_AS", "Latin1-General, case-sensitive, accent-sensitive"),
    ("Latin1_General_CI_AS", "Latin1-General, case-insensitive, accent-sensitive"),
    ("Latin1_General_CS_AS", "Latin1-General, case-sensitive, accent-sensitive"),
    ("Latin1_General_BIN", "Latin1-General, binary sort"),
    ("Latin1_General_BIN2", "Latin1-General, binary code point comparison sort"),
]
# TYPE_ID and TYPE_NAME speak user type ids: the CLR types' own, not their shared 240.
_TYPE_IDS = SYSTEM_TYPE_IDS | CLR_TYPE_IDS
_TYPE_NAMES = {tid: name for name, tid in _TYPE_IDS.items()}

SYSDATETIMEOFFSET = (
    "mssql_dto(mssql_dto_at(mssql_dt2_count(CAST(timezone('UTC', now()) AS TIMESTAMP)), 0))"
)


def _duck(sql: str) -> exp.Expression:
    return cast(exp.Expression, sqlglot.parse_one(sql, read="duckdb"))


def _literal(value: object) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, int):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def _constant(arg: exp.Expression) -> object:
    """The value of a literal argument, else the argument itself."""
    if isinstance(arg, exp.National):
        return arg.name
    if isinstance(arg, exp.Literal):
        return arg.name if arg.is_string else int(float(arg.name))
    if isinstance(arg, exp.Null):
        return None
    return arg


def type_name(args: list[exp.Expression]) -> exp.Expression:
    """``TYPE_NAME(type_id)``: the system type's name, NULL for an unknown id."""
    _arity("TYPE_NAME", args, 1)
    value = _constant(args[0])
    if not isinstance(value, exp.Expression):
        return _literal(_TYPE_NAMES.get(value) if isinstance(value, int) else None)
    case = exp.Case(
        this=value.copy(),
        ifs=[
            exp.If(this=exp.Literal.number(tid), true=exp.Literal.string(name))
            for tid, name in _TYPE_NAMES.items()
        ],
    )
    return case


def type_id(args: list[exp.Expression]) -> exp.Expression:
    """``TYPE_ID('[schema.]name')``: the type's id, NULL for an unknown name."""
    _arity("TYPE_ID", args, 1)
    value = _constant(args[0])
    if isinstance(value, exp.Expression) or value is None:
        return exp.Null()
    name = str(value).strip()
    parts = [p.strip("[]") for p in name.split(".")]
    lowered = parts[-1].lower()
    if len(parts) == 1 or parts[0].lower() == "sys":
        return _literal(_TYPE_IDS.get(lowered))
    return exp.Null()


def collation_property(args: list[exp.Expression]) -> exp.Expression:
    """``COLLATIONPROPERTY(name, property)`` for the collations listed here."""
    _arity("COLLATIONPROPERTY", args, 2)
    prop = _constant(args[1])
    values = {"lcid": 1033, "codepage": 1252, "comparisonstyle": 196609, "version": 0}
    if isinstance(prop, str):
        return _literal(values.get(prop.lower()))
    return exp.Null()


def helpcollations_query() -> exp.Expression:
    """``fn_helpcollations()`` as a query with its two columns."""
    rows = ", ".join(
        "('" + name + "', '" + text.replace("'", "''") + "')" for name, text in COLLATIONS
    )
    return _duck(f"SELECT * FROM (VALUES {rows}) AS c(name, description)")


def object_id_lookup(meta: str, arg: exp.Expression) -> exp.Expression:
    """``OBJECT_ID(expression)``: looked up at run time in ``meta`` (a ``__sys`` schema)."""
    query = _duck(
        f"(SELECT min(__o.object_id) FROM {meta}.objects __o JOIN {meta}.schemas __s "
        "ON __s.schema_id = __o.schema_id WHERE lower(__s.name || '.' || __o.name) = "
        "lower(replace(replace(__arg0__, '[', ''), ']', '')) OR (__s.name = 'dbo' AND "
        "lower(__o.name) = lower(replace(replace(__arg0__, '[', ''), ']', ''))))"
    )
    return query.transform(
        lambda n: arg.copy() if isinstance(n, exp.Column) and n.name == "__arg0__" else n
    )


_OBJECT_KINDS = {"isusertable": "U", "istable": "U", "isview": "V", "isprocedure": "P"}


def object_property(meta: str, args: list[exp.Expression], prop: object) -> exp.Expression:
    """``OBJECTPROPERTY(id, property)`` for the properties drivers and ORMs ask about."""
    _arity("OBJECTPROPERTY", args, 2)
    name = str(prop).lower() if isinstance(prop, str) else ""
    if name in ("cnstisclustkey", "cnstisnonclustkey"):
        wanted = 1 if name == "cnstisclustkey" else 2
        query = (
            f"(SELECT CAST(max(CASE WHEN __i.type = {wanted} THEN 1 ELSE 0 END) AS INTEGER) "
            f"FROM {meta}.objects __o JOIN {meta}.indexes __i "
            "ON __i.object_id = __o.parent_object_id AND __i.name = __o.name "
            "WHERE __o.object_id = __arg0__)"
        )
    elif name in _OBJECT_KINDS:
        query = (
            f"(SELECT CASE WHEN __o.type = '{_OBJECT_KINDS[name]}' THEN 1 ELSE 0 END "
            f"FROM {meta}.objects __o WHERE __o.object_id = __arg0__)"
        )
    else:
        return exp.Null()
    return _duck(query).transform(
        lambda n: args[0].copy() if isinstance(n, exp.Column) and n.name == "__arg0__" else n
    )


# QUOTENAME's delimiters: the opening character given (either one of a pair) -> (open, close).
_QUOTE_PAIRS = {
    "[": ("[", "]"),
    "]": ("[", "]"),
    '"': ('"', '"'),
    "'": ("'", "'"),
    "(": ("(", ")"),
    ")": ("(", ")"),
    "<": ("<", ">"),
    ">": ("<", ">"),
    "{": ("{", "}"),
    "}": ("{", "}"),
    "`": ("`", "`"),
}


def quotename(args: list[exp.Expression]) -> exp.Expression:
    """``QUOTENAME(string [, quote_char])``: delimited, the closing character doubled.

    NULL for input longer than 128 characters or a quote character SQL Server rejects.
    """
    if len(args) not in (1, 2):
        raise SqlError(174, "The quotename function requires 1 to 2 arguments.", severity=15)
    quote = _constant(args[1]) if len(args) == 2 else "["
    if isinstance(quote, exp.Expression):
        pairs = [_quoted(args[0], pair) for pair in _QUOTE_PAIRS.items()]
        return exp.Case(
            ifs=[
                exp.If(this=exp.EQ(this=quote.copy(), expression=exp.Literal.string(key)), true=e)
                for key, e in pairs
            ]
        )
    pair = _QUOTE_PAIRS.get(str(quote)[:1]) if quote is not None else None
    if pair is None:
        return exp.Null()
    return _quoted(args[0], (str(quote)[:1], pair))[1]


def _quoted(arg: exp.Expression, entry: tuple[str, tuple[str, str]]) -> tuple[str, exp.Expression]:
    key, (opening, closing) = entry
    body = _duck(
        "CASE WHEN length(CAST(__arg0__ AS VARCHAR)) > 128 THEN NULL "
        f"ELSE '{_sql_char(opening)}' || replace(CAST(__arg0__ AS VARCHAR), "
        f"'{_sql_char(closing)}', '{_sql_char(closing) * 2}') || '{_sql_char(closing)}' END"
    )
    return key, body.transform(
        lambda n: arg.copy() if isinstance(n, exp.Column) and n.name == "__arg0__" else n
    )


def _sql_char(char: str) -> str:
    return "''" if char == "'" else char


def _arity(name: str, args: list[exp.Expression], count: int) -> None:
    if len(args) != count:
        raise SqlError(
            174, f"The {name.lower()} function requires {count} argument(s).", severity=15
        )


def rewrite(name: str, args: list[exp.Expression]) -> exp.Expression | None:
    """DuckDB for the built-in ``name`` called with ``args``, or None if not one of these."""
    if name == "TYPE_NAME":
        return type_name(args)
    if name == "TYPE_ID":
        return type_id(args)
    if name == "COLLATIONPROPERTY":
        return collation_property(args)
    if name == "QUOTENAME":
        return quotename(args)
    if name in ("NEWSEQUENTIALID", "NEWID"):
        return _duck("gen_random_uuid()")
    if name == "SYSDATETIMEOFFSET":
        return _duck(SYSDATETIMEOFFSET)
    return None
