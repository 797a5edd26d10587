"""T-SQL calls on the CLR types (``h.ToString()``, ``g.Lat``, ``geography::Point(…)``) as DuckDB.

Values are the canonical text of ``clr_types``. A constructor whose arguments are constants
runs here, in Python, and becomes a literal, so bad input raises the exact 6522 at once;
otherwise it becomes a DuckDB expression that builds (and roughly checks) the same text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, cast

import sqlglot
from sqlglot import exp

from mssql_emulator.contract import CLR_TYPE_IDS, SqlError
from mssql_emulator.engine import clr_types
from mssql_emulator.engine.clr_types import GEOGRAPHY, GEOMETRY, HIERARCHYID, SPATIAL_TYPES
from mssql_emulator.engine.conversions import ERROR_PREFIX

NO_VALUE = object()

_SRID = r"^SRID=-?\d+;"
_POINT = r"^(?:SRID=-?\d+;)?\s*(?i:POINT)\s*\(\s*([^\s)]+)\s+([^\s)]+)"
_SHAPE_NAMES = {
    "POINT": "Point",
    "LINESTRING": "LineString",
    "POLYGON": "Polygon",
    "MULTIPOINT": "MultiPoint",
    "MULTILINESTRING": "MultiLineString",
    "MULTIPOLYGON": "MultiPolygon",
    "GEOMETRYCOLLECTION": "GeometryCollection",
}
_SPATIAL_METHODS = {"tostring", "stastext", "astextzm", "stgeometrytype"}
_HIERARCHY_METHODS = {"tostring", "getlevel", "isdescendantof", "getancestor"}
_METHODS = {
    GEOGRAPHY: _SPATIAL_METHODS,
    GEOMETRY: _SPATIAL_METHODS,
    HIERARCHYID: _HIERARCHY_METHODS,
}
_PROPERTIES = {
    GEOGRAPHY: {"stsrid", "lat", "long"},
    GEOMETRY: {"stsrid", "stx", "sty"},
    HIERARCHYID: set(),
}
_SQL_NAMES = {"int": "int", "float": "float", "Decimal": "numeric", "bool": "bit"}
_ALL_PROPERTIES = {"stsrid", "lat", "long", "stx", "sty"}
_FROM_TEXT = {
    "stgeomfromtext",
    "stpointfromtext",
    "stlinefromtext",
    "stpolyfromtext",
    "stmpointfromtext",
    "stmlinefromtext",
    "stmpolyfromtext",
    "stgeomcollfromtext",
}


class Resolver(Protocol):
    """What the rewrite needs from the translator: column types and constant values."""

    def clr_column_type(self, qualifier: str, name: str) -> str | None: ...

    def is_table_alias(self, name: str) -> bool: ...

    def constant(self, node: exp.Expression) -> Any: ...


def _duck(template: str, **args: exp.Expression) -> exp.Expression:
    """DuckDB ``template`` with each ``__name__`` column replaced by ``args[name]``."""
    tree = cast(exp.Expression, sqlglot.parse_one(template, read="duckdb"))
    for col in list(tree.find_all(exp.Column)):
        key = col.name.strip("_")
        if col.name.startswith("__") and key in args:
            col.replace(args[key].copy())
    return tree


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _raised(error: SqlError) -> str:
    """The SQL text of DuckDB's ``error()`` raising ``error`` (read back by errors.from_duckdb,
    which keeps one line)."""
    message = error.message.replace(" \n", " ")
    return _sql_string(f"{ERROR_PREFIX}{error.number}|{error.severity}|{message}")


def rewrite(node: exp.Expression, resolver: Resolver) -> exp.Expression | None:
    """The DuckDB form of a CLR method call, property or static constructor, else None."""
    if isinstance(node, exp.ScopeResolution):
        return _static(node, resolver)
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Anonymous):
        return _method_call(node, resolver)
    if (
        isinstance(node, exp.Dot)
        and isinstance(node.expression, exp.Identifier)
        and node.expression.name.lower() in _ALL_PROPERTIES
        and not isinstance(node.this, exp.Identifier | exp.Dot)
    ):
        return _property_value(node.expression.name, node.this, None)
    if isinstance(node, exp.Column) and node.name.lower() in _ALL_PROPERTIES and node.table:
        return _property(node, resolver)
    return None


# --- instance methods and properties -----------------------------------------------------


def _target(node: exp.Expression, resolver: Resolver) -> tuple[exp.Expression, str | None]:
    """The value a method is called on, and its CLR type when it is a known column."""
    if isinstance(node, exp.Identifier):
        return exp.Column(this=node.copy()), resolver.clr_column_type("", node.name)
    if isinstance(node, exp.Dot) and all(
        isinstance(part, exp.Identifier) for part in (node.this, node.expression)
    ):
        table, name = node.this.name, node.expression.name
        column = exp.Column(this=node.expression.copy(), table=node.this.copy())
        return column, resolver.clr_column_type(table, name)
    if isinstance(node, exp.Column):
        return node, resolver.clr_column_type(node.table, node.name)
    return node, None


def _method_call(node: exp.Dot, resolver: Resolver) -> exp.Expression | None:
    method = cast(exp.Anonymous, node.expression)
    name = str(method.this).lower()
    if name not in _SPATIAL_METHODS | _HIERARCHY_METHODS:
        return None
    value, type_name = _target(node.this, resolver)
    if type_name is not None and name not in _METHODS[type_name]:
        raise clr_types.missing_method(type_name, str(method.this))
    args = list(method.expressions)
    if name in ("tostring", "stastext", "astextzm"):
        return value if type_name == HIERARCHYID else spatial_text(value)
    if name == "stgeometrytype":
        cases = " ".join(f"WHEN '{k}' THEN '{v}'" for k, v in _SHAPE_NAMES.items())
        label = "regexp_extract(__x__, '^(?:SRID=-?\\d+;)?([A-Z]+)', 1)"
        return _duck(f"CASE {label} {cases} END", x=value)
    if name == "getlevel":
        return _duck(
            "CAST(length(__x__) - length(replace(__x__, '/', '')) - 1 AS SMALLINT)", x=value
        )
    if name == "isdescendantof" and args:
        return _duck("starts_with(__x__, __p__)", x=value, p=args[0])
    if name == "getancestor" and args:
        return _ancestor(value, args[0], resolver)
    return None


def hierarchy_order_key(value: exp.Expression) -> exp.Expression:
    """Sort key of depth-first order: ``/1/`` < ``/1/5/`` < ``/1.1/`` < ``/2/``."""
    return _duck(
        "CASE WHEN __x__ = '/' THEN [] ELSE list_transform(string_split(trim(__x__, '/'), '/'), "
        "lambda n: list_transform(string_split(n, '.'), lambda d: CAST(d AS BIGINT))) END",
        x=value,
    )


def spatial_text(value: exp.Expression) -> exp.Expression:
    """The WKT of a stored spatial value (its ``SRID=n;`` prefix dropped)."""
    return _duck(f"regexp_replace(__x__, '{_SRID}', '')", x=value)


def _ancestor(value: exp.Expression, levels: exp.Expression, resolver: Resolver) -> exp.Expression:
    n = resolver.constant(levels)
    if not isinstance(n, int):
        raise SqlError(8116, "Argument data type is invalid for argument 1 of GetAncestor.")
    if n == 0:
        return value
    # The path without its last n nodes; NULL above the root.
    return _duck(
        "CASE WHEN length(__x__) - length(replace(__x__, '/', '')) - 1 < "
        f"{n} THEN NULL ELSE regexp_replace(__x__, '(?:[^/]+/){{{n}}}$', '') END",
        x=value,
    )


def _property(node: exp.Column, resolver: Resolver) -> exp.Expression | None:
    if node.args.get("db"):
        qualifier, column = node.db, node.table
    elif resolver.is_table_alias(node.table):
        return None
    else:
        qualifier, column = "", node.table
    type_name = resolver.clr_column_type(qualifier, column)
    if type_name is None:
        return None
    value = exp.Column(
        this=exp.to_identifier(column), table=exp.to_identifier(qualifier) if qualifier else None
    )
    return _property_value(node.name, value, type_name)


def _property_value(prop: str, value: exp.Expression, type_name: str | None) -> exp.Expression:
    name = prop.lower()
    if type_name is not None and name not in _PROPERTIES[type_name]:
        raise clr_types.missing_method(type_name, prop)
    if name == "stsrid":
        default = clr_types.DEFAULT_SRID.get(type_name or "", 4326)
        return _duck(
            "CASE WHEN __x__ IS NULL THEN NULL ELSE COALESCE(TRY_CAST(NULLIF("
            f"regexp_extract(__x__, '^SRID=(-?\\d+);', 1), '') AS INTEGER), {default}) END",
            x=value,
        )
    group = 2 if name in ("lat", "sty") else 1
    return _duck(f"TRY_CAST(regexp_extract(__x__, '{_POINT}', {group}) AS DOUBLE)", x=value)


# --- static methods ----------------------------------------------------------------------


def _static(node: exp.ScopeResolution, resolver: Resolver) -> exp.Expression | None:
    type_name = node.this.name.lower() if isinstance(node.this, exp.Identifier) else ""
    call = node.expression
    if type_name not in CLR_TYPE_IDS or not isinstance(call, exp.Anonymous):
        return None
    method = str(call.this)
    args = list(call.expressions)
    values = [resolver.constant(a) for a in args]
    build = _STATIC.get((type_name == HIERARCHYID, method.lower()))
    if build is None and type_name in SPATIAL_TYPES and method.lower() in _FROM_TEXT:
        build = _STATIC[(False, "stgeomfromtext")]
    if build is None:
        raise clr_types.missing_method(type_name, method)
    return build(type_name, args, values)


Builder = Callable[[str, list[exp.Expression], list[Any]], exp.Expression]


def _arg_count(type_name: str, method: str, args: list[exp.Expression], count: int) -> None:
    if len(args) != count:
        raise SqlError(
            10025,
            f"Possible invalid parameter count for '{type_name}::{method}': {len(args)} "
            f"given, {count} expected.",
            severity=16,
        )


def _constant_text(value: Any) -> exp.Expression:
    return exp.Null() if value is None else exp.Literal.string(value)


def _hierarchy_root(
    type_name: str, args: list[exp.Expression], values: list[Any]
) -> exp.Expression:
    _arg_count(type_name, "GetRoot", args, 0)
    return exp.Literal.string("/")


def _hierarchy_parse(
    type_name: str, args: list[exp.Expression], values: list[Any]
) -> exp.Expression:
    _arg_count(type_name, "Parse", args, 1)
    if values[0] is None:
        return exp.Null()
    if values[0] is not NO_VALUE:
        return exp.Literal.string(clr_types.parse_hierarchyid(str(values[0])))
    message = _raised(
        clr_types.dotnet_error(
            HIERARCHYID,
            "Microsoft.SqlServer.Types.HierarchyIdException",
            "24001: SqlHierarchyId.Parse failed because the input string '",
        )
    )
    return _duck(
        "CASE WHEN __x__ IS NULL THEN NULL "
        "WHEN regexp_full_match(trim(__x__), '/(?:-?\\d+(?:\\.-?\\d+)*/)*') THEN trim(__x__) "
        f"ELSE error({message} || __x__ || ''' is not a valid string representation of a "
        "SqlHierarchyId node.') END",
        x=args[0],
    )


def _spatial_parse(type_name: str, args: list[exp.Expression], values: list[Any]) -> exp.Expression:
    _arg_count(type_name, "Parse", args, 1)
    default = exp.Literal.number(clr_types.DEFAULT_SRID[type_name])
    return _from_text(type_name, [args[0], default], [values[0], int(default.name)])


def _from_text(type_name: str, args: list[exp.Expression], values: list[Any]) -> exp.Expression:
    _arg_count(type_name, "STGeomFromText", args, 2)
    if None in values:
        return exp.Null()
    if NO_VALUE not in values:
        return _constant_text(clr_types.parse_spatial(type_name, str(values[0]), values[1]).stored)
    labels = "|".join(_SHAPE_NAMES)
    message = _raised(
        clr_types.dotnet_error(
            type_name,
            "System.FormatException",
            "24114: The label in the input well-known text (WKT) is not valid: '",
        )
    )
    return _duck(
        f"CASE WHEN __x__ IS NULL OR __s__ IS NULL THEN NULL "
        f"WHEN regexp_matches(upper(trim(__x__)), '^({labels})\\s*(\\(|EMPTY)') THEN "
        "'SRID=' || CAST(__s__ AS VARCHAR) || ';' || "
        "regexp_replace(upper(trim(__x__)), '^([A-Z]+)\\s*', '\\1 ') "
        f"ELSE error({message} || __x__ || '''.') END",
        x=args[0],
        s=args[1],
    )


def _point(type_name: str, args: list[exp.Expression], values: list[Any]) -> exp.Expression:
    _arg_count(type_name, "Point", args, 3)
    if None in values:
        return exp.Null()
    if NO_VALUE not in values:
        first, second, srid = (float(values[0]), float(values[1]), int(values[2]))
        if type_name == GEOGRAPHY:
            return _constant_text(clr_types.geography_point(first, second, srid).stored)
        clr_types.check_srid(type_name, srid)
        return _constant_text(
            clr_types.Spatial(srid, clr_types.Shape("POINT", ((first, second),))).stored
        )
    x, y = (args[1], args[0]) if type_name == GEOGRAPHY else (args[0], args[1])
    number = "regexp_replace(CAST(CAST(__{0}__ AS DOUBLE) AS VARCHAR), '\\.0$', '')"
    text = (
        "'SRID=' || CAST(__s__ AS VARCHAR) || ';POINT (' || "
        f"{number.format('x')} || ' ' || {number.format('y')} || ')'"
    )
    if type_name == GEOGRAPHY:
        message = _raised(
            clr_types.dotnet_error(
                GEOGRAPHY,
                "System.FormatException",
                "24201: Latitude values must be between -90 and 90 degrees.",
            )
        )
        text = f"CASE WHEN abs(__y__) > 90 THEN error({message}) ELSE {text} END"
    return _duck(text, x=x, y=y, s=args[2])


_STATIC: dict[tuple[bool, str], Builder] = {
    (True, "getroot"): _hierarchy_root,
    (True, "parse"): _hierarchy_parse,
    (False, "parse"): _spatial_parse,
    (False, "stgeomfromtext"): _from_text,
    (False, "point"): _point,
}


# --- implicit conversion -----------------------------------------------------------------


def implicit(node: exp.Expression, type_name: str, resolver: Resolver) -> exp.Expression:
    """``node`` assigned to a ``type_name`` column: constant text becomes canonical text."""
    value = resolver.constant(node)
    if value is NO_VALUE or value is None:
        return node
    if not isinstance(value, str):
        raise SqlError(
            206,
            f"Operand type clash: {_SQL_NAMES.get(type(value).__name__, 'varbinary')} is "
            f"incompatible with {type_name}",
            severity=16,
        )
    return exp.Literal.string(clr_types.canonical(type_name, value))
