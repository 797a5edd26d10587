"""Datasets on an S3-compatible object store: moto's server on loopback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from flowservice.errors import SchemaMismatch
from flowservice.lake import Dataset, LakeLocation, XdmField, count_rows, preview


def test_write_read_and_history_on_s3(location: LakeLocation) -> None:
    dataset = Dataset.create(
        location, fields=[XdmField("id", "integer"), XdmField("name", "string")]
    )
    first = dataset.write_batch(
        pa.table({"id": [1, 2, 3], "name": ["a", "b", "ç"]}), commit_metadata={"runId": "r1"}
    )
    second = dataset.write_batch(pa.table({"id": [4], "name": ["d"], "extra": [True]}))
    assert (first.version, first.record_count) == (1, 3)
    assert second.added_columns == ("extra",)
    assert count_rows(dataset) == 4
    assert sorted(preview(dataset, 10).column("name").to_pylist()) == ["a", "b", "d", "ç"]
    found = dataset.find_commit(runId="r1")
    assert found is not None and found.size_bytes == first.size_bytes > 0


def test_freeze_and_failed_write_leave_s3_table_unchanged(location: LakeLocation) -> None:
    dataset = Dataset(location, policy="freeze")
    dataset.write_batch(pa.table({"id": pa.array([1], pa.int32())}))
    with pytest.raises(SchemaMismatch, match="'new'"):
        dataset.write_batch(pa.table({"id": pa.array([2], pa.int32()), "new": [1]}))
    assert dataset.version() == 0 and count_rows(dataset) == 1


def test_delete_files_on_s3(location: LakeLocation) -> None:
    dataset = Dataset(location)
    dataset.write_batch(pa.table({"id": [1]}))
    assert dataset.exists()
    dataset.delete_files()
    assert not dataset.exists()
    assert dataset.fields() is None


def test_writer_killed_mid_write_on_s3_leaves_no_partial_batch(location: LakeLocation) -> None:
    dataset = Dataset(location)
    dataset.write_batch(pa.table({"id": pa.array([-1], pa.int64()), "payload": ["a"]}))
    writer = Path(__file__).with_name("killed_writer.py")
    options = json.dumps(dict(location.storage_options))
    proc = subprocess.Popen(
        [sys.executable, str(writer), location.uri, options], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "WRITING"
        time.sleep(1.0)  # let multipart uploads of data files start
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    assert dataset.version() == 0 and count_rows(dataset) == 1
    assert dataset.find_commit(runId="killed") is None
    assert (
        dataset.write_batch(pa.table({"id": pa.array([2], pa.int64()), "payload": ["b"]})).version
        == 1
    )
    assert count_rows(dataset) == 2
