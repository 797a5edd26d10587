"""The `flowservice` command line (Typer)."""

from flowservice.cli.allocator import return_freed_memory

return_freed_memory()  # before any import of pyarrow (see allocator.py)
