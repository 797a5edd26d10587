"""Run by test_lake_merge_memory: build a table, or time one merge or append, and report.

``python merge_memory.py build PATH ROWS`` writes ROWS rows of ten columns;
``python merge_memory.py merge|append PATH ROWS CHANGES random|tail`` merges (or
appends) CHANGES rows in a fresh process and prints one JSON line: seconds taken and
the process's memory before and at its peak (MiB, sampled every 5 ms), both resident
(``rss``) and anonymous (``anon``: resident less the shared library pages, which every
process of the service maps once).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.lake import CHANGE_TYPE_COLUMN, Dataset, LakeLocation

BATCH = 50_000


def columns(ids: pa.Array, salt: int) -> dict[str, pa.Array]:
    """Ten columns of mixed types whose values depend on ``ids`` and ``salt``."""
    mixed = pc.add(pc.multiply(ids, 2_654_435_761 + salt), salt)
    return {
        "id": ids,
        "name": pc.binary_join_element_wise(pc.cast(mixed, pa.string()), "-customer", ""),
        "amount": pc.divide(pc.cast(pc.bit_wise_and(mixed, 0xFFFFF), pa.float64()), 7.0),
        "qty": pc.cast(pc.bit_wise_and(mixed, 0x3FF), pa.int32()),
        "placed": pc.cast(pc.multiply(pc.bit_wise_and(mixed, 0xFFFFFFF), 1000), pa.int64()).cast(
            pa.timestamp("us", tz="UTC")
        ),
        "city": pc.cast(pc.bit_wise_and(mixed, 0xFF), pa.string()),
        "active": pc.equal(pc.bit_wise_and(mixed, 1), 0),
        "note": pc.cast(pc.bit_wise_xor(mixed, 0x5DEECE66D), pa.string()),
        "score": pc.cast(pc.bit_wise_and(mixed, 0xFFFF), pa.float64()),
        "code": pc.cast(pc.bit_wise_and(mixed, 0x3FFF), pa.string()),
    }


def build(path: str, rows: int) -> None:
    def stream() -> Iterator[pa.RecordBatch]:
        for start in range(0, rows, BATCH):
            ids = pa.array(range(start, min(start + BATCH, rows)), pa.int64())
            yield pa.record_batch(columns(ids, 0))

    Dataset(LakeLocation.local(path)).write_batch(stream())


def changes(rows: int, count: int, layout: str) -> pa.Table:
    """``count`` rows of changes: 90 % updates, 5 % inserts, 5 % deletes."""
    if layout == "tail":
        existing = list(range(rows - count, rows))
    else:  # spread evenly over the whole key range, so every data file holds some
        existing = list(range(0, rows, rows // count))[:count]
    inserts = count // 20
    ids = existing[: count - inserts] + list(range(rows, rows + inserts))
    table = pa.table(columns(pa.array(ids, pa.int64()), 1))
    kinds = ["u"] * len(ids)
    for i in range(0, count - inserts, 19):
        kinds[i] = "d"
    return table.append_column(CHANGE_TYPE_COLUMN, pa.array(kinds[:count]))


def memory_mib() -> dict[str, int]:
    """Resident and anonymous memory of this process (Linux ``/proc``)."""
    fields = {}
    with open("/proc/self/status") as status:
        for line in status:
            name, _, value = line.partition(":")
            if name in ("VmRSS", "RssAnon"):
                fields[name] = int(value.split()[0]) >> 10  # kB -> MiB
    return {"rss": fields["VmRSS"], "anon": fields["RssAnon"]}


class PeakSampler:
    def __init__(self) -> None:
        self.peak = memory_mib()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(0.005):
            now = memory_mib()
            self.peak = {k: max(v, now[k]) for k, v in self.peak.items()}

    def stop(self) -> dict[str, int]:
        self._done.set()
        self._thread.join()
        return self.peak


def measure(action: str, path: str, rows: int, count: int, layout: str) -> dict[str, object]:
    dataset = Dataset(LakeLocation.local(path))
    data = changes(rows, count, layout)
    before = memory_mib()
    sampler = PeakSampler()
    started = time.perf_counter()
    if action == "merge":
        result = dataset.merge_batch(data, keys=["id"], commit_metadata={"runId": "bench"})
    else:
        result = dataset.write_batch(data.drop_columns([CHANGE_TYPE_COLUMN]))
    seconds = time.perf_counter() - started
    peak = sampler.stop()
    changed = result.changes
    return {
        "action": action,
        "layout": layout,
        "seconds": round(seconds, 3),
        "rss_before_mib": before["rss"],
        "rss_peak_mib": peak["rss"],
        "anon_before_mib": before["anon"],
        "anon_peak_mib": peak["anon"],
        "inserted": changed.inserted if changed else result.record_count,
        "updated": changed.updated if changed else 0,
        "deleted": changed.deleted if changed else 0,
    }


if __name__ == "__main__":
    if sys.argv[1] == "build":
        build(sys.argv[2], int(sys.argv[3]))
    else:
        report = measure(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        print(json.dumps(report), flush=True)
