"""`flowservice login` (store a profile) and `flowservice profiles list` (never shows tokens)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from flowservice.cli.output import Column, Format, OutputOption, print_rows
from flowservice.cli.profiles import (
    DEFAULT_PROFILE,
    Profile,
    ProfileError,
    list_profiles,
    save_profile,
)
from flowservice.cli.session import fail, show_retries
from flowservice.client import Client, FlowServiceError
from flowservice.errors import FlowServiceError as ServiceError
from flowservice.secrets import redact

profiles_app = typer.Typer(help="Profiles written by `flowservice login`.", no_args_is_help=True)

CLI_CLIENT_ID = "flowservice-cli"


def login(
    url: Annotated[
        str, typer.Option("--url", metavar="URL", help="The service, e.g. http://127.0.0.1:8080")
    ],
    org: Annotated[
        str, typer.Option("--org", metavar="ORG", help="IMS org id, e.g. ACME@AdobeOrg")
    ],
    sandbox: Annotated[
        str, typer.Option("--sandbox", metavar="NAME", help="Sandbox name")
    ] = "prod",
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="FLOWSERVICE_TOKEN",
            metavar="TOKEN",
            help="An access token (default: mint one from the local --home, as `auth token`)",
            show_default=False,
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="FLOWSERVICE_API_KEY",
            metavar="KEY",
            help="The client id the token was issued to (with --token)",
            show_default=False,
        ),
    ] = None,
    client_id: Annotated[
        str, typer.Option("--client-id", metavar="ID", help="API key of a minted token")
    ] = CLI_CLIENT_ID,
    ttl: Annotated[
        str | None,
        typer.Option("--ttl", metavar="TTL", help="Lifetime of a minted token: 3600, 12h, 7d"),
    ] = None,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            metavar="DIR",
            help="Data directory to mint from (default $FLOWSERVICE_HOME or ./.flowservice)",
            show_default=False,
        ),
    ] = None,
    name: Annotated[
        str, typer.Option("--profile", metavar="NAME", help="Name of the profile to write")
    ] = DEFAULT_PROFILE,
    verify: Annotated[
        bool, typer.Option("--verify/--no-verify", help="Check the profile against the service")
    ] = True,
) -> None:
    """Store a profile (URL, org, sandbox, token) so later commands need no flags."""
    if token is not None and not api_key:
        fail("--token needs --api-key (the client id the token was issued to)")
    if token is None:
        token, api_key = _mint(org=org, client_id=client_id, ttl=ttl, home=home)
    assert api_key is not None
    profile = Profile(url=url.rstrip("/"), org=org, token=token, api_key=api_key, sandbox=sandbox)
    if verify:
        _check(profile)
    try:
        path = save_profile(name, profile)
    except (OSError, ProfileError) as exc:
        fail(redact(str(exc), (token, api_key)))
    typer.echo(f"profile {name!r} saved in {path} (org {org}, sandbox {sandbox}, {profile.url})")


def _mint(*, org: str, client_id: str, ttl: str | None, home: Path | None) -> tuple[str, str]:
    from flowservice.cli.local_tokens import mint_token
    from flowservice.settings import load_settings

    try:
        settings = load_settings(**({} if home is None else {"home": home}))
        issued = mint_token(settings, org=org, client_id=client_id, ttl=ttl)
    except ServiceError as exc:
        fail(f"cannot mint a token from the local home: {redact(exc.message)}")
    return issued.access_token, issued.api_key


def _check(profile: Profile) -> None:
    """One read with the profile's credentials: the sandbox must be among the caller's."""
    secrets = (profile.token, profile.api_key)
    show_retries()
    try:
        with Client(
            profile.url, profile.token, profile.api_key, profile.org, profile.sandbox
        ) as client:
            names = [s.name for s in client.sandboxes.list()]
    except FlowServiceError as exc:
        fail(f"{profile.url} refused the profile: {redact(str(exc), secrets)}")
    if profile.sandbox not in names:
        fail(f"no sandbox {profile.sandbox!r} in org {profile.org} (found: {', '.join(names)})")


@profiles_app.command("list")
def profiles_list(output: OutputOption = Format.table) -> None:
    """The stored profiles; the current one is marked with *. Tokens are never shown."""
    try:
        current, profiles = list_profiles()
    except ProfileError as exc:
        fail(str(exc))
    rows = [
        {"name": n, "current": n == current, "url": p.url, "org": p.org, "sandbox": p.sandbox}
        for n, p in sorted(profiles.items())
    ]
    print_rows(
        rows,
        (
            Column("", lambda r: "*" if r["current"] else ""),
            Column("NAME", lambda r: r["name"]),
            Column("URL", lambda r: r["url"]),
            Column("ORG", lambda r: r["org"]),
            Column("SANDBOX", lambda r: r["sandbox"]),
        ),
        output,
    )
