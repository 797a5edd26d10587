"""Parse RPC requests: one or more procedure calls with their parameters."""

from __future__ import annotations

from dataclasses import dataclass, field

from mssql_emulator.contract import Param
from mssql_emulator.tds.packets import ProtocolError
from mssql_emulator.tds.params import read_rpc_param
from mssql_emulator.tds.reader import ByteReader, skip_all_headers

PROC_NAMES = {
    1: "sp_cursor",
    2: "sp_cursoropen",
    3: "sp_cursorprepare",
    4: "sp_cursorexecute",
    5: "sp_cursorprepexec",
    6: "sp_cursorunprepare",
    7: "sp_cursorfetch",
    8: "sp_cursoroption",
    9: "sp_cursorclose",
    10: "sp_executesql",
    11: "sp_prepare",
    12: "sp_execute",
    13: "sp_prepexec",
    14: "sp_prepexecrpc",
    15: "sp_unprepare",
}
_BATCH_FLAGS = (0x80, 0xFF, 0xFE)
OPTION_NO_METADATA = 0x0002


@dataclass(frozen=True)
class RpcCall:
    name: str
    options: int
    params: list[Param]
    # Positions of parameters sent with fDefaultValue: the procedure's default applies.
    defaults: frozenset[int] = field(default_factory=frozenset)
    # Parameters this call's come after in the request (sp_prepexecrpc's handle and name).
    ordinal_base: int = 0


def parse_rpc(payload: bytes) -> list[RpcCall]:
    reader = ByteReader(payload)
    skip_all_headers(reader)
    calls: list[RpcCall] = []
    while reader.remaining():
        length = reader.u16()
        if length == 0xFFFF:
            proc_id = reader.u16()
            name = PROC_NAMES.get(proc_id)
            if name is None:
                raise ProtocolError(f"unknown procedure id {proc_id}")
        else:
            name = reader.utf16(length)
        options = reader.u16()
        params: list[Param] = []
        defaults: set[int] = set()
        while reader.remaining() and reader.data[reader.pos] not in _BATCH_FLAGS:
            param, default = read_rpc_param(reader)
            if default:
                defaults.add(len(params))
            params.append(param)
        calls.append(RpcCall(name, options, params, frozenset(defaults)))
        if reader.remaining():
            reader.u8()  # the separator between calls
    if not calls:
        raise ProtocolError("empty RPC request")
    return calls


def base_name(name: str) -> str:
    """``[master].[dbo].[sp_executesql]`` → ``sp_executesql``."""
    last = name.split(".")[-1].strip()
    return last.strip('[]"').lower()
