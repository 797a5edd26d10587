"""The Celery executor through failures: a worker killed mid-run, Redis restarted mid-run."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_harness import (
    GATED_ROWS,
    GATED_TABLE,
    SMALL_ROWS,
    Cluster,
    request_run,
    running_cluster,
)
from flow_journey import wait_for_run
from sqlalchemy import create_engine, text

pytestmark = [pytest.mark.timeout(240), pytest.mark.postgres]


def _status(run: dict[str, object]) -> str:
    return str(run["metrics"]["statusSummary"]["status"])  # type: ignore[index]


def _holder_pid(cluster: Cluster, run_id: str) -> int:
    engine = create_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            holder = conn.execute(
                text("SELECT holder FROM leases WHERE name = :name"), {"name": f"run:{run_id}"}
            ).scalar_one()
    finally:
        engine.dispose()
    return int(str(holder).split(":")[1])


def _assert_copied_once(cluster: Cluster, dataset_id: str) -> None:
    table = cluster.read_dataset(dataset_id)
    assert table.num_rows == GATED_ROWS
    assert len(table.column("ID").unique()) == GATED_ROWS
    assert cluster.commits(dataset_id) == 1


def test_a_worker_killed_mid_run_leaves_the_run_to_the_other_worker(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        api = cluster.client(0)
        journey = cluster.flow(api, GATED_TABLE)
        cluster.gate.armed = True
        run_id = request_run(api, journey.flow_id)
        assert cluster.gate.reached.wait(timeout=60)
        assert _status(wait_for_run(api, run_id, states=("inProgress",))) == "inProgress"
        holder = _holder_pid(cluster, run_id)
        by_pid = {w.pid: w for w in cluster.workers}
        assert holder in by_pid
        by_pid[holder].kill()
        cluster.gate.release.set()
        # inProgress until the heartbeat lease (3 s here) expires; then requeued and sent again
        run = wait_for_run(api, run_id, timeout=90)
        assert _status(run) == "success", run
        survivor = next(w for pid, w in by_pid.items() if pid != holder)
        assert survivor in cluster.worker_that_ran(run_id)
        _assert_copied_once(cluster, journey.dataset_id)


def test_redis_restarted_mid_run_the_run_finishes_and_later_runs_work(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        first, second = cluster.client(0), cluster.client(1)
        journey = cluster.flow(first, GATED_TABLE)
        later, last = cluster.flow(second), cluster.flow(second)
        cluster.gate.armed = True
        run_id = request_run(first, journey.flow_id)
        assert cluster.gate.reached.wait(timeout=60)
        cluster.redis.kill()  # no persistence: queue and markers are gone
        # a run asked for while Redis is down is accepted and stays scheduled
        waiting = request_run(second, later.flow_id)
        cluster.redis.start()
        cluster.gate.release.set()
        run = wait_for_run(first, run_id, timeout=90)
        assert _status(run) == "success", run
        _assert_copied_once(cluster, journey.dataset_id)
        # sent once Redis is back (the leader's next ticks), executed by a reconnected worker
        done = wait_for_run(second, waiting, timeout=90)
        assert _status(done) == "success", done
        assert done["metrics"]["recordSummary"]["outputRecordCount"] == SMALL_ROWS
        assert cluster.commits(later.dataset_id) == 1
        newer = request_run(second, last.flow_id)
        assert _status(wait_for_run(second, newer, timeout=90)) == "success"
