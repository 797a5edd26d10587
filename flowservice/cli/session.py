"""An SDK client built from a profile, and the one place SDK errors become exit status 2."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer

from flowservice.cli.profiles import ProfileError, load_profile
from flowservice.client import Client, FlowServiceError
from flowservice.secrets import redact

EXIT_OK = 0
EXIT_RUN_FAILED = 1
EXIT_ERROR = 2


class _StderrLines(logging.Handler):
    # writes to whatever sys.stderr is at the time (a handler built once would keep the first)
    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(f"warning: {record.getMessage()}", err=True)


def show_retries() -> None:
    """The SDK's retry warnings as ``warning: ...`` lines on stderr (once per process)."""
    logger = logging.getLogger("flowservice.client")
    if not any(isinstance(h, _StderrLines) for h in logger.handlers):
        logger.addHandler(_StderrLines(logging.WARNING))


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


@contextmanager
def open_client(profile: str | None) -> Iterator[Client]:
    """The profile's client; a profile problem or an SDK error ends the command with 2."""
    try:
        chosen = load_profile(profile)
    except ProfileError as exc:
        fail(str(exc))
    secrets = (chosen.token,)
    show_retries()
    try:
        with Client(
            chosen.url,
            token=chosen.token,
            api_key=chosen.api_key,
            org=chosen.org,
            sandbox=chosen.sandbox,
        ) as client:
            yield client
    except FlowServiceError as exc:
        fail(redact(str(exc), secrets))
