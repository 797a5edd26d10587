"""Wire models of alert subscriptions (a flowservice extension, not part of Adobe's API)."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, SecretStr, field_validator

from flowservice.alerts.kinds import DEFAULT_DELAY_MINUTES, DEFAULT_ERROR_RATE_PERCENT, AlertKind
from flowservice.api.schemas.common import WireModel

ALL_KINDS = list(AlertKind)


class AlertSubscriptionCreate(WireModel):
    name: str = Field(min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    url: str = Field(
        min_length=1,
        max_length=2048,
        pattern=r"^https?://[^\s/?#@:\[\]]+",
        description="http(s) URL receiving the alerts as POST requests",
    )
    kinds: list[AlertKind] = Field(
        default_factory=lambda: list(ALL_KINDS),
        min_length=1,
        json_schema_extra={"uniqueItems": True},
        description="Event codes wanted; default all five.",
    )
    flow_ids: list[str] | None = Field(
        default=None,
        alias="flowIds",
        max_length=1000,
        description="Only these flows' runs; absent = every flow of the sandbox.",
    )
    delay_minutes: float = Field(
        default=DEFAULT_DELAY_MINUTES,
        alias="delayMinutes",
        strict=True,
        gt=0,
        le=10080,
        description="sources_flow_run_delay fires once a run is inProgress this long.",
    )
    error_rate_percent: float = Field(
        default=DEFAULT_ERROR_RATE_PERCENT,
        alias="errorRatePercent",
        strict=True,
        ge=0,
        le=100,
        description="sources_ingestion_error_rate_exceeded fires above this failed/input %.",
    )
    state: Literal["enabled", "disabled"] = "enabled"
    secret: SecretStr | None = Field(
        default=None,
        min_length=16,
        max_length=256,
        json_schema_extra={"format": "password", "writeOnly": True},
        description="HMAC key of the signatures; generated when absent; shown only once.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http:// or https:// URL with a host")
        return value

    @field_validator("kinds")
    @classmethod
    def _distinct(cls, value: list[AlertKind]) -> list[AlertKind]:
        if len(set(value)) != len(value):
            raise ValueError("must not repeat a kind")
        return value


class AlertSubscriptionCreatedOut(BaseModel):
    id: str
    etag: str
    secret: str = Field(description="The signing secret: returned by this response only.")


class AlertDeliveryOut(BaseModel):
    id: str
    eventId: str
    kind: str
    runId: str
    status: str = Field(description="pending, delivered or failed")
    attempts: int
    lastStatusCode: int | None = None
    lastError: str | None = None
    nextAttemptAt: int | None = Field(default=None, description="epoch ms")
    deliveredAt: int | None = Field(default=None, description="epoch ms")
    createdAt: int


class AlertDeliveriesOut(BaseModel):
    items: list[AlertDeliveryOut]
