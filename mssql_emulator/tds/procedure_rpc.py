"""RPC calls of stored procedures by name: the EXEC they run and their RETURNVALUE tokens."""

from __future__ import annotations

import struct

import pyarrow as pa

from mssql_emulator.contract import Param, ResultSet
from mssql_emulator.tds.row_encoder import encode_batch
from mssql_emulator.tds.rpc import RpcCall
from mssql_emulator.tds.tokens import Token, b_varchar, normalize, type_info

_STATUS_OUTPUT = 0x01
_FLAG_NULLABLE = 0x0001
_PLP_TYPES = (0xA7, 0xAF, 0xE7, 0xEF, 0xA5, 0xAD)


def exec_text(call: RpcCall) -> tuple[str, list[Param]]:
    """``EXEC name args`` for ``call`` and the parameters as that statement's variables.

    Unnamed parameters become ``@P1``, ``@P2`` … by position. A parameter sent with
    fDefaultValue passes DEFAULT (``@var OUTPUT DEFAULT`` when its output is wanted).
    """
    args: list[str] = []
    bound: list[Param] = []
    for position, param in enumerate(call.params):
        var = param.name or f"@P{position + 1}"
        bound.append(Param(var, param.type, param.value, param.output))
        if position in call.defaults:
            value = f"{var} OUTPUT DEFAULT" if param.output else "DEFAULT"
        else:
            value = f"{var} OUTPUT" if param.output else var
        args.append(f"{param.name} = {value}" if param.name else value)
    return f"EXEC {call.name} {', '.join(args)}".strip(), bound


def inner_call(call: RpcCall, skip: int, name: str) -> RpcCall:
    """The procedure call ``sp_prepexecrpc``/``sp_execute`` carry after ``skip`` parameters."""
    defaults = frozenset(i - skip for i in call.defaults if i >= skip)
    return RpcCall(name, call.options, call.params[skip:], defaults, call.ordinal_base + skip)


def output_ordinals(call: RpcCall, names: list[str]) -> list[int]:
    """The RPC position each output (named after its formal parameter) answers."""
    by_name = {p.name.lower(): i for i, p in enumerate(call.params) if p.name and p.output}
    positional = [i for i, p in enumerate(call.params) if not p.name and p.output]
    out = []
    for name in names:
        position = by_name.get(name.lower())
        if position is None:
            position = positional.pop(0) if positional else 0
        out.append(call.ordinal_base + position)
    return out


def return_values(call: RpcCall, outputs: ResultSet) -> bytes:
    """One RETURNVALUE token per output parameter, in declared order."""
    batches = list(outputs.batches)
    if not batches:
        return b""
    row = pa.Table.from_batches(batches).slice(0, 1).combine_chunks().to_batches()[0]
    names = [column.name for column in outputs.columns]
    out = bytearray()
    for index, (column, ordinal) in enumerate(
        zip(outputs.columns, output_ordinals(call, names), strict=True)
    ):
        info = type_info(column.type)
        head = struct.pack("<BH", Token.RETURNVALUE, ordinal) + b_varchar(column.name)
        head += bytes([_STATUS_OUTPUT]) + struct.pack("<IH", 0, _FLAG_NULLABLE) + info
        cell = row.column(index)
        if cell.null_count:
            out += head + _null(info, column.type.length)
            continue
        single = pa.record_batch([cell], names=[column.name])
        out += head + encode_batch([normalize(column.type)], single)[1:]
    return bytes(out)


def _null(info: bytes, length: int | None) -> bytes:
    if info[0] in _PLP_TYPES:
        if length == -1 or info[1:3] == b"\xff\xff":
            return b"\xff" * 8
        return b"\xff\xff"
    return b"\x00"
