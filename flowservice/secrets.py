"""Secrets at rest (Fernet / MultiFernet) and the one redaction function.

Secret auth params (``format: password`` in an authSpec) are encrypted with the
newest key; older keys still decrypt so ``flowservice keys rotate`` can add a
key and re-encrypt without downtime. Keys come from settings or from a key
file in the data directory, one key per line, newest first, mode 0600.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from flowservice.errors import InternalError
from flowservice.settings import Settings

MASK = "****"

# key=value pairs whose value is a password, in connection strings and URLs
_PASSWORD_PAIR = re.compile(
    r"(?i)\b(password|pwd|passwd|secret|token)(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\{[^}]*\}|[^;&\s,]*)"
)
_URL_PASSWORD = re.compile(r"(?i)(://[^:/@\s]+:)([^@/\s]+)(@)")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Text safe to log or return: known secret values and password-like pairs masked."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _PASSWORD_PAIR.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    return _URL_PASSWORD.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)


class RedactingFilter(logging.Filter):
    """Passes every log record's final message through ``redact``."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Redact on every handler of ``logger`` (root by default), once."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


def read_key_file(path: Path) -> list[str]:
    """Keys in the file, newest first; the file is created with one new key if absent."""
    if not path.exists():
        _write_private(path, Fernet.generate_key().decode() + "\n")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class SecretBox:
    """Encrypts with the newest key, decrypts with any known key.

    Built from a key file, it re-reads the file when it changes, so a running
    server picks up ``flowservice keys rotate`` without a restart.
    """

    def __init__(self, keys: list[str], key_file: Path | None = None) -> None:
        if not keys:
            raise InternalError("no secret keys configured")
        self._key_file = key_file
        self._stamp = self._file_stamp()
        self._use(keys)

    def _use(self, keys: list[str]) -> None:
        self.keys = keys
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def _file_stamp(self) -> tuple[int, int] | None:
        if self._key_file is None or not self._key_file.exists():
            return None
        stat = self._key_file.stat()
        return (stat.st_mtime_ns, stat.st_size)

    def _current(self) -> MultiFernet:
        stamp = self._file_stamp()
        if self._key_file is not None and stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            self._use(read_key_file(self._key_file))
        return self._fernet

    @classmethod
    def from_settings(cls, settings: Settings) -> SecretBox:
        if settings.secret_keys is not None:
            keys = [k.strip() for k in settings.secret_keys.get_secret_value().split(",")]
            return cls([k for k in keys if k])
        return cls(read_key_file(settings.secret_key_file), settings.secret_key_file)

    def encrypt(self, plaintext: str) -> str:
        return self._current().encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._current().decrypt(token.encode()).decode()
        except InvalidToken:
            raise InternalError("a stored secret cannot be decrypted with the known keys") from None

    def reencrypt(self, token: str) -> str:
        """The same secret under the newest key."""
        try:
            return self._current().rotate(token.encode()).decode()
        except InvalidToken:
            raise InternalError("a stored secret cannot be decrypted with the known keys") from None


def add_key_to_file(path: Path) -> SecretBox:
    """Prepend a new key to the key file (old keys kept for decryption)."""
    keys = [Fernet.generate_key().decode(), *read_key_file(path)]
    _write_private(path, "\n".join(keys) + "\n")
    return SecretBox(keys, path)


def drop_old_keys(path: Path) -> None:
    """Keep only the newest key, once everything is re-encrypted with it."""
    keys = read_key_file(path)
    _write_private(path, keys[0] + "\n")
