"""Verify a flow's copy: resolve its source and dataset, compare, answer the report's JSON.

The route ``POST /flows/{flowId}/verify`` and ``flowservice flows verify`` both call
``verify_flow``; the comparison itself lives in ``flowservice.flows.verify``.
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import uuid
from typing import Any

from pydantic import BaseModel, Field

from flowservice.core import Core
from flowservice.errors import InvalidRequest
from flowservice.flows.persistence import runs
from flowservice.flows.persistence.schedules import new_run
from flowservice.flows.run_context import TARGET_CONNECTION_KIND, resolve_copy_context
from flowservice.flows.runner import utc_now
from flowservice.flows.transformations import parse_transformations
from flowservice.flows.verify import VerifyReport, VerifyTarget, verify_copy
from flowservice.flows.verify_compare import KeyDifferences
from flowservice.flows.verify_limits import DEFAULT_SAMPLES, MAX_SAMPLES
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope


class KeyDifferencesOut(BaseModel):
    count: int = Field(description="Keys in this state")
    samples: list[dict[str, Any]] = Field(
        description="The first keys (up to `samples`), each as {key column: value}"
    )


class FlowVerifyOut(BaseModel):
    """What ``POST /flows/{flowId}/verify`` answers."""

    flow_id: str = Field(alias="flowId")
    data_set_id: str = Field(alias="dataSetId")
    table: str = Field(description="The source table, schema.table")
    equal: bool = Field(description="The dataset holds exactly the source's rows")
    key_columns: list[str] = Field(alias="keyColumns")
    columns: list[str] = Field(description="The columns compared")
    source_row_count: int = Field(alias="sourceRowCount")
    dataset_row_count: int = Field(
        alias="datasetRowCount", description="Rows of the dataset, soft-deleted rows left out"
    )
    missing: KeyDifferencesOut = Field(description="Keys of the source the dataset lacks")
    extra: KeyDifferencesOut = Field(description="Keys of the dataset the source lacks")
    different: KeyDifferencesOut = Field(description="Keys on both sides whose rows differ")
    ranges_checked: int = Field(alias="rangesChecked", description="Key ranges compared")
    levels: int = Field(description="Rounds of narrowing key ranges down")
    source_passes: int = Field(alias="sourcePasses", description="Reads of the source")
    seconds: float


def verify_flow(
    core: Core, scope: Scope, flow_id: str, *, samples: int = DEFAULT_SAMPLES
) -> dict[str, Any]:
    """Compare flow ``flow_id``'s dataset with its source table (``FlowVerifyOut`` as JSON)."""
    if not 0 <= samples <= MAX_SAMPLES:
        raise InvalidRequest(f"samples must be between 0 and {MAX_SAMPLES}")
    with core.transaction() as session:
        flow = resources.get_resource(
            session, scope=scope, kind=runs.FLOW_KIND, resource_id=flow_id
        )
        target = resources.get_resource(
            session,
            scope=scope,
            kind=TARGET_CONNECTION_KIND,
            resource_id=str(flow.doc["targetConnectionIds"][0]),
        )
        # the connector, dataset, columns and mapping a run of the flow would use
        context = resolve_copy_context(
            core,
            session,
            flow,
            new_run(flow, now=utc_now(), planned_window=None, schedule_end=None),
        )
        delta = parse_transformations(flow.doc.get("transformations")).delta_column
    params = target.doc.get("params") or {}
    mode = context.job.mode
    report = verify_copy(
        VerifyTarget(
            flow_id=flow_id,
            table=context.job.table,
            connector=context.connector,
            dataset=context.dataset,
            columns=context.job.columns,
            mapper=context.mapper,
            delta_column=None if delta is None else delta.name,
            write_mode=str(mode.write.mode),
            key_columns=mode.keys or None,
            change_tracking=mode.change_tracking,
        ),
        samples=samples,
    )
    return report_json(report, data_set_id=str(params.get("dataSetId", "")))


def report_json(report: VerifyReport, *, data_set_id: str) -> dict[str, Any]:
    result = report.comparison
    return {
        "flowId": report.flow_id,
        "dataSetId": data_set_id,
        "table": report.table,
        "equal": report.equal,
        "keyColumns": list(report.key_columns),
        "columns": list(report.columns),
        "sourceRowCount": result.source_rows,
        "datasetRowCount": result.dataset_rows,
        "missing": _differences(result.missing),
        "extra": _differences(result.extra),
        "different": _differences(result.different),
        "rangesChecked": result.buckets_checked,
        "levels": result.levels,
        "sourcePasses": result.passes,
        "seconds": report.seconds,
    }


def _differences(found: KeyDifferences) -> dict[str, Any]:
    samples = [{k: _json_value(v) for k, v in key.items()} for key in found.samples]
    return {"count": found.count, "samples": samples}


def _json_value(value: Any) -> Any:
    """A key value as JSON: numbers and text as they are, times ISO 8601, bytes base64."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, decimal.Decimal | uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return str(value)
