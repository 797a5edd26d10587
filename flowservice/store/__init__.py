"""The metadata store: SQLAlchemy tables, Alembic migrations and repository functions."""
