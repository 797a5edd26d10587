"""Everything a running app holds: the process core plus the token verifier and specs."""

from __future__ import annotations

from dataclasses import dataclass, field

from flowservice.auth.tokens import TokenVerifier
from flowservice.core import Core
from flowservice.settings import Settings
from flowservice.specs.catalog import SpecCatalog, connection_specs


@dataclass
class Runtime(Core):
    """A ``Core`` (so the run engine takes it as is) with what requests need besides."""

    verifier: TokenVerifier
    specs: SpecCatalog
    known_clients: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def start(cls, settings: Settings) -> Runtime:
        """Open the DB, apply migrations, load keys and specs."""
        core = Core.start(settings)
        return cls(
            settings=core.settings,
            engine=core.engine,
            sessions=core.sessions,
            secret_box=core.secret_box,
            verifier=TokenVerifier(settings),
            specs=connection_specs(),
        )
