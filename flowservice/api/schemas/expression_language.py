"""Wire models of the Data Prep expression language endpoints (``/languages/el/...``)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowservice.api.schemas.common import WireModel
from flowservice.api.schemas.mapping_sets import SchemaIn


class ExpressionValidate(WireModel):
    """``POST /languages/el/validate``; ``expression`` may be nested once, as Adobe's example."""

    expression: str | dict[str, Any]
    mapping_set_id: str | None = Field(default=None, alias="mappingSetId", max_length=64)
    sample_data: str | None = Field(default=None, alias="sampleData", max_length=1_000_000)
    sample_data_type: str | None = Field(default=None, alias="sampleDataType", max_length=64)
    input_schema: SchemaIn | None = Field(default=None, alias="inputSchema")

    def text(self) -> str | None:
        value: Any = self.expression
        if isinstance(value, dict):
            value = value.get("expression")
        return value if isinstance(value, str) else None
