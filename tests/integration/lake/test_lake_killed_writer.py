from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa

from flowservice.lake import Dataset, LakeLocation, count_rows

WRITER = Path(__file__).with_name("killed_writer.py")


def _data_files(root: Path) -> set[str]:
    return {p.name for p in root.glob("*.parquet")}


def test_writer_killed_mid_write_leaves_no_partial_batch(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    dataset = Dataset(LakeLocation.local(root))
    first = pa.table({"id": pa.array([-2, -1], pa.int64()), "payload": ["a", "b"]})
    assert dataset.write_batch(first, commit_metadata={"runId": "before"}).version == 0
    files_before = _data_files(root)

    proc = subprocess.Popen(
        [sys.executable, str(WRITER), str(root)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "WRITING"
        # Let the writer flush data files before it dies.
        deadline = time.monotonic() + 30
        while _data_files(root) == files_before and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    # The killed writer did leave files behind: it really was mid-write...
    assert _data_files(root) - files_before
    # ...yet none of them is visible: the table still shows only the first batch.
    assert dataset.version() == 0
    assert count_rows(dataset) == 2
    assert [b.metadata.get("runId") for b in dataset.batches()] == ["before"]
    assert dataset.find_commit(runId="killed") is None

    after = dataset.write_batch(pa.table({"id": pa.array([7], pa.int64()), "payload": ["c"]}))
    assert after.version == 1
    assert count_rows(dataset) == 3
