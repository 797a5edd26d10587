"""`python -m flowservice` runs the CLI."""

from __future__ import annotations

from flowservice.cli.main import main

main()
