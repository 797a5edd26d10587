"""A stored base connection's auth params: plain ones in its doc, secret ones sealed apart.

Decrypted here for connectors only (explore, test, runs); the API shows them masked.
"""

from __future__ import annotations

import json
from typing import Any

from flowservice.secrets import SecretBox
from flowservice.store.tables import Resource


def secret_params(row: Resource, box: SecretBox) -> dict[str, Any]:
    """The decrypted secret params (``{}`` when the connection has none)."""
    if not row.secret_doc:
        return {}
    value = json.loads(box.decrypt(row.secret_doc))
    return dict(value) if isinstance(value, dict) else {}


def auth_params(row: Resource, box: SecretBox) -> dict[str, Any]:
    """The full, decrypted auth params in the order they were sent, for connectors only."""
    merged = {**row.doc["auth"]["params"], **secret_params(row, box)}
    order = row.doc["auth"].get("order") or list(merged)
    return {k: merged[k] for k in order if k in merged} | merged
