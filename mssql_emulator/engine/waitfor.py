"""``WAITFOR DELAY 'hh:mm[:ss[.fff]]'`` and ``WAITFOR TIME 'hh:mm[:ss[.fff]]'``.

The wait ends early when the client cancels the request (attention): the batch then
ends with 3617, as an interrupted query does.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from typing import TYPE_CHECKING

from mssql_emulator.contract import SqlError, StatementResult

if TYPE_CHECKING:
    from mssql_emulator.engine.session import DuckDBSession

WAITFOR = re.compile(r"^WAITFOR\s+(DELAY|TIME)\s+(?:N?'([^']*)'|@(\w+))\s*;?\s*$", re.I | re.S)
_CLOCK = re.compile(r"^\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d{1,3}))?)?\s*$")


def _seconds(text: str) -> float:
    match = _CLOCK.match(text)
    if match is None:
        raise SqlError(
            148, f"Incorrect time syntax in time string '{text}' used with WAITFOR.", severity=15
        )
    hours, minutes = int(match.group(1)), int(match.group(2))
    seconds = int(match.group(3) or 0)
    millis = int((match.group(4) or "0").ljust(3, "0"))
    if hours > 23 or minutes > 59 or seconds > 59:
        raise SqlError(
            148, f"Incorrect time syntax in time string '{text}' used with WAITFOR.", severity=15
        )
    return hours * 3600 + minutes * 60 + seconds + millis / 1000


def wait_seconds(kind: str, text: str, now: dt.datetime) -> float:
    """How long ``WAITFOR DELAY|TIME text`` waits when issued at ``now``."""
    seconds = _seconds(text)
    if kind.upper() == "DELAY":
        return seconds
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    target = midnight + dt.timedelta(seconds=seconds)
    if target <= now:
        target += dt.timedelta(days=1)
    return (target - now).total_seconds()


def run(session: DuckDBSession, text: str, cancelled: threading.Event) -> StatementResult:
    match = WAITFOR.match(text)
    if match is None:
        raise SqlError(102, "Incorrect syntax near 'WAITFOR'.", severity=15)
    value = match.group(2)
    if value is None:
        key = match.group(3).lower()
        if key not in session.variables:
            raise SqlError(
                137, f'Must declare the scalar variable "@{match.group(3)}".', severity=15
            )
        value = str(session.variables[key] or "")
    delay = wait_seconds(match.group(1), value, dt.datetime.now())
    cancelled.clear()
    if cancelled.wait(delay):
        raise SqlError(3617, "The query was cancelled.", severity=11)
    return StatementResult()
