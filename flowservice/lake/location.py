"""Where a dataset's Delta table lives: a local directory or an object-store URL."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import pyarrow.fs as pafs

from flowservice.errors import InvalidRequest, LakeError

_OBJECT_SCHEMES = ("s3", "s3a")
# Ids become path segments: nothing that could climb out of the lake root.
_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")


@dataclass(frozen=True)
class LakeLocation:
    """A table root plus delta-rs storage options (credentials stay out of ``repr``)."""

    uri: str
    storage_options: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def local(cls, path: str | Path) -> LakeLocation:
        return cls(uri=str(Path(path).resolve()))

    @property
    def is_local(self) -> bool:
        scheme = urlparse(self.uri).scheme
        return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter

    def options(self) -> dict[str, str] | None:
        """Storage options in the form delta-rs takes them."""
        return dict(self.storage_options) or None

    def child(self, *parts: str) -> LakeLocation:
        """A location below this one, with the same storage options."""
        suffix = "/".join(p.strip("/") for p in parts)
        return LakeLocation(
            uri=f"{self.uri.rstrip('/')}/{suffix}", storage_options=self.storage_options
        )

    def read_bytes(self, relative: str) -> bytes | None:
        """One file below this location, or None when it does not exist."""
        if self.is_local:
            path = self._local_path() / relative
            try:
                return path.read_bytes()
            except FileNotFoundError:
                return None
        fs, root = self._s3_filesystem()
        try:
            with fs.open_input_stream(f"{root}/{relative}") as stream:
                data: bytes = stream.read()
                return data
        except FileNotFoundError:
            return None

    def filesystem(self) -> tuple[pafs.FileSystem, str]:
        """A pyarrow file system and the table root's path on it."""
        if self.is_local:
            return pafs.LocalFileSystem(), self._local_path().as_posix()
        return self._s3_filesystem()

    def _local_path(self) -> Path:
        return Path(urlparse(self.uri).path if self.uri.startswith("file:") else self.uri)

    def remove_all(self) -> None:
        """Delete every file under this location; a missing location is not an error."""
        if self.is_local:
            path = self._local_path()
            if path.exists():
                shutil.rmtree(path)
            return
        scheme = urlparse(self.uri).scheme
        if scheme not in _OBJECT_SCHEMES:
            raise LakeError(f"deleting datasets on {scheme}:// is not supported yet")
        fs, root = self._s3_filesystem()
        info = fs.get_file_info(root)
        if info.type != pafs.FileType.NotFound:
            fs.delete_dir(root)

    def _s3_filesystem(self) -> tuple[pafs.S3FileSystem, str]:
        opts = {k.lower(): v for k, v in self.storage_options.items()}
        endpoint = (
            opts.get("aws_endpoint_url") or opts.get("endpoint_url") or opts.get("aws_endpoint")
        )
        scheme = "https"
        if endpoint:
            parsed = urlparse(endpoint)
            scheme = parsed.scheme or "https"
            endpoint = parsed.netloc or parsed.path
        fs = pafs.S3FileSystem(
            access_key=opts.get("aws_access_key_id") or opts.get("access_key_id"),
            secret_key=opts.get("aws_secret_access_key") or opts.get("secret_access_key"),
            session_token=opts.get("aws_session_token"),
            region=opts.get("aws_region") or opts.get("region") or "us-east-1",
            endpoint_override=endpoint,
            scheme=scheme,
        )
        parsed_uri = urlparse(self.uri)
        return fs, f"{parsed_uri.netloc}{parsed_uri.path}".rstrip("/")


def dataset_location(
    root: LakeLocation, *, org: str, sandbox: str, dataset_id: str
) -> LakeLocation:
    """``<root>/<org>/<sandbox>/<dataset id>``, refusing ids that are not plain names."""
    for label, value in (("org", org), ("sandbox", sandbox), ("dataset id", dataset_id)):
        if not _SEGMENT.match(value):
            raise InvalidRequest(f"{label} {value[:40]!r} cannot name a lake directory")
    return root.child(org, sandbox, dataset_id)
