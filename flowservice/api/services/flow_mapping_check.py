"""Flow creation: a mapping may only name columns its source connection has.

The rule: a source connection that declares its columns (``params.columns``, what
the runner selects) fixes the columns a mapping may read; a mapping that names any
other column — as an ATTRIBUTE, or inside an expression — is refused with a 400
listing them. A source connection without declared columns reads the whole table,
whose columns are only known once a run reads it, so nothing is refused (the run's
first batch is checked then). Flow creation never contacts the source database.
Names match case-insensitively, as SQL Server's do.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.orm import Session

from flowservice.api.services.mapping_schemas import columns_named
from flowservice.errors import NotFound, ValidationFailed
from flowservice.flows.flow_definition import FlowDefinition, declared_columns
from flowservice.flows.persistence.mapping_sets import find_version, rules
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope

SOURCE_KIND = "sourceConnections"


def mapped_columns(mappings: Sequence[Mapping[str, Any]], known: Sequence[str]) -> list[str]:
    """The source columns ``mappings`` (in ``rules`` form) read, in order of appearance."""
    lowered = {name.lower() for name in known}
    names: dict[str, None] = {}
    for mapping in mappings:
        text = str(mapping.get("sourceAttribute", ""))
        if mapping.get("sourceType") == "ATTRIBUTE" or text.lower() in lowered:
            names[text] = None  # a plain column name, taken as is (spaces need no quoting)
        else:
            names.update(dict.fromkeys(columns_named(text)))
    return list(names)


def unknown_columns(mappings: Sequence[Mapping[str, Any]], known: Sequence[str]) -> list[str]:
    lowered = {name.lower() for name in known}
    return [name for name in mapped_columns(mappings, known) if name.lower() not in lowered]


def check_mapping_columns(session: Session, scope: Scope, flow: FlowDefinition) -> None:
    """Refuse (400) a flow whose mapping reads a column a source connection lacks."""
    mapping = flow.transformations.mapping
    if mapping is None:
        return
    try:
        version = find_version(session, scope, mapping.mapping_id, mapping.version)
    except NotFound:
        return  # a missing version is the run's to report, as before this check
    compiled = rules(version)
    for cid in flow.source_connection_ids:
        row = resources.get_resource(session, scope=scope, kind=SOURCE_KIND, resource_id=cid)
        known = declared_columns(row.doc.get("params") or {})
        if known is None:
            continue  # the whole table: its columns are unknown until a run reads it
        missing = unknown_columns(compiled, known)
        if missing:
            names = ", ".join(repr(m) for m in missing)
            raise ValidationFailed(
                f"transformations: mapping set {mapping.mapping_id} reads column(s) {names} "
                f"that source connection {cid} does not have (its columns: {', '.join(known)})"
            )
