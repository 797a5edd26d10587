"""Properties of the CLI's output: ``-o json`` gives back exactly the API's objects (any
names, any extra fields, any text), and tables show every resource's id."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from cli_harness import config_dir, invoke, logged_in
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console
from service_harness import ApiClient

from flowservice.cli.output import rows_table, to_json
from flowservice.cli.resources import FLOWS, RUNS
from flowservice.client.models import Flow, Run

__all__ = ["config_dir", "logged_in"]

# JSON values as the API could send them in fields the SDK does not know
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
ids = st.uuids().map(str)
# the service refuses NUL in any body; everything else must come back as sent
chars = st.characters(exclude_characters="\x00")
names = st.text(chars, min_size=1, max_size=40).filter(lambda s: s.strip() == s and s.strip())
extras = st.dictionaries(
    st.from_regex(r"x[A-Z][a-zA-Z]{0,8}", fullmatch=True), json_values, max_size=3
)


@st.composite
def flows(draw: st.DrawFn) -> dict[str, Any]:
    wire: dict[str, Any] = {"id": draw(ids), "name": draw(names), **draw(extras)}
    if draw(st.booleans()):
        wire["state"] = draw(st.sampled_from(["enabled", "disabled"]))
    if draw(st.booleans()):
        wire["updatedAt"] = draw(st.integers(0, 4_102_444_800_000))
    return wire


@given(st.lists(flows(), max_size=5))
def test_json_output_is_the_wire_objects(wires: list[dict[str, Any]]) -> None:
    models = [Flow.model_validate(w) for w in wires]
    assert json.loads(to_json(models)) == wires


@given(st.lists(flows(), min_size=1, max_size=5))
def test_a_table_shows_every_id_and_escapes_markup(wires: list[dict[str, Any]]) -> None:
    console = Console(width=400, record=True, file=io.StringIO())
    console.print(rows_table([Flow.model_validate(w) for w in wires], FLOWS.columns))
    shown = console.export_text()
    assert shown.splitlines()[0].split()[:3] == ["ID", "NAME", "STATE"]
    for wire in wires:
        assert wire["id"] in shown


@given(
    st.dictionaries(
        st.sampled_from(["inputRecordCount", "outputRecordCount"]), st.integers(0, 10**12)
    )
)
def test_run_rows_never_fail_on_partial_metrics(counts: dict[str, int]) -> None:
    run = Run.model_validate({"id": "r", "metrics": {"recordSummary": counts}})
    values = [column.value(run) for column in RUNS.columns]
    assert values[3] == counts.get("inputRecordCount")
    assert values[4] == counts.get("outputRecordCount")


@pytest.mark.timeout(120)
@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(name=names, description=st.text(chars, max_size=60))
def test_a_dataset_round_trips_through_create_and_get_json(
    client: ApiClient, logged_in: Path, tmp_path: Path, name: str, description: str
) -> None:
    body = {"name": name, "description": description}
    path = tmp_path / "dataset.json"
    path.write_text(json.dumps(body), encoding="utf-8")
    made = invoke("datasets", "create", "-f", str(path), "-o", "json")
    assert made.exit_code == 0, made.output
    dataset_id = json.loads(made.stdout)["id"]
    got = invoke("datasets", "get", dataset_id, "-o", "json")
    assert got.exit_code == 0, got.output
    shown = json.loads(got.stdout)
    assert shown["id"] == dataset_id
    assert (shown["name"], shown.get("description", "")) == (name, description)
    assert invoke("datasets", "delete", dataset_id).exit_code == 0
