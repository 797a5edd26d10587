"""Mask a connection's secret the way its connector shows it, failing closed.

Finding a connector (``find_connector``, ``require_connector``) lives in
``flowservice.connectors.registry``; it is imported here for the API modules.
"""

from __future__ import annotations

from flowservice.connectors.registry import find_connector as find_connector
from flowservice.connectors.registry import require_connector as require_connector
from flowservice.secrets import MASK


def mask_secret(spec_id: str, key: str, value: str) -> str:
    cls = find_connector(spec_id)
    if cls is None:
        return MASK
    try:
        return cls.mask_secret(key, value)
    except Exception:
        # a masking bug must fail closed
        return MASK
