"""The signing key's fingerprint (``kid``) and the note that says which key signed a token."""

from __future__ import annotations

from pathlib import Path

import jwt
from pydantic import SecretStr

from flowservice.auth.tokens import SECRET_SETTING, issue_token, signing_key
from flowservice.settings import Settings


def test_first_token_of_a_home_says_a_new_key_was_made_there(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = issue_token(settings, org_id="O@AdobeOrg", client_id="c", subject="u")
    again = issue_token(settings, org_id="O@AdobeOrg", client_id="c", subject="u")
    key_file = str(settings.token_key_file)
    assert first.key_created and not again.key_created
    assert f"a new key, created just now in {key_file}" in first.signer_note()
    assert f"the key in {key_file} (kid {again.key_id})" in again.signer_note()
    assert "FLOWSERVICE_HOME" in again.signer_note()
    assert jwt.get_unverified_header(again.access_token)["kid"] == again.key_id


def test_key_id_is_a_fingerprint_not_the_key(tmp_path: Path) -> None:
    one = signing_key(Settings(home=tmp_path / "one"))
    two = signing_key(Settings(home=tmp_path / "two"))
    assert one.key_id != two.key_id and len(one.key_id) == 16
    assert one.key_id not in one.secret.decode()
    assert "secret" not in repr(one) and one.secret.decode() not in repr(one)


def test_key_from_the_setting_names_the_setting(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, token_secret=SecretStr("s" * 40))
    issued = issue_token(settings, org_id="O@AdobeOrg", client_id="c", subject="u")
    assert issued.key_source == SECRET_SETTING and not issued.key_created
    assert "s" * 40 not in issued.signer_note()
    assert not settings.token_key_file.exists()
