"""The comparison of two sides' rows by key-bucket checksums, narrowed to the keys that differ.

Level 0 sums up every row of both sides per bucket of the key grid
(``lake.key_checksums``). Buckets that agree are done. A differing bucket with
rows on one side only is counted as missing (or extra) rows at once. One small
enough to list is compared key by key later; a larger one is read again, alone,
with a finer grid (the next level), until every differing bucket is counted or
listed. Listing passes read only the listed buckets, at most ``pass_rows`` rows
per side at a time, so memory stays bounded however much differs. Each pass
reads a side once as an Arrow stream; a side may use the bucket list to read
less (a key range query), the checksum queries filter exactly anyway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pyarrow as pa

from flowservice.lake.key_checksums import (
    BUCKET,
    DIFFERENT,
    EXTRA,
    MAX_SHIFT,
    MISSING,
    ORDINAL,
    Buckets,
    ChecksumSession,
    ChecksumSpec,
)


class RowSide(Protocol):
    """One side of a comparison: its rows (the compared columns) as a fresh Arrow stream."""

    def rows(self, within: Sequence[Buckets] | None) -> pa.RecordBatchReader:
        """All rows, or at least those of ``within`` (more rows are allowed: they are dropped)."""
        ...


@dataclass(frozen=True)
class Tuning:
    """Sizes of the bucket grid and of the passes."""

    bucket_rows: int = 1024  # rows per bucket the grid aims at
    list_rows: int = 4096  # a differing bucket with at most this many rows a side is listed
    pass_rows: int = 262_144  # rows listed per side in one pass, at most

    def __post_init__(self) -> None:
        if min(self.bucket_rows, self.list_rows, self.pass_rows) < 1:
            raise ValueError("tuning sizes must be positive")


@dataclass
class KeyDifferences:
    """How many keys differ one way, and the first of them (by ordinal) as key dicts."""

    count: int = 0
    samples: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Comparison:
    source_rows: int
    dataset_rows: int
    missing: KeyDifferences
    extra: KeyDifferences
    different: KeyDifferences
    buckets_checked: int
    levels: int
    passes: int  # reads of the source, every level and listing pass counted

    @property
    def equal(self) -> bool:
        return not (self.missing.count or self.extra.count or self.different.count)


def first_shift(
    spec: ChecksumSpec, *, rows: int, low: int | None, high: int | None, tuning: Tuning
) -> int:
    """The level-0 shift: about ``tuning.bucket_rows`` rows per bucket for ``rows`` rows
    spread over the ordinals [low, high] (the whole hash range for hashed ordinals)."""
    if rows <= 0 or (spec.integer_ordinal and (low is None or high is None)):
        return MAX_SHIFT - 1 if spec.integer_ordinal else MAX_SHIFT
    if spec.integer_ordinal:
        assert low is not None and high is not None
        width = (high - low + 1) * tuning.bucket_rows // rows
        return max(0, min(MAX_SHIFT - 1, width.bit_length() - 1))
    buckets = max(1, -(-rows // tuning.bucket_rows))
    return max(0, min(MAX_SHIFT, 64 - (buckets - 1).bit_length()))


def compare_sides(
    session: ChecksumSession,
    source: RowSide,
    dataset: RowSide,
    spec: ChecksumSpec,
    *,
    shift: int,
    samples: int,
    tuning: Tuning | None = None,
) -> Comparison:
    """Compare ``source`` with ``dataset``: counts of missing, extra and different keys."""
    comparer = _Comparer(session, source, dataset, spec, samples, tuning or Tuning())
    return comparer.run(shift)


class _Comparer:
    """One comparison's passes and tallies."""

    def __init__(
        self,
        session: ChecksumSession,
        source: RowSide,
        dataset: RowSide,
        spec: ChecksumSpec,
        samples: int,
        tuning: Tuning,
    ) -> None:
        self.session, self.source, self.dataset = session, source, dataset
        self.spec, self.samples, self.tuning = spec, samples, tuning
        self.missing, self.extra = KeyDifferences(), KeyDifferences()
        self.different = KeyDifferences()
        self.missing_buckets: list[Buckets] = []  # source rows only
        self.extra_buckets: list[Buckets] = []  # dataset rows only
        self.listed: list[tuple[int, pa.Table]] = []  # (shift, bucket + rows)
        self.totals: tuple[int, int] | None = None
        self.buckets = self.levels = self.passes = 0

    def run(self, shift: int) -> Comparison:
        # one side after the other: reading the dataset alongside the source was no faster on
        # two cores (the source's read and its server keep both busy) and raised the peak
        within: list[Buckets] | None = None
        current: int | None = shift
        while current is not None:
            narrowed = self._level(current, within)
            within = None if narrowed is None else [narrowed[1]]
            current = None if narrowed is None else narrowed[0]
        for group in _listing_passes(self.listed, self.tuning.pass_rows):
            self._list(group)
        self._sample(self.missing, self.source, self.missing_buckets)
        self._sample(self.extra, self.dataset, self.extra_buckets)
        for tally in (self.missing, self.extra, self.different):
            for sample in tally.samples:
                sample.pop(ORDINAL, None)
        assert self.totals is not None
        return Comparison(
            source_rows=self.totals[0],
            dataset_rows=self.totals[1],
            missing=self.missing,
            extra=self.extra,
            different=self.different,
            buckets_checked=self.buckets,
            levels=self.levels,
            passes=self.passes,
        )

    def _level(self, shift: int, within: list[Buckets] | None) -> tuple[int, Buckets] | None:
        """Checksums of ``within`` at ``shift``; the next shift and the buckets to narrow."""
        self.passes += 1
        self.levels += 1
        sums = [
            self.session.bucket_checksums(side.rows(within), self.spec, shift=shift, within=within)
            for side in (self.source, self.dataset)
        ]
        level = self.session.compare_checksums(
            sums[0],
            sums[1],
            shift=shift,
            list_rows=self.tuning.list_rows,
            bucket_rows=self.tuning.bucket_rows,
        )
        if self.totals is None:
            self.totals = (level.source_rows, level.dataset_rows)
        self.buckets += level.buckets
        self.missing.count += level.missing_rows
        self.extra.count += level.extra_rows
        if level.missing.num_rows:
            self.missing_buckets.append(Buckets(shift, level.missing))
        if level.extra.num_rows:
            self.extra_buckets.append(Buckets(shift, level.extra))
        if level.listed.num_rows:
            self.listed.append((shift, level.listed))
        if level.next_shift is None:
            return None
        return level.next_shift, Buckets(shift, level.narrowed)

    def _list(self, group: list[Buckets]) -> None:
        """Compare the rows of ``group`` key by key."""
        self.passes += 1
        rows = [
            self.session.bucket_rows(side.rows(group), self.spec, within=group)
            for side in (self.source, self.dataset)
        ]
        found = self.session.compare_rows(rows[0], rows[1], self.spec, samples=self.samples)
        by_kind = _samples_by_kind(found.samples, self.spec)
        for tally, count, kind in (
            (self.missing, found.missing, MISSING),
            (self.extra, found.extra, EXTRA),
            (self.different, found.different, DIFFERENT),
        ):
            tally.count += count
            tally.samples = _first(tally.samples + by_kind.get(kind, []), self.samples)

    def _sample(self, tally: KeyDifferences, side: RowSide, buckets: list[Buckets]) -> None:
        """The first keys of one-sided buckets: they may be lower than the listed ones."""
        if not buckets or not self.samples:
            return
        if side is self.source:
            self.passes += 1
        first = self.session.first_keys(
            side.rows(buckets), self.spec, within=buckets, limit=self.samples
        )
        tally.samples = _first(tally.samples + _sample_dicts(first, self.spec), self.samples)


def _listing_passes(listed: list[tuple[int, pa.Table]], pass_rows: int) -> list[list[Buckets]]:
    """The listed buckets cut into passes of at most ``pass_rows`` rows a side (a bucket larger
    than that, possible only at the finest level, gets a pass of its own)."""
    passes: list[list[Buckets]] = []
    current: list[Buckets] = []
    filled = 0
    for shift, table in listed:
        start = 0
        sizes = table.column("rows").to_pylist()  # one int per listed bucket, never per row
        for index, size in enumerate(sizes):
            if filled and filled + size > pass_rows:
                if index > start:
                    current.append(
                        Buckets(shift, table.slice(start, index - start).select([BUCKET]))
                    )
                passes.append(current)
                current, filled, start = [], 0, index
            filled += size
        if start < len(sizes):
            current.append(Buckets(shift, table.slice(start).select([BUCKET])))
    if current:
        passes.append(current)
    return passes


def _samples_by_kind(table: pa.Table, spec: ChecksumSpec) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in table.to_pylist():
        kind = row.pop("kind")
        out.setdefault(kind, []).append(_key_dict(row, spec))
    return out


def _sample_dicts(table: pa.Table, spec: ChecksumSpec) -> list[dict[str, Any]]:
    return [_key_dict(row, spec) for row in table.to_pylist()]


def _key_dict(row: dict[str, Any], spec: ChecksumSpec) -> dict[str, Any]:
    return {ORDINAL: row[ORDINAL], **{k: row[k] for k in spec.keys}}


def _first(samples: list[dict[str, Any]], limit: int) -> list[dict[str, Any]]:
    # each part holds its own first samples by ordinal, so the first of the union are the first
    return sorted(samples, key=lambda s: s[ORDINAL])[:limit]
