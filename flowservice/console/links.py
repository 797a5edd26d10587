"""One-time console sign-in links: a short-lived JWT whose nonce the server spends once.

Signed with the home's HS256 key (the key ``flowservice auth token`` signs
with), under an audience of its own so an access token is never taken for a
link nor a link for an access token.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlencode

import jwt

from flowservice.auth.tokens import hs256_key
from flowservice.errors import InvalidRequest
from flowservice.settings import Settings

LINK_AUDIENCE = "flowservice-console-link"
LINK_PATH = "/console/link"
DEFAULT_LINK_TTL_SECONDS = 300
MAX_LINK_TTL_SECONDS = 3600


@dataclass(frozen=True)
class LinkGrant:
    """Who a link signs in, into which sandbox, and its nonce."""

    org_id: str
    client_id: str
    subject: str
    scope: Literal["read", "write"]
    sandbox_name: str
    nonce: str
    expires_at: int  # epoch seconds


def issue_link(
    settings: Settings,
    *,
    base_url: str,
    org_id: str,
    client_id: str,
    subject: str,
    scope: Literal["read", "write"],
    sandbox_name: str,
    ttl_seconds: int = DEFAULT_LINK_TTL_SECONDS,
) -> str:
    """The one-time URL that signs a browser into the console."""
    if not 0 < ttl_seconds <= MAX_LINK_TTL_SECONDS:
        raise InvalidRequest(f"a console link lives 1 to {MAX_LINK_TTL_SECONDS} seconds")
    now = int(time.time())
    claims: dict[str, Any] = {
        "aud": LINK_AUDIENCE,
        "org": org_id,
        "client_id": client_id,
        "sub": subject,
        "scope": scope,
        "sandbox": sandbox_name,
        "jti": secrets.token_hex(16),
        "iat": now,
        "exp": now + ttl_seconds,
    }
    token = jwt.encode(claims, hs256_key(settings), algorithm="HS256")
    return f"{base_url.rstrip('/')}{LINK_PATH}?{urlencode({'token': token})}"


def read_link(settings: Settings, token: str) -> LinkGrant:
    """The grant of a valid, unexpired link; InvalidRequest in plain words otherwise."""
    try:
        claims = jwt.decode(
            token,
            hs256_key(settings),
            algorithms=["HS256"],
            audience=LINK_AUDIENCE,
            options={"require": ["exp", "jti", "org", "sub", "client_id"]},
        )
    except jwt.ExpiredSignatureError:
        raise InvalidRequest(
            "This sign-in link has expired. Ask for a new one with `flowservice auth console-link`."
        ) from None
    except jwt.PyJWTError:
        raise InvalidRequest("This sign-in link is not valid for this server.") from None
    scope: Literal["read", "write"] = "write" if claims.get("scope") == "write" else "read"
    return LinkGrant(
        org_id=str(claims["org"]),
        client_id=str(claims["client_id"]),
        subject=str(claims["sub"]),
        scope=scope,
        sandbox_name=str(claims.get("sandbox") or ""),
        nonce=str(claims["jti"]),
        expires_at=int(claims["exp"]),
    )
