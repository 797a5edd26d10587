"""Repository functions: the only code that reads and writes the metadata tables."""
