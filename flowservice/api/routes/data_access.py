"""Data Access (/data/foundation/export): a batch's files, failed records and meta files,
dataset files and their bytes, and (an extension) a whole dataset's export."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response
from fastapi.responses import StreamingResponse

from flowservice.api.deps import RuntimeDep, ScopeDep
from flowservice.api.services import dataset_files
from flowservice.api.services import failed_records as service
from flowservice.lake.export import EXPORT_FORMATS, ExportFormat
from flowservice.settings import EXPORT_PREFIX

router = APIRouter(prefix=EXPORT_PREFIX, tags=["Data Access"])

StartParam = Annotated[int, Query(ge=0, description="First entry of the page")]
LimitParam = Annotated[
    int, Query(ge=1, le=service.MAX_PAGE, description="Entries per page (at most 100)")
]


def _answer(result: dict[str, Any] | service.Download) -> Any:
    if isinstance(result, service.Download):
        return Response(content=result.content, media_type=result.media_type)
    return result


@router.get(
    "/batches/{batch_id}/failed",
    summary="List a batch's failed-records files, or download one (path=)",
)
def retrieve_failed_batch(
    batch_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    start: StartParam = 0,
    limit: LimitParam = service.MAX_PAGE,
    path: Annotated[str | None, Query(description="A file name from the list")] = None,
) -> Any:
    with runtime.transaction() as session:
        if path:
            return _answer(service.failed_file(session, runtime, scope, batch_id, path))
        return service.failed_files(session, runtime, scope, batch_id, start=start, limit=limit)


@router.get(
    "/batches/{batch_id}/meta",
    summary="List a batch's meta files (row_errors, input_files), or download one (path=)",
)
def retrieve_batch_meta(
    batch_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    start: StartParam = 0,
    limit: LimitParam = service.MAX_PAGE,
    path: Annotated[
        str | None,
        Query(description="row_errors, input_files, row_errors_sample.json or a listed file"),
    ] = None,
) -> Any:
    with runtime.transaction() as session:
        result = service.meta(session, runtime, scope, batch_id, path, start=start, limit=limit)
    return _answer(result)


@router.get("/batches/{batch_id}/files", summary="List a batch's dataset files")
def list_dataset_files(
    batch_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    start: StartParam = 0,
    limit: LimitParam = service.MAX_PAGE,
) -> dict[str, Any]:
    """One dataset file per Parquet file the batch's Delta commit added; its id is
    ``{batchId}-{n}`` (``n`` from 1, in file path order)."""
    with runtime.transaction() as session:
        return dataset_files.batch_files(
            session, runtime, scope, batch_id, start=start, limit=limit
        )


@router.get(
    "/files/{dataset_file_id}",
    summary="Retrieve a dataset file: its listing, or its bytes (path=), honouring Range",
    responses={
        200: {
            "content": {"application/json": {}, "application/octet-stream": {}},
            "description": "The listing, or with path= the file's bytes",
        },
        206: {
            "content": {"application/octet-stream": {}},
            "description": "The requested byte range of the file",
        },
    },
)
def retrieve_dataset_file(
    dataset_file_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    start: StartParam = 0,
    limit: LimitParam = service.MAX_PAGE,
    path: Annotated[str | None, Query(description="A file name from the listing")] = None,
    range_header: Annotated[
        str | None, Header(alias="Range", description="bytes=a-b, bytes=a- or bytes=-n")
    ] = None,
) -> Any:
    with runtime.transaction() as session:
        if not path:
            return dataset_files.file_listing(
                session, runtime, scope, dataset_file_id, start=start, limit=limit
            )
        found = dataset_files.file_bytes(
            session, runtime, scope, dataset_file_id, path, range_header
        )
    headers = {"Accept-Ranges": "bytes", "Content-Length": str(found.length)}
    if found.partial:
        headers["Content-Range"] = f"bytes {found.start}-{found.end}/{found.size}"
    return StreamingResponse(
        found.chunks,
        status_code=206 if found.partial else 200,
        media_type=found.media_type,
        headers=headers,
    )


@router.get(
    "/datasets/{dataset_id}/export",
    summary="Export a dataset's current rows as one Parquet or CSV file (flowservice extension)",
    description=(
        "A flowservice extension, not part of Adobe's Data Access API: the dataset's current "
        "version (after every overwrite and merge, not the union of its batches), streamed as "
        "it is encoded. CSV flattens object columns to `parent.child` columns and writes "
        "binary values as base64."
    ),
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"application/vnd.apache.parquet": {}, "text/csv": {}},
            "description": "The file",
        }
    },
)
def export_dataset(
    dataset_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    file_format: Annotated[
        ExportFormat, Query(alias="format", description=f"One of {', '.join(EXPORT_FORMATS)}")
    ] = "parquet",
) -> StreamingResponse:
    with runtime.transaction() as session:
        export = dataset_files.export_dataset(session, runtime, scope, dataset_id, file_format)
    disposition = f'attachment; filename="{export.filename}"'
    return StreamingResponse(
        export.chunks, media_type=export.media_type, headers={"Content-Disposition": disposition}
    )
