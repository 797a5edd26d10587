"""Jinja2 templates of the console and the filters they use (times, durations, counts)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from flowservice.console.session_store import ConsoleSession

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# the pages hold no third-party content: nothing loads from elsewhere, no framing
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def epoch_ms_text(value: Any) -> str:
    """``2026-12-03 14:05:09 UTC`` from epoch milliseconds; ``—`` when absent."""
    if not isinstance(value, int | float) or isinstance(value, bool) or value <= 0:
        return "—"
    return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration_text(started: Any, completed: Any) -> str:
    """``1 h 2 min``, ``4.2 s`` between two epoch-ms times; ``—`` when unknown."""
    if not isinstance(started, int | float) or not isinstance(completed, int | float):
        return "—"
    seconds = max(0.0, (completed - started) / 1000)
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def count_text(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else "—"


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = epoch_ms_text
    env.filters["count"] = count_text
    env.globals["duration"] = duration_text
    return env


_ENV = _environment()


def render(
    request: Request,
    template: str,
    *,
    user: ConsoleSession | None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A page of the console with the signed-in user (None on the sign-in pages)."""
    html = _ENV.get_template(template).render(
        user=user,
        can_write=user is not None and user.caller.can_write,
        csrf=user.csrf_token if user is not None else "",
        path=request.url.path,
        **context,
    )
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
