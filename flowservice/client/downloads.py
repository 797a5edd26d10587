"""Where a streamed answer (a dataset export, a file's bytes) goes, shared by both clients.

A path is written to ``NAME.part`` and renamed when the whole answer has
arrived, so a failed download never leaves a truncated file under the name
asked for; an open binary file (``sys.stdout.buffer``) is written as it comes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeAlias

Destination: TypeAlias = str | os.PathLike[str] | BinaryIO


@contextmanager
def opened(destination: Destination) -> Iterator[BinaryIO]:
    """A binary file to write the answer into; a path is only replaced once it is complete."""
    if not isinstance(destination, str | os.PathLike):
        yield destination
        return
    target = Path(destination)
    partial = target.with_name(target.name + ".part")
    try:
        with partial.open("wb") as sink:
            yield sink
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
