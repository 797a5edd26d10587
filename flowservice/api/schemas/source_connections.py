"""Wire models of source connections."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowservice.api.schemas.common import SpecRef, WireModel


class SourceDataIn(WireModel):
    format: str = Field(default="tabular", min_length=1, max_length=64)


class SourceConnectionCreate(WireModel):
    name: str = Field(min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    base_connection_id: str = Field(alias="baseConnectionId", min_length=1, max_length=64)
    data: SourceDataIn = Field(default_factory=SourceDataIn)
    params: dict[str, Any]
    connection_spec: SpecRef = Field(alias="connectionSpec")
