"""Stream statement results as tokens: COLMETADATA, rows, DONE with the right bits."""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from mssql_emulator.contract import Session, SqlError, StatementResult
from mssql_emulator.tds import tokens
from mssql_emulator.tds.packets import MessageWriter
from mssql_emulator.tds.row_encoder import chunks, encode_batch
from mssql_emulator.tds.tokens import DoneStatus, EnvChange, Token

CURCMD_SELECT = 0xC1


class Cancelled(Exception):
    """The client sent an attention while its request ran."""


@dataclass
class _PendingDone:
    status: int
    rowcount: int
    curcmd: int
    token: Token | None = None  # DONEPROC ends an EXEC's rows in a batch, not the batch's token


class TransactionTracker:
    """Emits ENVCHANGE 8/9/10 whenever the session's transaction state changes."""

    def __init__(self) -> None:
        self._counter = 0
        self.descriptor = b""

    def begin_token(self) -> bytes:
        self._counter += 1
        self.descriptor = struct.pack("<Q", self._counter)
        return tokens.envchange_bytes(EnvChange.BEGIN_TRAN, self.descriptor, b"")

    def end_token(self, committed: bool) -> bytes:
        kind = EnvChange.COMMIT_TRAN if committed else EnvChange.ROLLBACK_TRAN
        old, self.descriptor = self.descriptor, b""
        return tokens.envchange_bytes(kind, b"", old)

    def sync(self, was_in_transaction: bool, now_in_transaction: bool, sql: str) -> bytes:
        if was_in_transaction == now_in_transaction:
            return b""
        if now_in_transaction:
            return self.begin_token()
        # The session only says the transaction ended; the statement text tells which way
        # (clients treat COMMIT_TRAN and ROLLBACK_TRAN alike: both clear the descriptor).
        return self.end_token(committed="rollback" not in sql.lower())


class ResultStreamer:
    """Writes one request's results; ``done_token`` is DONE for batches, DONEINPROC in RPCs."""

    def __init__(
        self,
        writer: MessageWriter,
        session: Session,
        tracker: TransactionTracker,
        attention: Callable[[], bool],
    ) -> None:
        self.writer = writer
        self.session = session
        self.tracker = tracker
        self.attention = attention
        self.database = session.database

    def _check(self) -> None:
        if self.attention():
            raise Cancelled

    def stream(
        self, results: Iterator[StatementResult], sql: str, *, done_token: Token, more_after: bool
    ) -> bool:
        """Write every result; the last DONE gets MORE only if ``more_after``. True if ok."""
        pending: _PendingDone | None = None
        ok = True
        was_in_tran = self.session.in_transaction
        try:
            for result in results:
                if pending is not None:
                    self._write_done(pending, done_token, more=True)
                pending = self._write_result(result)
                now_in_tran = self.session.in_transaction
                self.writer.write(self.tracker.sync(was_in_tran, now_in_tran, sql))
                was_in_tran = now_in_tran
                self._check()
        except SqlError as exc:
            if self.attention():
                # The statement failed because the client cancelled it: SQL Server reports
                # no error then, only the DONE(ATTN) acknowledgement.
                raise Cancelled from exc
            if pending is not None:
                self._write_done(pending, done_token, more=True)
            self.writer.write(self._error(exc))
            now_in_tran = self.session.in_transaction
            self.writer.write(self.tracker.sync(was_in_tran, now_in_tran, "rollback"))
            pending = _PendingDone(DoneStatus.ERROR, 0, 0)
            ok = False
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
        if pending is None:
            pending = _PendingDone(DoneStatus.FINAL, 0, 0)
        self._write_done(pending, done_token, more=more_after)
        return ok

    @staticmethod
    def _error(exc: SqlError) -> bytes:
        return tokens.message(
            exc.number, exc.message, severity=max(exc.severity, 11), state=exc.state, line=exc.line
        )

    def _write_done(self, pending: _PendingDone, token: Token, *, more: bool) -> None:
        status = pending.status | (DoneStatus.MORE if more else 0)
        token = pending.token if pending.token is not None and token == Token.DONE else token
        self.writer.write(tokens.done(status, pending.rowcount, token=token, curcmd=pending.curcmd))

    def _write_result(self, result: StatementResult) -> _PendingDone:
        for msg in result.messages:
            self.writer.write(
                tokens.message(msg.number, msg.message, severity=msg.severity, state=msg.state)
            )
        if result.database is not None:
            self.writer.write(
                tokens.envchange_text(EnvChange.DATABASE, result.database, self.database)
            )
            self.database = result.database
        if result.result_set is None:
            self._write_status(result)
            # An error that does not end the batch (sp_releaseapplock's 1223) flags its DONE.
            failed = DoneStatus.ERROR if any(m.severity > 10 for m in result.messages) else 0
            if result.rowcount is None:
                return _PendingDone(DoneStatus.FINAL | failed, 0, 0)
            return _PendingDone(DoneStatus.COUNT | failed, result.rowcount, 0)
        columns = result.result_set.columns
        types = [column.type for column in columns]
        self.writer.write(tokens.colmetadata(columns))
        count = 0
        for batch in result.result_set.batches:
            for piece in chunks(batch):
                self.writer.write(encode_batch(types, piece))
                count += piece.num_rows
                self._check()
        if result.return_status is None:
            return _PendingDone(DoneStatus.COUNT, count, CURCMD_SELECT)
        # A procedure's rows end in DONEINPROC; its return status then comes before DONEPROC.
        done = DoneStatus.COUNT | DoneStatus.MORE
        self.writer.write(tokens.done(done, count, token=Token.DONEINPROC, curcmd=CURCMD_SELECT))
        self._write_status(result)
        return _PendingDone(DoneStatus.FINAL, 0, 0, Token.DONEPROC)

    def _write_status(self, result: StatementResult) -> None:
        """An EXEC in a batch reports its procedure's return status (RETURNSTATUS)."""
        if result.return_status is not None:
            self.writer.write(tokens.return_status(result.return_status))
