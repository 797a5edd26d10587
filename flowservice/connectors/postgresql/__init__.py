"""PostgreSQL source connector."""
