"""Answer SQL batches, RPC calls and transaction-manager requests for one session."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from mssql_emulator.contract import (
    Param,
    ResultSet,
    Session,
    SqlError,
    StatementResult,
)
from mssql_emulator.tds import procedure_rpc, tokens
from mssql_emulator.tds.bulk_load import BulkLoader
from mssql_emulator.tds.definitions import Definition, parse_definitions
from mssql_emulator.tds.describe import describe_result
from mssql_emulator.tds.packets import MessageWriter, ProtocolError, UnknownDataType
from mssql_emulator.tds.reader import ByteReader, skip_all_headers
from mssql_emulator.tds.responses import ResultStreamer, TransactionTracker
from mssql_emulator.tds.rpc import RpcCall, base_name, parse_rpc
from mssql_emulator.tds.tokens import DoneStatus, Token

TM_BEGIN = 5
TM_COMMIT = 7
TM_ROLLBACK = 8


class RequestHandler:
    """Per-connection state: prepared handles, transaction descriptor, current database."""

    def __init__(
        self, session: Session, writer: MessageWriter, attention: Callable[[], bool]
    ) -> None:
        self.session = session
        self.writer = writer
        self.tracker = TransactionTracker()
        self.streamer = ResultStreamer(writer, session, self.tracker, attention)
        self.prepared: dict[int, tuple[str, list[Definition]]] = {}
        self.prepared_procedures: dict[int, str] = {}  # sp_prepexecrpc handles
        self.bulk = BulkLoader(writer, session)
        self._next_handle = 1

    # --- SQL batch -------------------------------------------------------------------

    def sql_batch(self, payload: bytes) -> None:
        reader = ByteReader(payload)
        skip_all_headers(reader)
        if reader.remaining() % 2:
            raise ProtocolError("odd-length SQL text")
        sql = reader.utf16(reader.remaining() // 2)
        if self.bulk.announce(sql):
            return
        self.streamer.stream(self._execute(sql, None), sql, done_token=Token.DONE, more_after=False)

    def bulk_load(self, payload: bytes) -> None:
        self.bulk.load(payload)

    def _execute(self, sql: str, params: list[Param] | None) -> Iterator[StatementResult]:
        # Calling execute may itself raise SqlError before yielding anything.
        yield from self.session.execute(sql, params)

    # --- transaction manager ---------------------------------------------------------

    def transaction(self, payload: bytes) -> None:
        reader = ByteReader(payload)
        skip_all_headers(reader)
        request = reader.u16()
        out = bytearray()
        status = DoneStatus.FINAL
        try:
            if request == TM_BEGIN:
                # fIsolationLevel: 0 keeps the session's level, 1-5 as sys.dm_exec_sessions
                self.session.begin(reader.u8() if reader.remaining() else 0)
                out += self.tracker.begin_token()
            elif request in (TM_COMMIT, TM_ROLLBACK):
                reader.b_varchar()
                flags = reader.u8() if reader.remaining() else 0
                if request == TM_COMMIT:
                    self.session.commit()
                else:
                    self.session.rollback()
                out += self.tracker.end_token(committed=request == TM_COMMIT)
                if flags & 0x01:
                    self.session.begin()
                    out += self.tracker.begin_token()
            else:
                raise SqlError(
                    8509, "The transaction manager request is not supported.", severity=16
                )
        except SqlError as exc:
            out += tokens.message(
                exc.number, exc.message, severity=max(exc.severity, 11), state=exc.state
            )
            status = DoneStatus.ERROR
        out += tokens.done(status)
        self.writer.write(out)

    # --- RPC ---------------------------------------------------------------------------

    def rpc(self, payload: bytes) -> None:
        try:
            calls = parse_rpc(payload)
        except UnknownDataType as exc:
            text = (
                "The incoming tabular data stream (TDS) remote procedure call (RPC) protocol "
                f"stream is incorrect. Data type 0x{exc.code:02X} is unknown."
            )
            self.writer.write(tokens.message(8009, text, severity=16))
            self.writer.write(tokens.done(DoneStatus.ERROR))
            return
        for index, call in enumerate(calls):
            self._call(call, more_after=index < len(calls) - 1)

    def _finish_proc(
        self,
        *,
        more_after: bool,
        error: bool = False,
        status_value: int = 0,
        return_values: bytes = b"",
    ) -> None:
        status = DoneStatus.ERROR if error else DoneStatus.FINAL
        if more_after:
            status |= DoneStatus.MORE | DoneStatus.RPCINBATCH
        self.writer.write(tokens.return_status(status_value))
        self.writer.write(return_values)  # OUTPUT parameters follow the status
        self.writer.write(tokens.done(status, token=Token.DONEPROC))

    def _error_proc(self, exc: SqlError, *, more_after: bool) -> None:
        self.writer.write(
            tokens.message(exc.number, exc.message, severity=max(exc.severity, 11), state=exc.state)
        )
        self._finish_proc(more_after=more_after, error=True, status_value=1)

    def _call(self, call: RpcCall, *, more_after: bool) -> None:
        name = base_name(call.name)
        params = call.params
        try:
            if name == "sp_executesql":
                sql, defs, values = self._statement_args(params, 0, 1)
                self._run(sql, self._bind(defs, values), more_after=more_after)
            elif name == "sp_prepexec":
                sql, defs, values = self._statement_args(params, 2, 1)
                handle = self._prepare(sql, defs)
                self._run(
                    sql,
                    self._bind(defs, values),
                    more_after=more_after,
                    handle=(params[0].name, handle),
                )
            elif name == "sp_prepare":
                sql, defs, _ = self._statement_args(params, 2, 1)
                handle = self._prepare(sql, defs)
                self.writer.write(tokens.return_value_int(0, params[0].name, handle))
                self._finish_proc(more_after=more_after)
            elif name == "sp_prepexecrpc":
                self._prepexecrpc(call, more_after=more_after)
            elif name == "sp_execute" and params and params[0].value in self.prepared_procedures:
                procedure = self.prepared_procedures[params[0].value]
                inner = procedure_rpc.inner_call(call, 1, procedure)
                sql, bound = procedure_rpc.exec_text(inner)
                self._run(sql, bound, more_after=more_after, proc=inner)
            elif name == "sp_execute":
                sql, defs = self._lookup(params)
                self._run(sql, self._bind(defs, params[1:]), more_after=more_after)
            elif name == "sp_unprepare":
                if params and isinstance(params[0].value, int):
                    self.prepared.pop(params[0].value, None)
                    self.prepared_procedures.pop(params[0].value, None)
                self._finish_proc(more_after=more_after)
            elif name == "sp_describe_undeclared_parameters":
                self._describe(params, more_after=more_after)
            else:
                sql, bound = procedure_rpc.exec_text(call)
                self._run(sql, bound, more_after=more_after, proc=call)
        except SqlError as exc:
            self._error_proc(exc, more_after=more_after)

    def _prepexecrpc(self, call: RpcCall, *, more_after: bool) -> None:
        """sp_prepexecrpc @handle OUTPUT, @procname, args…: call a procedure, keep a handle."""
        params = call.params
        procedure = self._text(params[1] if len(params) > 1 else None)
        if procedure is None:
            raise SqlError(
                201,
                "Procedure or function 'sp_prepexecrpc' expects parameter '@procname', "
                "which was not supplied.",
                state=4,
            )
        handle = self._next_handle
        self._next_handle += 1
        self.prepared_procedures[handle] = procedure
        inner = procedure_rpc.inner_call(call, 2, procedure)
        sql, bound = procedure_rpc.exec_text(inner)
        self._run(sql, bound, more_after=more_after, handle=(params[0].name, handle), proc=inner)

    @staticmethod
    def _text(param: Param | None) -> str | None:
        if param is None or param.value is None:
            return None
        if not isinstance(param.value, str):
            raise SqlError(214, "Procedure expects parameter of type 'ntext/nchar/nvarchar'.")
        return param.value

    def _statement_args(
        self, params: list[Param], stmt_at: int, defs_at: int
    ) -> tuple[str, list[Definition], list[Param]]:
        def at(i: int) -> Param | None:
            return params[i] if i < len(params) else None

        if stmt_at == 0:
            sql = self._text(at(0))
            defs_text = self._text(at(1))
            values = params[2:]
        else:  # sp_prepexec / sp_prepare: @handle, @params, @stmt, values...
            defs_text = self._text(at(1))
            sql = self._text(at(2))
            values = params[3:]
        if sql is None:
            raise SqlError(8144, "Procedure or function has too many arguments specified.")
        return sql, parse_definitions(defs_text), values

    def _prepare(self, sql: str, defs: list[Definition]) -> int:
        handle = self._next_handle
        self._next_handle += 1
        self.prepared[handle] = (sql, defs)
        return handle

    def _lookup(self, params: list[Param]) -> tuple[str, list[Definition]]:
        handle = params[0].value if params else None
        if not isinstance(handle, int) or handle not in self.prepared:
            raise SqlError(8179, f"Could not find prepared statement with handle {handle}.")
        return self.prepared[handle]

    @staticmethod
    def _bind(defs: list[Definition], values: list[Param]) -> list[Param]:
        """Name positional values after the definitions and give them the declared types."""
        by_name = {d.name.lower(): d for d in defs}
        bound: list[Param] = []
        for position, value in enumerate(values):
            definition = by_name.get(value.name.lower()) if value.name else None
            if definition is None and position < len(defs):
                definition = defs[position]
            if definition is None:
                bound.append(value)
                continue
            bound.append(
                Param(
                    name=definition.name,
                    type=definition.type,
                    value=value.value,
                    output=value.output,
                )
            )
        return bound

    def _run(
        self,
        sql: str,
        params: list[Param],
        *,
        more_after: bool,
        handle: tuple[str, int] | None = None,
        proc: RpcCall | None = None,
    ) -> None:
        statuses: list[int] = []
        outputs: list[ResultSet | None] = []

        def results() -> Iterator[StatementResult]:
            for result in self._execute(sql, params):
                if result.return_status is not None:
                    statuses.append(result.return_status)
                    outputs.append(result.outputs)
                    # The RPC's own RETURNSTATUS and RETURNVALUEs close it (_finish_proc).
                    result.return_status, result.outputs = None, None
                yield result

        ok = self.streamer.stream(results(), sql, done_token=Token.DONEINPROC, more_after=True)
        if handle is not None:
            self.writer.write(tokens.return_value_int(0, handle[0], handle[1]))
        # A procedure called by RPC reports its own return status (sp_getapplock's -1, …).
        status = statuses[-1] if proc and ok and statuses else 0 if ok else 1
        returned = outputs[-1] if proc and ok and outputs else None
        self._finish_proc(
            more_after=more_after,
            error=not ok,
            status_value=status,
            return_values=procedure_rpc.return_values(proc, returned) if proc and returned else b"",
        )

    def _describe(self, params: list[Param], *, more_after: bool) -> None:
        sql = self._text(params[0]) if params else None
        described = self.session.describe_parameters(sql) if sql else []
        if described:
            result = StatementResult(result_set=describe_result(described))
            self.streamer.stream(iter([result]), "", done_token=Token.DONEINPROC, more_after=True)
        self._finish_proc(more_after=more_after)
