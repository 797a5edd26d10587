"""run_copy keeps a partly ingested batch's failed rows beside the dataset, and only those."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from flows_testing_source import PASSWORD, SCHEMA, TableConnector, rows
from test_flows_run_copy import FIELDS, MAPPINGS, copy, minute, new_run

from flowservice.flows.schedule import Window
from flowservice.lake import Dataset, LakeLocation
from flowservice.lake.failed_records import (
    FailedRowCollector,
    iter_lines,
    read_manifest,
    read_records_file,
)
from flowservice.mapping import MappingSet


@pytest.fixture
def mapped(tmp_path: Path) -> tuple[Dataset, MappingSet]:
    dataset = Dataset.create(LakeLocation.local(tmp_path / "mapped"), fields=FIELDS)
    return dataset, MappingSet.compile(MAPPINGS, source=SCHEMA, dataset=dataset.fields())


def test_failed_rows_of_every_batch_are_kept_with_their_reasons(
    mapped: tuple[Dataset, MappingSet],
) -> None:
    dataset, mapping = mapped
    # 1000 rows read 100 at a time: 20 bad rows spread over the batches
    source = TableConnector({"dbo.People": rows(1000, bad_every=50)})
    run = new_run("r1", Window(None, minute(1000)))
    outcome = copy(run, source, dataset, mapper=mapping, percent=5.0)
    assert outcome.batch_id is not None
    manifest = read_manifest(dataset.location, outcome.batch_id)
    assert manifest is not None
    assert (manifest.failed_count, manifest.kept_count, manifest.input_count) == (20, 20, 1000)
    raw = read_records_file(dataset.location, outcome.batch_id)
    assert raw is not None
    lines = list(iter_lines(raw))
    # the row number within the run, and the row's own source values
    assert [line["row"] for line in lines] == list(range(0, 1000, 50))
    assert [line["record"]["Id"] for line in lines] == list(range(0, 1000, 50))
    assert all(line["record"]["Age"] == "x" for line in lines)
    assert lines[1]["record"]["UpdatedAt"].startswith("2024-")
    assert {e["destination"] for line in lines for e in line["errors"]} == {"age"}
    assert PASSWORD not in raw.decode()


def test_a_clean_run_and_a_failed_run_keep_nothing(mapped: tuple[Dataset, MappingSet]) -> None:
    dataset, mapping = mapped
    clean = copy(new_run("r1", Window(None, minute(100))), _source(0), dataset, mapper=mapping)
    assert clean.batch_id is not None and read_manifest(dataset.location, clean.batch_id) is None
    over = new_run("r2", Window(minute(100), minute(1000)))
    failed = copy(over, _source(10), dataset, mapper=mapping, percent=1.0)
    assert failed.batch_id is None
    assert not (Path(dataset.location.uri) / "_failed").exists()


def _source(bad_every: int) -> TableConnector:
    return TableConnector({"dbo.People": rows(1000, bad_every=bad_every)})


def test_the_collector_keeps_at_most_its_limit(mapped: tuple[Dataset, MappingSet]) -> None:
    _dataset, mapping = mapped
    batch = rows(100, bad_every=2).to_batches()[0]
    mapped_batch = mapping.apply(batch, max_error_samples=100)
    collector = FailedRowCollector(limit=30)
    collector.add(batch, mapped_batch.error_mask, mapped_batch.errors, offset=1000)
    collector.add(batch, mapped_batch.error_mask, mapped_batch.errors, offset=2000)
    assert len(collector.lines) == 30 and collector.room == 0
    first = json.loads(collector.lines[0])
    assert first["row"] == 1000 and first["record"]["Id"] == 0
