"""Wire models of the Catalog API's datasets."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from flowservice.api.schemas.common import WireModel

SchemaPolicyIn = Literal["evolve", "freeze"]


class SchemaRefIn(WireModel):
    """A schema reference: an ``id`` of the Schema Registry, or ``fields`` given inline."""

    id: str | None = Field(default=None, max_length=1024)
    content_type: str | None = Field(default=None, alias="contentType", max_length=255)
    fields: list[dict[str, Any]] | None = None


class DataSetEditable(WireModel):
    """What a PATCH may change: descriptive fields and the schema policy, not the schema."""

    name: str = Field(min_length=1, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    tags: dict[str, list[str]] | None = None
    enable_error_diagnostics: bool | None = Field(default=None, alias="enableErrorDiagnostics")
    file_description: dict[str, Any] | None = Field(default=None, alias="fileDescription")
    data_source_id: int | None = Field(default=None, alias="dataSourceId")
    schema_policy: SchemaPolicyIn = Field(default="evolve", alias="schemaPolicy")


class DataSetCreate(DataSetEditable):
    """``POST /dataSets``: a name, and optionally a schema in one of the lake's forms."""

    fields: list[dict[str, Any]] | None = None
    schema_: list[dict[str, Any]] | str | None = Field(default=None, alias="schema")
    schema_ref: SchemaRefIn | None = Field(default=None, alias="schemaRef")
    observable_schema: dict[str, Any] | None = Field(default=None, alias="observableSchema")
