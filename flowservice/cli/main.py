"""`flowservice serve | worker | auth token | sandboxes ... | keys rotate | db upgrade`, and the
resource commands on the SDK (`login`, `profiles`, `connections`, `flows`, `runs`, `datasets`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from flowservice.cli import flow_actions, previews, resources
from flowservice.cli.console_link import console_link
from flowservice.cli.flows import flows_app
from flowservice.cli.help_text import plain_metavars
from flowservice.cli.login import login, profiles_app
from flowservice.cli.worker import worker
from flowservice.errors import FlowServiceError
from flowservice.settings import Settings, load_settings

app = typer.Typer(help="flowservice: a self-hosted Flow Service API.", no_args_is_help=True)
auth_app = typer.Typer(help="Access tokens.", no_args_is_help=True)
sandboxes_app = typer.Typer(help="Sandboxes of an organization.", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys of stored secrets.", no_args_is_help=True)
db_app = typer.Typer(help="The metadata database.", no_args_is_help=True)
app.add_typer(auth_app, name="auth")
app.add_typer(sandboxes_app, name="sandboxes")
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
app.add_typer(flows_app, name="flows")
app.add_typer(resources.connections_app, name="connections")
app.add_typer(resources.runs_app, name="runs")
app.add_typer(resources.datasets_app, name="datasets")
app.add_typer(profiles_app, name="profiles")
app.command()(worker)
app.command()(login)
auth_app.command("console-link")(console_link)
resources.register_all()
flow_actions.register_all()
previews.register_all()

_DEFAULTS = Settings.model_fields
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home",
        help="Data directory",
        show_default="$FLOWSERVICE_HOME or ./.flowservice",
    ),
]
OrgOption = Annotated[str, typer.Option("--org", help="IMS org id, e.g. ACME@AdobeOrg")]


def _settings(home: Path | None, **extra: Any) -> Settings:
    overrides: dict[str, Any] = {k: v for k, v in extra.items() if v is not None}
    if home is not None:
        overrides["home"] = home
    try:
        return load_settings(**overrides)
    except FlowServiceError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None


def _fail(exc: FlowServiceError) -> None:
    typer.echo(f"error: {exc.message}", err=True)
    raise typer.Exit(1)


@app.command()
def serve(
    host: Annotated[
        str | None,
        typer.Option(
            help="Interface to listen on ($FLOWSERVICE_HOST)",
            show_default=str(_DEFAULTS["host"].default),
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            help="TCP port ($FLOWSERVICE_PORT)", show_default=str(_DEFAULTS["port"].default)
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Start the API server (migrations are applied first)."""
    import uvicorn

    from flowservice.api.app import create_app

    settings = _settings(home, host=host, port=port)
    try:
        application = create_app(settings)
    except FlowServiceError as exc:
        _fail(exc)
        return
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="info")


@auth_app.command("token")
def auth_token(
    org: OrgOption,
    client_id: Annotated[str, typer.Option("--client-id", help="API key")] = "flowservice-cli",
    subject: Annotated[str, typer.Option("--subject", help="User the token speaks for")] = "",
    scope: Annotated[str, typer.Option("--scope", help="read or write")] = "write",
    ttl: Annotated[str | None, typer.Option("--ttl", help="Lifetime: 3600, 30m, 12h, 7d")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print token, apiKey, orgId, expiresAt")
    ] = False,
    home: HomeOption = None,
) -> None:
    """Print an access token for ORG (the org and client are registered if new)."""
    from flowservice.cli.local_tokens import mint_token

    if scope not in ("read", "write"):
        typer.echo("error: --scope must be read or write", err=True)
        raise typer.Exit(2)
    settings = _settings(home)
    try:
        issued = mint_token(
            settings,
            org=org,
            client_id=client_id,
            subject=subject,
            scope="write" if scope == "write" else "read",
            ttl=ttl,
        )
    except FlowServiceError as exc:
        _fail(exc)
        return
    if as_json:
        typer.echo(json.dumps(issued.as_json()))
        return
    typer.echo(issued.access_token)
    # stdout stays the bare token (for $(...)); the header that goes with it is a hint on stderr
    typer.echo(f"x-api-key: {issued.api_key}  x-gw-ims-org-id: {issued.org_id}", err=True)
    typer.echo(issued.signer_note(), err=True)


def _with_session(home: Path | None) -> Any:
    from flowservice.store import db

    settings = _settings(home)
    engine = db.engine_for(settings)
    db.upgrade(engine)
    return engine, db.transaction(db.session_factory(engine))


@sandboxes_app.command("list")
def sandboxes_list(org: OrgOption, home: HomeOption = None) -> None:
    """List the sandboxes of ORG."""
    from flowservice.store.repos import identity

    engine, tx = _with_session(home)
    with tx as session:
        identity.ensure_org(session, org_id=org)
        typer.echo("NAME\tTYPE\tTITLE")
        for sandbox in identity.list_sandboxes(session, org_id=org):
            typer.echo(f"{sandbox.name}\t{sandbox.type}\t{sandbox.title}")
    engine.dispose()


@sandboxes_app.command("create")
def sandboxes_create(
    org: OrgOption,
    name: Annotated[str, typer.Argument(help="Lower-case name")],
    title: Annotated[str | None, typer.Option(help="Display name")] = None,
    type: Annotated[str, typer.Option(help="development or production")] = "development",
    home: HomeOption = None,
) -> None:
    """Create a sandbox in ORG."""
    from flowservice.store.repos import identity

    engine, tx = _with_session(home)
    try:
        with tx as session:
            identity.ensure_org(session, org_id=org)
            identity.create_sandbox(
                session, org_id=org, name=name, title=title or name, type=type, actor="cli"
            )
    except FlowServiceError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    typer.echo(name)


@sandboxes_app.command("delete")
def sandboxes_delete(
    org: OrgOption,
    name: Annotated[str, typer.Argument(help="Sandbox to delete with all its resources")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation")] = False,
    home: HomeOption = None,
) -> None:
    """Delete a sandbox of ORG and everything in it (asks first unless --yes)."""
    from flowservice.store.repos import identity

    if not yes:
        if not sys.stdin.isatty():
            typer.echo(
                f"error: deleting sandbox {name!r} removes every resource in it; "
                "pass --yes to confirm when not at a terminal",
                err=True,
            )
            raise typer.Exit(2)
        if not typer.confirm(f"Delete sandbox {name!r} of {org} and everything in it?"):
            typer.echo("nothing deleted", err=True)
            raise typer.Exit(1)

    engine, tx = _with_session(home)
    try:
        with tx as session:
            identity.delete_sandbox(session, org_id=org, name=name)
    except FlowServiceError as exc:
        _fail(exc)
    finally:
        engine.dispose()


@keys_app.command("rotate")
def keys_rotate(
    home: HomeOption = None,
    drop_old: Annotated[
        bool, typer.Option("--drop-old/--keep-old", help="Forget old keys after re-encrypting")
    ] = True,
) -> None:
    """Add a new key, re-encrypt every stored secret with it, then drop the old keys."""
    from flowservice.secrets import add_key_to_file, drop_old_keys
    from flowservice.store.repos.resources import all_secret_rows

    settings = _settings(home)
    if settings.secret_keys is not None:
        typer.echo(
            "error: keys come from FLOWSERVICE_SECRET_KEYS; put a new key first in that list "
            "and run this command with the key file setting instead",
            err=True,
        )
        raise typer.Exit(2)
    from flowservice.store import db

    engine, _tx = _with_session(home)
    box = add_key_to_file(settings.secret_key_file)
    count = 0
    try:
        # a second pass catches rows a running server wrote while the first pass ran
        for _pass in range(2):
            with db.transaction(db.session_factory(engine)) as session:
                rows = all_secret_rows(session)
                for row in rows:
                    row.secret_doc = box.reencrypt(str(row.secret_doc))
                count = len(rows)
    except FlowServiceError as exc:
        _fail(exc)
    finally:
        engine.dispose()
    if drop_old:
        drop_old_keys(settings.secret_key_file)
    typer.echo(f"re-encrypted {count} stored secret(s) with the new key")


@db_app.command("upgrade")
def db_upgrade(home: HomeOption = None) -> None:
    """Apply pending migrations (serve does this on start too)."""
    engine, _tx = _with_session(home)
    engine.dispose()
    typer.echo("database is up to date")


def _register_demo() -> None:
    from flowservice.cli.demo import demo

    app.command("demo")(demo)


_register_demo()


def main() -> None:
    plain_metavars(typer.main.get_command(app))(prog_name="flowservice")


if __name__ == "__main__":
    main()
