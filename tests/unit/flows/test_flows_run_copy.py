"""run_copy against a real Delta dataset on disk and an in-memory source connector."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from flows_testing_source import PASSWORD, SCHEMA, T0, TableConnector, rows

from flowservice.connectors.base import Connector
from flowservice.errors import SourceConfigError
from flowservice.flows.cancellation import CancelEvent
from flowservice.flows.flow_spec import CRM_TO_AEP_ID
from flowservice.flows.retry import RetryPolicy
from flowservice.flows.run_copy import CopyJob, committed_watermark, run_copy
from flowservice.flows.run_json import run_to_json
from flowservice.flows.run_state import LOAD_ERROR_CODE, SOURCE_ERROR_CODE, Run, RunStatus
from flowservice.flows.schedule import Window
from flowservice.lake import Dataset, LakeLocation, fields_from_dicts
from flowservice.mapping import MappingSet

RETRY = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


def new_run(run_id: str, window: Window | None) -> Run:
    return Run(
        id=run_id,
        flow_id="flow-1",
        flow_spec_id=CRM_TO_AEP_ID,
        flow_spec_version="1.0",
        created_at=T0,
        source_connection_ids=["src"],
        target_connection_ids=["tgt"],
        window=window,
        delta_column="UpdatedAt" if window is not None else None,
    )


def now() -> datetime:
    return datetime.now(UTC)


def copy(
    run: Run,
    connector: Connector,
    dataset: Dataset,
    *,
    mapper: MappingSet | None = None,
    percent: float | None = None,
    cancel: CancelEvent | None = None,
) -> Any:
    run.start(now())
    return run_copy(
        run,
        CopyJob(
            flow_id="flow-1", table="dbo.People", partial_ingestion_percent=percent, batch_rows=100
        ),
        connector=connector,
        dataset=dataset,
        mapper=mapper,
        cancel=cancel or CancelEvent(),
        retry=RETRY,
        clock=now,
        secrets=[PASSWORD],
    )


def ids_in(dataset: Dataset) -> list[int]:
    source = dataset.to_pyarrow_dataset()
    if source is None:
        return []
    return sorted(source.to_table(columns=["Id"]).column("Id").to_pylist())


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return Dataset.create(LakeLocation.local(tmp_path / "people"))


def minute(i: int) -> datetime:
    return T0 + timedelta(minutes=i)


def test_incremental_window_is_half_open_and_recorded(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(1000)})
    run = new_run("r1", Window(minute(100), minute(350)))
    outcome = copy(run, source, dataset)
    assert outcome.status is RunStatus.SUCCESS and outcome.watermark == minute(350)
    assert ids_in(dataset) == list(range(100, 350))  # 100 included, 350 excluded
    assert run.status is RunStatus.SUCCESS and run.batch_id == outcome.batch_id
    assert (run.counts.input_records, run.counts.output_records, run.counts.failed_records) == (
        250,
        250,
        0,
    )
    assert run.counts.output_bytes > 0 and run.counts.output_files == 1
    body = run_to_json(run, etag="e", sandbox_name="prod", ims_org_id="o")
    copy_activity, promotion = body["activities"]
    assert copy_activity["statusSummary"] == {"status": "success"}
    assert promotion["targetInfo"][0]["reference"] == {"type": "Batch", "ids": [run.batch_id]}
    assert committed_watermark(dataset, "flow-1") == minute(350)
    assert committed_watermark(dataset, "other-flow") is None


def test_consecutive_windows_and_a_replayed_window_never_duplicate(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(1000)})
    assert (
        copy(new_run("r1", Window(None, minute(200))), source, dataset).status is RunStatus.SUCCESS
    )
    committed = copy(new_run("r2", Window(minute(200), minute(500))), source, dataset).batch_id
    assert committed
    version = dataset.version()
    # the process died after the commit, before the watermark moved: the window runs again
    replay = new_run("r2-again", Window(minute(200), minute(500)))
    outcome = copy(replay, source, dataset)
    assert outcome.replayed and outcome.status is RunStatus.SUCCESS
    assert outcome.batch_id == replay.batch_id == committed
    # the replay read and wrote nothing: it reports so, not the first attempt's figures
    counts = replay.counts
    assert (counts.input_records, counts.output_records, counts.failed_records) == (0, 0, 0)
    assert (counts.input_bytes, counts.output_bytes, counts.output_files) == (0, 0, 0)
    records = run_to_json(replay, etag="e", sandbox_name="prod", ims_org_id="o")["metrics"][
        "recordSummary"
    ]
    assert records == {"inputRecordCount": 0, "outputRecordCount": 0, "failedRecordCount": 0}
    assert dataset.version() == version
    assert ids_in(dataset) == list(range(500))
    assert committed_watermark(dataset, "flow-1") == minute(500)


def test_empty_window_commits_nothing_but_succeeds(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(10)})
    run = new_run("r1", Window(minute(5000), minute(6000)))
    outcome = copy(run, source, dataset)
    assert (outcome.status, outcome.batch_id, outcome.watermark) == (
        RunStatus.SUCCESS,
        None,
        minute(6000),
    )
    assert not dataset.exists()


def test_full_snapshot_replaces_the_dataset_atomically(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(300)})
    first = copy(new_run("r1", None), source, dataset)
    assert first.status is RunStatus.SUCCESS and first.watermark is None
    source.tables["dbo.People"] = rows(120, start_id=1000)
    copy(new_run("r2", None), source, dataset)
    assert ids_in(dataset) == list(range(1000, 1120))
    source.tables["dbo.People"] = rows(0)
    copy(new_run("r3", None), source, dataset)
    assert ids_in(dataset) == []


def test_transient_source_errors_are_retried_from_scratch(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(1000)})
    source.fail_after_batches, source.failures_left = 3, 2  # fails mid-stream twice
    run = new_run("r1", Window(None, minute(1000)))
    outcome = copy(run, source, dataset)
    assert outcome.status is RunStatus.SUCCESS
    assert source.reads == 3
    assert ids_in(dataset) == list(range(1000))
    assert run.counts.input_records == 1000  # the last attempt's counts only


def test_source_failure_fails_the_run_and_commits_nothing(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(1000)})
    copy(new_run("r0", Window(None, minute(100))), source, dataset)
    version = dataset.version()
    source.fail_after_batches, source.failures_left = 2, 10
    run = new_run("r1", Window(minute(100), minute(1000)))
    outcome = copy(run, source, dataset)
    assert outcome.status is RunStatus.FAILED and outcome.watermark is None
    assert source.reads == 1 + RETRY.max_attempts
    [error] = run.errors
    assert error.code == SOURCE_ERROR_CODE
    assert error.message == "Failed to copy from the source: connection reset by peer"
    assert dataset.version() == version and ids_in(dataset) == list(range(100))
    # re-trigger once the source is back: exactly the window, no duplicates
    source.failures_left = 0
    run.retrigger(now())
    assert copy(run, source, dataset).status is RunStatus.SUCCESS
    assert ids_in(dataset) == list(range(1000))


@pytest.mark.parametrize(
    ("failure", "message"),
    [
        (
            SourceConfigError("login failed for user 'sa'"),
            "Failed to copy from the source: login failed for user 'sa'",
        ),
        (
            RuntimeError(f"driver said Password={PASSWORD}"),
            "the source read failed unexpectedly (RuntimeError)",
        ),
    ],
)
def test_permanent_source_errors_are_not_retried_and_stay_secret_free(
    dataset: Dataset, failure: Exception, message: str
) -> None:
    source = TableConnector({"dbo.People": rows(500)})
    source.fail_after_batches, source.failures_left, source.failure = 1, 10, failure
    run = new_run("r1", Window(None, minute(500)))
    copy(run, source, dataset)
    assert source.reads == 1
    assert run.errors[0].code == SOURCE_ERROR_CODE
    assert message in run.errors[0].message
    assert PASSWORD not in str(run_to_json(run, etag="e", sandbox_name="p", ims_org_id="o"))
    assert not dataset.exists()


MAPPINGS = [
    {"sourceAttribute": "Id", "destinationXdmPath": "id"},
    {"sourceAttribute": "Name", "destinationXdmPath": "name"},
    {"sourceAttribute": "Age", "destinationXdmPath": "age"},
    {"sourceAttribute": "UpdatedAt", "destinationXdmPath": "updatedAt"},
]
FIELDS = fields_from_dicts(
    [
        {"name": "id", "type": "integer", "nullable": False},
        {"name": "name", "type": "string"},
        {"name": "age", "type": "integer"},
        {"name": "updatedAt", "type": "date-time"},
    ]
)


@pytest.fixture
def mapped_dataset(tmp_path: Path) -> tuple[Dataset, MappingSet]:
    dataset = Dataset.create(LakeLocation.local(tmp_path / "mapped"), fields=FIELDS)
    return dataset, MappingSet.compile(MAPPINGS, source=SCHEMA, dataset=dataset.fields())


def test_partial_ingestion_within_threshold_succeeds_with_samples(
    mapped_dataset: tuple[Dataset, MappingSet],
) -> None:
    dataset, mapping = mapped_dataset
    source = TableConnector({"dbo.People": rows(1000, bad_every=100)})  # 10 bad rows = 1 %
    run = new_run("r1", Window(None, minute(1000)))
    outcome = copy(run, source, dataset, mapper=mapping, percent=1.0)
    assert outcome.status is RunStatus.SUCCESS
    assert (run.counts.input_records, run.counts.output_records, run.counts.failed_records) == (
        1000,
        990,
        10,
    )
    assert [s.row for s in run.error_samples] == list(range(0, 1000, 100))
    assert run.error_samples[0].column == "age"
    source_rows = dataset.to_pyarrow_dataset()
    assert source_rows is not None and source_rows.count_rows() == 990


def test_partial_ingestion_over_threshold_fails_and_commits_nothing(
    mapped_dataset: tuple[Dataset, MappingSet],
) -> None:
    dataset, mapping = mapped_dataset
    version = dataset.version()
    source = TableConnector({"dbo.People": rows(1000, bad_every=50)})  # 2 %
    run = new_run("r1", Window(None, minute(1000)))
    outcome = copy(run, source, dataset, mapper=mapping, percent=1.0)
    assert outcome.status is RunStatus.FAILED
    [error] = run.errors
    assert error.code == LOAD_ERROR_CODE
    assert "20 of 1000 records (2.00%) failed" in error.message
    assert run.counts.failed_records == 20 and len(run.error_samples) == 20
    assert dataset.version() == version
    no_threshold = new_run("r2", Window(None, minute(1000)))
    assert copy(no_threshold, source, dataset, mapper=mapping).status is RunStatus.FAILED
    assert "partial ingestion is not enabled" in no_threshold.errors[0].message


def test_cancel_mid_stream_commits_nothing(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(1000)})
    source.between_batches = threading.Event()
    cancel = CancelEvent()
    run = new_run("r1", Window(None, minute(1000)))
    result: list[Any] = []
    worker = threading.Thread(
        target=lambda: result.append(copy(run, source, dataset, cancel=cancel))
    )
    worker.start()
    assert source.paused.wait(5)
    cancel.cancel()
    source.between_batches.set()
    worker.join(10)
    assert result[0].status is RunStatus.CANCELLED
    assert run.status is RunStatus.CANCELLED
    assert not dataset.exists()


def test_random_windows_tile_the_table_exactly(dataset: Dataset) -> None:
    source = TableConnector({"dbo.People": rows(2000)})
    cuts = sorted(random.Random(5).sample(range(1, 2000), 6))
    bounds: list[datetime | None] = [None, *[minute(c) for c in cuts], minute(2000)]
    for index, (start, end) in enumerate(itertools.pairwise(bounds)):
        assert end is not None
        assert (
            copy(new_run(f"r{index}", Window(start, end)), source, dataset).status
            is RunStatus.SUCCESS
        )
    assert ids_in(dataset) == list(range(2000))


def test_an_unreadable_dataset_fails_the_run_as_a_load_failure(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    (broken / "_delta_log").mkdir(parents=True)
    (broken / "_delta_log" / "00000000000000000000.json").write_text("{not json")
    dataset = Dataset(LakeLocation.local(broken))
    source = TableConnector({"dbo.People": rows(10)})
    run = new_run("r1", Window(None, minute(10)))
    outcome = copy(run, source, dataset)
    assert outcome.status is RunStatus.FAILED
    assert run.errors[0].code == LOAD_ERROR_CODE
    assert run.errors[0].message.startswith("Failed to load into the dataset")


class ClosingConnector(TableConnector):
    """Yields a stray column from batch ``stray_from`` on; records where its read ran and ended."""

    def __init__(self, table: pa.Table, *, stray_from: int | None = 2) -> None:
        super().__init__({"dbo.People": table})
        self.stray_from = stray_from
        self.threads: set[str] = set()
        self.closed = threading.Event()
        self.yielded = 0

    def read(self, table: str, **kwargs: Any) -> Iterator[pa.RecordBatch]:
        try:
            for index, batch in enumerate(super().read(table, **kwargs)):
                self.threads.add(threading.current_thread().name)
                if self.stray_from is not None and index >= self.stray_from:
                    batch = batch.append_column("Stray", pa.array([1] * batch.num_rows))
                self.yielded += 1
                yield batch
        finally:
            self.closed.set()


def test_a_write_failure_mid_stream_stops_the_read_and_commits_nothing(dataset: Dataset) -> None:
    source = ClosingConnector(rows(100_000))
    run = new_run("r1", None)
    assert copy(run, source, dataset).status is RunStatus.FAILED
    assert "columns appeared in the middle of a write" in run.errors[0].message
    assert source.closed.is_set()
    # the reader ran in its own thread and stopped a few batches after the failure
    assert threading.current_thread().name not in source.threads
    assert source.yielded < 1000
    assert not dataset.exists()  # nothing committed, not even the table


def test_a_run_reads_in_another_thread_and_copies_everything(dataset: Dataset) -> None:
    source = ClosingConnector(rows(250), stray_from=None)
    run = new_run("r1", None)
    assert copy(run, source, dataset).status is RunStatus.SUCCESS
    assert ids_in(dataset) == list(range(250))
    assert len(dataset.batches()) == 1  # the run's one commit
    assert source.closed.is_set()
    assert threading.current_thread().name not in source.threads
