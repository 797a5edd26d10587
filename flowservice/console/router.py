"""The console's router, mounted at ``/console`` and kept out of the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse, Response

from flowservice.console import (
    pages_accounts_edit,
    pages_connect,
    pages_explore,
    pages_failed_records,
    pages_flows,
    pages_monitoring,
    pages_runs,
    pages_settings,
    pages_sign_in,
    pages_sources,
    pages_wizard,
)
from flowservice.console.rendering import SECURITY_HEADERS, STATIC

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(pages_sign_in.router)
router.include_router(pages_sources.router)
router.include_router(pages_flows.router)
router.include_router(pages_runs.router)
router.include_router(pages_monitoring.router)
router.include_router(pages_settings.router)
router.include_router(pages_connect.router)
router.include_router(pages_explore.router)
router.include_router(pages_wizard.router)
router.include_router(pages_accounts_edit.router)
router.include_router(pages_failed_records.router)

STYLESHEET = "console.css"


@router.get("")
@router.get("/")
def console_home() -> Response:
    return RedirectResponse(pages_sign_in.HOME_PATH, status_code=303)


@router.get(f"/static/{STYLESHEET}")
def stylesheet() -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": "max-age=3600"}
    return FileResponse(STATIC / STYLESHEET, media_type="text/css", headers=headers)
