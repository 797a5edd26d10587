"""An emulator engine that pauses a chosen SELECT after its first batch: a run caught mid-read."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from mssql_emulator.contract import Engine, Param, ResultSet, StatementResult


class Gate:
    """``reached`` is set when the paused read has sent its first batch; ``release`` resumes it."""

    def __init__(self, marker: str) -> None:
        self.marker = marker.lower()
        self.reached = threading.Event()
        self.release = threading.Event()
        self.armed = False  # set to pause the next matching read

    def applies(self, sql: str) -> bool:
        text = sql.lower()
        return self.armed and "select" in text and self.marker in text

    def hold(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        self.armed = False  # only the first such read is paused
        for index, batch in enumerate(batches):
            yield batch
            if index == 0:
                self.reached.set()
                self.release.wait(timeout=30)


class _GatedSession:
    def __init__(self, inner: Any, gate: Gate) -> None:
        self._inner, self._gate = inner, gate

    def execute(self, sql: str, params: list[Param] | None = None) -> Iterator[StatementResult]:
        gated = self._gate.applies(sql)
        for result in self._inner.execute(sql, params):
            if gated and result.result_set is not None:
                rs = result.result_set
                result.result_set = ResultSet(rs.columns, self._gate.hold(rs.batches))
            yield result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class GatedEngine:
    """Delegates to ``inner``; sessions pause the first SELECT naming ``gate.marker``."""

    def __init__(self, inner: Engine, gate: Gate) -> None:
        self._inner, self.gate = inner, gate

    def has_database(self, name: str) -> bool:
        return self._inner.has_database(name)

    def open_session(self, database: str, user: str) -> Any:
        return _GatedSession(self._inner.open_session(database, user), self.gate)

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
