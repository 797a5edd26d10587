"""The system stored procedures drivers call (``sp_datatype_info_100`` and friends)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mssql_emulator.contract import SqlError, StatementResult
from mssql_emulator.engine import change_tracking_admin

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

# ODBC SQLGetTypeInfo columns; an empty answer makes drivers use their own defaults.
_TYPE_INFO = (
    "SELECT CAST(NULL AS VARCHAR) AS TYPE_NAME, CAST(NULL AS SMALLINT) AS DATA_TYPE, "
    'CAST(NULL AS INTEGER) AS "PRECISION", CAST(NULL AS VARCHAR) AS LITERAL_PREFIX, '
    "CAST(NULL AS VARCHAR) AS LITERAL_SUFFIX, CAST(NULL AS VARCHAR) AS CREATE_PARAMS, "
    "CAST(NULL AS SMALLINT) AS NULLABLE, CAST(NULL AS SMALLINT) AS CASE_SENSITIVE, "
    "CAST(NULL AS SMALLINT) AS SEARCHABLE, CAST(NULL AS SMALLINT) AS UNSIGNED_ATTRIBUTE, "
    "CAST(NULL AS SMALLINT) AS MONEY, CAST(NULL AS SMALLINT) AS AUTO_INCREMENT, "
    "CAST(NULL AS VARCHAR) AS LOCAL_TYPE_NAME, CAST(NULL AS SMALLINT) AS MINIMUM_SCALE, "
    "CAST(NULL AS SMALLINT) AS MAXIMUM_SCALE, CAST(NULL AS SMALLINT) AS SQL_DATA_TYPE, "
    "CAST(NULL AS SMALLINT) AS SQL_DATETIME_SUB, CAST(NULL AS INTEGER) AS NUM_PREC_RADIX, "
    "CAST(NULL AS SMALLINT) AS INTERVAL_PRECISION, CAST(NULL AS SMALLINT) AS USERTYPE "
    "WHERE false"
)


def run(session: DuckDBSession, name: str, args: str) -> StatementResult:
    lowered = name.lower()
    if lowered in ("sp_datatype_info_100", "sp_datatype_info"):
        return session.select(_TYPE_INFO, None)
    if lowered in ("sp_reset_connection", "sp_set_session_context"):
        return StatementResult()
    if lowered == change_tracking_admin.CLEANUP_PROCEDURE:
        return change_tracking_admin.cleanup(session, args)
    raise SqlError(2812, f"Could not find stored procedure '{name}'.")
