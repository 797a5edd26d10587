"""Settings: defaults, env vars, config file, clear validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from flowservice.errors import InvalidRequest
from flowservice.settings import load_settings


def test_defaults_live_in_home(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{tmp_path / 'flowservice.db'}"
    assert settings.secret_key_file.parent == tmp_path
    assert settings.default_sandbox is None
    assert settings.token_algorithm == "HS256"


def test_env_and_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "flowservice.toml"
    config.write_text('port = 9001\ndefault_sandbox = "Prod"\nhost = "0.0.0.0"\n')
    monkeypatch.setenv("FLOWSERVICE_CONFIG_FILE", str(config))
    monkeypatch.setenv("FLOWSERVICE_HOST", "127.0.0.2")
    monkeypatch.setenv("FLOWSERVICE_HOME", str(tmp_path / "h"))
    settings = load_settings()
    assert settings.port == 9001
    assert settings.default_sandbox == "prod"
    assert settings.host == "127.0.0.2"  # env wins over the file
    assert settings.home == (tmp_path / "h").resolve()


def test_invalid_values_name_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InvalidRequest) as info:
        load_settings(home=tmp_path, port=70000)
    assert "FLOWSERVICE_PORT" in info.value.message
    with pytest.raises(InvalidRequest) as info:
        load_settings(home=tmp_path, token_algorithm="RS256")
    assert "RS256" in info.value.message
    with pytest.raises(InvalidRequest):
        load_settings(home=tmp_path, no_such_setting=1)
