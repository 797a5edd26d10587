"""deltalake's bundled jemalloc: return freed pages within ~1 s (docs/lake.md, "The allocator").

Imported first by ``flowservice.lake``: jemalloc reads ``_RJEM_MALLOC_CONF`` once, when
deltalake first allocates, so it must be set before deltalake is imported. A value set
by the user wins. Its build default keeps freed pages 10 s (``dirty_decay_ms:10000``), so
a service holds a merge's peak (~200 MiB) long after it; 1 s costs no measurable time.
"""

from __future__ import annotations

import os

JEMALLOC_CONF_VARIABLE = "_RJEM_MALLOC_CONF"
JEMALLOC_CONF = "background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0"

os.environ.setdefault(JEMALLOC_CONF_VARIABLE, JEMALLOC_CONF)
