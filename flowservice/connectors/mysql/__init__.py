"""MySQL and MariaDB source connectors."""
