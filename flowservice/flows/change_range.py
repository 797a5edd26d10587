"""The Change Tracking versions one run of a ``cdcEnabled`` flow copies (see ``change_copy``)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ChangeRange:
    """Changes after ``from_version`` up to ``to_version``; or, with ``from_version`` None, a
    snapshot of the table that ``to_version`` describes (``snapshot_reason`` says why)."""

    from_version: int | None
    to_version: int
    snapshot_reason: str | None = None

    @property
    def snapshot(self) -> bool:
        return self.from_version is None

    @property
    def empty(self) -> bool:
        return self.from_version is not None and self.from_version >= self.to_version
