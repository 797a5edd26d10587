"""The `flowservice` command line (Typer)."""
