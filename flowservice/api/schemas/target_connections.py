"""Wire models of target connections."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowservice.api.schemas.common import SpecRef, WireModel


class TargetSchemaRef(WireModel):
    """The XDM schema the data follows: an id and a version, kept as given."""

    id: str = Field(min_length=1, max_length=1024)
    version: str | None = Field(default=None, max_length=255)


class TargetDataIn(WireModel):
    format: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Default parquet_xdm for the Data Lake (the only format it takes)",
    )
    schema_: TargetSchemaRef | None = Field(default=None, alias="schema")


class TargetConnectionCreate(WireModel):
    name: str | None = Field(default=None, min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    base_connection_id: str | None = Field(
        default=None, alias="baseConnectionId", min_length=1, max_length=64
    )
    data: TargetDataIn
    params: dict[str, Any]
    connection_spec: SpecRef = Field(alias="connectionSpec")
