"""``sp_tablecollations_100``: each column's collation, as bulk-copy clients ask for it."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pyarrow as pa

from mssql_emulator.contract import Column, ResultSet, SqlError, SqlType, StatementResult
from mssql_emulator.engine import sqltypes
from mssql_emulator.engine.catalog import TableDef
from mssql_emulator.engine.system_tables import COLLATION
from mssql_emulator.engine.tsql_text import split_name

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

PROCEDURE = "sp_tablecollations_100"
# TDS's five collation bytes: LCID 0x0409 with ignore-case/kana/width flags, sort id 52.
TDS_COLLATION = bytes.fromhex("0904d00034")

_COLUMNS = [
    Column("colid", SqlType("int"), nullable=False),
    Column("name", SqlType("nvarchar", length=128), nullable=False),
    Column("tds_collation", SqlType("binary", length=5)),
    Column("collation", SqlType("nvarchar", length=128)),
]
_ARROW = [pa.int32(), pa.string(), pa.binary(), pa.string()]


def table_collations(session: DuckDBSession, name: str) -> StatementResult:
    """One row per column of ``name`` in column order; NULL collations for non-text columns."""
    table = _table(session, name)
    texts = [sqltypes.is_collated(c.type) for c in table.columns] if table else []
    values = [
        list(range(1, len(texts) + 1)),
        [c.name for c in table.columns] if table else [],
        [TDS_COLLATION if text else None for text in texts],
        [COLLATION if text else None for text in texts],
    ]
    arrays = [pa.array(v, type=t) for v, t in zip(values, _ARROW, strict=True)]
    batch = pa.RecordBatch.from_arrays(arrays, names=[c.name for c in _COLUMNS])
    return StatementResult(
        result_set=ResultSet(list(_COLUMNS), iter([batch])),
        rowcount=len(texts),
        return_status=0,
    )


def _table(session: DuckDBSession, name: str) -> TableDef | None:
    """The table ``name`` names, None when there is none (SQL Server then returns no rows)."""
    try:
        return session.translator().resolve_table(split_name(name), name)[2]
    except SqlError:
        return None
