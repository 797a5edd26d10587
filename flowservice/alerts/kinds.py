"""Alert kinds (named by their webhook event codes), delivery statuses and the defaults.

Adobe documents the codes ``sources_flow_run_success`` and
``sources_flow_run_failure`` for flow run notifications; the start, delay and
error-rate codes follow the names of Adobe's I/O Event subscriptions for the
same alert rules (Sources Flow Run Start, Sources Flow Run Delay, Sources
Ingestion Error Rate Exceeded).
"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    START = "sources_flow_run_start"
    SUCCESS = "sources_flow_run_success"
    FAILURE = "sources_flow_run_failure"
    DELAY = "sources_flow_run_delay"
    ERROR_RATE = "sources_ingestion_error_rate_exceeded"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Phase(StrEnum):
    """The run events the worker records in the outbox."""

    STARTED = "started"
    FINISHED = "finished"


# the ``resources`` kind of alert subscriptions
SUBSCRIPTION_KIND = "alertSubscriptions"
# Adobe's defaults for the Ingestion Delay and Ingestion Failure rules
DEFAULT_DELAY_MINUTES = 150.0
DEFAULT_ERROR_RATE_PERCENT = 0.5
