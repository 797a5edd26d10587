"""Wire models of base connections."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowservice.api.schemas.common import SpecRef, WireModel


class AuthIn(WireModel):
    spec_name: str = Field(alias="specName", min_length=1, max_length=255)
    params: dict[str, Any]


class ConnectionCreate(WireModel):
    name: str = Field(min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    auth: AuthIn
    connection_spec: SpecRef = Field(alias="connectionSpec")
