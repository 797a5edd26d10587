"""GET /connections/{id}/test and /explore: thin calls into the spec's connector."""

from __future__ import annotations

import logging
import time
from typing import Annotated, Any

from fastapi import APIRouter, Query
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool

from flowservice.api.connector_lookup import require_connector
from flowservice.api.deps import RuntimeDep, ScopeDep
from flowservice.api.services import connections as service
from flowservice.api.services.explore import object_to_wire, table_to_wire
from flowservice.api.services.json_decimals import DECIMALS_AS_STRINGS, DECIMALS_AS_STRINGS_HELP
from flowservice.connectors.base import Connector
from flowservice.errors import ConnectorError, FlowServiceError, InvalidRequest
from flowservice.secrets import redact
from flowservice.store.repos import connection_tests, resources

router = APIRouter(tags=["Connections"])
log = logging.getLogger(__name__)

MAX_PREVIEW_ROWS = 1000


def _open_connector(runtime: Any, scope: Any, connection_id: str) -> tuple[Connector, list[str]]:
    with runtime.transaction() as session:
        row = resources.get_resource(
            session, scope=scope, kind=service.KIND, resource_id=connection_id
        )
        cls = require_connector(str(row.spec_id))
        params = service.auth_params(row, runtime.secret_box)
        secrets = [str(v) for v in service.secret_params(row, runtime.secret_box).values()]
    return cls(params), secrets


async def _call(secrets: list[str], func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a blocking connector call in a thread; its error messages lose any secret."""
    try:
        return await run_in_threadpool(func, *args, **kwargs)
    except FlowServiceError as exc:
        exc.message = redact(exc.message, secrets)
        exc.args = (exc.message,)
        raise


@router.get("/connections/{connection_id}/test", summary="Test a base connection")
async def test_connection(
    connection_id: str, runtime: RuntimeDep, scope: ScopeDep
) -> dict[str, Any]:
    connector, secrets = await run_in_threadpool(_open_connector, runtime, scope, connection_id)
    try:
        result = await _call(secrets, connector.check)
    except ConnectorError as exc:
        # a failing source is the answer to "does this connection work?", not a server error
        body: dict[str, Any] = {"result": False, "message": exc.message}
    else:
        body = {"result": bool(result.ok)}
        if result.message:
            body["message"] = redact(result.message, secrets)
    await run_in_threadpool(_remember_test, runtime, connection_id, body)
    return body


def _remember_test(runtime: Any, connection_id: str, body: dict[str, Any]) -> None:
    """Keep the outcome for the console's Accounts; losing a race or a deleted row is fine."""
    try:
        with runtime.transaction() as session:
            connection_tests.record_test(
                session,
                connection_id,
                ok=body["result"],
                message=body.get("message"),
                tested_at=int(time.time() * 1000),
            )
    except IntegrityError:
        log.debug("the test of connection %s was not kept: it changed meanwhile", connection_id)


@router.get("/connections/{connection_id}/explore", summary="Explore tables, schemas, rows")
async def explore_connection(
    connection_id: str,
    runtime: RuntimeDep,
    scope: ScopeDep,
    object_type: Annotated[str, Query(alias="objectType", description="root or table")] = "root",
    object_path: Annotated[str | None, Query(alias="object", description="schema.table")] = None,
    preview: Annotated[bool, Query(description="true: add up to `count` rows")] = False,
    count: Annotated[int, Query(ge=1, le=MAX_PREVIEW_ROWS, description="rows to preview")] = 100,
    start: Annotated[int, Query(ge=0, description="first object (root listing)")] = 0,
    limit: Annotated[int | None, Query(ge=1, le=10000, description="objects (root)")] = None,
    decimals_as_strings: Annotated[
        bool, Query(alias=DECIMALS_AS_STRINGS, description=DECIMALS_AS_STRINGS_HELP)
    ] = False,
) -> Any:
    kind = object_type.lower()
    if kind not in ("root", "table"):
        raise InvalidRequest("objectType must be root or table for this connection")
    if kind == "table" and not object_path:
        raise InvalidRequest("objectType=table needs object=schema.table")
    connector, secrets = await run_in_threadpool(_open_connector, runtime, scope, connection_id)
    if kind == "root":
        objects = await _call(secrets, connector.list_objects, start=start, limit=limit)
        return [object_to_wire(obj) for obj in objects]
    assert object_path is not None
    if preview:
        schema, rows = await _call(secrets, connector.preview, object_path, count=count)
        return table_to_wire(schema, rows, decimals_as_strings=decimals_as_strings)
    return table_to_wire(await _call(secrets, connector.describe, object_path))
