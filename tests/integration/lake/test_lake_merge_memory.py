"""Memory and time of a merge into a 1,000,000-row table, each measured in a fresh process.

Figures are printed (``pytest -s``) and bounded: the bounds hold the measured figures
(docs/lake.md, "Merge writes") with some room, so a change that makes merges hold
much more memory fails here.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowservice.lake import Dataset, LakeLocation, count_rows

SCRIPT = Path(__file__).with_name("merge_memory.py")
ROWS = 1_000_000
CHANGES = 10_000  # 1 %: 9,000 updates, 500 inserts, 500 deletes


def _run(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.splitlines()[-1])) if done.stdout else {}


@pytest.mark.slow
def test_merge_of_one_percent_into_a_million_rows(tmp_path: Path) -> None:
    base = tmp_path / "base"
    _run("build", str(base), str(ROWS))
    figures = {}
    for action, layout in (("append", "random"), ("merge", "tail"), ("merge", "random")):
        work = tmp_path / f"{action}-{layout}"
        shutil.copytree(base, work)
        figures[action, layout] = report = _run(action, str(work), str(ROWS), str(CHANGES), layout)
        print(json.dumps(report))
        if action == "merge":
            assert (report["inserted"], report["updated"], report["deleted"]) == (500, 9000, 500)
            assert count_rows(Dataset(LakeLocation.local(work))) == ROWS
    grown = {key: r["anon_peak_mib"] - r["anon_before_mib"] for key, r in figures.items()}
    assert grown["append", "random"] < 120
    # changes to recent rows rewrite only the last data file
    assert grown["merge", "tail"] < 150
    # changes spread over every file rewrite the whole table (measured ~280 MiB)
    assert grown["merge", "random"] < 400
    assert figures["merge", "random"]["rss_peak_mib"] < 500
