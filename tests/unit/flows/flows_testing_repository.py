"""A RunRepository / ScheduleRepository in memory, shared by the flows tests."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime

from flows_testing_source import TableConnector

from flowservice.flows.flow_spec import CRM_TO_AEP_ID
from flowservice.flows.run_copy import CopyJob
from flowservice.flows.run_json import run_from_record, run_to_record
from flowservice.flows.run_progress import ProgressSnapshot
from flowservice.flows.run_state import Run, RunStatus
from flowservice.flows.runner import CopyContext
from flowservice.flows.schedule import Schedule, Window
from flowservice.flows.scheduler import FlowSchedule, PlannedRun
from flowservice.lake import Dataset

WAIT = 10.0
FLOW = "flow-1"


class MemoryRepository:
    """A RunRepository keeping runs as stored records, the way the database will."""

    def __init__(
        self, connector: TableConnector, dataset: Dataset, schedule: Schedule | None = None
    ) -> None:
        self.connector, self.dataset, self.schedule = connector, dataset, schedule
        self.ids = itertools.count(1)
        self.incremental = True
        self.records: dict[str, dict[str, object]] = {}
        self.watermark: datetime | None = None
        self.lock = threading.Condition()
        self.context_error: Exception | None = None
        self.finished: list[str] = []
        self.progress: list[tuple[str, ProgressSnapshot]] = []

    def add(self, run: Run) -> None:
        self.save(run)

    def load(self, run_id: str) -> Run:
        with self.lock:
            return run_from_record(dict(self.records[run_id]))

    def save(self, run: Run) -> None:
        with self.lock:
            self.records[run.id] = run_to_record(run)
            self.lock.notify_all()

    def finish(self, run: Run, *, watermark: datetime | None) -> None:
        with self.lock:
            self.records[run.id] = run_to_record(run)
            if watermark is not None and (self.watermark is None or watermark > self.watermark):
                self.watermark = watermark
            self.finished.append(run.id)
            self.lock.notify_all()

    def save_progress(self, run: Run, live: ProgressSnapshot) -> None:
        with self.lock:
            self.progress.append((run.id, live))

    def copy_context(self, run: Run) -> CopyContext:
        if self.context_error is not None:
            raise self.context_error
        return CopyContext(
            job=CopyJob(flow_id=run.flow_id, table="dbo.People", batch_rows=100),
            connector=self.connector,
            dataset=self.dataset,
        )

    def in_progress(self) -> list[str]:
        with self.lock:
            return [rid for rid, rec in self.records.items() if rec["status"] == "inProgress"]

    def status(self, run_id: str) -> RunStatus:
        return self.load(run_id).status

    def wait_final(self, run_id: str) -> Run:
        final = {"success", "failed", "cancelled"}
        with self.lock:
            assert self.lock.wait_for(lambda: self.records[run_id]["status"] in final, WAIT)
        return self.load(run_id)

    # --- ScheduleRepository ---

    def flow_schedules(self) -> list[FlowSchedule]:
        assert self.schedule is not None
        with self.lock:
            active = any(r["status"] in ("scheduled", "inProgress") for r in self.records.values())
            return [
                FlowSchedule(
                    FLOW,
                    self.schedule,
                    self.watermark,
                    incremental=self.incremental,
                    has_active_run=active,
                )
            ]

    def create_run(self, planned: PlannedRun, *, now: datetime) -> str:
        run = new_run(f"run-{next(self.ids)}", planned.copy_window)
        run.schedule_end = planned.window.end
        self.save(run)
        return run.id

    def runs_to_submit(self, *, now: datetime) -> list[str]:
        with self.lock:
            return [rid for rid, r in self.records.items() if r["status"] == "scheduled"]


def new_run(run_id: str, window: Window | None) -> Run:
    return Run(
        id=run_id,
        flow_id=FLOW,
        flow_spec_id=CRM_TO_AEP_ID,
        flow_spec_version="1.0",
        created_at=datetime.now(UTC),
        source_connection_ids=["src"],
        target_connection_ids=["tgt"],
        window=window,
        delta_column="UpdatedAt" if window is not None else None,
    )
