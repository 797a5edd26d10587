"""Catalog dataset rows (kind ``dataSets``) and the Delta tables they name in the lake."""

from __future__ import annotations

from sqlalchemy.orm import Session

from flowservice.lake import Dataset, LakeLocation
from flowservice.lake.layout import dataset_home
from flowservice.settings import Settings
from flowservice.store.repos import resources
from flowservice.store.repos.resources import Scope
from flowservice.store.tables import Resource

DATASET_KIND = "dataSets"


def location_of(settings: Settings, scope: Scope, dataset_id: str) -> LakeLocation:
    return dataset_home(
        settings, org=scope.org_id, sandbox=scope.sandbox_name, dataset_id=dataset_id
    )


def dataset_of(settings: Settings, scope: Scope, row: Resource) -> Dataset:
    """The lake handle of a dataset row, with the schema policy stored with it."""
    return Dataset(
        location_of(settings, scope, row.id), policy=row.doc.get("schemaPolicy", "evolve")
    )


def open_dataset(session: Session, settings: Settings, scope: Scope, dataset_id: str) -> Dataset:
    """The dataset ``dataset_id`` of the scope, ready to write (404 when it is not there)."""
    row = resources.get_resource(session, scope=scope, kind=DATASET_KIND, resource_id=dataset_id)
    return dataset_of(settings, scope, row)
