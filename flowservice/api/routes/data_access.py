"""Data Access (/data/foundation/export): a batch's failed records and its meta files."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response

from flowservice.api.deps import RuntimeDep, ScopeDep
from flowservice.api.services import failed_records as service
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
