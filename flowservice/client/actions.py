"""Operations beyond list/get/create/delete: actions, exploring, previews, failed records.

Each function builds one ``Operation`` that ``Client`` and ``AsyncClient`` both
send, so the twins cannot drift. Paths are the documented ones: Flow Service
``/flows/{id}/action?op=enable``, ``/runs/{id}/action?op=cancel``,
``/connections/{id}/test|explore``; Catalog ``/dataSets/{id}/preview``; Data
Access ``/batches/{id}/failed|files``, ``/files/{id}`` and the export extension
``/datasets/{id}/export`` (whose answers the clients stream to a file); Data Prep
``/mappingSets`` (paged by ``start``/``limit``, answering ``{data, _page}``); and
sandbox management.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

import httpx

from flowservice.client.models import Created, DatasetFile, Explored, MappingSet, Sandbox
from flowservice.client.operations import (
    CONNECTIONS,
    DATASETS,
    FLOWS,
    RUNS,
    Operation,
    Page,
)
from flowservice.settings import CONVERSION_PREFIX, EXPORT_PREFIX, SANDBOX_PREFIX

MAPPING_SETS_URL = f"{CONVERSION_PREFIX}/mappingSets"
MAPPING_SETS_PAGE = 100
FILES_PAGE = 100
EXPORT_FORMATS = ("parquet", "csv")
_EXPORT_MEDIA = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}


def _json(response: httpx.Response) -> Any:
    return response.json()


def _created(response: httpx.Response) -> Created:
    return Created.model_validate(response.json())


def flow_action_op(flow_id: str, op: Literal["enable", "disable"]) -> Operation[Created]:
    """``POST /flows/{id}/action?op=enable|disable``: the flow's id and new etag.

    Setting a state twice leaves it as it is, so the call is safe to retry."""
    return Operation(
        "POST", f"{FLOWS.item_url(flow_id)}/action", _created, params=(("op", op),), idempotent=True
    )


def cancel_run_op(run_id: str) -> Operation[Created]:
    """``POST /runs/{id}/action?op=cancel``."""
    return Operation(
        "POST",
        f"{RUNS.item_url(run_id)}/action",
        _created,
        params=(("op", "cancel"),),
        idempotent=True,
    )


def test_connection_op(connection_id: str) -> Operation[dict[str, Any]]:
    """``GET /connections/{id}/test``: ``{"result": bool, "message"?: str}``."""
    return Operation("GET", f"{CONNECTIONS.item_url(connection_id)}/test", _json)


def explore_root_op(connection_id: str) -> Operation[list[Explored]]:
    """The objects (tables) a connection can read."""

    def read(response: httpx.Response) -> list[Explored]:
        return [Explored.model_validate(obj) for obj in response.json()]

    return Operation(
        "GET",
        f"{CONNECTIONS.item_url(connection_id)}/explore",
        read,
        params=(("objectType", "root"),),
    )


def explore_table_op(
    connection_id: str, table: str, *, preview: int | None = None
) -> Operation[dict[str, Any]]:
    """A table's columns (``schema.columns``); with ``preview=N`` also its first N rows."""
    params: list[tuple[str, str]] = [("objectType", "table"), ("object", table)]
    if preview is not None:
        params += [("preview", "true"), ("count", str(preview))]
    return Operation(
        "GET", f"{CONNECTIONS.item_url(connection_id)}/explore", _json, params=tuple(params)
    )


def dataset_preview_op(dataset_id: str, *, limit: int = 100) -> Operation[dict[str, Any]]:
    """``GET /dataSets/{id}/preview``: ``{"data": [rows], "count": n, "fields": [...]}``."""
    return Operation(
        "GET", f"{DATASETS.item_url(dataset_id)}/preview", _json, params=(("limit", str(limit)),)
    )


def failed_files_op(batch_id: str) -> Operation[list[str]]:
    """The download paths of a batch's failed-records files (none when nothing failed)."""
    if not batch_id or "/" in batch_id:
        raise ValueError(f"not a batch id: {batch_id!r}")

    def read(response: httpx.Response) -> list[str]:
        return [str(entry["_links"]["self"]["href"]) for entry in response.json().get("data", [])]

    return Operation("GET", f"{EXPORT_PREFIX}/batches/{batch_id}/failed", read)


def download_records_op(href: str) -> Operation[list[dict[str, Any]]]:
    """One failed-records file: a JSON object per line (``row``, ``record``, ``errors``)."""
    path, _, query = href.partition("?")
    if not path.startswith(f"{EXPORT_PREFIX}/"):
        raise ValueError(f"not a Data Access path: {path!r}")
    params = tuple(httpx.QueryParams(query).multi_items())

    def read(response: httpx.Response) -> list[dict[str, Any]]:
        return [json.loads(line) for line in response.text.splitlines() if line.strip()]

    return Operation("GET", path, read, params=params)


def _plain_id(label: str, value: str) -> str:
    if not value or "/" in value:
        raise ValueError(f"not a {label}: {value!r}")
    return value


def _nothing(_response: httpx.Response) -> None:
    return None


def dataset_export_op(dataset_id: str, file_format: str) -> Operation[None]:
    """``GET /datasets/{id}/export?format=``: the dataset's current rows as one file.

    Its answer is a stream: the clients' ``download`` copies it, ``read`` is never used."""
    if file_format not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {EXPORT_FORMATS}, not {file_format!r}")
    path = f"{EXPORT_PREFIX}/datasets/{_plain_id('dataset id', dataset_id)}/export"
    accept = {"Accept": f"{_EXPORT_MEDIA[file_format]}, application/problem+json"}
    return Operation("GET", path, _nothing, params=(("format", file_format),), headers=accept)


def batch_files_page_op(batch_id: str, start: int = 0) -> Operation[Page[DatasetFile]]:
    """One page of ``GET /batches/{id}/files``: the batch's dataset files (one per Parquet file)."""
    path = f"{EXPORT_PREFIX}/batches/{_plain_id('batch id', batch_id)}/files"

    def read(response: httpx.Response) -> Page[DatasetFile]:
        body = response.json()
        rows = body.get("data", [])
        more = bool((body.get("_links") or {}).get("next"))
        following = batch_files_page_op(batch_id, start + len(rows)) if more and rows else None
        return Page([DatasetFile.model_validate(r) for r in rows], following)

    return Operation("GET", path, read, params=(("start", str(start)), ("limit", str(FILES_PAGE))))


def file_names_op(dataset_file_id: str) -> Operation[list[str]]:
    """``GET /files/{id}``: the names of the dataset file's files (one Parquet file here)."""
    path = f"{EXPORT_PREFIX}/files/{_plain_id('dataset file id', dataset_file_id)}"

    def read(response: httpx.Response) -> list[str]:
        return [str(entry["name"]) for entry in response.json().get("data", [])]

    return Operation("GET", path, read)


def file_download_op(dataset_file_id: str, name: str) -> Operation[None]:
    """``GET /files/{id}?path=NAME``: the file's bytes, streamed by the clients' ``download``."""
    path = f"{EXPORT_PREFIX}/files/{_plain_id('dataset file id', dataset_file_id)}"
    accept = {"Accept": "application/octet-stream, application/problem+json"}
    return Operation("GET", path, _nothing, params=(("path", name),), headers=accept)


def mapping_sets_page_op(start: int = 0) -> Operation[Page[MappingSet]]:
    """One page of ``GET /mappingSets``; ``next`` asks for the following one."""

    def read(response: httpx.Response) -> Page[MappingSet]:
        rows = response.json().get("data", [])
        following = (
            mapping_sets_page_op(start + len(rows)) if len(rows) >= MAPPING_SETS_PAGE else None
        )
        return Page([MappingSet.model_validate(r) for r in rows], following)

    params = (("start", str(start)), ("limit", str(MAPPING_SETS_PAGE)))
    return Operation("GET", MAPPING_SETS_URL, read, params=params)


def mapping_set_op(mapping_set_id: str) -> Operation[MappingSet]:
    if not mapping_set_id or "/" in mapping_set_id:
        raise ValueError(f"not a mapping set id: {mapping_set_id!r}")

    def read(response: httpx.Response) -> MappingSet:
        return MappingSet.model_validate(response.json())

    return Operation("GET", f"{MAPPING_SETS_URL}/{mapping_set_id}", read)


def create_mapping_set_op(body: Mapping[str, Any]) -> Operation[Created]:
    """``POST /mappingSets``: answers the new set's id (and version, kept as an extra)."""
    return Operation("POST", MAPPING_SETS_URL, _created, json=dict(body))


def sandboxes_op() -> Operation[list[Sandbox]]:
    """The sandboxes of the caller's org."""

    def read(response: httpx.Response) -> list[Sandbox]:
        return [Sandbox.model_validate(s) for s in response.json().get("sandboxes", [])]

    return Operation("GET", f"{SANDBOX_PREFIX}/sandboxes", read)


def batch_ids_of(run_activities: list[dict[str, Any]]) -> list[str]:
    """The Catalog batch ids a run's activities name as their targets."""
    found: list[str] = []
    for activity in run_activities:
        for target in activity.get("targetInfo") or []:
            reference = target.get("reference") or {}
            if str(reference.get("type", "batch")).lower() == "batch":
                found += [str(i) for i in reference.get("ids") or [] if str(i) not in found]
    return found
