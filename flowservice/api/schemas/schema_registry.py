"""Wire models of the Schema Registry: schema, field group, data type and descriptor bodies.

XDM bodies carry many ``meta:*`` keys a client may set, so these models allow
extra keys (kept as given) and check only what the registry relies on.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# each entry is {"$ref": "<$id or meta:altId>"}, checked when resolved
_ALL_OF_ITEMS: dict[str, Any] = {
    "items": {
        "type": "object",
        "required": ["$ref"],
        "description": '{"$ref": "<$id or meta:altId of a class, field group or definition>"}',
    }
}


class XdmResourceIn(BaseModel):
    """``POST``/``PUT`` body of a schema, field group or data type."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    title: str = Field(min_length=1, max_length=1024)
    type: Literal["object"] = "object"
    description: str | None = Field(default=None, max_length=4096)
    all_of: list[dict[str, Any]] | None = Field(
        default=None, alias="allOf", max_length=200, json_schema_extra=_ALL_OF_ITEMS
    )
    definitions: dict[str, dict[str, Any]] | None = None
    properties: dict[str, dict[str, Any]] | None = None


class XdmSchemaIn(XdmResourceIn):
    """A schema: a class and zero or more field groups in ``allOf``."""

    all_of: list[dict[str, Any]] = Field(
        alias="allOf", min_length=1, max_length=200, json_schema_extra=_ALL_OF_ITEMS
    )


DescriptorType = Literal[
    "xdm:descriptorIdentity",
    "xdm:alternateDisplayInfo",
    "xdm:descriptorOneToOne",
    "xdm:descriptorReferenceIdentity",
    "xdm:descriptorRelationship",
]


class XdmDescriptorIn(BaseModel):
    """``POST``/``PUT /tenant/descriptors``."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)

    type: DescriptorType = Field(alias="@type")
    source_schema: str = Field(alias="xdm:sourceSchema", min_length=1, max_length=1024)
    source_version: int | str = Field(default=1, alias="xdm:sourceVersion")
    source_property: str | None = Field(
        default=None, alias="xdm:sourceProperty", max_length=1024, pattern=r"^(/[^/]+)+$"
    )
    namespace: str | None = Field(default=None, alias="xdm:namespace", max_length=255)
    property: str | None = Field(default=None, alias="xdm:property", max_length=64)
    is_primary: bool | None = Field(default=None, alias="xdm:isPrimary")
