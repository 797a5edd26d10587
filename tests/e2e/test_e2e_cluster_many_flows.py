"""Fifty scheduled flows at once on a cluster of 2 API servers and 2 Celery workers.

The scheduler leader plans each flow's first window and submits it; the two
workers share the runs. Every run succeeds and every window lands in its
dataset exactly once (one commit, no duplicate rows), on the lake on S3.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cluster_harness import SMALL_ROWS, running_cluster, wait_until
from flow_journey import runs_of, wait_for_run

pytestmark = [pytest.mark.timeout(420), pytest.mark.postgres]

FLOWS = 50


def test_fifty_flows_on_two_workers_all_succeed_and_each_window_is_committed_once(
    tmp_path: Path,
) -> None:
    with running_cluster(tmp_path) as cluster:
        apis = [cluster.client(0), cluster.client(1)]
        # the first window of each flow is [beginning of history, start): due at once; the
        # next one is 15 minutes away, so each flow has exactly one window in this test
        start = int((datetime.now(UTC) - timedelta(seconds=60)).timestamp())
        schedule = {"startTime": start, "frequency": "minute", "interval": 15}
        journeys = [cluster.flow(apis[i % 2], schedule=schedule) for i in range(FLOWS)]

        def planned() -> bool:
            return all(runs_of(apis[0], j.flow_id) for j in journeys)

        wait_until(planned, timeout=120, what="the leader to plan every flow's first window")
        run_ids = []
        for index, journey in enumerate(journeys):
            runs = runs_of(apis[index % 2], journey.flow_id)
            assert len(runs) == 1, runs
            run = wait_for_run(apis[index % 2], runs[0]["id"], timeout=240)
            assert run["metrics"]["statusSummary"]["status"] == "success", run
            assert run["metrics"]["recordSummary"]["outputRecordCount"] == SMALL_ROWS
            assert run["activities"][0]["durationSummary"]["extensions"] == {
                "windowStart": 0,
                "windowEnd": start * 1000,
            }
            run_ids.append(runs[0]["id"])

        for journey in journeys:
            assert len(runs_of(apis[0], journey.flow_id)) == 1  # still one window each
            assert cluster.commits(journey.dataset_id) == 1
            table = cluster.read_dataset(journey.dataset_id)
            assert sorted(table.column("ID").to_pylist()) == list(range(1, SMALL_ROWS + 1))

        # both workers took a share, and no run was executed by both
        shares = [sum(w.ran(run_id) for run_id in run_ids) for w in cluster.workers]
        assert all(share > 0 for share in shares), shares
        assert sum(shares) == FLOWS, shares
