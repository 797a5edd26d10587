"""Where the service keeps datasets: the configured lake root, then ``<org>/<sandbox>/<id>``."""

from __future__ import annotations

from urllib.parse import urlparse

from flowservice.lake.location import LakeLocation, dataset_location
from flowservice.settings import Settings


def lake_root(settings: Settings) -> LakeLocation:
    """The configured lake root: a local directory, or an object-store URL with its options."""
    root = settings.effective_lake_root
    scheme = urlparse(root).scheme
    if scheme in ("", "file") or len(scheme) == 1:  # a path (or a Windows drive letter)
        return LakeLocation.local(root.removeprefix("file://"))
    options = {k: v.get_secret_value() for k, v in settings.lake_storage_options.items()}
    return LakeLocation(uri=root, storage_options=options)


def dataset_home(settings: Settings, *, org: str, sandbox: str, dataset_id: str) -> LakeLocation:
    """The Delta table location of dataset ``dataset_id`` of an org's sandbox."""
    return dataset_location(lake_root(settings), org=org, sandbox=sandbox, dataset_id=dataset_id)
