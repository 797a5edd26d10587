"""Connectors by connection spec id, filled from the ``flowservice.connectors`` entry points.

Built-in connectors are registered through the same entry-point group as
third-party ones (see ``pyproject.toml``).
"""

from __future__ import annotations

import logging
from functools import cache
from importlib.metadata import entry_points

from flowservice.connectors.base import Connector
from flowservice.errors import InvalidRequest

log = logging.getLogger(__name__)


@cache
def connectors() -> dict[str, type[Connector]]:
    """Every installed connector class, keyed by its connection spec id."""
    found: dict[str, type[Connector]] = {}
    for entry in entry_points(group="flowservice.connectors"):
        cls = entry.load()
        found[cls.connection_spec_id] = cls
    return found


def connector_for(spec_id: str) -> type[Connector] | None:
    return connectors().get(spec_id)


def find_connector(spec_id: str) -> type[Connector] | None:
    """The registered connector class, or None (also when its package fails to import)."""
    try:
        return connector_for(spec_id)
    except Exception as exc:
        # one broken entry point must not fail every request or run that asks for a connector
        log.warning("connector registry failed to load: %s", type(exc).__name__)
        return None


def require_connector(spec_id: str) -> type[Connector]:
    """The registered connector class; ``InvalidRequest`` when none is installed for the spec."""
    cls = find_connector(spec_id)
    if cls is None:
        raise InvalidRequest(
            f"No connector is installed for connection spec {spec_id}; "
            "test and explore are not available for it."
        )
    return cls
