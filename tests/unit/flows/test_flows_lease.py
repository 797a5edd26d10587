from __future__ import annotations

import threading
import time

import pytest

from flowservice.errors import Conflict, InternalError
from flowservice.flows.lease import (
    SCHEDULER_LEASE,
    Heartbeat,
    InMemoryLeaseStore,
    Leadership,
    orphaned_runs,
    run_lease_name,
)


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class SkewedClock:
    """Real time plus an offset the test can jump forward (a process paused too long)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


def test_acquire_renew_release_and_fencing_tokens() -> None:
    clock = ManualClock()
    store = InMemoryLeaseStore(clock)
    a = store.acquire("x", "A", ttl=10)
    assert a is not None and a.token == 1 and a.expires_at == 1010
    assert store.acquire("x", "B", ttl=10) is None  # live, someone else's
    again = store.acquire("x", "A", ttl=10)  # the holder re-acquiring renews
    assert again is not None and again.token == 1
    clock.now = 1005
    renewed = store.renew(a, ttl=10)
    assert renewed is not None and renewed.expires_at == 1015
    assert store.current("x") == renewed
    clock.now = 1015  # expired exactly at expires_at
    assert store.current("x") is None
    assert store.renew(renewed, ttl=10) is None  # lost: never revived
    b = store.acquire("x", "B", ttl=10)
    assert b is not None and b.token == 2 and b.holder == "B"
    store.release(renewed)  # A's stale token releases nothing
    assert store.current("x") == b
    store.release(b)
    assert store.current("x") is None
    c = store.acquire("x", "A", ttl=10)
    assert c is not None and c.token == 3


def test_ttl_must_be_positive() -> None:
    store = InMemoryLeaseStore()
    with pytest.raises(InternalError):
        store.acquire("x", "A", ttl=0)


def test_exactly_one_leader_among_many_contending_threads() -> None:
    store = InMemoryLeaseStore()
    leaders: list[str] = []
    barrier = threading.Barrier(8)

    def contend(name: str) -> None:
        barrier.wait()
        if Leadership(store, name, ttl=5).ensure():
            leaders.append(name)

    threads = [threading.Thread(target=contend, args=(f"p{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(5)
    assert len(leaders) == 1
    current = store.current(SCHEDULER_LEASE)
    assert current is not None and current.holder == leaders[0]


def test_leadership_moves_when_the_leader_stops_renewing() -> None:
    clock = ManualClock()
    store = InMemoryLeaseStore(clock)
    one, two = Leadership(store, "one", ttl=30), Leadership(store, "two", ttl=30)
    assert one.ensure() and not two.ensure()
    clock.now += 20
    assert one.ensure() and not two.ensure()  # renewed in time
    clock.now += 31  # "one" crashed: no renewal
    assert two.ensure()
    assert not one.ensure()  # comes back: lost, and cannot take it back
    two.resign()
    assert one.ensure()
    assert one.lease is not None and one.lease.token == 3


def test_heartbeat_keeps_a_run_lease_alive_past_its_ttl() -> None:
    store = InMemoryLeaseStore()
    with Heartbeat(store, "r1", "worker-1", ttl=0.3, interval=0.05) as beat:
        time.sleep(1.0)  # > 3 ttl
        held = store.current(run_lease_name("r1"))
        assert held is not None and held.holder == "worker-1"
        assert not beat.lost.is_set()
        with pytest.raises(Conflict, match="being executed by another worker"):
            Heartbeat(store, "r1", "worker-2", ttl=0.3).__enter__()
    assert store.current(run_lease_name("r1")) is None  # released on exit


def test_heartbeat_reports_a_lost_lease() -> None:
    clock = SkewedClock()
    store = InMemoryLeaseStore(clock)
    lost_calls: list[str] = []
    with Heartbeat(
        store, "r1", "worker-1", ttl=0.5, interval=0.1, on_lost=lambda: lost_calls.append("r1")
    ) as beat:
        clock.offset = 10.0  # the worker was paused past its ttl ...
        taken = store.acquire(
            run_lease_name("r1"), "recovery", ttl=60
        )  # ... and recovery took over
        assert taken is not None
        assert beat.lost.wait(5)
    assert lost_calls == ["r1"]
    # the new holder keeps it: the old worker's exit released nothing
    current = store.current(run_lease_name("r1"))
    assert current is not None and current.holder == "recovery"


def test_a_crashed_worker_leaves_an_orphan_that_is_picked_up() -> None:
    clock = ManualClock()
    store = InMemoryLeaseStore(clock)
    # worker A runs r1 and r2; r2 finishes, then the process dies holding r1
    assert store.acquire(run_lease_name("r1"), "A", ttl=60) is not None
    r2 = store.acquire(run_lease_name("r2"), "A", ttl=60)
    assert r2 is not None
    store.release(r2)
    r3 = store.acquire(run_lease_name("r3"), "B", ttl=60)
    assert r3 is not None
    clock.now += 30
    assert orphaned_runs(store, ["r1", "r3"]) == []
    assert store.renew(r3, ttl=60) is not None  # B is alive and heartbeating
    clock.now += 31
    assert orphaned_runs(store, ["r1", "r3"]) == ["r1"]
    # two recovering processes race: only one claims it
    claims = [store.acquire(run_lease_name("r1"), who, ttl=60) for who in ("C", "D")]
    assert [c is not None for c in claims] == [True, False]


def test_heartbeat_interval_must_fit_the_ttl() -> None:
    with pytest.raises(InternalError):
        Heartbeat(InMemoryLeaseStore(), "r", "w", ttl=1, interval=2)
