"""Typed views of the service's resources, as the API answers them.

Attributes are snake_case (``flow.source_connection_ids``) over the wire's
camelCase; every field the SDK does not know is kept (``extra="allow"``, read
with ``model.model_extra`` or ``model.model_dump(by_alias=True)``), so a newer
server never breaks an older client. Only ``id`` is required.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

# a run in one of these states will not change again (until re-triggered)
FINAL_RUN_STATES = frozenset({"success", "failed", "cancelled"})


class Model(BaseModel):
    """Lenient wire model: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def to_wire(self) -> dict[str, Any]:
        """The JSON object as the API spells it (unknown fields included)."""
        return self.model_dump(by_alias=True, exclude_unset=True)


class SpecRef(Model):
    id: str
    version: str | None = None


class Created(Model):
    """The answer to a create or a PATCH: the resource's id and new etag."""

    id: str
    etag: str | None = None


class Resource(Model):
    """Fields every Flow Service resource shows."""

    id: str
    name: str | None = None
    description: str | None = None
    state: str | None = None
    etag: str | None = None
    version: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    created_by: str | None = None
    updated_by: str | None = None
    created_client: str | None = None
    updated_client: str | None = None


class Auth(Model):
    spec_name: str | None = None
    # secrets come back masked (``Password=****``), never in clear
    params: dict[str, Any] = {}


class Connection(Resource):
    connection_spec: SpecRef | None = None
    auth: Auth | None = None


class ConnectionSpec(Model):
    id: str
    name: str | None = None
    provider_id: str | None = None
    version: str | None = None
    attributes: dict[str, Any] = {}
    auth_spec: list[dict[str, Any]] = []
    source_spec: dict[str, Any] | None = None
    target_spec: dict[str, Any] | None = None


class SourceConnection(Resource):
    base_connection_id: str | None = None
    connection_spec: SpecRef | None = None
    data: dict[str, Any] = {}
    params: dict[str, Any] = {}


class TargetConnection(Resource):
    base_connection_id: str | None = None
    connection_spec: SpecRef | None = None
    data: dict[str, Any] = {}
    params: dict[str, Any] = {}


class FlowSpec(Model):
    id: str
    name: str | None = None
    version: str | None = None
    source_connection_spec_ids: list[str] = []
    target_connection_spec_ids: list[str] = []


class Flow(Resource):
    flow_spec: SpecRef | None = None
    source_connection_ids: list[str] = []
    target_connection_ids: list[str] = []
    transformations: list[dict[str, Any]] = []
    schedule_params: dict[str, Any] = {}
    last_run_details: dict[str, Any] | None = None


class Run(Model):
    id: str
    flow_id: str | None = None
    state: str | None = None
    etag: str | None = None
    created_at: int | None = None
    updated_at: int | None = None
    metrics: dict[str, Any] = {}
    activities: list[dict[str, Any]] = []
    params: dict[str, Any] | None = None

    @property
    def status(self) -> str | None:
        """``metrics.statusSummary.status`` (the documented field), else ``state``."""
        summary = self.metrics.get("statusSummary")
        if isinstance(summary, dict) and summary.get("status"):
            return str(summary["status"])
        return self.state

    @property
    def finished(self) -> bool:
        return self.status in FINAL_RUN_STATES

    @property
    def succeeded(self) -> bool:
        return self.status == "success"


class Dataset(Model):
    id: str
    name: str | None = None
    description: str | None = None
    tags: dict[str, Any] = {}
    created: int | None = None
    updated: int | None = None
    version: str | None = None
    etag: str | None = None
    fields: list[dict[str, Any]] = []
    base_path: str | None = None
    last_batch_id: str | None = None
    last_batch_status: str | None = None


class Batch(Model):
    id: str
    status: str | None = None
    record_count: int | None = None
    failed_record_count: int | None = None
    size: int | None = None
    created: int | None = None
    updated: int | None = None
    started: int | None = None
    completed: int | None = None
    errors: list[dict[str, Any]] = []
    related_objects: list[dict[str, Any]] = []
    tags: dict[str, Any] = {}


class DatasetFile(Model):
    """One of a batch's dataset files (Data Access ``/batches/{id}/files``): one Parquet file.

    Numbers are strings on the wire, as Adobe's API spells them."""

    data_set_file_id: str
    data_set_view_id: str | None = None
    records: str | None = None
    size: str | None = None
    created: str | None = None
    is_valid: bool | None = None

    @property
    def id(self) -> str:
        return self.data_set_file_id


class MappingSet(Model):
    """A Data Prep mapping set (``/data/foundation/conversion/mappingSets``)."""

    id: str
    version: int | str | None = None
    name: str | None = None
    description: str | None = None
    created_date: int | None = None
    modified_date: int | None = None
    output_schema: dict[str, Any] = {}
    mappings: list[dict[str, Any]] = []


class Sandbox(Model):
    """A sandbox of the caller's org (keyed by ``name`` in the API's paths)."""

    id: str | None = None
    name: str
    title: str | None = None
    state: str | None = None
    type: str | None = None
    region: str | None = None
    is_default: bool | None = None


class Explored(Model):
    """One object of a connection's root listing (a table: ``path`` is ``schema.table``)."""

    type: str | None = None
    name: str | None = None
    path: str | None = None
    can_preview: bool | None = None
    can_fetch_schema: bool | None = None


class RunErrors(Model):
    """Why a run failed (``errors``: code and message) and the rows it could not load
    (``failed_records``: ``row``, ``record`` and the ``errors`` of each, from Data Access)."""

    run_id: str
    status: str | None = None
    errors: list[dict[str, Any]] = []
    failed_records: list[dict[str, Any]] = []


def run_errors(run: Run) -> list[dict[str, Any]]:
    """The run-level errors of ``metrics.statusSummary.errors``."""
    summary = run.metrics.get("statusSummary")
    errors = summary.get("errors") if isinstance(summary, dict) else None
    return [dict(e) for e in errors or [] if isinstance(e, dict)]
