"""How many keys a verification report lists per kind of difference (kept import-light for
the CLI, which must start without loading Arrow)."""

from __future__ import annotations

DEFAULT_SAMPLES = 10
MAX_SAMPLES = 1000
