"""A SQL Server-compatible (TDS 7.4) server backed by DuckDB, for tests, demos and benchmarks."""
