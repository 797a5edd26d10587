"""T-SQL expressions to DuckDB: names, variables, built-in functions, CAST semantics."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

import sqlglot
from sqlglot import exp

from mssql_emulator.contract import SqlError, SqlType
from mssql_emulator.engine import (
    builtin_functions,
    changetable,
    clr_methods,
    clr_types,
    conversions,
    databases,
    datetime2_ticks,
    errors,
    offsets,
    sqltypes,
    system_tables,
    table_types,
    temp_tables,
    time_ticks,
)
from mssql_emulator.engine.catalog import ColumnDef, DatabaseCatalog, TableDef
from mssql_emulator.engine.tsql_text import split_name

VERSION = (
    "Microsoft SQL Server 2022 (RTM) - 16.0.1000.6 (X64) \n\tOct  8 2022 05:58:25 \n\t"
    "Copyright (C) 2022 Microsoft Corporation\n\tDeveloper Edition (64-bit) on Linux "
    "(flowservice mssql_emulator on DuckDB) <X64>"
)
SERVER_PROPERTIES: dict[str, Any] = {
    "productversion": "16.0.1000.6",
    "productlevel": "RTM",
    "edition": "Developer Edition (64-bit)",
    "engineedition": 3,
    "productmajorversion": "16",
    "servername": "mssql_emulator",
    "machinename": "mssql_emulator",
    "collation": "SQL_Latin1_General_CP1_CI_AS",
    "isclustered": 0,
    "isfulltextinstalled": 0,
    "isintegratedsecurityonly": 0,
    "ishadrenabled": 0,
}


# ``FROM ::fn_helpcollations()``: the SQL Server 2000 spelling of a system function call.
_OLD_FUNCTION_CALL = re.compile(r"::\s*(fn_\w+\s*\()", re.I)


# Columns of catalog views holding names; ``+`` on them concatenates.
_TEXT_COLUMN = re.compile(r"(?:^|_)(?:name|schema|catalog|definition|desc)$", re.I)
_TEXT_FUNCTIONS = (exp.Left, exp.Right, exp.Upper, exp.Lower, exp.Substring, exp.Trim)


@dataclass
class Scope:
    """Everything a statement's translation may look at."""

    database: str
    catalogs: Callable[[str], DatabaseCatalog | None]
    resolve_db: Callable[[str], str | None]
    variables: dict[str, Any]
    variable_types: dict[str, SqlType | None]
    globals: dict[str, Any]
    user: str
    server_view: Callable[[str], str | None]
    used_params: set[str] = field(default_factory=set)
    volatile: bool = False
    changetables: dict[str, changetable.Call] = field(default_factory=dict)
    temp_catalog: DatabaseCatalog | None = None


def prepare(text: str, scope: Scope) -> str:
    """Rewrite what sqlglot cannot parse (CHANGETABLE, ``::fn``) into what it can."""
    if "::" in text:
        text = _OLD_FUNCTION_CALL.sub(r"\1", text)
    return changetable.extract(text, scope.changetables)


def _literal(value: Any) -> exp.Expression:
    if value is None:
        return exp.Null()
    if isinstance(value, bool):
        return exp.Literal.number(int(value))
    if isinstance(value, int | float):
        return exp.Literal.number(value)
    return exp.Literal.string(str(value))


def duck_expression(sql: str) -> exp.Expression:
    return cast(exp.Expression, sqlglot.parse_one(sql, read="duckdb"))


def tsql_type(dt: exp.DataType, *, in_cast: bool = False) -> SqlType:
    """The SqlType of a sqlglot DataType parsed from T-SQL (CAST defaults strings to 30)."""
    text = dt.sql("tsql")
    parsed = sqltypes.parse_type_text(text)
    if parsed.name == "numeric":  # sqlglot writes DECIMAL as NUMERIC; decimal is more common
        parsed = SqlType("decimal", precision=parsed.precision, scale=parsed.scale)
    if in_cast and parsed.length not in (None, -1) and "(" not in text:
        return SqlType(parsed.name, length=30)
    return parsed


def _integer_literal(node: exp.Literal) -> exp.Expression:
    """An integer constant beyond bigint is numeric(p,0), as SQL Server types it."""
    digits = node.name.lstrip("0") or "0"
    if int(digits) < 2**63:
        return node
    if len(digits) > 38:
        raise SqlError(
            1007,
            f"The number '{digits}' is out of the range for numeric representation "
            "(maximum precision 38).",
            severity=15,
        )
    return exp.Cast(this=node, to=exp.DataType.build(f"DECIMAL({len(digits)},0)"))


# sqlglot turns DATENAME of these units into strftime formats that mean something else.
_DATENAME_UNITS = {
    "%M%-S": "NANOSECOND",
    "%Ma%Mo%S": "NANOSECOND",
    "%Bc%-S": "MICROSECOND",
    "%Mcro%S": "MICROSECOND",
    "%f": "MILLISECOND",
}


# DATEPART units below a second: microseconds times this.
_SUB_SECOND_PARTS = {
    **dict.fromkeys(("MILLISECOND", "MS"), 0.001),
    **dict.fromkeys(("MICROSECOND", "MCS"), 1),
    **dict.fromkeys(("NANOSECOND", "NS"), 1000),
}


def _sub_second_datenames(node: exp.Expression) -> exp.Expression:
    """DATENAME(ns|mcs|ms, x) as the text of DATEPART, which SQL Server returns."""
    for call in list(node.find_all(exp.TimeToStr)):
        unit = _DATENAME_UNITS.get(call.text("format"))
        if unit is None:
            continue
        part = exp.Extract(this=exp.var(unit), expression=call.this)
        text = exp.Cast(this=part, to=exp.DataType.build("nvarchar(30)", dialect="tsql"))
        if call is node:
            return text
        call.replace(text)
    return node


def _post_order(
    node: exp.Expression, fn: Callable[[exp.Expression], exp.Expression]
) -> exp.Expression:
    if isinstance(node, exp.Parameter):
        return fn(node)  # ``@@VERSION`` nests a Parameter that is not a variable
    for key, value in list(node.args.items()):
        if isinstance(value, exp.Expression):
            new = _post_order(value, fn)
            if new is not value:
                node.set(key, new)
        elif isinstance(value, list):
            node.set(
                key, [_post_order(v, fn) if isinstance(v, exp.Expression) else v for v in value]
            )
    return fn(node)


class Translator:
    """Rewrites one parsed T-SQL statement in place, then renders DuckDB SQL."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.ctes: set[str] = set()
        self.aliases: dict[str, TableDef] = {}

    def resolve_table(self, parts: list[str], shown: str) -> tuple[str, DatabaseCatalog, TableDef]:
        if not parts or not parts[-1]:
            raise errors.invalid_object(shown)
        if len(parts) > 3:
            parts = parts[-3:]
        name = parts[-1]
        if temp_tables.is_temp_name(name):
            return self._resolve_temp(name, shown)
        schema = parts[-2] if len(parts) >= 2 and parts[-2] else "dbo"
        db_part = parts[-3] if len(parts) == 3 else self.scope.database
        database = self.scope.resolve_db(db_part) if db_part else self.scope.database
        catalog = self.scope.catalogs(database) if database else None
        table = catalog.get(schema, name) if catalog else None
        if table is None or catalog is None or database is None:
            raise errors.invalid_object(shown)
        return database, catalog, table

    def _resolve_temp(self, name: str, shown: str) -> tuple[str, DatabaseCatalog, TableDef]:
        catalog = self.scope.temp_catalog
        table = catalog.get(temp_tables.TEMP_SCHEMA, name) if catalog else None
        if catalog is None or table is None:
            if name.startswith("@"):
                raise SqlError(1087, f'Must declare the table variable "{name}".', severity=15)
            raise errors.invalid_object(shown)
        return temp_tables.TEMP_DATABASE, catalog, table

    def sql(self, node: exp.Expression) -> str:
        return self.rewrite(node).sql(dialect="duckdb")

    def rewrite(self, node: exp.Expression) -> exp.Expression:
        """Rewrite ``node`` bottom-up, so replaced nodes are built from rewritten children."""
        temp_tables.mark_special_names(node, self.scope.variables)
        self.ctes |= {cte.alias_or_name.lower() for cte in node.find_all(exp.CTE)}
        for table in node.find_all(exp.Table):
            self._register_alias(table)
        self._refuse_clr_projections(node)
        clr_targets = self._clr_targets(node)
        node = _sub_second_datenames(node)
        node = time_ticks.keep_ticks(node, self.guess_src)
        node = datetime2_ticks.keep_ticks(node, self.guess_src)
        rewritten = _post_order(node, self._rewrite)
        if clr_targets:
            self._convert_clr_values(rewritten, clr_targets)
        return rewritten

    def column_def(self, qualifier: str, name: str) -> ColumnDef | None:
        """The declared column ``qualifier.name`` reads (any FROM table when unqualified)."""
        table = self.aliases.get(qualifier.lower()) if qualifier else None
        for candidate in [table] if table else self.aliases.values():
            col = candidate.column(name)
            if col is not None:
                return col
        return None

    def clr_column_type(self, qualifier: str, name: str) -> str | None:
        """hierarchyid/geography/geometry if ``qualifier.name`` is a column of that type."""
        col = self.column_def(qualifier, name)
        return col.type.name if col is not None and sqltypes.is_clr(col.type) else None

    def _declared_type(self, node: exp.Expression) -> SqlType | None:
        """The T-SQL type of a column, variable or string literal, where it is declared."""
        if isinstance(node, exp.Column):
            col = self.column_def(node.table, node.name)
            return col.type if col is not None else None
        if isinstance(node, exp.Placeholder):
            return self.scope.variable_types.get(node.name.lower())
        if isinstance(node, exp.National):
            return SqlType("nvarchar", length=-1)
        if isinstance(node, exp.Literal) and node.is_string:
            return SqlType("varchar", length=-1)
        return None

    def _clr_type_of(self, node: exp.Expression) -> str | None:
        declared = self._declared_type(node)
        return declared.name if declared is not None and sqltypes.is_clr(declared) else None

    def is_table_alias(self, name: str) -> bool:
        return name.lower() in self.aliases or name.lower() in self.ctes

    def constant(self, node: exp.Expression) -> Any:
        """The value of a literal or parameter, else ``clr_methods.NO_VALUE``."""
        if isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            value = self.constant(node.this)
            return -value if isinstance(value, int | float) else clr_methods.NO_VALUE
        if isinstance(node, exp.Literal) and not node.is_string:
            number = float(node.name)
            return int(number) if number.is_integer() and "." not in node.name else number
        if isinstance(node, exp.Literal | exp.National):
            return node.name
        if isinstance(node, exp.Placeholder) and node.name.lower() in self.scope.variables:
            self.scope.volatile = True  # the value is inlined into this translation
            return self.scope.variables[node.name.lower()]
        return clr_methods.NO_VALUE

    def _refuse_clr_projections(self, node: exp.Expression) -> None:
        """CLR values go to clients as UDT bytes, which this server does not write."""
        if not isinstance(node, exp.Select) or node.parent is not None or node.args.get("into"):
            return
        sources = self._from_tables(node)
        for proj in node.expressions:
            inner = proj.this if isinstance(proj, exp.Alias) else proj
            if not isinstance(inner, exp.Star | exp.Column):
                continue
            qualifier = inner.table.lower() if isinstance(inner, exp.Column) else ""
            star = isinstance(inner, exp.Star) or isinstance(inner.this, exp.Star)
            for alias, table in sources.items():
                if qualifier and alias != qualifier:
                    continue
                columns = table.columns if star else [table.column(inner.name)]
                for col in columns:
                    if col is not None and sqltypes.is_clr(col.type):
                        raise clr_types.unsendable(col.name, col.type.name)

    def _from_tables(self, select: exp.Select) -> dict[str, TableDef]:
        """The catalog tables a SELECT reads directly, by alias."""
        from_ = select.args.get("from_")
        items = [from_.this] if from_ is not None else []
        items += [j.this for j in select.args.get("joins") or []]
        tables = {}
        for item in items:
            alias = (item.alias_or_name or "").lower()
            if isinstance(item, exp.Table) and alias in self.aliases:
                tables[alias] = self.aliases[alias]
        return tables

    def _clr_targets(self, node: exp.Expression) -> list[str | None]:
        """The CLR type of each column an INSERT source or UPDATE assigns to (None: other)."""
        target = node.this if isinstance(node, exp.Update) else None
        if isinstance(node.parent, exp.Insert) and node.parent.expression is node:
            target = node.parent.this
        table_node = target.this if isinstance(target, exp.Schema) else target
        if not isinstance(table_node, exp.Table) or not isinstance(table_node.this, exp.Identifier):
            return []
        parts = [p for p in (table_node.catalog, table_node.db, table_node.name) if p]
        try:
            table = self.resolve_table(parts, table_node.name)[2]
        except SqlError:
            return []
        if isinstance(node, exp.Update):
            columns = [table.column(eq.this.name) for eq in node.expressions]
        elif isinstance(target, exp.Schema):
            columns = [table.column(i.name) for i in target.expressions]
        else:
            columns = [c for c in table.columns if c.identity is None]
        types = [c.type.name if c and sqltypes.is_clr(c.type) else None for c in columns]
        return types if any(types) else []

    def _convert_clr_values(self, node: exp.Expression, types: list[str | None]) -> None:
        if isinstance(node, exp.Values):
            rows = [r.expressions if isinstance(r, exp.Tuple) else [r] for r in node.expressions]
        elif isinstance(node, exp.Select):
            rows = [[p.this if isinstance(p, exp.Alias) else p for p in node.expressions]]
        elif isinstance(node, exp.Update):
            rows = [[eq.expression for eq in node.expressions]]
        else:
            return
        for row in rows:
            for value, type_name in zip(row, types, strict=False):
                if type_name is not None:
                    converted = clr_methods.implicit(value, type_name, self)
                    if converted is not value:
                        value.replace(converted)

    def _register_alias(self, node: exp.Table) -> None:
        if (
            not isinstance(node.this, exp.Identifier)
            or node.db.lower() in ("sys", "information_schema")
            or node.name.lower() in self.ctes
        ):
            return
        parts = [p for p in (node.catalog, node.db, node.name) if p]
        try:
            _, _, table = self.resolve_table(parts, node.name)
        except SqlError:
            return
        self.aliases[(node.alias or node.name).lower()] = table

    def _rewrite(self, node: exp.Expression) -> exp.Expression:
        clr = clr_methods.rewrite(node, self)
        if clr is not None:
            return clr
        if isinstance(node, exp.Ordered) and self._clr_type_of(node.this) == "hierarchyid":
            node.set("this", clr_methods.hierarchy_order_key(node.this))
            return node
        if isinstance(node, exp.Table):
            return self._table(node)
        if isinstance(node, exp.Lateral | exp.Join):
            return self._apply(node)
        if isinstance(node, exp.Parameter):
            return self._parameter(node)
        if isinstance(node, exp.Literal) and not node.is_string and node.name.isdigit():
            return _integer_literal(node)
        if isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
            # schema.table.column: tables keep their own name as alias, so table.column works.
            node.set("db", None)
            node.set("catalog", None)
            return node
        if isinstance(node, exp.Collate):
            # SQL Server collations name no DuckDB collation; strings compare case-insensitively.
            return cast(exp.Expression, node.this)
        if isinstance(node, exp.Cast | exp.TryCast):
            return self._cast(node.this, node.args["to"], node)
        if isinstance(node, exp.Convert):
            return self._cast(node.expression, node.this, node)
        if isinstance(node, exp.Add) and (
            self.guess_src(cast(exp.Expression, node.left)) == "VARCHAR"
            or self.guess_src(cast(exp.Expression, node.right)) == "VARCHAR"
        ):
            return exp.DPipe(this=node.left, expression=node.right)
        if isinstance(node, exp.Div):
            checked = exp.Anonymous(this="mssql_divide_check", expressions=[node.expression])
            return exp.Div(this=node.this, expression=checked)
        if isinstance(node, exp.Extract) and node.name.upper() in _SUB_SECOND_PARTS:
            return self._sub_second_part(node)
        replaced = offsets.rewrite(node, self.guess_src)
        if replaced is not None:
            return replaced
        return self._function(node)

    def _sub_second_part(self, node: exp.Extract) -> exp.Expression:
        """DATEPART of ms, mcs or ns: the fraction of the second only (DuckDB counts the
        seconds too), in those units."""
        scale = _SUB_SECOND_PARTS[node.name.upper()]
        if offsets.is_struct(self.guess_src(node.expression)):  # exact to the 100 ns tick
            local = offsets.local_ticks(node.expression).sql("duckdb")
            ticks = f"({local} % 10000000)"
            part_sql = f"{ticks} * 100" if scale > 1 else f"{ticks} // {round(10 / scale)}"
            return duck_expression(f"CAST(({part_sql}) AS INTEGER)")
        micros = exp.Extract(this=exp.var("MICROSECOND"), expression=node.expression)
        fraction = exp.Mod(this=micros, expression=exp.Literal.number(1_000_000))
        if scale < 1:
            part: exp.Expression = exp.IntDiv(
                this=fraction, expression=exp.Literal.number(round(1 / scale))
            )
        else:
            part = exp.Mul(this=fraction, expression=exp.Literal.number(scale))
        return duck_expression(f"CAST(({part.sql('duckdb')}) AS INTEGER)")

    def _table(self, node: exp.Table) -> exp.Expression:
        tvp = table_types.table_reference(self.scope.variables, node)  # FROM @table_param
        if tvp is not None:
            return tvp
        if isinstance(node.this, exp.GenerateSeries):
            # T-SQL names the column ``value``; DuckDB's range() calls it ``range``.
            series = node.this
            step = series.args.get("step")
            body = duck_expression("SELECT range AS value FROM range(__a__, __b__ + 1, __c__)")
            args = {
                "__a__": series.args["start"],
                "__b__": series.args["end"],
                "__c__": step if step is not None else exp.Literal.number(1),
            }
            for col in list(body.find_all(exp.Column)):
                if col.name in args:
                    col.replace(args[col.name].copy())
            return exp.Subquery(
                this=body,
                alias=exp.TableAlias(this=exp.to_identifier(node.alias or "generate_series")),
            )
        if isinstance(node.this, exp.Anonymous) and node.this.name.lower() == "fn_helpcollations":
            return exp.Subquery(
                this=builtin_functions.helpcollations_query(),
                alias=exp.TableAlias(this=exp.to_identifier(node.alias or "fn_helpcollations")),
            )
        if not isinstance(node.this, exp.Identifier):
            return node
        name = node.name
        schema = node.db
        if not schema and not node.catalog and name.lower() in self.ctes:
            return node
        if name in self.scope.changetables:
            changetable.require_alias(node.alias)
            subquery = changetable.subquery(self, name)
            subquery.set("alias", node.args.get("alias"))
            return subquery
        database_part = node.catalog
        view = system_tables.catalog_view(schema, name) if schema else None
        alias = node.alias or name
        dynamic = self.scope.server_view(name) if schema.lower() == "sys" else None
        if dynamic is not None:
            return exp.Subquery(
                this=duck_expression(dynamic), alias=exp.TableAlias(this=exp.to_identifier(alias))
            )
        if view is not None:
            view_db = self.scope.resolve_db(database_part) if database_part else self.scope.database
            if view_db is None:
                raise errors.invalid_object(node.sql("tsql"))
            return exp.Table(
                this=exp.to_identifier(view, quoted=True),
                db=exp.to_identifier("__sys", quoted=True),
                catalog=exp.to_identifier(view_db, quoted=True),
                alias=exp.TableAlias(this=exp.to_identifier(alias)),
            )
        shown = ".".join(p for p in (database_part, schema, name) if p)
        if database_part or schema:
            parts = [database_part, schema, name] if database_part else [schema, name]
        else:
            parts = [name]
        database, _, table = self.resolve_table(parts, shown)
        if temp_tables.is_temp_name(alias):
            alias = alias.lstrip("#@")
        self.aliases[alias.lower()] = table
        return exp.Table(
            this=exp.to_identifier(table.name, quoted=True),
            db=exp.to_identifier(table.schema, quoted=True),
            catalog=exp.to_identifier(database, quoted=True),
            alias=exp.TableAlias(this=exp.to_identifier(alias)),
        )

    def _apply(self, node: exp.Lateral | exp.Join) -> exp.Expression:
        """CROSS/OUTER APPLY as DuckDB's LATERAL joins (CHANGETABLE placeholders included)."""
        if isinstance(node, exp.Lateral):
            inner = node.this
            if isinstance(inner, exp.Identifier) and inner.name in self.scope.changetables:
                changetable.require_alias(node.alias)
                node.set("this", changetable.subquery(self, inner.name))
            return node
        lateral = node.this
        if isinstance(lateral, exp.Lateral) and lateral.args.get("cross_apply") is not None:
            cross = lateral.args["cross_apply"]
            lateral.set("cross_apply", None)
            if cross:
                node.set("kind", "CROSS")
            else:
                node.set("side", "LEFT")
                node.set("on", exp.true())
        return node

    def _parameter(self, node: exp.Parameter) -> exp.Expression:
        inner = node.this
        if isinstance(inner, exp.Parameter):
            key = inner.name.lower()
            if key not in self.scope.globals:
                raise errors.must_declare("@@" + inner.name)
            return _literal(self.scope.globals[key])
        key = node.name.lower()
        if key not in self.scope.variables:
            raise errors.must_declare("@" + node.name)
        self.scope.used_params.add(key)
        return exp.Placeholder(this=key)

    def guess_src(self, node: exp.Expression) -> str:
        """DuckDB type of ``node`` when it is obvious without binding, else ''."""
        if isinstance(node, exp.Literal):
            if node.is_string:
                return "VARCHAR"
            return "DECIMAL" if "." in node.name else "INTEGER"
        if isinstance(node, exp.Placeholder) or (
            isinstance(node, exp.Parameter) and not isinstance(node.this, exp.Parameter)
        ):
            key = node.name.lower()
            declared = self.scope.variable_types.get(key)
            if declared is not None and declared.name in ("datetimeoffset", "uniqueidentifier"):
                return "VARCHAR"  # bound as text, see session._bindable
            if declared is not None:
                return sqltypes.duckdb_type(declared)
            value = self.scope.variables.get(key)
            if isinstance(value, str):
                return "VARCHAR"
            return ""
        if isinstance(node, exp.Column):
            col = self.column_def(node.table, node.name)
            if col is not None:
                return sqltypes.duckdb_type(col.type)
            if _TEXT_COLUMN.search(node.name):
                return "VARCHAR"  # a catalog view's name columns (TABLE_SCHEMA, COLUMN_NAME…)
        if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.TEXT_TYPES):
            return "VARCHAR"
        if isinstance(node, exp.Unhex):
            return "BLOB"  # a CAST to binary(n)/varbinary(n), see conversions
        if isinstance(node, exp.Cast) and node.to.is_type(*exp.DataType.INTEGER_TYPES):
            return node.to.sql("duckdb").upper()
        if isinstance(node, exp.Cast) and node.to.is_type(exp.DataType.Type.TIME_NS):
            return "TIME_NS"
        if isinstance(node, exp.Anonymous) and node.name.lower() == "mssql_time_ns_add":
            return "TIME_NS"  # DATEADD on time(7), see time_ticks
        if datetime2_ticks.is_ticks(node):
            return "UBIGINT"
        if offsets.is_built(node):
            return sqltypes.duckdb_type(SqlType("datetimeoffset"))
        if isinstance(node, exp.Cast) and node.to.this == exp.DataType.Type.DATETIME2:
            return sqltypes.duckdb_type(tsql_type(node.to))  # datetime2(7) is ticks
        if isinstance(node, exp.Convert) and node.this.this == exp.DataType.Type.DATETIME2:
            return sqltypes.duckdb_type(tsql_type(node.this))
        if isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal):
            return self.guess_src(node.this)
        if isinstance(node, exp.Max | exp.Min):
            return self.guess_src(node.this)
        if isinstance(node, exp.Subquery) and isinstance(node.this, exp.Select):
            values = node.this.expressions  # a scalar subquery: its one value's type
            return self.guess_src(values[0].unalias()) if len(values) == 1 else ""
        if isinstance(node, _TEXT_FUNCTIONS) or (
            isinstance(node, exp.Anonymous) and node.name.lower() in ("left", "rpad", "decode")
        ):
            return "VARCHAR"
        if isinstance(node, exp.DPipe | exp.Concat):
            return "VARCHAR"
        if isinstance(node, exp.HexString):
            return "BLOB"
        return ""

    def _cast(self, inner: exp.Expression, to: Any, node: exp.Expression) -> exp.Expression:
        if not isinstance(to, exp.DataType):
            return node
        target = tsql_type(to, in_cast=True)
        if sqltypes.is_clr(target):
            return clr_methods.implicit(inner, target.name, self)
        if sqltypes.is_string(target) and self._clr_type_of(inner) in clr_types.SPATIAL_TYPES:
            inner = clr_methods.spatial_text(inner)  # CAST calls ToString(): WKT without SRID
        if target.name == "sql_variant":
            return inner  # the value keeps its base type; the result column records it
        src = self.guess_src(inner)
        if src == "" and sqltypes.is_string(target):
            src = "?"
        if sqltypes.is_string(target) and isinstance(inner, exp.Column | exp.Placeholder):
            inner, src = self._scaled_text(inner, src)
        if sqltypes.is_binary(target):
            inner, src = self._string_bytes(inner, src)
        body = conversions.cast_expr("__castarg__", target, src)
        wrapped = duck_expression(body)
        if isinstance(wrapped, exp.Column):
            return inner  # already of the target's storage, e.g. datetime2(7) ticks
        for col in list(wrapped.find_all(exp.Column)):
            if col.name == "__castarg__":
                col.replace(inner.copy())
        return wrapped

    def _scaled_text(
        self, value: exp.Column | exp.Placeholder, src: str
    ) -> tuple[exp.Expression, str]:
        """A time, datetime2 or datetimeoffset column's or variable's text with as many
        fractional digits as its scale, as SQL Server writes it (DuckDB's own text drops
        trailing zeros)."""
        declared = self._declared_type(value)
        text = conversions.scaled_text(value.sql("duckdb"), declared, src) if declared else None
        return (value, src) if text is None else (duck_expression(text), "VARCHAR")

    def _string_bytes(self, inner: exp.Expression, src: str) -> tuple[exp.Expression, str]:
        """A string of known type as its bytes: UTF-16LE for nchar/nvarchar, else code page
        1252 (as SQL Server converts a string to binary)."""
        declared = self._declared_type(inner)
        if declared is None or not sqltypes.is_string(declared):
            return inner, src
        wide = declared.name in ("nchar", "nvarchar", "xml")
        encode = "mssql_utf16_bytes" if wide else "mssql_cp1252_bytes"
        return exp.Anonymous(this=encode, expressions=[inner]), "BLOB"

    def _function(self, node: exp.Expression) -> exp.Expression:
        name = ""
        args: list[exp.Expression] = []
        if isinstance(node, exp.Anonymous):
            name = str(node.this).upper()
            args = list(node.expressions)
        elif isinstance(node, exp.ObjectId):
            name, args = "OBJECT_ID", [node.this] + ([node.expression] if node.expression else [])
        elif isinstance(node, exp.CurrentSchema):
            name, args = "SCHEMA_NAME", [node.this] if node.this else []
        elif isinstance(node, exp.CurrentUser):
            return exp.Literal.string(self.scope.user)
        elif isinstance(node, exp.CurrentTimestampLTZ):
            return duck_expression(builtin_functions.SYSDATETIMEOFFSET)
        elif isinstance(node, exp.CurrentTimestamp):
            return duck_expression("mssql_datetime(CAST(current_localtimestamp() AS TIMESTAMP))")
        elif isinstance(node, exp.Uuid):
            return duck_expression("gen_random_uuid()")
        else:
            return node
        system_type = builtin_functions.type_id(args) if name == "TYPE_ID" else None
        if system_type is not None and not isinstance(system_type, exp.Null):
            return system_type
        if name == "TYPE_ID":  # user-defined table types too
            return table_types.type_id_expression(self.scope.database, self._const_arg(args, 0))
        if name in ("SWITCHOFFSET", "TODATETIMEOFFSET"):
            return self._at_offset(name, args, node)
        replaced = builtin_functions.rewrite(name, args)
        if replaced is not None:
            return replaced
        return self._builtin(name, args, node)

    def _at_offset(
        self, name: str, args: list[exp.Expression], node: exp.Expression
    ) -> exp.Expression:
        """SWITCHOFFSET (the same instant at another offset) and TODATETIMEOFFSET (a local
        date and time at an offset); the offset is '+hh:mm' text or minutes."""
        if len(args) != 2:
            raise SqlError(174, f"The {name.lower()} function requires 2 argument(s).", severity=15)
        value, zone = args
        minutes = (
            f"mssql_dto_offset({zone.sql('duckdb')})"
            if self.guess_src(zone) == "VARCHAR"
            else f"CAST({zone.sql('duckdb')} AS INTEGER)"
        )
        if name == "SWITCHOFFSET":
            to = exp.DataType.build("datetimeoffset(7)", dialect="tsql")
            utc = f"struct_extract({self._cast(value, to, node).sql('duckdb')}, 'utc')"
        else:
            to = exp.DataType.build("datetime2(7)", dialect="tsql")
            local = self._cast(value, to, node).sql("duckdb")
            utc = f"CAST({local} AS BIGINT) - CAST({minutes} AS BIGINT) * 600000000"
        return duck_expression(f"mssql_dto(mssql_dto_at({utc}, {minutes}))")

    def _const_arg(self, args: list[exp.Expression], i: int) -> Any:
        if i >= len(args):
            return None
        arg = args[i]
        if isinstance(arg, exp.National):
            return arg.name
        if isinstance(arg, exp.Literal):
            return arg.name if arg.is_string else int(float(arg.name))
        if isinstance(arg, exp.Placeholder):
            # The value is inlined, so this translation is only good for this call.
            self.scope.volatile = True
            return self.scope.variables.get(arg.name.lower())
        return None

    def object_id(self, name: str, kind: str | None = None) -> int | None:
        parts = split_name(name)
        if not parts:
            return None
        try:
            table = self.resolve_table(parts, name)[2]
        except SqlError:
            return None
        if (
            kind
            and kind.strip().upper() not in (table.kind, "")
            and not (kind.strip().upper() in ("U", "V") and kind.strip().upper() == table.kind)
        ):
            return None
        return table.object_id

    def _builtin(
        self, name: str, args: list[exp.Expression], node: exp.Expression
    ) -> exp.Expression:
        scope = self.scope
        catalog = scope.catalogs(scope.database)
        meta = f'"{scope.database}"."__sys"'
        if name == "SERVERPROPERTY":
            prop = str(self._const_arg(args, 0) or "").lower()
            return _literal(SERVER_PROPERTIES.get(prop))
        if name == "DB_NAME":
            if args:
                dbid = self._const_arg(args, 0)
                names = {i: n for n, i in databases.SYSTEM_DATABASES.items()}
                names.update({c.database_id: n for n, c in self._all_catalogs()})
                return _literal(names.get(dbid))
            return _literal(scope.database)
        if name == "DB_ID":
            target = self._const_arg(args, 0) if args else scope.database
            cat = scope.catalogs(scope.resolve_db(str(target)) or "") if target else None
            return _literal(cat.database_id if cat else None)
        if name in ("SCOPE_IDENTITY", "IDENT_CURRENT"):
            return duck_expression(
                f"CAST({scope.globals.get('identity') or 'NULL'} AS DECIMAL(38,0))"
            )
        if name == "OBJECT_ID":
            arg = self._const_arg(args, 0)
            if isinstance(arg, str):
                kind = self._const_arg(args, 1)
                found = self.object_id(arg, kind if isinstance(kind, str) else None)
                if found is None and kind is None and arg.count(".") < 2:
                    # Constraints and procedures have ids too, though not in the table catalog.
                    return builtin_functions.object_id_lookup(meta, exp.Literal.string(arg))
                return _literal(found)
            if arg is None and args and not isinstance(args[0], exp.Null | exp.Placeholder):
                return builtin_functions.object_id_lookup(meta, args[0])
            return exp.Null()
        if name == "OBJECTPROPERTY":
            return builtin_functions.object_property(meta, args, self._const_arg(args, 1))
        if name == "OBJECT_NAME":
            return duck_expression(
                f"(SELECT name FROM {meta}.objects WHERE object_id = __arg0__)"
            ).transform(
                lambda n: (
                    args[0].copy() if isinstance(n, exp.Column) and n.name == "__arg0__" else n
                )
            )
        if name == "OBJECT_SCHEMA_NAME":
            return duck_expression(
                f"(SELECT s.name FROM {meta}.objects o JOIN {meta}.schemas s "
                "ON s.schema_id = o.schema_id WHERE o.object_id = __arg0__)"
            ).transform(
                lambda n: (
                    args[0].copy() if isinstance(n, exp.Column) and n.name == "__arg0__" else n
                )
            )
        if name == "SCHEMA_NAME":
            if not args:
                return _literal("dbo")
            sid = self._const_arg(args, 0)
            names = {v[0]: v[1] for v in catalog.schemas.values()} if catalog else {}
            return _literal(names.get(sid))
        if name == "SCHEMA_ID":
            target = self._const_arg(args, 0) if args else "dbo"
            return _literal(catalog.schema_id(str(target)) if catalog else None)
        if name in changetable.FUNCTIONS:
            return changetable.function(name, args, catalog, self._const_arg(args, 2))
        if name in ("SYSUTCDATETIME", "GETUTCDATE"):
            fn = "CAST(timezone('UTC', now()) AS TIMESTAMP)"
            return duck_expression(fn if name == "SYSUTCDATETIME" else f"mssql_datetime({fn})")
        if name == "SYSDATETIME":
            return duck_expression("CAST(current_localtimestamp() AS TIMESTAMP)")
        if name in ("USER_NAME", "SUSER_NAME", "SUSER_SNAME", "ORIGINAL_LOGIN", "SESSION_USER"):
            return _literal("dbo" if name == "USER_NAME" else scope.user)
        if name == "HOST_NAME":
            return _literal("localhost")
        if name == "APP_NAME":
            return _literal("")
        if name == "DATALENGTH":
            return duck_expression("octet_length(CAST(__arg0__ AS BLOB))").transform(
                lambda n: (
                    args[0].copy() if isinstance(n, exp.Column) and n.name == "__arg0__" else n
                )
            )
        if name == "ISJSON":
            return node
        return node

    def _all_catalogs(self) -> list[tuple[str, DatabaseCatalog]]:
        out = []
        for name in self.scope.globals.get("__databases__", []):
            cat = self.scope.catalogs(name)
            if cat is not None:
                out.append((name, cat))
        return out
