"""Alerts across processes: runs execute on a Celery worker, two API servers both dispatch.

The worker only writes the outbox; each server's dispatcher fans out and
claims with a compare-and-set, so every alert reaches the receiver once.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cluster_harness import request_run, running_cluster
from flow_journey import wait_for_run
from service_harness import created_id
from webhook_receiver import WebhookReceiver

pytestmark = [pytest.mark.timeout(240), pytest.mark.postgres]

START = "sources_flow_run_start"
SUCCESS = "sources_flow_run_success"


def test_alerts_of_worker_runs_are_sent_once_by_two_dispatching_servers(tmp_path: Path) -> None:
    receiver = WebhookReceiver().up()
    try:
        with running_cluster(tmp_path, apis=2, workers=1) as cluster:
            api = cluster.client(0)
            made = api.post(
                "/alerts/subscriptions",
                json={"name": "hook", "url": receiver.url, "kinds": [START, SUCCESS]},
            )
            sub_id = created_id(made)
            flows = [cluster.flow(api) for _ in range(3)]
            run_ids = [request_run(api, journey.flow_id) for journey in flows]
            for run_id in run_ids:
                run = wait_for_run(api, run_id)
                assert run["metrics"]["statusSummary"]["status"] == "success", run
            receiver.wait_for(START, count=3)
            receiver.wait_for(SUCCESS, count=3)
            time.sleep(2.0)  # both dispatchers had several rounds to send a duplicate
            log = cluster.client(1).get(f"/alerts/subscriptions/{sub_id}/deliveries").json()
    finally:
        receiver.down()
    sent = [(r.json["event_code"], r.json["event"]["id"]) for r in receiver.events()]
    assert sorted(sent) == sorted((code, rid) for rid in run_ids for code in (START, SUCCESS))
    assert len({r.headers["x-flowservice-event-id"] for r in receiver.events()}) == 6
    assert [d["status"] for d in log["items"]] == ["delivered"] * 6
    assert {d["attempts"] for d in log["items"]} == {1}
