"""Profiles: where the resource commands find the service's URL, org, sandbox and token.

``flowservice login`` writes ``profiles.toml`` in ``$FLOWSERVICE_CONFIG_DIR`` (else
``$XDG_CONFIG_HOME/flowservice``, else ``~/.config/flowservice``). The file holds
tokens, so it is created with mode 0600 before any byte is written, and replaced
atomically. ``--profile NAME`` (or ``$FLOWSERVICE_PROFILE``) picks one; without it
the profile named by ``current`` is used.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

CONFIG_DIR_ENV = "FLOWSERVICE_CONFIG_DIR"
PROFILE_ENV = "FLOWSERVICE_PROFILE"
PROFILES_FILE = "profiles.toml"
DEFAULT_PROFILE = "default"

ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        envvar=PROFILE_ENV,
        help="Profile written by `flowservice login` (default: the current one)",
        show_default=False,
    ),
]


class ProfileError(Exception):
    """No usable profile: the message says what to run."""


@dataclass(frozen=True)
class Profile:
    url: str
    org: str
    token: str
    api_key: str
    sandbox: str = "prod"

    def __repr__(self) -> str:
        # never a token in a traceback
        return f"Profile(url={self.url!r}, org={self.org!r}, sandbox={self.sandbox!r})"


def config_dir() -> Path:
    if os.environ.get(CONFIG_DIR_ENV):
        return Path(os.environ[CONFIG_DIR_ENV])
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "flowservice"


def profiles_path() -> Path:
    return config_dir() / PROFILES_FILE


def _read() -> dict[str, Any]:
    path = profiles_path()
    if not path.exists():
        return {}
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ProfileError(f"{path} is not a valid profiles file: {exc}") from None


def _quote(value: str) -> str:
    """A TOML basic string: quote, backslash and control characters escaped, the rest as is."""
    out = []
    for char in value:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _render(current: str, profiles: dict[str, dict[str, str]]) -> str:
    lines = [f"current = {_quote(current)}", ""]
    for name, fields in sorted(profiles.items()):
        lines.append(f"[profiles.{_quote(name)}]")
        lines += [f"{key} = {_quote(str(value))}" for key, value in fields.items()]
        lines.append("")
    return "\n".join(lines)


def _write(text: str) -> Path:
    path = profiles_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{PROFILES_FILE}.{os.getpid()}.tmp")
    # 0600 from creation: the tokens are never readable by others, not even for a moment
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return path


def save_profile(name: str, profile: Profile, *, make_current: bool = True) -> Path:
    """Add or replace profile ``name``; it becomes the current one unless told otherwise."""
    doc = _read()
    profiles: dict[str, dict[str, str]] = dict(doc.get("profiles") or {})
    profiles[name] = asdict(profile)
    current = name if make_current or not doc.get("current") else str(doc["current"])
    return _write(_render(current, profiles))


def load_profile(name: str | None = None) -> Profile:
    doc = _read()
    profiles = doc.get("profiles") or {}
    chosen = name or str(doc.get("current") or DEFAULT_PROFILE)
    if chosen not in profiles:
        if not profiles:
            raise ProfileError("no profile yet: run `flowservice login --url URL --org ORG` first")
        raise ProfileError(f"no profile named {chosen!r} (see `flowservice profiles list`)")
    fields = profiles[chosen]
    try:
        return Profile(
            **{k: str(v) for k, v in fields.items() if k in Profile.__dataclass_fields__}
        )
    except TypeError:
        raise ProfileError(
            f"profile {chosen!r} is incomplete: run `flowservice login` again"
        ) from None


def list_profiles() -> tuple[str | None, dict[str, Profile]]:
    """The current profile's name and every profile (tokens inside: never print them)."""
    doc = _read()
    found: dict[str, Profile] = {}
    for name in doc.get("profiles") or {}:
        try:
            found[name] = load_profile(name)
        except ProfileError:
            continue
    current = doc.get("current")
    return (str(current) if current else None), found
