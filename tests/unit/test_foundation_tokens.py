"""HS256 tokens from the local key; RS256 against PEM keys and a JWKS URL on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from flowservice.auth.tokens import TokenVerifier, issue_token, parse_ttl
from flowservice.errors import GatewayError, InvalidRequest
from flowservice.settings import Settings


def test_hs256_round_trip(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    issued = issue_token(settings, org_id="O@AdobeOrg", client_id="c", subject="u", scope="read")
    caller = TokenVerifier(settings).verify(issued.access_token)
    assert (caller.org_id, caller.client_id, caller.subject, caller.can_write) == (
        "O@AdobeOrg",
        "c",
        "u",
        False,
    )
    assert issued.as_json()["apiKey"] == "c"
    other_home = Settings(home=tmp_path / "other")
    with pytest.raises(GatewayError) as info:
        TokenVerifier(other_home).verify(issued.access_token)
    assert info.value.error_code == "401013"


def test_ttl_parsing() -> None:
    assert parse_ttl("90") == 90
    assert parse_ttl("30m") == 1800
    assert parse_ttl("12h") == 43200
    assert parse_ttl("7d") == 604800
    for bad in ("", "-1", "0", "1y", "abc"):
        with pytest.raises(InvalidRequest):
            parse_ttl(bad)


def _rsa() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _rs_token(key: rsa.RSAPrivateKey, kid: str | None = None, **claims: Any) -> str:
    body = {
        "sub": "u@idp",
        "org": "O@AdobeOrg",
        "client_id": "app",
        "scope": "openid write",
        "exp": int(time.time()) + 60,
    } | claims
    headers = {"kid": kid} if kid else None
    return jwt.encode(body, key, algorithm="RS256", headers=headers)


def test_rs256_with_pem_public_key(tmp_path: Path) -> None:
    key = _rsa()
    pem = tmp_path / "idp.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    settings = Settings(home=tmp_path, token_algorithm="RS256", token_public_keys=[pem])
    caller = TokenVerifier(settings).verify(_rs_token(key))
    assert caller.can_write and caller.client_id == "app"
    with pytest.raises(GatewayError):
        TokenVerifier(settings).verify(_rs_token(_rsa()))
    with pytest.raises(InvalidRequest):
        issue_token(settings, org_id="O", client_id="c", subject="s")


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    key = _rsa()
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update({"kid": "k1", "use": "sig", "alg": "RS256"})
    payload = json.dumps({"keys": [jwk]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/jwks.json", key
    server.shutdown()
    server.server_close()


def test_rs256_with_jwks_url(tmp_path: Path, jwks_server: tuple[str, rsa.RSAPrivateKey]) -> None:
    url, key = jwks_server
    settings = Settings(home=tmp_path, token_algorithm="RS256", token_jwks_url=url)
    verifier = TokenVerifier(settings)
    assert verifier.verify(_rs_token(key, kid="k1")).org_id == "O@AdobeOrg"
    with pytest.raises(GatewayError):
        verifier.verify(_rs_token(_rsa(), kid="k1"))
    with pytest.raises(GatewayError):
        verifier.verify(_rs_token(key, kid="k1", exp=int(time.time()) - 10))
    # a token without org or client id cannot act for anyone
    with pytest.raises(GatewayError):
        verifier.verify(_rs_token(key, kid="k1", org=""))
