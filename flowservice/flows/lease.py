"""Leases: time-limited ownership of a name, for scheduler leadership and run heartbeats.

``scheduler`` is leased by the one process that schedules; ``run:<id>`` by the
worker executing that run, renewed by a ``Heartbeat`` while it works. A lease
that is not renewed expires; after a crash another process takes it over.
Every change of owner bumps the lease's fencing ``token``, so a holder that
lost its lease (paused too long) finds out at its next renewal and stops.

``LeaseStore`` is the extension surface: ``InMemoryLeaseStore`` serves one
process and the tests; the database-backed store (one row per name, updated
with compare-and-set on ``token``) comes with the metadata store.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import TracebackType

from flowservice.errors import Conflict, InternalError

log = logging.getLogger(__name__)

SCHEDULER_LEASE = "scheduler"
Clock = Callable[[], float]


def run_lease_name(run_id: str) -> str:
    return f"run:{run_id}"


@dataclass(frozen=True)
class Lease:
    name: str
    holder: str
    token: int  # fencing token: changes whenever the owner changes
    expires_at: float  # epoch seconds by the store's clock


class LeaseStore(ABC):
    """Atomic operations on named leases. Times come from the store's own clock."""

    @abstractmethod
    def acquire(self, name: str, holder: str, ttl: float) -> Lease | None:
        """Take the lease if it is free or expired (or renew it if ``holder`` has it).

        Returns None while another holder's lease is live.
        """

    @abstractmethod
    def renew(self, lease: Lease, ttl: float) -> Lease | None:
        """Extend a live lease; None if it expired or changed owner (it is lost)."""

    @abstractmethod
    def release(self, lease: Lease) -> None:
        """Give the lease up now, if still held with this token."""

    @abstractmethod
    def current(self, name: str) -> Lease | None:
        """The live lease on ``name``, or None if nobody holds it."""


class InMemoryLeaseStore(LeaseStore):
    """Leases in a dict behind a lock: one process (tests, single-process embedded mode)."""

    def __init__(self, clock: Clock = time.time) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._leases: dict[str, Lease] = {}
        self._tokens: dict[str, int] = {}

    def acquire(self, name: str, holder: str, ttl: float) -> Lease | None:
        _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            lease = self._leases.get(name)
            if lease is not None and lease.expires_at > now:
                if lease.holder != holder:
                    return None
                lease = replace(lease, expires_at=now + ttl)
            else:
                token = self._tokens.get(name, 0) + 1
                self._tokens[name] = token
                lease = Lease(name=name, holder=holder, token=token, expires_at=now + ttl)
            self._leases[name] = lease
            return lease

    def renew(self, lease: Lease, ttl: float) -> Lease | None:
        _check_ttl(ttl)
        with self._lock:
            now = self._clock()
            held = self._leases.get(lease.name)
            if held is None or held.token != lease.token or held.expires_at <= now:
                return None
            renewed = replace(held, expires_at=now + ttl)
            self._leases[lease.name] = renewed
            return renewed

    def release(self, lease: Lease) -> None:
        with self._lock:
            held = self._leases.get(lease.name)
            if held is not None and held.token == lease.token:
                del self._leases[lease.name]

    def current(self, name: str) -> Lease | None:
        with self._lock:
            lease = self._leases.get(name)
            return lease if lease is not None and lease.expires_at > self._clock() else None


def orphaned_runs(store: LeaseStore, in_progress_run_ids: Iterable[str]) -> list[str]:
    """Runs marked ``inProgress`` whose heartbeat lease is gone: their worker died.

    Before requeueing one, acquire its run lease (``store.acquire``) so that two
    recovering processes, or a late heartbeat, cannot both act on it.
    """
    return [rid for rid in in_progress_run_ids if store.current(run_lease_name(rid)) is None]


class Leadership:
    """Scheduler leadership: call ``ensure()`` on every scheduler tick (well within ``ttl``)."""

    def __init__(
        self, store: LeaseStore, holder: str, *, ttl: float = 30.0, name: str = SCHEDULER_LEASE
    ) -> None:
        self._store, self._holder, self._ttl, self._name = store, holder, ttl, name
        self._lease: Lease | None = None

    @property
    def lease(self) -> Lease | None:
        return self._lease

    def ensure(self) -> bool:
        """True if this process leads now (acquiring or renewing the lease)."""
        if self._lease is not None:
            self._lease = self._store.renew(self._lease, self._ttl)
            if self._lease is None:
                log.warning("scheduler leadership lost by %s", self._holder)
        if self._lease is None:
            self._lease = self._store.acquire(self._name, self._holder, self._ttl)
        return self._lease is not None

    def resign(self) -> None:
        if self._lease is not None:
            self._store.release(self._lease)
            self._lease = None


class Heartbeat:
    """Holds ``run:<id>`` while a run executes, renewing it every ``interval`` seconds.

    Entering fails with ``Conflict`` if another worker holds the run. If a
    renewal fails the lease is lost: ``lost`` is set and ``on_lost`` called
    (the runner cancels the run, which then commits nothing).
    """

    def __init__(
        self,
        store: LeaseStore,
        run_id: str,
        holder: str,
        *,
        ttl: float = 60.0,
        interval: float | None = None,
        on_lost: Callable[[], None] | None = None,
    ) -> None:
        self._store, self._run_id, self._holder, self._ttl = store, run_id, holder, ttl
        self._interval = interval if interval is not None else ttl / 3
        if not 0 < self._interval < ttl:
            raise InternalError("heartbeat interval must be positive and shorter than the ttl")
        self._on_lost = on_lost
        self._stop = threading.Event()
        self.lost = threading.Event()
        self.lease: Lease | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> Heartbeat:
        self.lease = self._store.acquire(run_lease_name(self._run_id), self._holder, self._ttl)
        if self.lease is None:
            raise Conflict(
                f"run {self._run_id} is being executed by another worker",
                resource_type="runs",
                resource_id=self._run_id,
            )
        self._thread = threading.Thread(
            target=self._beat, name=f"heartbeat-{self._run_id}", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.lease is not None and not self.lost.is_set():
            self._store.release(self.lease)

    def _beat(self) -> None:
        lease = self.lease
        while lease is not None and not self._stop.wait(self._interval):
            renewed = self._store.renew(lease, self._ttl)
            if renewed is None:
                log.warning("run %s: heartbeat lease lost", self._run_id)
                self.lost.set()
                if self._on_lost is not None:
                    self._on_lost()
                return
            self.lease = lease = renewed


def _check_ttl(ttl: float) -> None:
    if ttl <= 0:
        raise InternalError("a lease ttl must be positive")
