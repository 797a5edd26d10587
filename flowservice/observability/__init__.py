"""What operators and API callers see of the service's work: metrics read from the metadata DB.

``collector`` answers Prometheus scrapes of ``GET /metrics`` (runs by state,
records, durations, queue); ``insights`` answers Adobe's Observability
Insights metrics route (ingestion counts per dataset). Every value is derived
from the metadata DB at request time, so runs executed by other threads,
processes or Celery workers count the same. See ``docs/metrics.md``.
"""

from __future__ import annotations
