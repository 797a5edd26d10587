"""A flow's mapping set applied to source batches, compiled against the first batch's schema."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

import pyarrow as pa

from flowservice.lake.xdm import XdmField
from flowservice.mapping.mapping_set import MappedBatch, MappingSet


class CompileOnFirstBatch:
    """``BatchMapper`` for a stored mapping set: the source's Arrow schema is known only once
    rows arrive, so the mappings compile then (a ``MappingInvalid`` fails the run as a load
    error, committing nothing)."""

    def __init__(
        self, rules: Sequence[Mapping[str, Any]], *, fields: Sequence[XdmField] | None
    ) -> None:
        self._rules = list(rules)
        self._fields = None if fields is None else tuple(fields)
        self._compiled: MappingSet | None = None
        self._schema: pa.Schema | None = None
        self._lock = threading.Lock()

    def _mapping_for(self, schema: pa.Schema) -> MappingSet:
        with self._lock:
            if self._compiled is None or self._schema != schema:
                self._compiled = MappingSet.compile(
                    self._rules, source=schema, dataset=self._fields
                )
                self._schema = schema
            return self._compiled

    def apply(self, batch: pa.RecordBatch, *, max_error_samples: int = 100) -> MappedBatch:
        return self._mapping_for(batch.schema).apply(batch, max_error_samples=max_error_samples)
