"""Wire models of on-demand runs, for the OpenAPI document (``flows.run_request`` validates)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from flowservice.api.schemas.common import CreatedOut, WireModel


class RunParamsIn(WireModel):
    window_start_time: int | str | None = Field(
        default=None, alias="windowStartTime", description="Epoch seconds (>= 10^11: ms)"
    )
    window_end_time: int | str | None = Field(
        default=None, alias="windowEndTime", description="Not in the future"
    )
    start_time: int | str | None = Field(
        default=None, alias="startTime", description="Run no earlier than this; default now"
    )
    delta_column: dict[str, Any] | None = Field(
        default=None, alias="deltaColumn", description="{name}: only if the flow has none"
    )


class RunCreate(WireModel):
    flow_id: str = Field(alias="flowId")
    params: RunParamsIn | None = None


class RunCreatedOut(CreatedOut):
    """``{id, etag}`` as the OpenAPI text says, plus ``items``: the run, as the tutorial shows."""

    items: list[dict[str, Any]]
