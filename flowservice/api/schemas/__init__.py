"""Wire models (camelCase JSON), kept apart from the ORM tables."""
