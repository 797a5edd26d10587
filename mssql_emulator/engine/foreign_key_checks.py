"""FOREIGN KEY enforcement: error 547 and the ON DELETE / ON UPDATE actions.

A statement touching a table with foreign keys gets a ``Plan``: read-only checks (one
DuckDB query per constraint, an anti-join of the statement's rows against the other side)
and the cascaded writes. ``dml.run_tracked`` applies the plan inside the statement's write,
before the statement itself: every check runs before anything is written, so a failing
statement needs nothing undone, and cascades still see the parent rows they follow.
Tables without foreign keys get no plan and pay nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from mssql_emulator.contract import SqlError
from mssql_emulator.engine import temp_tables
from mssql_emulator.engine.catalog import ColumnDef, ForeignKeyDef, TableDef

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

NO_ACTION, CASCADE, SET_NULL, SET_DEFAULT = 0, 1, 2, 3
MAX_CASCADE_DEPTH = 32


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


@dataclass(frozen=True)
class Check:
    """A query returning a row when ``message`` applies."""

    sql: str
    message: str


@dataclass
class Plan:
    checks: list[Check] = field(default_factory=list)
    writes: list[str] = field(default_factory=list)

    def apply(self, session: DuckDBSession) -> None:
        for check in self.checks:
            if session.relation(check.sql).fetchall():
                raise SqlError(547, check.message, state=0)
        for sql in self.writes:
            session.run(sql)


@dataclass(frozen=True)
class Rows:
    """Rows of ``table`` a statement changes: ``SELECT … FROM {source} {where}``."""

    table: TableDef
    source: str
    alias: str
    where: str

    def select(self, expressions: Iterable[str]) -> str:
        return f"SELECT {', '.join(expressions)} FROM {self.source} {self.where}"

    def columns(self, names: Iterable[str]) -> str:
        return self.select(f"{self.alias}.{_q(n)} AS __r{i}" for i, n in enumerate(names))


# -- the catalog's foreign keys ---------------------------------------------------------------


def ensure_loaded(session: DuckDBSession, database: str, table: TableDef) -> None:
    """Fill ``table.foreign_keys`` / ``referenced_by`` from ``__sys`` when not known yet."""
    if table.foreign_keys is not None and table.referenced_by is not None:
        return
    if database == temp_tables.TEMP_DATABASE or table.kind != "U":
        table.foreign_keys = table.foreign_keys or []
        table.referenced_by = table.referenced_by or []
        return
    s = f'{_q(database)}."__sys"'
    found = session.relation(
        "SELECT f.name, f.parent_object_id, f.referenced_object_id, f.delete_action, "
        "f.update_action, list(pc.name ORDER BY fc.constraint_column_id), "
        "list(rc.name ORDER BY fc.constraint_column_id) "
        f"FROM {s}.foreign_keys f "
        f"JOIN {s}.foreign_key_columns fc ON fc.constraint_object_id = f.object_id "
        f"JOIN {s}.columns pc ON pc.object_id = fc.parent_object_id "
        "AND pc.column_id = fc.parent_column_id "
        f"JOIN {s}.columns rc ON rc.object_id = fc.referenced_object_id "
        "AND rc.column_id = fc.referenced_column_id "
        f"WHERE {table.object_id} IN (f.parent_object_id, f.referenced_object_id) "
        "GROUP BY ALL ORDER BY f.name"
    ).fetchall()
    keys = [
        ForeignKeyDef(name, child, tuple(cols), parent, tuple(refs), on_delete, on_update)
        for name, child, parent, on_delete, on_update, cols, refs in found
    ]
    if table.foreign_keys is None:
        table.foreign_keys = [k for k in keys if k.child_id == table.object_id]
    if table.referenced_by is None:
        table.referenced_by = [k for k in keys if k.referenced_id == table.object_id]


def register(child: TableDef, parent: TableDef, key: ForeignKeyDef) -> None:
    """Record a new foreign key on both tables (a not yet loaded side loads it later)."""
    if child.foreign_keys is not None:
        child.foreign_keys.append(key)
    if parent.referenced_by is not None:
        parent.referenced_by.append(key)


def set_enabled(
    session: DuckDBSession,
    database: str,
    table: TableDef,
    names: list[str] | None,
    *,
    enabled: bool,
    validate: bool = False,
) -> None:
    """``ALTER TABLE … [WITH CHECK] CHECK | NOCHECK CONSTRAINT names | ALL`` (``names`` None).

    The switch lives in the catalog only: a rebuilt catalog has every key enabled again.
    """
    ensure_loaded(session, database, table)
    own = table.foreign_keys or []
    known = {k.name.lower() for k in own}
    for name in names or []:
        if name.lower() not in known:
            raise SqlError(4917, f"Constraint '{name}' does not exist.")
    wanted = {n.lower() for n in names} if names is not None else known
    chosen = [k for k in own if k.name.lower() in wanted]
    if enabled and validate:
        for key in chosen:
            _validate(session, database, table, key)
    for key in chosen:
        parent = _table(session, database, key.referenced_id)
        if parent is not None:
            ensure_loaded(session, database, parent)
        mirrored = [k for k in (parent.referenced_by or []) if k.name == key.name] if parent else []
        for copy in [key, *mirrored]:
            copy.enabled = enabled


def _validate(session: DuckDBSession, database: str, table: TableDef, key: ForeignKeyDef) -> None:
    """``WITH CHECK``: the rows already there must satisfy the key."""
    parent = _table(session, database, key.referenced_id)
    if parent is None:
        return
    rows = Rows(table, f"{_qualified(database, table)} AS __t", "__t", "")
    new_rows = rows.select(f"__t.{_q(c)} AS __v{i}" for i, c in enumerate(key.columns))
    sql = _orphans(database, parent, new_rows, len(key.columns), list(range(len(key.columns))), key)
    if session.relation(sql).fetchall():
        message = _conflict(
            "ALTER TABLE", "FOREIGN KEY", key, database, parent, key.referenced_columns
        )
        raise SqlError(547, message, state=0)


def _table(session: DuckDBSession, database: str, object_id: int) -> TableDef | None:
    catalog = session.catalog(database)
    return catalog.by_id.get(object_id) if catalog is not None else None


def _outgoing(session: DuckDBSession, database: str, table: TableDef) -> list[ForeignKeyDef]:
    ensure_loaded(session, database, table)
    return [k for k in table.foreign_keys or [] if k.enabled]


def _incoming(
    session: DuckDBSession, database: str, table: TableDef
) -> list[tuple[ForeignKeyDef, TableDef]]:
    ensure_loaded(session, database, table)
    out = []
    for key in table.referenced_by or []:
        child = _table(session, database, key.child_id) if key.enabled else None
        if child is not None:
            ensure_loaded(session, database, child)
            out.append((key, child))
    return out


# -- messages ---------------------------------------------------------------------------------


def _conflict(
    verb: str,
    kind: str,
    key: ForeignKeyDef,
    database: str,
    table: TableDef,
    columns: tuple[str, ...],
) -> str:
    column = f", column '{columns[0]}'" if len(columns) == 1 else ""
    return (
        f'The {verb} statement conflicted with the {kind} constraint "{key.name}". '
        f'The conflict occurred in database "{database}", table "{table.schema}.{table.name}"'
        f"{column}."
    )


def _qualified(database: str, table: TableDef) -> str:
    return f"{_q(database)}.{_q(table.schema)}.{_q(table.name)}"


# -- INSERT and UPDATE of referencing rows ----------------------------------------------------


def _orphans(
    database: str,
    parent: TableDef,
    new_rows: str,
    width: int,
    positions: list[int],
    key: ForeignKeyDef,
    also: str = "",
) -> str:
    """Rows of ``new_rows`` (columns ``__v0…``) whose non-NULL key has no parent row."""
    names = ", ".join(f"__v{i}" for i in range(width))
    values = [f"__n.__v{p}" for p in positions]
    present = " AND ".join(f"{v} IS NOT NULL" for v in values)
    match = " AND ".join(
        f"__p.{_q(r)} = {v}" for r, v in zip(key.referenced_columns, values, strict=True)
    )
    return (
        f"SELECT 1 FROM ({new_rows}) AS __n({names}) WHERE {present} AND NOT EXISTS "
        f"(SELECT 1 FROM {_qualified(database, parent)} AS __p WHERE {match}){also} LIMIT 1"
    )


def insert_plan(
    session: DuckDBSession,
    database: str,
    table: TableDef,
    columns: list[ColumnDef],
    new_rows: str,
) -> Plan | None:
    """Checks for an INSERT of ``new_rows`` (one column per entry of ``columns``)."""
    keys = _outgoing(session, database, table)
    if not keys:
        return None
    plan = Plan()
    names = [c.name.lower() for c in columns]
    for key in keys:
        parent = _table(session, database, key.referenced_id)
        if parent is None or any(c.lower() not in names for c in key.columns):
            continue  # a column left to its default (NULL unless declared) is not checked
        positions = [names.index(c.lower()) for c in key.columns]
        also = (
            _self_insert(new_rows, len(columns), names, positions, key) if parent is table else ""
        )
        sql = _orphans(database, parent, new_rows, len(columns), positions, key, also)
        plan.checks.append(
            Check(
                sql,
                _conflict("INSERT", "FOREIGN KEY", key, database, parent, key.referenced_columns),
            )
        )
    return plan if plan.checks else None


def _self_insert(
    new_rows: str, width: int, names: list[str], positions: list[int], key: ForeignKeyDef
) -> str:
    """A self-referencing INSERT may point at rows it inserts itself."""
    if any(r.lower() not in names for r in key.referenced_columns):
        return ""
    refs = [names.index(r.lower()) for r in key.referenced_columns]
    aliases = ", ".join(f"__v{i}" for i in range(width))
    match = " AND ".join(f"__m.__v{r} = __n.__v{p}" for r, p in zip(refs, positions, strict=True))
    return f" AND NOT EXISTS (SELECT 1 FROM ({new_rows}) AS __m({aliases}) WHERE {match})"


def _statement_rows(table: TableDef, node: exp.Update | exp.Delete) -> Rows:
    """The rows an UPDATE (with its FROM) or a DELETE (with its USING) changes."""
    target = node.this
    alias = exp.to_identifier(target.alias_or_name, quoted=True).sql("duckdb")
    sources = [target.sql("duckdb")]
    from_ = node.args.get("from_") if isinstance(node, exp.Update) else None
    if from_ is not None:
        sources.append(from_.sql("duckdb")[len("FROM ") :])
    sources += [u.sql("duckdb") for u in node.args.get("using") or []]
    source = ", ".join(sources)
    where = node.args.get("where")
    return Rows(table, source, alias, where.sql("duckdb") if where is not None else "")


def update_plan(
    session: DuckDBSession, database: str, table: TableDef, update: exp.Update
) -> Plan | None:
    """Checks and cascades for an UPDATE (already rewritten for DuckDB)."""
    outgoing = _outgoing(session, database, table)
    incoming = _incoming(session, database, table)
    if not outgoing and not incoming:
        return None
    new_values = {eq.this.name.lower(): eq.expression for eq in update.expressions}
    rows = _statement_rows(table, update)
    plan = Plan()
    for key in outgoing:
        if not any(c.lower() in new_values for c in key.columns):
            continue
        parent = _table(session, database, key.referenced_id)
        if parent is None:
            continue
        values = [_new_value(rows, new_values, c) for c in key.columns]
        new_rows = rows.select(f"{v} AS __v{i}" for i, v in enumerate(values))
        sql = _orphans(database, parent, new_rows, len(values), list(range(len(values))), key)
        plan.checks.append(
            Check(
                sql,
                _conflict("UPDATE", "FOREIGN KEY", key, database, parent, key.referenced_columns),
            )
        )
    for key, child in incoming:
        if any(r.lower() in new_values for r in key.referenced_columns):
            _changed_keys(plan, database, rows, key, child, new_values)
    return plan if plan.checks or plan.writes else None


def _new_value(rows: Rows, new_values: dict[str, exp.Expression], column: str) -> str:
    value = new_values.get(column.lower())
    return f"({value.sql('duckdb')})" if value is not None else f"{rows.alias}.{_q(column)}"


def _changed_keys(
    plan: Plan,
    database: str,
    rows: Rows,
    key: ForeignKeyDef,
    child: TableDef,
    new_values: dict[str, exp.Expression],
) -> None:
    """An UPDATE changing referenced key values: refuse, cascade or clear the children."""
    refs = key.referenced_columns
    old = [f"{rows.alias}.{_q(r)} AS __o{i}" for i, r in enumerate(refs)]
    new = [f"{_new_value(rows, new_values, r)} AS __n{i}" for i, r in enumerate(refs)]
    differs = " OR ".join(f"__k.__o{i} IS DISTINCT FROM __k.__n{i}" for i in range(len(refs)))
    changed = f"SELECT * FROM ({rows.select(old + new)}) AS __k WHERE {differs}"
    alias = "__c"
    match = " AND ".join(f"__k.__o{i} = {alias}.{_q(c)}" for i, c in enumerate(key.columns))
    target = f"{_qualified(database, child)} AS {alias}"
    if key.on_update == NO_ACTION:
        kind = "SAME TABLE REFERENCE" if child is rows.table else "REFERENCE"
        plan.checks.append(
            Check(
                f"SELECT 1 FROM {target} WHERE EXISTS (SELECT 1 FROM ({changed}) AS __k "
                f"WHERE {match}) LIMIT 1",
                _conflict("UPDATE", kind, key, database, child, key.columns),
            )
        )
        return
    if key.on_update == CASCADE:
        sets = ", ".join(f"{_q(c)} = __k.__n{i}" for i, c in enumerate(key.columns))
        plan.writes.append(f"UPDATE {target} SET {sets} FROM ({changed}) AS __k WHERE {match}")
        return
    plan.writes.append(
        f"UPDATE {target} SET {_cleared(key, key.on_update)} "
        f"WHERE EXISTS (SELECT 1 FROM ({changed}) AS __k WHERE {match})"
    )


def _cleared(key: ForeignKeyDef, action: int) -> str:
    value = "NULL" if action == SET_NULL else "DEFAULT"
    return ", ".join(f"{_q(c)} = {value}" for c in key.columns)


# -- DELETE of referenced rows ----------------------------------------------------------------


def delete_plan(
    session: DuckDBSession, database: str, table: TableDef, delete: exp.Delete
) -> Plan | None:
    """Checks and cascades for a DELETE (already rewritten for DuckDB)."""
    if not _incoming(session, database, table):
        return None
    plan = Plan()
    _deleted(session, plan, database, _statement_rows(table, delete), 0)
    return plan if plan.checks or plan.writes else None


def _deleted(session: DuckDBSession, plan: Plan, database: str, rows: Rows, depth: int) -> None:
    """Plan what deleting ``rows`` does to the rows referencing them, deepest first."""
    if depth > MAX_CASCADE_DEPTH:
        raise SqlError(
            1785, f"Cascading foreign keys on '{rows.table.name}' are nested too deeply."
        )
    for key, child in _incoming(session, database, rows.table):
        alias = f"__c{depth}"
        keys = rows.columns(key.referenced_columns)
        match = " AND ".join(f"__k.__r{i} = {alias}.{_q(c)}" for i, c in enumerate(key.columns))
        where = f"WHERE EXISTS (SELECT 1 FROM ({keys}) AS __k WHERE {match})"
        target = f"{_qualified(database, child)} AS {alias}"
        if key.on_delete == NO_ACTION:
            kind = "REFERENCE"
            if child is rows.table:
                kind = "SAME TABLE REFERENCE"
                where += f" AND {alias}.rowid NOT IN ({rows.select([f'{rows.alias}.rowid'])})"
            plan.checks.append(
                Check(
                    f"SELECT 1 FROM {target} {where} LIMIT 1",
                    _conflict("DELETE", kind, key, database, child, key.columns),
                )
            )
        elif key.on_delete == CASCADE:
            _deleted(session, plan, database, Rows(child, target, alias, where), depth + 1)
            plan.writes.append(f"DELETE FROM {target} {where}")
        else:
            plan.writes.append(f"UPDATE {target} SET {_cleared(key, key.on_delete)} {where}")
