"""Encryption at rest, key files, rotation and the one redaction function."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from flowservice.errors import InternalError
from flowservice.secrets import SecretBox, add_key_to_file, drop_old_keys, read_key_file, redact


def test_key_file_is_created_private(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "secret.keys"
    keys = read_key_file(path)
    assert len(keys) == 1
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_key_file(path) == keys


def test_round_trip_and_rotation(tmp_path: Path) -> None:
    path = tmp_path / "secret.keys"
    old = SecretBox(read_key_file(path), path)
    token = old.encrypt("hunter2")
    assert "hunter2" not in token
    new = add_key_to_file(path)
    rotated = new.reencrypt(token)
    assert new.decrypt(rotated) == "hunter2"
    drop_old_keys(path)
    assert len(read_key_file(path)) == 1
    # the old box notices the file changed: it can read the rotated token, not the old one
    assert old.decrypt(rotated) == "hunter2"
    with pytest.raises(InternalError):
        old.decrypt(token)


def test_wrong_key_is_internal_error_without_detail() -> None:
    box = SecretBox([Fernet.generate_key().decode()])
    other = SecretBox([Fernet.generate_key().decode()])
    with pytest.raises(InternalError) as info:
        other.decrypt(box.encrypt("pw"))
    assert "pw" not in info.value.message


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Server=h;Database=d;UID=u;PWD=p4ss;", "p4ss"),
        ('Data Source=h;Password="a;b";User ID=u', "a;b"),
        ("password = {br;aced} trailing", "br;aced"),
        ("postgresql://user:topsecret@host/db", "topsecret"),
        ("token: abc123", "abc123"),
    ],
)
def test_redact_patterns(text: str, hidden: str) -> None:
    out = redact(text)
    assert hidden not in out and "****" in out


def test_redact_known_values() -> None:
    assert (
        redact("login failed for s3cr3t and s3cr3t", ["s3cr3t"]) == "login failed for **** and ****"
    )
    assert redact("nothing here", ["", "x" * 3]) == "nothing here"


def test_log_records_are_redacted() -> None:
    import io
    import logging

    from flowservice.secrets import install_log_redaction

    stream = io.StringIO()
    logger = logging.getLogger("flowservice.test.redaction")
    logger.propagate = False
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    install_log_redaction(logger)
    install_log_redaction(logger)
    logger.warning("connecting with %s", "Server=h;PWD=leaky;")
    logger.removeHandler(handler)
    assert "leaky" not in stream.getvalue() and "PWD=****" in stream.getvalue()
    assert len(handler.filters) == 1
