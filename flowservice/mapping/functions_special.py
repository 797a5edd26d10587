"""Special operations: uuid() / guid(), random version-4 UUIDs.

Arrow has no UUID kernel; the random bytes for the whole batch come from one
``os.urandom`` call and are formatted to text with numpy lookups, not per row.
"""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa

from flowservice.mapping.casting import Evaluated
from flowservice.mapping.expressions import CompiledExpression, call_args
from flowservice.mapping.function_registry import function
from flowservice.mapping.syntax import Call

_HEX = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# byte i of the UUID lands at these text columns (dashes after bytes 4, 6, 8 and 10)
_COLUMNS = np.array([0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34])


def random_uuids(count: int) -> pa.Array:
    raw = np.frombuffer(os.urandom(16 * count), dtype=np.uint8).reshape(count, 16).copy()
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40  # version 4
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80  # RFC 4122 variant
    text = np.full((count, 36), ord("-"), dtype=np.uint8)
    text[:, _COLUMNS] = _HEX[raw >> 4]
    text[:, _COLUMNS + 1] = _HEX[raw & 0x0F]
    offsets = np.arange(0, 36 * count + 1, 36, dtype=np.int32)
    return pa.StringArray.from_buffers(count, pa.py_buffer(offsets), pa.py_buffer(text.tobytes()))


def _build(node: Call, schema: pa.Schema) -> CompiledExpression:
    call_args(node, schema, 0, 0)

    def evaluate(batch: pa.RecordBatch) -> Evaluated:
        return Evaluated(random_uuids(batch.num_rows))

    return CompiledExpression(pa.string(), evaluate, frozenset())


for _name in ("uuid", "guid"):
    function(
        _name,
        category="Special operations",
        syntax=f"{_name}()",
        description="A random (version 4) UUID, different on every row.",
        returns="string",
        example=f"{_name}()",
        result='"7c0267d2-bb74-4e1a-9275-3bf4fccda5f4"',
    )(_build)
