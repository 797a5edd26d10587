from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from flowservice.errors import (
    Conflict,
    LakeError,
    SchemaMismatch,
    SourceConfigError,
    TransientSourceError,
)
from flowservice.flows.flow_spec import CRM_TO_AEP_ID
from flowservice.flows.run_json import run_from_record, run_to_json, run_to_record
from flowservice.flows.run_state import (
    ALLOWED_TRANSITIONS,
    LOAD_ERROR_CODE,
    MAX_ERROR_SAMPLES,
    SOURCE_ERROR_CODE,
    ErrorSample,
    Run,
    RunError,
    RunStatus,
    Stage,
    partial_ingestion_error,
)
from flowservice.flows.schedule import Window

T = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
SECRET_CS = "Data Source=db;User ID=sa;Password=Hunter2!;"


def at(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


def new_run(window: Window | None = None) -> Run:
    return Run(
        id="run-1",
        flow_id="flow-1",
        flow_spec_id=CRM_TO_AEP_ID,
        flow_spec_version="1.0",
        created_at=T,
        source_connection_ids=["src-1"],
        target_connection_ids=["tgt-1"],
        window=window if window is not None else Window(at(-3600), T),
        delta_column="UpdatedAt",
    )


def test_happy_path_and_documented_json_shape() -> None:
    run = new_run()
    run.start(at(1))
    run.add_read(records=100, size_bytes=24012, files=1)
    run.add_failed(1, [ErrorSample(row=7, reason="cannot cast 'abc' to int", column="Age")])
    run.add_written(records=99, size_bytes=17128, files=1)
    run.copy_finished(at(5))
    run.promotion_started(at(6))
    run.succeed(at(9), batch_id="01EF01X41KJD82Y9ZX6ET54PCZ")
    body = run_to_json(run, etag='"e1"', sandbox_name="prod", ims_org_id="ORG@AdobeOrg")
    assert body["id"] == "run-1"
    assert body["flowSpec"] == {"id": CRM_TO_AEP_ID, "version": "1.0"}
    assert body["createdAt"] == int(T.timestamp() * 1000)
    assert body["updatedAt"] == int(at(9).timestamp() * 1000)
    metrics = body["metrics"]
    assert metrics["durationSummary"] == {
        "startedAtUTC": int(at(1).timestamp() * 1000),
        "completedAtUTC": int(at(9).timestamp() * 1000),
    }
    assert metrics["sizeSummary"] == {"inputBytes": 24012, "outputBytes": 17128}
    assert metrics["recordSummary"] == {
        "inputRecordCount": 100,
        "outputRecordCount": 99,
        "failedRecordCount": 1,
    }
    assert metrics["fileSummary"] == {"inputFileCount": 1, "outputFileCount": 1}
    assert metrics["statusSummary"]["status"] == "success"
    assert metrics["statusSummary"]["extensions"]["errorSamples"] == [
        {"row": 7, "reason": "cannot cast 'abc' to int", "column": "Age"}
    ]
    copy, promotion = body["activities"]
    assert copy["id"] == "copyActivity"
    assert copy["durationSummary"]["extensions"] == {
        "windowStart": int(at(-3600).timestamp() * 1000),
        "windowEnd": int(T.timestamp() * 1000),
    }
    assert copy["durationSummary"]["completedAtUTC"] == int(at(5).timestamp() * 1000)
    assert copy["statusSummary"] == {"status": "success"}
    assert copy["sourceInfo"] == [{"id": "src-1", "type": "SourceConnection"}]
    assert promotion["id"] == "promotionActivity"
    assert promotion["targetInfo"] == [
        {
            "id": "tgt-1",
            "type": "TargetConnection",
            "reference": {"type": "Batch", "ids": ["01EF01X41KJD82Y9ZX6ET54PCZ"]},
        }
    ]
    assert promotion["recordSummary"]["outputRecordCount"] == 99
    json.dumps(body)  # JSON-ready
    hidden = run_to_json(run, etag="e", sandbox_name="p", ims_org_id="o", error_diagnostics=False)
    assert "extensions" not in hidden["metrics"]["statusSummary"]


def test_scheduled_run_json_and_backfill_window_start_is_zero() -> None:
    run = new_run(Window(None, T))
    body = run_to_json(run, etag="e", sandbox_name="prod", ims_org_id="o")
    assert body["metrics"]["statusSummary"] == {"status": "scheduled"}
    assert body["metrics"]["durationSummary"] == {}
    [copy] = body["activities"]
    assert copy["durationSummary"]["extensions"]["windowStart"] == 0
    assert copy["statusSummary"] == {"status": "scheduled"}


def test_full_snapshot_run_has_no_window_extensions() -> None:
    run = new_run()
    run.window = None
    run.start(at(1))
    run.succeed(at(2), batch_id=None)
    body = run_to_json(run, etag="e", sandbox_name="prod", ims_org_id="o")
    copy, promotion = body["activities"]
    assert "extensions" not in copy["durationSummary"]
    assert promotion["targetInfo"] == [{"id": "tgt-1", "type": "TargetConnection"}]


def test_source_failure_is_1001_and_secret_free() -> None:
    run = new_run()
    run.start(at(1))
    run.add_read(records=10, size_bytes=100)
    exc = TransientSourceError(f"login timed out for {SECRET_CS}")
    run.fail(RunError.from_exception(exc, stage=Stage.COPY), at(2))
    body = run_to_json(run, etag="e", sandbox_name="prod", ims_org_id="o")
    summary = body["metrics"]["statusSummary"]
    assert summary["status"] == "failed"
    [error] = summary["errors"]
    assert error["code"] == SOURCE_ERROR_CODE
    assert "Hunter2!" not in json.dumps(body)
    assert error["message"].startswith("Failed to copy from the source: login timed out")
    assert body["activities"][0]["statusSummary"] == {"status": "failed"}
    assert len(body["activities"]) == 1


def test_error_classification() -> None:
    lake = RunError.from_exception(LakeError("commit failed"), stage=Stage.LOAD)
    assert lake == RunError(LOAD_ERROR_CODE, "Failed to load into the dataset: commit failed")
    mismatch = RunError.from_exception(
        SchemaMismatch("column Age: int vs string"), stage=Stage.LOAD
    )
    assert mismatch.code == LOAD_ERROR_CODE
    # a connector error surfacing late is still the source's fault
    late = RunError.from_exception(SourceConfigError("login failed"), stage=Stage.LOAD)
    assert late.code == SOURCE_ERROR_CODE
    # foreign exceptions may quote anything: only their type is shown
    foreign = RunError.from_exception(RuntimeError(SECRET_CS), stage=Stage.LOAD)
    assert foreign == RunError(
        LOAD_ERROR_CODE, "Failed to load into the dataset: unexpected RuntimeError"
    )
    named = RunError.from_exception(
        SourceConfigError("bad password 's3cr3t-value' for sa"),
        stage=Stage.COPY,
        secrets=["s3cr3t-value"],
    )
    assert "s3cr3t-value" not in named.message


def test_load_failure_marks_promotion_failed() -> None:
    run = new_run()
    run.start(at(1))
    run.copy_finished(at(2))
    run.promotion_started(at(3))
    run.fail(RunError.from_exception(LakeError("disk full"), stage=Stage.LOAD), at(4))
    body = run_to_json(run, etag="e", sandbox_name="prod", ims_org_id="o")
    copy, promotion = body["activities"]
    assert copy["statusSummary"] == {"status": "success"}
    assert promotion["statusSummary"] == {"status": "failed"}
    assert body["metrics"]["statusSummary"]["errors"][0]["code"] == LOAD_ERROR_CODE


def test_cancel_while_in_progress_and_before_start() -> None:
    running = new_run()
    running.start(at(1))
    running.cancel(at(2))
    assert running.status is RunStatus.CANCELLED
    assert running.copy_status is RunStatus.CANCELLED
    waiting = new_run()
    waiting.cancel(at(1))
    assert waiting.status is RunStatus.CANCELLED and waiting.copy_status is None


def test_transitions_are_enforced() -> None:
    run = new_run()
    with pytest.raises(Conflict) as info:
        run.succeed(at(1), batch_id="b")
    assert info.value.code == 1416
    assert "run run-1 is scheduled; cannot move to success" in info.value.message
    with pytest.raises(Conflict):
        run.copy_finished(at(1))
    with pytest.raises(Conflict):
        run.retrigger(at(1))
    with pytest.raises(Conflict):
        run.requeue(at(1))
    run.start(at(1))
    with pytest.raises(Conflict):
        run.start(at(2))
    run.succeed(at(3), batch_id="b")
    with pytest.raises(Conflict):
        run.cancel(at(4))
    with pytest.raises(Conflict):
        run.retrigger(at(4))
    with pytest.raises(Conflict):
        run.start(at(4))
    assert ALLOWED_TRANSITIONS[RunStatus.SUCCESS] == frozenset()


def test_retrigger_and_requeue_start_fresh() -> None:
    run = new_run()
    run.start(at(1))
    run.add_read(records=5, size_bytes=50)
    run.requeue(at(2))  # the worker died: nothing was committed
    assert run.status is RunStatus.SCHEDULED
    assert run.counts.input_records == 0
    run.start(at(3))
    assert run.attempt == 2
    run.add_read(records=5, size_bytes=50)
    run.fail(RunError(SOURCE_ERROR_CODE, "Failed to copy from the source: gone"), at(4))
    run.retrigger(at(5))
    assert (run.status, run.errors, run.counts.input_records) == (RunStatus.SCHEDULED, [], 0)
    assert run.window == Window(at(-3600), T)
    run.start(at(6))
    run.succeed(at(7), batch_id="b2")
    assert run.attempt == 3 and run.batch_id == "b2"


def test_error_samples_are_bounded_and_redacted() -> None:
    run = new_run()
    run.start(at(1))
    samples = [
        ErrorSample(row=i, reason=f"bad value password=pw{i} " + "x" * 900) for i in range(150)
    ]
    run.add_failed(150, samples)
    assert run.counts.failed_records == 150
    assert len(run.error_samples) == MAX_ERROR_SAMPLES
    assert all("pw" not in s.reason and len(s.reason) <= 500 for s in run.error_samples)
    run.add_failed(1, [ErrorSample(row=999, reason="late")])
    assert len(run.error_samples) == MAX_ERROR_SAMPLES


@pytest.mark.parametrize(
    ("inputs", "failed", "percent", "ok"),
    [
        (100, 0, None, True),
        (100, 1, None, False),
        (100, 1, 1.0, True),
        (100, 2, 1.0, False),
        (1000, 5, 0.5, True),
        (1000, 6, 0.5, False),
        (0, 0, 5.0, True),
        (0, 1, 50.0, False),
        (3, 1, 33.4, True),
    ],
)
def test_partial_ingestion(inputs: int, failed: int, percent: float | None, ok: bool) -> None:
    error = partial_ingestion_error(input_records=inputs, failed_records=failed, percent=percent)
    assert (error is None) is ok
    if error is not None:
        assert error.code == LOAD_ERROR_CODE
        assert f"{failed} of {inputs} records" in error.message
        assert "nothing was committed" in error.message


def test_record_round_trip_is_lossless() -> None:
    run = new_run(Window(None, at(0.123456)))
    run.schedule_end = at(0.123456)
    run.start(at(1.5))
    run.add_read(records=3, size_bytes=30, files=1)
    run.add_failed(1, [ErrorSample(row=2, reason="bad", column="c")])
    run.add_written(records=2, size_bytes=20, files=1)
    run.copy_finished(at(2))
    run.promotion_started(at(2.5))
    run.fail(RunError(LOAD_ERROR_CODE, "Failed to load into the dataset: x"), at(3))
    record = run_to_record(run)
    restored = run_from_record(json.loads(json.dumps(record)))
    assert restored == run
    fresh = new_run()
    assert run_from_record(run_to_record(fresh)) == fresh
