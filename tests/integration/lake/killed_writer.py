"""Run by test_lake_killed_writer: write a never-ending batch until killed."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc

from flowservice.lake import Dataset, LakeLocation

ROWS_PER_BATCH = 50_000


def endless() -> Iterator[pa.RecordBatch]:
    n = 0
    while True:
        ids = pa.array(range(n, n + ROWS_PER_BATCH), pa.int64())
        yield pa.record_batch({"id": ids, "payload": pc.cast(ids, pa.string())})
        n += ROWS_PER_BATCH
        if n == 40 * ROWS_PER_BATCH:
            # Enough rows for delta-rs to have started writing files; tell the test.
            print("WRITING", flush=True)
        if n > 40 * ROWS_PER_BATCH:
            time.sleep(0.01)


if __name__ == "__main__":
    # argv: a local path, or a URL plus its storage options as JSON.
    if len(sys.argv) > 2:
        location = LakeLocation(sys.argv[1], json.loads(sys.argv[2]))
    else:
        location = LakeLocation.local(sys.argv[1])
    Dataset(location).write_batch(endless(), commit_metadata={"runId": "killed"})
