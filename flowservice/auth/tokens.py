"""Issue and verify JWT access tokens.

HS256 tokens are signed with a key generated into the data directory (or
``FLOWSERVICE_TOKEN_SECRET``). With ``token_algorithm=RS256`` tokens from an
existing identity provider are verified against configured PEM public keys or
a JWKS URL. Claims used: ``sub`` (the user), ``org`` (the IMS org),
``client_id`` (the API key that goes with the token; ``azp`` as fallback) and
``scope`` (space-separated; ``write`` allows changes, ``read`` only reads).

Locally issued tokens carry a ``kid`` header: a fingerprint of the signing key
(an HMAC of a fixed label, so it reveals nothing of the key). A token whose
signature does not match the server's key gets a 401 that says so, since the
usual cause is a token issued on another ``FLOWSERVICE_HOME``.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jwt

from flowservice.errors import GatewayError, InvalidRequest
from flowservice.settings import Settings

Scope = Literal["read", "write"]

INVALID_TOKEN = "Oauth token is not valid"
SIGNATURE_MISMATCH = (
    f"{INVALID_TOKEN}: its signature does not match this server's key "
    "(was it issued from another FLOWSERVICE_HOME?)"
)
SECRET_SETTING = "FLOWSERVICE_TOKEN_SECRET"
_KEY_ID_LABEL = b"flowservice token key id"


@dataclass(frozen=True)
class Caller:
    """Who is calling, as proven by the token."""

    org_id: str
    client_id: str
    subject: str
    scope: Scope

    @property
    def can_write(self) -> bool:
        return self.scope == "write"


@dataclass(frozen=True)
class SigningKey:
    """The HS256 key, where it comes from, and its public fingerprint ``key_id``."""

    secret: bytes = field(repr=False)
    source: str  # the key file's path, or the setting that holds the key
    created: bool = False  # the key file was made just now

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, _KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    api_key: str
    org_id: str
    expires_at: int  # epoch seconds
    key_id: str = ""
    key_source: str = ""
    key_created: bool = False

    def signer_note(self) -> str:
        """Which key signed the token, and that only a server with that key accepts it."""
        made = "a new key, created just now in" if self.key_created else "the key in"
        return (
            f"signed with {made} {self.key_source} (kid {self.key_id}); only a server "
            "using that key accepts it: run the server and this command with the same "
            "--home / FLOWSERVICE_HOME"
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "accessToken": self.access_token,
            "apiKey": self.api_key,
            "orgId": self.org_id,
            "expiresAt": self.expires_at,
        }


def invalid_token(message: str = INVALID_TOKEN) -> GatewayError:
    return GatewayError(message, error_code="401013", status=401)


def signing_key(settings: Settings) -> SigningKey:
    """The HS256 key: from settings, else the key file (created 0600 on first use)."""
    if settings.token_secret is not None:
        return SigningKey(settings.token_secret.get_secret_value().encode(), SECRET_SETTING)
    path: Path = settings.token_key_file
    created = False
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileExistsError):  # a concurrent first use made it
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(32))
            created = True
    return SigningKey(path.read_text().strip().encode(), str(path), created)


def hs256_key(settings: Settings) -> bytes:
    return signing_key(settings).secret


def parse_ttl(text: str) -> int:
    """Seconds from ``3600``, ``90s``, ``30m``, ``12h`` or ``7d``."""
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
    raw = text.strip().lower()
    factor = units.get(raw[-1:], 0)
    number = raw[:-1] if factor else raw
    if not number.isdigit() or int(number) <= 0:
        raise InvalidRequest(f"ttl must be a positive number of seconds or like 30m, 12h: {text!r}")
    return int(number) * (factor or 1)


def issue_token(
    settings: Settings,
    *,
    org_id: str,
    client_id: str,
    subject: str,
    scope: Scope = "write",
    ttl_seconds: int | None = None,
) -> IssuedToken:
    """A locally signed HS256 token (RS256 tokens come from the identity provider)."""
    if settings.token_algorithm != "HS256":
        raise InvalidRequest("tokens are issued by your identity provider when RS256 is set")
    now = int(time.time())
    expires = now + (ttl_seconds or settings.token_ttl_seconds)
    claims: dict[str, Any] = {
        "iss": settings.token_issuer,
        "sub": subject,
        "org": org_id,
        "client_id": client_id,
        "scope": scope,
        "iat": now,
        "exp": expires,
    }
    if settings.token_audience:
        claims["aud"] = settings.token_audience
    key = signing_key(settings)
    token = jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.key_id})
    return IssuedToken(
        access_token=token,
        api_key=client_id,
        org_id=org_id,
        expires_at=expires,
        key_id=key.key_id,
        key_source=key.source,
        key_created=key.created,
    )


class TokenVerifier:
    """Checks signature, expiry, issuer and audience; returns the caller."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._jwks: jwt.PyJWKClient | None = None
        self._public_keys: list[Any] = []
        self._hs_key: bytes | None = None
        if settings.token_algorithm == "HS256":
            self._hs_key = hs256_key(settings)
        else:
            from cryptography.hazmat.primitives.serialization import load_pem_public_key

            self._public_keys = [
                load_pem_public_key(p.read_bytes()) for p in settings.token_public_keys
            ]
            if settings.token_jwks_url:
                self._jwks = jwt.PyJWKClient(settings.token_jwks_url, cache_keys=True)

    def _candidate_keys(self, token: str) -> list[Any]:
        if self._hs_key is not None:
            return [self._hs_key]
        keys = list(self._public_keys)
        if self._jwks is not None:
            # an unknown kid falls back to the configured static keys
            with contextlib.suppress(jwt.PyJWTError):
                keys.insert(0, self._jwks.get_signing_key_from_jwt(token).key)
        return keys

    def verify(self, token: str) -> Caller:
        algorithm = self._settings.token_algorithm
        options: Any = {
            "require": ["exp", "sub"],
            "verify_aud": bool(self._settings.token_audience),
        }
        mismatched = False
        for key in self._candidate_keys(token):
            try:
                claims = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    issuer=self._settings.token_issuer if algorithm == "HS256" else None,
                    audience=self._settings.token_audience,
                    options=options,
                )
            except jwt.InvalidSignatureError:
                mismatched = True
                continue
            except jwt.PyJWTError:
                continue
            return _caller_from_claims(claims)
        # the local key is the only candidate with HS256: a mismatch means another key signed it
        if mismatched and self._hs_key is not None:
            raise invalid_token(SIGNATURE_MISMATCH)
        raise invalid_token()


def _caller_from_claims(claims: dict[str, Any]) -> Caller:
    org = claims.get("org") or claims.get("org_id")
    client = claims.get("client_id") or claims.get("azp")
    if not isinstance(org, str) or not isinstance(client, str) or not org or not client:
        raise invalid_token()
    scopes = str(claims.get("scope", "")).replace(",", " ").split()
    scope: Scope = "write" if "write" in scopes else "read"
    return Caller(org_id=org, client_id=client, subject=str(claims["sub"]), scope=scope)
