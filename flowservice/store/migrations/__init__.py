"""Alembic migrations of the metadata DB, applied on start."""
