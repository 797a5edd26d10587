"""Find the connector of a spec without letting a broken plug-in take the API down."""

from __future__ import annotations

import logging

from flowservice.connectors.base import Connector
from flowservice.connectors.registry import connector_for
from flowservice.errors import InvalidRequest
from flowservice.secrets import MASK

log = logging.getLogger("flowservice.api")


def find_connector(spec_id: str) -> type[Connector] | None:
    """The registered connector class, or None (also when its package fails to import)."""
    try:
        return connector_for(spec_id)
    except Exception as exc:
        # one broken entry point must not turn every request into a 500
        log.warning("connector registry failed to load: %s", type(exc).__name__)
        return None


def require_connector(spec_id: str) -> type[Connector]:
    cls = find_connector(spec_id)
    if cls is None:
        raise InvalidRequest(
            f"No connector is installed for connection spec {spec_id}; "
            "test and explore are not available for it."
        )
    return cls


def mask_secret(spec_id: str, key: str, value: str) -> str:
    cls = find_connector(spec_id)
    if cls is None:
        return MASK
    try:
        return cls.mask_secret(key, value)
    except Exception:
        # a masking bug must fail closed
        return MASK
