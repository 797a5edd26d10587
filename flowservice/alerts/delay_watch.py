"""The delay alert: runs still ``inProgress`` longer than a subscription's threshold.

Called on the scheduler leader's tick. Each delayed run raises one alert per
subscription and run attempt: the event id is derived from both, and a
delivery that exists already is not added again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session, sessionmaker

from flowservice.alerts import deliveries, rules, subscriptions
from flowservice.alerts.facts import ScopedRun
from flowservice.alerts.kinds import AlertKind
from flowservice.store import db
from flowservice.store.db import now_ms


class DelayWatch:
    """``watch()`` adds the delay alerts now due; ``in_progress`` lists the running runs."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        in_progress: Callable[[], Sequence[ScopedRun]],
        *,
        retry_window_ms: int,
    ) -> None:
        self.sessions, self.in_progress, self.retry_window_ms = (
            sessions,
            in_progress,
            retry_window_ms,
        )

    def watch(self) -> int:
        with db.transaction(self.sessions) as session:
            subs = [s for s in subscriptions.all_enabled(session) if AlertKind.DELAY in s.kinds]
        if not subs:
            return 0  # nobody asked: the running runs are not even listed
        runs = self.in_progress()
        added = 0
        now = now_ms()
        with db.transaction(self.sessions) as session:
            names: dict[str, str] = {}
            for run in runs:
                for sub in subs:
                    if (sub.org_id, sub.sandbox_id) != (run.org_id, run.sandbox_id):
                        continue
                    if not rules.is_delayed(sub, run.facts, now_ms=now):
                        continue
                    if run.sandbox_id not in names:
                        names[run.sandbox_id] = subscriptions.sandbox_name(session, run.sandbox_id)
                    added += deliveries.add(
                        session,
                        sub=sub,
                        kind=AlertKind.DELAY,
                        facts=run.facts,
                        sandbox_name=names[run.sandbox_id],
                        now_ms=now,
                        retry_window_ms=self.retry_window_ms,
                    )
        return added
