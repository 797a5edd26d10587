"""Transaction isolation levels: what ``SET TRANSACTION ISOLATION LEVEL`` changes here.

Every DuckDB transaction reads one snapshot, taken when it first reads a database, and
the emulator wraps every user transaction in one DuckDB transaction: the levels from READ
COMMITTED up read like SQL Server's SNAPSHOT inside ``BEGIN TRAN … COMMIT``, and each
autocommit statement reads one consistent state. READ UNCOMMITTED reads other sessions'
uncommitted rows (``dirty_reads``) and, while its own transaction has written nothing, the
latest commits. The level is recorded (``sys.dm_exec_sessions``), and
SNAPSHOT is refused, as SQL Server refuses it, in a database without
``ALLOW_SNAPSHOT_ISOLATION ON`` (error 3952 at the first table the statement reads).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from sqlglot import exp

from mssql_emulator.contract import SqlError
from mssql_emulator.engine.tsql_text import parse_tsql, split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession
    from mssql_emulator.engine.translate import Translator

ISOLATION = re.compile(
    r"^SET\s+TRANSACTION\s+ISOLATION\s+LEVEL\s+(READ\s+UNCOMMITTED|READ\s+COMMITTED|"
    r"REPEATABLE\s+READ|SNAPSHOT|SERIALIZABLE)\s*;?$",
    re.I,
)
LEVELS = {
    "READ UNCOMMITTED": 1,
    "READ COMMITTED": 2,
    "REPEATABLE READ": 3,
    "SERIALIZABLE": 4,
    "SNAPSHOT": 5,
}
SNAPSHOT = LEVELS["SNAPSHOT"]
READ_UNCOMMITTED = LEVELS["READ UNCOMMITTED"]


def level_code(text: str) -> int:
    return LEVELS[" ".join(text.upper().split())]


def check_snapshot_access(session: DuckDBSession, translator: Translator, text: str) -> None:
    """Error 3952 if a SNAPSHOT statement reads a table of a database not allowing it."""
    try:
        node = parse_tsql(text)
    except SqlError:
        return  # the statement itself reports its syntax error
    ctes = {cte.alias_or_name.lower() for cte in node.find_all(exp.CTE)}
    for table in node.find_all(exp.Table):
        name = table.name
        if not isinstance(table.this, exp.Identifier) or name.lower() in ctes:
            continue
        call = translator.scope.changetables.get(name)
        parts = (
            split_name(call.target)
            if call is not None
            else [p for p in (table.catalog, table.db, name) if p]
        )
        if len(parts) > 1 and parts[-2].lower() in ("sys", "information_schema"):
            continue
        try:
            database, catalog, _ = translator.resolve_table(parts, name)
        except SqlError:
            continue  # reported when the statement runs
        if not catalog.allow_snapshot_isolation:
            raise SqlError(
                3952,
                f"Snapshot isolation transaction failed accessing database '{database}' because "
                "snapshot isolation is not allowed in this database. Use ALTER DATABASE to "
                "allow snapshot isolation.",
            )
