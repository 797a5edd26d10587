"""Test-side adapters, one per source; ``CASES`` lists them as ``module:Class``.

Listed lazily so a case whose driver is not installed is skipped, not a collection error.
"""

CASES: tuple[str, ...] = (
    "sqlserver:SqlServerCase",
    "postgresql:PostgresCase",
    "mysql:MariaDbCase",
    "mysql:MySqlCase",
)
