"""Wire models of dataflows, for the OpenAPI document.

Bodies are validated by ``flows.flow_definition.parse_flow`` (it accepts the
docs' numbers and booleans sent as strings, and answers 1410 for ``state``);
these models describe the same shape to clients.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from flowservice.api.schemas.common import SpecRef, WireModel


class ScheduleParamsIn(WireModel):
    start_time: int | str = Field(alias="startTime", description="Epoch seconds, UTC")
    frequency: str = Field(description="once, minute, hour, day or week")
    interval: int | str | None = Field(default=None, description="At least 15 for minute")
    backfill: bool | str | None = Field(default=None, description="Default true; not with once")


class TransformationIn(WireModel):
    name: str = Field(description="Copy (params.deltaColumn) or Mapping (params.mappingId)")
    params: dict[str, Any] = Field(default_factory=dict)


class FlowCreate(WireModel):
    name: str = Field(min_length=1, max_length=256)
    description: str | None = None
    flow_spec: SpecRef = Field(alias="flowSpec")
    source_connection_ids: list[str] = Field(alias="sourceConnectionIds", min_length=1)
    target_connection_ids: list[str] = Field(alias="targetConnectionIds", min_length=1)
    transformations: list[TransformationIn] = Field(default_factory=list)
    schedule_params: ScheduleParamsIn = Field(alias="scheduleParams")
    options: dict[str, Any] | None = Field(
        default=None, description="errorDiagnosticsEnabled, partialIngestionPercent"
    )


class LastOperationOut(BaseModel):
    """A flow's ``lastOperation`` (``api.services.flow_operations``)."""

    operation: str = Field(description="create, update, enable or disable")
    started: int = Field(description="When it happened, epoch ms")
    updated: int = Field(description="Operations on the flow since its creation")
