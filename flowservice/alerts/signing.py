"""The signature of a webhook request, and its check (what ``docs/alerts.md`` shows).

The signed bytes are ``<timestamp>.<body>``: the ``x-flowservice-timestamp``
header (epoch seconds, ASCII), a dot, and the raw request body. The
signature is HMAC-SHA256 with the subscription's secret, sent as
``x-flowservice-signature: sha256=<lower-case hex>``. Signing the timestamp
lets a receiver refuse replays of an old request.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

EVENT_ID_HEADER = "x-flowservice-event-id"
EVENT_CODE_HEADER = "x-flowservice-event-code"
TIMESTAMP_HEADER = "x-flowservice-timestamp"
SIGNATURE_HEADER = "x-flowservice-signature"
SCHEME = "sha256="


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode("ascii") + b"." + body
    return SCHEME + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def signed_headers(
    *, secret: str, event_id: str, event_code: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        EVENT_ID_HEADER: event_id,
        EVENT_CODE_HEADER: event_code,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: signature(secret, timestamp, body),
    }


def verify(
    secret: str, headers: Mapping[str, str], body: bytes, *, now: int, tolerance: int = 300
) -> bool:
    """Whether the request is signed with ``secret`` and is at most ``tolerance`` seconds old."""
    lowered = {k.lower(): v for k, v in headers.items()}
    stamp = lowered.get(TIMESTAMP_HEADER, "")
    if not stamp.isdigit() or abs(now - int(stamp)) > tolerance:
        return False
    expected = signature(secret, int(stamp), body)
    return hmac.compare_digest(expected, lowered.get(SIGNATURE_HEADER, ""))
