"""The SQL engine of the emulator: T-SQL on DuckDB behind ``mssql_emulator.contract``."""

from __future__ import annotations

from mssql_emulator.engine.engine import DuckDBEngine
from mssql_emulator.engine.session import DuckDBSession

__all__ = ["DuckDBEngine", "DuckDBSession"]
