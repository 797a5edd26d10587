"""The alert dispatcher: a daemon thread of every server process that sends due webhooks.

Each round it fans the outbox out into deliveries, claims the due ones (a
compare-and-set, so several processes never send the same attempt) and
sends them with a short timeout from a small thread pool, so a slow or dead
receiver never holds a run: runs only ever write the outbox.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from flowservice.alerts import deliveries, signing, subscriptions
from flowservice.alerts.deliveries import Due
from flowservice.core import Core
from flowservice.store.db import now_ms

log = logging.getLogger(__name__)

SENDERS = 4
PRUNE_EVERY_SECONDS = 600.0


def next_attempt(
    attempts: int, *, now: int, give_up_at: int, base_ms: int, max_ms: int
) -> int | None:
    """When attempt ``attempts + 1`` goes out (exponential backoff), None once the window ends."""
    if now >= give_up_at:
        return None
    wait: int = min(base_ms * (1 << max(attempts - 1, 0)), max_ms)
    return min(now + wait, give_up_at)


class AlertDispatcher:
    """``start`` / ``stop`` the thread; ``run_once`` is one round (tests call it directly)."""

    def __init__(self, core: Core) -> None:
        settings = core.settings
        self.core = core
        self.interval = settings.alert_dispatch_interval_seconds
        self.timeout = settings.alert_delivery_timeout_seconds
        self.retry_window_ms = int(settings.alert_retry_window_seconds * 1000)
        self.base_ms = int(settings.alert_backoff_base_seconds * 1000)
        self.max_ms = int(settings.alert_backoff_max_seconds * 1000)
        self.retention_ms = settings.alert_delivery_retention_days * 86_400_000
        self._pruned_at = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._http: httpx.Client | None = None

    def start(self) -> None:
        self._http = httpx.Client(timeout=self.timeout, follow_redirects=False)
        self._pool = ThreadPoolExecutor(SENDERS, thread_name_prefix="alert-sender")
        self._thread = threading.Thread(target=self._loop, name="alert-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float | None = None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        if self._http is not None:
            self._http.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception as exc:
                # the database may be briefly away: try again next round
                log.error("alert dispatch round failed: %s", type(exc).__name__)
            self._stop.wait(self.interval)

    def run_once(self) -> int:
        """Fan out, claim and send; returns how many deliveries were attempted."""
        if time.monotonic() - self._pruned_at > PRUNE_EVERY_SECONDS or not self._pruned_at:
            self._pruned_at = time.monotonic()
            with self.core.transaction() as session:
                deliveries.prune(session, before_ms=now_ms() - self.retention_ms)
        with self.core.transaction() as session:
            deliveries.fan_out(session, now_ms=now_ms(), retry_window_ms=self.retry_window_ms)
        hold_ms = int(self.timeout * 1000) * 2 + 5_000
        with self.core.transaction() as session:
            due = deliveries.claim_due(session, now_ms=now_ms(), hold_ms=hold_ms, limit=SENDERS * 4)
        if not due:
            return 0
        if self._pool is None:
            for item in due:
                self._send(item)
        else:
            list(self._pool.map(self._send, due))
        return len(due)

    def _send(self, due: Due) -> None:
        with self.core.transaction() as session:
            target = subscriptions.target_of(session, self.core.secret_box, due.subscription_id)
        if target is None:
            return  # the subscription was deleted: its deliveries went with it
        sub_url, secret = target
        body = due.body.encode()
        headers = signing.signed_headers(
            secret=secret,
            event_id=due.event_id,
            event_code=due.kind,
            timestamp=int(time.time()),
            body=body,
        )
        status_code: int | None = None
        error: str | None = None
        try:
            if self._http is not None:
                response = self._http.post(sub_url, content=body, headers=headers)
            else:
                with httpx.Client(timeout=self.timeout) as client:
                    response = client.post(sub_url, content=body, headers=headers)
            status_code = response.status_code
            if not 200 <= status_code < 300:
                error = f"HTTP {status_code}"
        except httpx.HTTPError as exc:
            # the type only: a message may quote the URL, which may hold credentials
            error = type(exc).__name__
        now = now_ms()
        upcoming = None
        if error is not None:
            upcoming = next_attempt(
                due.attempts + 1,
                now=now,
                give_up_at=due.give_up_at,
                base_ms=self.base_ms,
                max_ms=self.max_ms,
            )
        with self.core.transaction() as session:
            deliveries.record_attempt(
                session,
                due,
                now_ms=now,
                status_code=status_code,
                error=error,
                next_attempt_at=upcoming,
            )
        if error is not None:
            log.info(
                "alert %s (%s): attempt %d failed: %s",
                due.event_id,
                due.kind,
                due.attempts + 1,
                error,
            )
