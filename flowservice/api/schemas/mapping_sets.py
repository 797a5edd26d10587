"""Wire models of Data Prep mapping sets."""

from __future__ import annotations

from typing import Any

from pydantic import Field, StrictBool, StrictInt, StrictStr

from flowservice.api.schemas.common import WireModel


class SchemaIn(WireModel):
    """``inputSchema`` / ``outputSchema``: a reference, and inline fields or a JSON Schema."""

    id: str | None = Field(default=None, max_length=1024)
    version: StrictInt | StrictStr | None = None
    schema_ref: dict[str, Any] | None = Field(default=None, alias="schemaRef")
    fields: list[dict[str, Any]] | None = None
    json_schema: dict[str, Any] | None = Field(default=None, alias="jsonSchema")


class MappingSetCreate(WireModel):
    """``POST``/``PUT /mappingSets``; read-only fields the API shows are accepted and ignored."""

    id: str | None = Field(default=None, max_length=64)
    version: StrictInt | StrictStr | None = None
    name: str | None = Field(default=None, max_length=1024)
    description: str | None = Field(default=None, max_length=4096)
    xdm_schema: str | None = Field(default=None, alias="xdmSchema", max_length=1024)
    xdm_version: str | None = Field(default=None, alias="xdmVersion", max_length=64)
    schema_ref: dict[str, Any] | None = Field(default=None, alias="schemaRef")
    output_schema: SchemaIn | None = Field(default=None, alias="outputSchema")
    input_schema: SchemaIn | None = Field(default=None, alias="inputSchema")
    data_set_id: str | None = Field(default=None, alias="dataSetId", max_length=64)
    source_connection_id: str | None = Field(
        default=None, alias="sourceConnectionId", max_length=64
    )
    # strict: a validating endpoint must not read 0 as false
    allow_null_values: StrictBool | None = Field(default=None, alias="allowNullValues")
    strict_mapping: StrictBool | None = Field(default=None, alias="strictMapping")
    support_version: str | None = Field(default=None, alias="supportVersion")
    status: str | None = None
    tags: list[dict[str, Any]] | None = None
    mappings: list[dict[str, Any]] = Field(min_length=1, max_length=10_000)
    created_date: Any = Field(default=None, alias="createdDate")
    modified_date: Any = Field(default=None, alias="modifiedDate")
    created_by: Any = Field(default=None, alias="createdBy")
    modified_by: Any = Field(default=None, alias="modifiedBy")


class MappingSetPreview(WireModel):
    """``POST /mappingSets/preview``: sample rows (one object or a list) and a mapping set."""

    data: list[dict[str, Any]] | dict[str, Any] = Field(max_length=1000)
    mapping_set: MappingSetCreate = Field(alias="mappingSet")
