"""`flowservice auth console-link`: print a one-time URL that signs a browser into /console."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Annotated, Literal

import typer

from flowservice.auth.tokens import parse_ttl
from flowservice.console.links import DEFAULT_LINK_TTL_SECONDS, issue_link
from flowservice.errors import FlowServiceError
from flowservice.settings import Settings, load_settings


def console_client_id(org: str) -> str:
    """The console's API key of ORG (one API key serves one org)."""
    return f"flowservice-console-{hashlib.sha256(org.encode()).hexdigest()[:12]}"


def console_link(
    org: Annotated[str, typer.Option("--org", help="IMS org id, e.g. ACME@AdobeOrg")],
    sandbox: Annotated[str, typer.Option("--sandbox", help="Sandbox to open")] = "prod",
    url: Annotated[
        str | None,
        typer.Option("--url", help="The server's base URL", show_default="http://HOST:PORT"),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="A session that can look but not change")
    ] = False,
    subject: Annotated[str, typer.Option("--subject", help="User the session speaks for")] = "",
    ttl: Annotated[str, typer.Option("--ttl", help="How long the link works: 90s, 5m")] = "5m",
    home: Annotated[
        Path | None,
        typer.Option("--home", help="Data directory", show_default="$FLOWSERVICE_HOME"),
    ] = None,
) -> None:
    """Print a console URL for ORG that works once, for a few minutes (like Jupyter's)."""
    try:
        settings = load_settings(**({"home": home} if home is not None else {}))
        scope: Literal["read", "write"] = "read" if read_only else "write"
        client_id = console_client_id(org)
        _register(settings, org, client_id)
        link = issue_link(
            settings,
            base_url=url or f"http://{settings.host}:{settings.port}",
            org_id=org,
            client_id=client_id,
            subject=subject or "console@AdobeID",
            scope=scope,
            sandbox_name=sandbox.strip().lower(),
            ttl_seconds=parse_ttl(ttl) if ttl else DEFAULT_LINK_TTL_SECONDS,
        )
    except FlowServiceError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(link)
    typer.echo("Open it in a browser; it signs in once and expires soon.", err=True)


def _register(settings: Settings, org: str, client_id: str) -> None:
    """The org and the console's client exist before the link is used (as `auth token` does)."""
    from flowservice.store import db
    from flowservice.store.repos import identity

    engine = db.engine_for(settings)
    try:
        db.upgrade(engine)
        with db.transaction(db.session_factory(engine)) as session:
            identity.ensure_org(session, org_id=org)
            identity.ensure_client(session, org_id=org, client_id=client_id)
    finally:
        engine.dispose()
