"""Leases in the metadata DB: one row per held name, changes are compare-and-set on the token.

Several server processes sharing one database use this store, so exactly one
of them leads the scheduler and a run's heartbeat is visible to all. A
released lease's row is deleted, so a token restarts at 1 for the next owner;
every compare-and-set therefore matches holder and token together (holders
are unique per process). Times are the processes' wall clocks (epoch ms);
hosts sharing a database should keep their clocks in sync well within the
lease ttl.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from flowservice.flows.lease import Lease, LeaseStore
from flowservice.store import db
from flowservice.store.tables import LeaseRow


class DbLeaseStore(LeaseStore):
    """``LeaseStore`` over the ``leases`` table; each operation is one short transaction."""

    def __init__(
        self, sessions: sessionmaker[Session], clock: Callable[[], float] = time.time
    ) -> None:
        self._sessions = sessions
        self._clock = clock

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    def acquire(self, name: str, holder: str, ttl: float) -> Lease | None:
        now = self._now_ms()
        expires = now + int(ttl * 1000)
        try:
            with db.transaction(self._sessions) as session:
                row = session.get(LeaseRow, name)
                if row is None:
                    session.add(LeaseRow(name=name, holder=holder, token=1, expires_at_ms=expires))
                    session.flush()
                    return Lease(name, holder, 1, expires / 1000)
                token = row.token
                if row.expires_at_ms > now and row.holder != holder:
                    return None
                # free, expired or ours: take it, conditional on the token we read
                new_token = token if row.expires_at_ms > now else token + 1
                done = session.execute(
                    update(LeaseRow)
                    .where(LeaseRow.name == name, LeaseRow.token == token)
                    .values(holder=holder, token=new_token, expires_at_ms=expires)
                    .execution_options(synchronize_session=False)
                )
                if getattr(done, "rowcount", 0) != 1:
                    return None  # another process won the race
                return Lease(name, holder, new_token, expires / 1000)
        except IntegrityError:
            return None  # a concurrent first acquire inserted the row

    def renew(self, lease: Lease, ttl: float) -> Lease | None:
        now = self._now_ms()
        expires = now + int(ttl * 1000)
        with db.transaction(self._sessions) as session:
            done = session.execute(
                update(LeaseRow)
                .where(
                    LeaseRow.name == lease.name,
                    LeaseRow.token == lease.token,
                    LeaseRow.holder == lease.holder,
                    LeaseRow.expires_at_ms > now,
                )
                .values(expires_at_ms=expires)
                .execution_options(synchronize_session=False)
            )
            if getattr(done, "rowcount", 0) != 1:
                return None
        return Lease(lease.name, lease.holder, lease.token, expires / 1000)

    def release(self, lease: Lease) -> None:
        with db.transaction(self._sessions) as session:
            # deleting keeps the table small (one row per run otherwise); fencing still holds
            # because a renewal must match the holder too, and holders are unique per process
            session.execute(
                delete(LeaseRow).where(
                    LeaseRow.name == lease.name,
                    LeaseRow.token == lease.token,
                    LeaseRow.holder == lease.holder,
                )
            )

    def current(self, name: str) -> Lease | None:
        with db.transaction(self._sessions) as session:
            row = session.get(LeaseRow, name)
            if row is None or row.expires_at_ms <= self._now_ms():
                return None
            return Lease(row.name, row.holder, row.token, row.expires_at_ms / 1000)
