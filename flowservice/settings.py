"""The one typed settings object of flowservice.

Values come, in order of precedence, from keyword arguments, ``FLOWSERVICE_*``
environment variables, an optional TOML config file (``FLOWSERVICE_CONFIG_FILE``)
and the embedded defaults below. Everything derived from the data directory
(``home``) is computed here so the rest of the code never joins paths itself.
``get_settings()`` builds and validates it once per process; tests build their
own ``Settings(...)`` and pass it to ``create_app``.
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from flowservice.errors import InvalidRequest

API_PREFIX = "/data/foundation/flowservice"
SANDBOX_PREFIX = "/data/foundation/sandbox-management"
CATALOG_PREFIX = "/data/foundation/catalog"
CONVERSION_PREFIX = "/data/foundation/conversion"
EXPORT_PREFIX = "/data/foundation/export"


class Settings(BaseSettings):
    """Service configuration, validated at start-up."""

    model_config = SettingsConfigDict(env_prefix="FLOWSERVICE_", extra="forbid")

    home: Path = Field(
        default=Path(".flowservice"),
        description="Data directory: SQLite DB, key files and (later) the lake.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata DB; default SQLite file in `home`.",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)

    token_algorithm: Literal["HS256", "RS256"] = Field(
        default="HS256",
        description="HS256: local key in `home`; RS256: verify with public keys or a JWKS URL.",
    )
    token_secret: SecretStr | None = Field(
        default=None, description="HS256 signing key; default a generated key file in `home`."
    )
    token_public_keys: list[Path] = Field(
        default_factory=list, description="PEM public key files for RS256 verification."
    )
    token_jwks_url: str | None = Field(default=None, description="JWKS URL for RS256.")
    token_issuer: str = "flowservice"
    token_audience: str | None = None
    token_ttl_seconds: int = Field(default=86400, gt=0)

    secret_keys: SecretStr | None = Field(
        default=None,
        description="Fernet keys, comma-separated, newest first; default a 0600 key file.",
    )
    default_sandbox: str | None = Field(
        default=None,
        description="Sandbox used when x-sandbox-name is absent; unset = the header is required.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, gt=0)
    max_page_size: int = Field(default=1000, gt=0)
    default_page_size: int = Field(default=100, gt=0)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text", description="text: one readable line per record; json: one JSON object."
    )
    lake_root: str | None = Field(
        default=None,
        description="Where datasets live: a directory or object-store URL; default `home`/lake.",
    )
    lake_storage_options: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="delta-rs object-store options for `lake_root` (AWS_ENDPOINT_URL, ...).",
    )
    failed_records_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a batch's failed records stay downloadable (Data Access API).",
    )

    scheduler_enabled: bool = Field(
        default=True, description="Run the scheduler loop and the run executor in this process."
    )
    scheduler_interval_seconds: float = Field(default=2.0, gt=0, description="Scheduler tick.")
    scheduler_lease_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Scheduler leadership lease; another process takes over after it.",
    )
    run_heartbeat_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Run heartbeat lease; a crashed run is picked up again after it expires.",
    )
    run_progress_seconds: float = Field(
        default=2.0,
        gt=0,
        description="How often a running run's live record counts are saved for its watchers.",
    )
    executor_workers: int = Field(default=2, ge=1, description="Runs executed at once (threads).")
    isolated_source_reads: bool = Field(
        default=True,
        description="Read a run's source in a forked child process, away from the server's "
        "threads (false: in the run's own thread).",
    )
    source_read_parts: int = Field(
        default=2,
        ge=1,
        le=16,
        description="Child processes reading one run's table side by side, by ranges of its "
        "integer key (with isolated_source_reads; tables without one are read whole).",
    )
    run_retry_attempts: int = Field(
        default=5, ge=1, description="Attempts of a run's copy on transient source errors."
    )
    run_retry_base_delay: float = Field(
        default=1.0, ge=0, description="First retry delay (seconds); doubles per retry."
    )
    run_failure_retries: int = Field(
        default=3,
        ge=0,
        le=100,
        description="Further runs of a scheduled window after its run failed; then the window "
        "stays failed and the flow moves on to its next window.",
    )
    run_failure_backoff_seconds: float = Field(
        default=60.0, ge=0, description="Wait before the first retry of a failed window; doubles."
    )
    run_failure_backoff_max_seconds: float = Field(
        default=3600.0, ge=0, description="Longest wait between two runs of a failed window."
    )

    executor: Literal["local", "celery"] = Field(
        default="local",
        description="Where runs execute: local = threads of each server process; celery = "
        "`flowservice worker` processes fed through the broker (the servers only submit).",
    )
    broker_url: SecretStr | None = Field(
        default=None,
        description="Celery's broker with executor = celery: Redis, "
        "redis://[:password@]host:port/db (rediss:// with TLS).",
    )
    broker_queue: str = Field(
        default="flowservice-runs", min_length=1, description="Broker queue of run messages."
    )
    broker_resubmit_seconds: float = Field(
        default=60.0,
        gt=0,
        description="A run still scheduled this long after the leader sent it is sent again "
        "(its message was lost, e.g. with a broker restart); a duplicate runs nothing twice.",
    )

    alert_retry_window_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How long an alert webhook is retried after its first attempt before its "
        "delivery is marked failed.",
    )
    alert_backoff_base_seconds: float = Field(
        default=5.0, gt=0, description="Wait before an alert's second attempt; doubles each time."
    )
    alert_backoff_max_seconds: float = Field(
        default=600.0, gt=0, description="Longest wait between two attempts of an alert."
    )
    alert_delivery_timeout_seconds: float = Field(
        default=5.0, gt=0, le=60, description="HTTP timeout of one alert webhook request."
    )
    alert_dispatch_interval_seconds: float = Field(
        default=1.0, gt=0, description="How often each process looks for alerts to send."
    )
    alert_delivery_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Days a delivered or failed alert stays in its subscription's delivery log.",
    )

    metrics_enabled: bool = Field(
        default=True,
        description="Serve GET /metrics (Prometheus text, no authentication: counts labelled "
        "by org, sandbox and state, never names); false answers 404.",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("FLOWSERVICE_CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)

    @field_validator("home")
    @classmethod
    def _absolute_home(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("default_sandbox")
    @classmethod
    def _lower_sandbox(cls, value: str | None) -> str | None:
        return value.lower() if value else None

    @model_validator(mode="after")
    def _rs256_needs_keys(self) -> Settings:
        if self.token_algorithm == "RS256" and not (self.token_public_keys or self.token_jwks_url):
            raise ValueError("RS256 needs token_public_keys or token_jwks_url")
        if self.default_page_size > self.max_page_size:
            raise ValueError("default_page_size must not exceed max_page_size")
        if self.scheduler_interval_seconds * 2 > self.scheduler_lease_seconds:
            # the leader renews its lease once a tick: a slower tick would hand leadership around
            raise ValueError("scheduler_lease_seconds must be at least twice the scheduler tick")
        if self.executor == "celery":
            self._check_celery()
        return self

    def _check_celery(self) -> None:
        if self.broker_url is None:
            raise ValueError("executor = celery needs broker_url (e.g. redis://host:6379/0)")
        if not self.broker_url.get_secret_value().startswith(("redis://", "rediss://")):
            # the executor keeps its send markers in Redis, next to the queue
            raise ValueError("broker_url must be a redis:// or rediss:// URL")
        if not self.effective_database_url.startswith("sqlite"):
            return
        # SQLite serves the processes of one host only, and only when they open the same file
        path = self.sqlite_path
        if path is None:
            raise ValueError(
                "executor = celery cannot use an in-memory SQLite database: servers and "
                "workers share the metadata (use PostgreSQL, or a SQLite file on one host)"
            )
        if not path.is_absolute():
            raise ValueError(
                "executor = celery needs an absolute SQLite path in database_url (every "
                "process must open the same file), or PostgreSQL"
            )

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'flowservice.db'}"

    @property
    def token_key_file(self) -> Path:
        return self.home / "token-signing.key"

    @property
    def secret_key_file(self) -> Path:
        return self.home / "secret.keys"

    @property
    def sqlite_path(self) -> Path | None:
        """The metadata DB's file when it is SQLite on a file (None for PostgreSQL)."""
        url = self.effective_database_url
        if not url.startswith("sqlite") or "///" not in url:
            return None
        path = url.split("///", 1)[1].split("?", 1)[0]
        return None if not path or path.startswith(":memory:") else Path(path)

    @property
    def effective_lake_root(self) -> str:
        return self.lake_root or str(self.home / "lake")


def describe_settings_error(exc: ValidationError) -> str:
    """One readable line per invalid setting, naming its environment variable."""
    lines = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"]) or "settings"
        env = f"FLOWSERVICE_{field.upper()}" if err["loc"] else "settings"
        lines.append(f"{env}: {err['msg']}")
    return "invalid configuration:\n  " + "\n  ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    """Build settings, turning validation errors into one clear ``InvalidRequest``."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise InvalidRequest(describe_settings_error(exc)) from None


@cache
def get_settings() -> Settings:
    return load_settings()
