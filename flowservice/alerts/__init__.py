"""Alerts on flow runs, delivered as signed webhooks (a flowservice extension).

Runs record their start and end in an outbox (``outbox.record``); a
dispatcher thread of each server process matches them against the org's
subscriptions, derives the alerts (``rules``) and sends them
(``dispatcher``), signed (``signing``) and retried with backoff; the delay
alert is raised on the scheduler leader's tick (``delay_watch``). See
``docs/alerts.md``.
"""

from __future__ import annotations

from flowservice.alerts.deliveries import delivery_counts

__all__ = ["delivery_counts"]
