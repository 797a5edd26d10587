"""`flowservice worker [--concurrency N]`: execute runs sent through the broker."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowservice.errors import FlowServiceError
from flowservice.settings import Settings, load_settings


def _worker_settings(home: Path | None) -> Settings:
    try:
        settings = load_settings(**({} if home is None else {"home": home}))
    except FlowServiceError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    problem = _refusal(settings)
    if problem:
        typer.echo(f"error: {problem}", err=True)
        raise typer.Exit(2)
    return settings


def _refusal(settings: Settings) -> str | None:
    """Why this process cannot be a worker with these settings (None: it can)."""
    if settings.executor != "celery":
        return "a worker needs FLOWSERVICE_EXECUTOR=celery and FLOWSERVICE_BROKER_URL"
    sqlite = settings.sqlite_path
    if sqlite is not None and not sqlite.exists():
        # a worker creating its own empty SQLite file would wait for runs nobody can see
        return (
            f"no metadata database at {sqlite}: point --home (FLOWSERVICE_HOME) at the "
            "servers' data directory or FLOWSERVICE_DATABASE_URL at their database"
        )
    return None


def worker(
    concurrency: Annotated[
        int, typer.Option("--concurrency", min=1, help="Runs executed at once (threads)")
    ] = 2,
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Data directory (default $FLOWSERVICE_HOME or ./.flowservice)"),
    ] = None,
) -> None:
    """Execute runs sent through the broker (FLOWSERVICE_EXECUTOR=celery), until stopped."""
    from flowservice.core import Core
    from flowservice.flows.executors.worker import serve_worker
    from flowservice.log_format import configure_logging

    settings = _worker_settings(home)
    configure_logging(settings.log_level, settings.log_format)
    try:
        core = Core.start(settings)
    except FlowServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    try:
        serve_worker(core, concurrency=concurrency)
    finally:
        core.close()
