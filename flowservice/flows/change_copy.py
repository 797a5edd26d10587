"""Runs of ``cdcEnabled`` flows: a snapshot, or the Change Tracking changes since the last run.

The version a run reaches is stored in its Delta commit's metadata
(``changeVersion``), so it is committed atomically with the data: a crash before
the commit leaves the last version where it was (the changes are read again), a
crash after it is seen by the next run. The version is read before the data
(see docs/sqlserver-connector.md): changes committed during the read may be
applied again by the next run, which merges them idempotently by key.

A run snapshots the table when the flow has no version yet, and again when
the stored version is older than the table's minimum valid version (change
retention cleaned up what it would need); it says why in its activities.
"""

from __future__ import annotations

from flowservice.errors import SourceConfigError
from flowservice.flows.change_range import ChangeRange
from flowservice.lake import Dataset

CHANGE_VERSION_KEY = "changeVersion"
FIRST_RUN = "first run"
RETENTION = "the changes since the last run are no longer retained (min valid version moved)"


def plan_changes(
    table: str,
    *,
    last_version: int | None,
    current_version: int | None,
    min_valid_version: int | None,
) -> ChangeRange:
    """The range a run copies, given the flow's last committed version and the table's state."""
    if current_version is None:
        raise SourceConfigError(
            f"Change Tracking is not enabled for the database of {table}; the flow's source "
            "connection has cdcEnabled"
        )
    if last_version is None:
        return ChangeRange(None, current_version, FIRST_RUN)
    if min_valid_version is not None and last_version < min_valid_version:
        return ChangeRange(None, current_version, RETENTION)
    return ChangeRange(last_version, current_version)


def committed_change_version(dataset: Dataset, flow_id: str) -> int | None:
    """The version of the flow's newest commit (None before its first)."""
    batch = dataset.find_commit(flowId=flow_id)
    if batch is None or not batch.metadata.get(CHANGE_VERSION_KEY):
        return None
    return int(batch.metadata[CHANGE_VERSION_KEY])
