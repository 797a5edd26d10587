"""Connectors by connection spec id, filled from the ``flowservice.connectors`` entry points.

Built-in connectors are registered through the same entry-point group as
third-party ones (see ``pyproject.toml``).
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from flowservice.connectors.base import Connector


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
