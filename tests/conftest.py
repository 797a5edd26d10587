"""Fixtures shared by every tier: the real HTTP app over SQLite and PostgreSQL.

The helpers live in ``service_harness`` so test modules can import them by a
name no other ``conftest`` shadows.
"""

from service_harness import api, database_url, postgres_database, server

__all__ = ["api", "database_url", "postgres_database", "server"]
