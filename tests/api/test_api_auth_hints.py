"""A 401 says when another key signed the token; other invalid tokens keep the plain message."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import jwt
from service_harness import ApiClient, RunningServer

from flowservice.auth.tokens import INVALID_TOKEN, SIGNATURE_MISMATCH, issue_token, signing_key
from flowservice.settings import Settings


def _get_with(api: ApiClient, token: str) -> httpx.Response:
    response: httpx.Response = api.get("/connections", headers={"Authorization": f"Bearer {token}"})
    return response


def test_token_from_another_home_gets_401_with_the_hint(api: ApiClient, tmp_path: Path) -> None:
    other = Settings(home=tmp_path / "other-home")
    issued = issue_token(other, org_id=api.org_id, client_id=api.client_id, subject="u@AdobeID")
    response = _get_with(api, issued.access_token)
    assert response.status_code == 401, response.text
    assert response.json() == {"error_code": "401013", "message": SIGNATURE_MISMATCH}
    assert "another FLOWSERVICE_HOME" in response.json()["message"]
    # neither key is in the answer, nor the other home's path
    other_key = signing_key(other).secret.decode()
    assert other_key not in response.text
    assert str(tmp_path) not in response.text


def test_expired_token_keeps_its_own_message(api: ApiClient, server: RunningServer) -> None:
    key = signing_key(server.settings)
    claims = {"sub": "u", "org": api.org_id, "client_id": api.client_id, "scope": "write"}
    claims |= {"iss": "flowservice", "iat": 1, "exp": int(time.time()) - 60}
    expired = jwt.encode(claims, key.secret, algorithm="HS256", headers={"kid": key.key_id})
    response = _get_with(api, expired)
    assert response.status_code == 401
    assert response.json() == {"error_code": "401013", "message": INVALID_TOKEN}


def test_garbage_token_keeps_the_plain_message(api: ApiClient) -> None:
    response = _get_with(api, "a.b.c")
    assert response.json() == {"error_code": "401013", "message": INVALID_TOKEN}


def test_token_of_the_servers_home_works_and_names_its_key(api: ApiClient) -> None:
    issued = issue_token(
        api.server.settings, org_id=api.org_id, client_id=api.client_id, subject="u@AdobeID"
    )
    assert jwt.get_unverified_header(issued.access_token)["kid"] == issued.key_id
    assert _get_with(api, issued.access_token).status_code == 200
