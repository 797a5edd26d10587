"""Console pages stay under a second with 1,000 flows and 100,000 runs in the sandbox.

The rows are written straight into the metadata DB (copies of one flow created through
the API; runs from real run records), then each page is timed over HTTP.

The dataflow wizard's first step (``/console/accounts/{id}/dataflow``) is not timed here:
it describes the account's table through the explore route, which needs a live SQL Server
(the emulator), and this test's account points at a closed port.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import timedelta
from typing import Any

import httpx
from console_harness import console_link, create_flow
from service_harness import FLOW_SPEC_ID, ApiClient, RunningServer
from sqlalchemy import insert, select

from flowservice.flows.run_json import run_to_record
from flowservice.flows.run_state import RecordCounts, Run, RunStatus
from flowservice.flows.schedule import EPOCH
from flowservice.store import db
from flowservice.store.tables import Resource

FLOWS = 1_000
RUNS = 100_000
BATCH = 5_000
FIRST_RUN_US = 1_700_000_000 * 1_000_000


def _run_rows(flow: Resource) -> list[dict[str, Any]]:
    rows = []
    for index in range(RUNS):
        created = EPOCH + timedelta(microseconds=FIRST_RUN_US) + timedelta(minutes=15 * index)
        run = Run(
            id=str(uuid.uuid4()),
            flow_id=flow.id,
            flow_spec_id=FLOW_SPEC_ID,
            flow_spec_version="1.0",
            created_at=created,
            source_connection_ids=list(flow.doc["sourceConnectionIds"]),
            target_connection_ids=list(flow.doc["targetConnectionIds"]),
            status=RunStatus.SUCCESS if index % 10 else RunStatus.FAILED,
            started_at=created,
            completed_at=created + timedelta(seconds=40),
            updated_at=created + timedelta(seconds=40),
            counts=RecordCounts(input_records=1000, output_records=1000, output_bytes=65_536),
        )
        rows.append(
            _copy(flow)
            | {
                "id": run.id,
                "kind": "runs",
                "parent_id": flow.id,
                "state": str(run.status),
                "name": None,
                "doc": {"run": run_to_record(run), "startAtUs": 0},
            }
        )
    return rows


def _copy(row: Resource) -> dict[str, Any]:
    return {c.key: getattr(row, c.key) for c in Resource.__table__.columns}


def _fill(server: RunningServer, flow_id: str) -> None:
    engine = db.engine_for(server.settings)
    try:
        factory = db.session_factory(engine)
        with db.transaction(factory) as session:
            flow = session.scalars(select(Resource).where(Resource.id == flow_id)).one()
            template = _copy(flow)
            flows = [
                template | {"id": str(uuid.uuid4()), "name": f"Copy {i:04d}", "etag": "e"}
                for i in range(1, FLOWS)
            ]
            session.execute(insert(Resource), flows)
            runs = _run_rows(flow)
        for start in range(0, len(runs), BATCH):
            with db.transaction(factory) as session:
                session.execute(insert(Resource), runs[start : start + BATCH])
    finally:
        engine.dispose()


def test_pages_stay_under_a_second_at_scale(
    console_server: RunningServer, org_api: ApiClient
) -> None:
    flow_id, _ = create_flow(org_api, "Busy flow")
    _fill(console_server, flow_id)
    with httpx.Client(base_url=console_server.base_url, timeout=30) as http:
        assert http.get(console_link(console_server, org_api.org_id)).status_code == 200
        pages = [
            "/console/dataflows",
            "/console/sources",
            "/console/accounts",
            f"/console/dataflows/{flow_id}/runs",
            f"/console/dataflows/{flow_id}/runs?failures=1",
            "/console/monitoring?days=7",
            "/console/monitoring?days=90",
            f"/console/monitoring?days=7&flow={flow_id}",
            f"/console/monitoring?days=90&flow={flow_id}",
            "/console/settings",
        ]
        first = http.get(pages[0])
        more = re.search(r'href="(/console/dataflows\?continuationToken=[^"]+)"', first.text)
        assert more
        pages.append(more.group(1).replace("&amp;", "&"))
        timings: list[str] = []
        for path in pages:
            http.get(path)  # warm: the first request of a kind compiles its templates
            best = 60.0
            for _ in range(3):  # the best of three: a shared machine's hiccups are not the page's
                started = time.perf_counter()
                answer = http.get(path)
                best = min(best, time.perf_counter() - started)
                assert answer.status_code == 200, (path, answer.text[:300])
            timings.append(f"{path[:70]}: {best * 1000:.0f} ms")
            assert best < 1.0, f"{path} took {best:.2f} s; so far: {timings}"
        print("\n".join(["page timings (best of three):", *timings]))
        runs_page = http.get(f"/console/dataflows/{flow_id}/runs").text
        assert runs_page.count("data-run-id=") == 50 and "Next page" in runs_page
