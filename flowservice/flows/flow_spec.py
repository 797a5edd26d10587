"""Flow specs: the JSON documents under ``flows/specs/`` and what a flow may use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from flowservice.errors import NotFound, ValidationFailed

SPECS_DIR = Path(__file__).parent / "specs"

CRM_TO_AEP_ID = "14518937-270c-4525-bdec-c2ba7cce3860"
SQL_SERVER_SPEC_ID = "1f372ff9-38a4-4492-96f5-b9a4e4bd00ec"
DATA_LAKE_SPEC_ID = "c604ff05-7f1a-43c0-8e18-33bf874cb11c"


@dataclass(frozen=True)
class FlowOptions:
    """A flow's ``options`` (validated against the spec's ``optionSpec``)."""

    error_diagnostics_enabled: bool = False
    # None: partial ingestion is off, any failed record fails the run.
    partial_ingestion_percent: float | None = None

    def to_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"errorDiagnosticsEnabled": self.error_diagnostics_enabled}
        if self.partial_ingestion_percent is not None:
            out["partialIngestionPercent"] = self.partial_ingestion_percent
        return out


class FlowSpec:
    """One flow spec document, served as stored, with helpers to check a flow against it."""

    def __init__(self, doc: Mapping[str, Any]) -> None:
        self.doc: dict[str, Any] = json.loads(json.dumps(doc))
        self.id: str = self.doc["id"]
        self.name: str = self.doc["name"]
        self.version: str = self.doc.get("version", "1.0")

    @property
    def source_connection_spec_ids(self) -> list[str]:
        return list(self.doc.get("sourceConnectionSpecIds", []))

    @property
    def target_connection_spec_ids(self) -> list[str]:
        return list(self.doc.get("targetConnectionSpecIds", []))

    @property
    def schedule_schema(self) -> dict[str, Any]:
        return dict(self.doc["scheduleSpec"]["spec"])

    @property
    def option_schema(self) -> dict[str, Any]:
        return dict(self.doc["optionSpec"]["spec"])

    @property
    def run_schema(self) -> dict[str, Any]:
        return dict(self.doc["runSpec"]["spec"])

    @property
    def transformation_names(self) -> list[str]:
        return [entry["name"] for entry in self.doc.get("transformationSpec", [])]

    def check_source(self, connection_spec_id: str) -> None:
        """``ValidationFailed`` unless a source of this connection spec fits the flow spec."""
        if connection_spec_id not in self.source_connection_spec_ids:
            raise ValidationFailed(
                f"source connection spec {connection_spec_id} is not supported by "
                f"flow spec {self.name} ({self.id})"
            )

    def check_target(self, connection_spec_id: str) -> None:
        """``ValidationFailed`` unless a target of this connection spec fits the flow spec."""
        if connection_spec_id not in self.target_connection_spec_ids:
            raise ValidationFailed(
                f"target connection spec {connection_spec_id} is not supported by "
                f"flow spec {self.name} ({self.id})"
            )

    def check_version(self, version: str | None) -> None:
        """An omitted version means the newest, which is the only one we serve."""
        if version is not None and str(version) != self.version:
            raise ValidationFailed(
                f"flowSpec.version {version!r} is not known for flow spec {self.name}; "
                f"use {self.version!r}"
            )


def parse_options(options: Any) -> FlowOptions:
    """Validate and normalise a flow's ``options``; strings such as ``"true"``/``"5"`` accepted."""
    if options is None:
        return FlowOptions()
    if not isinstance(options, Mapping):
        raise ValidationFailed("options must be an object")
    unknown = sorted(set(options) - {"errorDiagnosticsEnabled", "partialIngestionPercent"})
    if unknown:
        raise ValidationFailed(f"options.{unknown[0]} is not a known option")
    diagnostics = options.get("errorDiagnosticsEnabled", False)
    if isinstance(diagnostics, str) and diagnostics.strip().lower() in ("true", "false"):
        diagnostics = diagnostics.strip().lower() == "true"
    if not isinstance(diagnostics, bool):
        raise ValidationFailed("options.errorDiagnosticsEnabled must be a boolean")
    percent = options.get("partialIngestionPercent")
    if percent is not None:
        percent = _percent(percent)
    return FlowOptions(error_diagnostics_enabled=diagnostics, partial_ingestion_percent=percent)


def _percent(value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            raise ValidationFailed("options.partialIngestionPercent must be a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed("options.partialIngestionPercent must be a number")
    if not 0 < value <= 100:
        raise ValidationFailed(
            "options.partialIngestionPercent must be greater than 0 and at most 100"
        )
    return float(value)


class FlowSpecCatalog:
    """All flow specs, by id and by name."""

    def __init__(self, specs: list[FlowSpec]) -> None:
        self._by_id = {spec.id: spec for spec in specs}

    def all(self) -> list[FlowSpec]:
        return list(self._by_id.values())

    def find(self, spec_id: str) -> FlowSpec | None:
        return self._by_id.get(spec_id)

    def get(self, spec_id: str) -> FlowSpec:
        spec = self._by_id.get(spec_id)
        if spec is None:
            raise NotFound(
                f"The requested flowSpecs resource {spec_id} is not found. "
                "Verify the resource ID before trying again.",
                resource_type="flowSpecs",
                resource_id=spec_id,
            )
        return spec

    def by_name(self, name: str) -> FlowSpec | None:
        return next((spec for spec in self._by_id.values() if spec.name == name), None)


@cache
def flow_specs() -> FlowSpecCatalog:
    docs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(SPECS_DIR.glob("*.json"))]
    return FlowSpecCatalog([FlowSpec(doc) for doc in docs])
