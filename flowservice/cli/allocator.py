"""The allocator of a `flowservice` process: large freed blocks go back to the system at once.

A run streams Arrow batches of several MB through the process that writes it (frames
from the read children, row groups the Parquet encoder works on). Arrow's default
allocator (mimalloc) keeps freed pages for reuse, and glibc raises its mmap threshold
after each large block it frees, so later blocks come from a heap that does not shrink:
the service's memory rose by ~100 MB over a run and stayed there. Arrow's system
allocator with a fixed mmap threshold maps each block of 1 MiB or more on its own and
unmaps it when freed; a 2 M-row run then peaked ~40 MB lower at the same CPU (README,
"Benchmarks"). Arrow reads its choice when it loads, so this runs before anything imports
pyarrow; a value already in the environment is kept.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

POOL_VARIABLE = "ARROW_DEFAULT_MEMORY_POOL"
MMAP_THRESHOLD_BYTES = 1024 * 1024
_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def return_freed_memory() -> None:
    """Choose Arrow's system allocator and, on glibc, a fixed mmap threshold."""
    if "pyarrow" not in sys.modules:
        os.environ.setdefault(POOL_VARIABLE, "system")
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    try:
        mallopt = ctypes.CDLL(name).mallopt if name else None
    except (OSError, AttributeError):  # not glibc (musl has no mallopt)
        mallopt = None
    if mallopt is not None:
        mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
