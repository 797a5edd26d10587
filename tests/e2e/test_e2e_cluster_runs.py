"""The Celery executor across processes: 2 API servers, 2 workers, Redis, PostgreSQL.

A run is submitted through one server and executes on a worker; a repeated
message runs nothing twice; a cancel sent to the other server stops a run a
worker holds; a worker that starts after runs were queued picks them up.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cluster_harness import (
    GATED_ROWS,
    GATED_TABLE,
    SMALL_ROWS,
    Cluster,
    request_run,
    running_cluster,
    wait_until,
)
from flow_journey import wait_for_run

from flowservice.flows.executors.celery_app import RUN_TASK, celery_app
from flowservice.settings import Settings

pytestmark = [pytest.mark.timeout(240), pytest.mark.postgres]

# documented in docs/scaling.md: the worker polls the run's cancel flag every second and
# checks it between batches (a loaded machine gets the rest of the margin)
CANCEL_WITHIN_SECONDS = 5.0


def _status(run: dict[str, object]) -> str:
    return str(run["metrics"]["statusSummary"]["status"])  # type: ignore[index]


def _messages_handled(cluster: Cluster, run_id: str) -> int:
    needle = f"message for run {run_id} handled"
    return sum(w.log().count(needle) for w in cluster.workers)


def _runs_started(cluster: Cluster, run_id: str) -> int:
    return sum(
        1
        for w in cluster.workers
        for line in w.log().splitlines()
        if "run started" in line and run_id in line
    )


def test_a_run_submitted_through_one_server_executes_on_one_worker(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        api = cluster.client(0)
        journey = cluster.flow(api)
        run_id = request_run(api, journey.flow_id)
        run = wait_for_run(api, run_id)
        assert _status(run) == "success", run
        assert run["metrics"]["recordSummary"]["outputRecordCount"] == SMALL_ROWS
        assert cluster.commits(journey.dataset_id) == 1
        ran = cluster.worker_that_ran(run_id)
        assert len(ran) == 1
        # the worker process never loaded the API's web framework, even after a run
        ran[0].stop()
        assert "fastapi loaded: False" in ran[0].log()


def test_a_repeated_message_runs_the_run_once(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        api = cluster.client(0)
        journey = cluster.flow(api, GATED_TABLE)
        cluster.gate.armed = True
        run_id = request_run(api, journey.flow_id)
        assert cluster.gate.reached.wait(timeout=60)
        # the same message twice more, straight to the broker, while the run is in progress
        app = celery_app(Settings(executor="celery", broker_url=cluster.redis.url))
        try:
            for _ in range(2):
                app.send_task(RUN_TASK, args=[run_id], queue="flowservice-runs")
            wait_until(
                lambda: _messages_handled(cluster, run_id) >= 2,
                timeout=30,
                what="the repeated messages to be handled",
            )
            cluster.gate.release.set()
            run = wait_for_run(api, run_id)
            assert _status(run) == "success", run
            # and once more after it finished
            app.send_task(RUN_TASK, args=[run_id], queue="flowservice-runs")
            wait_until(
                lambda: _messages_handled(cluster, run_id) >= 4,
                timeout=30,
                what="the late message to be handled",
            )
        finally:
            app.close()
        assert _runs_started(cluster, run_id) == 1
        table = cluster.read_dataset(journey.dataset_id)
        assert table.num_rows == GATED_ROWS
        assert len(table.column("ID").unique()) == GATED_ROWS
        assert cluster.commits(journey.dataset_id) == 1


def test_cancel_through_the_other_server_stops_the_run_a_worker_holds(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        first, second = cluster.client(0), cluster.client(1)
        journey = cluster.flow(first, GATED_TABLE)
        cluster.gate.armed = True
        run_id = request_run(first, journey.flow_id)
        assert cluster.gate.reached.wait(timeout=60)
        assert _status(wait_for_run(first, run_id, states=("inProgress",))) == "inProgress"
        asked = time.monotonic()
        response = second.post(f"/runs/{run_id}/action", params={"op": "cancel"})
        assert response.status_code in (200, 201), response.text
        # the worker checks the flag between batches and asks the store at most once a second:
        # let that second pass, then let the paused read go on
        time.sleep(1.2)
        cluster.gate.release.set()
        run = wait_for_run(second, run_id, timeout=CANCEL_WITHIN_SECONDS)
        took = time.monotonic() - asked
        assert _status(run) == "cancelled", run
        assert took < CANCEL_WITHIN_SECONDS
        assert cluster.commits(journey.dataset_id) == 0
        assert len(cluster.worker_that_ran(run_id)) == 1


def test_a_worker_started_after_runs_were_queued_picks_them_up(tmp_path: Path) -> None:
    with running_cluster(tmp_path, workers=0) as cluster:
        api = cluster.client(1)
        journeys = [cluster.flow(api) for _ in range(3)]
        run_ids = [request_run(api, j.flow_id) for j in journeys]
        worker = cluster.start_worker()
        for run_id, journey in zip(run_ids, journeys, strict=True):
            run = wait_for_run(api, run_id)
            assert _status(run) == "success", run
            assert cluster.commits(journey.dataset_id) == 1
            assert cluster.worker_that_ran(run_id) == [worker]
