"""Application locks (``sp_getapplock`` / ``sp_releaseapplock``), shared by all sessions.

A lock resource is identified, as in SQL Server, by its database, database principal and
resource name (compared binary, so case-sensitively). Owners are ``(spid, owner)`` where
owner is ``"transaction"`` or ``"session"``; requests of one session never block each other.
Every grant is counted: a lock taken twice must be released twice.
"""

from __future__ import annotations

import threading
import time

# Lock modes and the modes each is compatible with (SQL Server's lock compatibility).
MODES = {
    "shared": "Shared",
    "update": "Update",
    "intentshared": "IntentShared",
    "intentexclusive": "IntentExclusive",
    "exclusive": "Exclusive",
}
_COMPATIBLE = {
    "IntentShared": {"IntentShared", "IntentExclusive", "Shared", "Update"},
    "IntentExclusive": {"IntentShared", "IntentExclusive"},
    "Shared": {"IntentShared", "Shared", "Update"},
    "Update": {"IntentShared", "Shared"},
    "Exclusive": set(),
}

GRANTED = 0
GRANTED_AFTER_WAIT = 1
TIMED_OUT = -1

Key = tuple[str, str, str]  # database (lower case), principal (lower case), resource
Owner = tuple[int, str]  # spid, "transaction" | "session"


class Cancelled(Exception):
    """The waiting session was cancelled (attention)."""


class AppLocks:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._held: dict[Key, dict[Owner, list[str]]] = {}
        self._cancelled: set[int] = set()

    def _grantable(self, key: Key, spid: int, mode: str) -> bool:
        allowed = _COMPATIBLE[mode]
        for (other, _), modes in self._held.get(key, {}).items():
            if other != spid and any(m not in allowed for m in modes):
                return False
        return True

    def acquire(self, key: Key, owner: Owner, mode: str, timeout_ms: int) -> int:
        """0 when granted at once, 1 after waiting, -1 when ``timeout_ms`` passed (-1: none)."""
        spid = owner[0]
        deadline = None if timeout_ms < 0 else time.monotonic() + timeout_ms / 1000
        waited = False
        with self._cond:
            self._cancelled.discard(spid)
            while not self._grantable(key, spid, mode):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return TIMED_OUT
                waited = True
                self._cond.wait(remaining)
                if spid in self._cancelled:
                    self._cancelled.discard(spid)
                    raise Cancelled
            self._held.setdefault(key, {}).setdefault(owner, []).append(mode)
        return GRANTED_AFTER_WAIT if waited else GRANTED

    def release(self, key: Key, owner: Owner) -> bool:
        """Release one grant of ``owner``; False when it holds none."""
        with self._cond:
            owners = self._held.get(key)
            modes = owners.get(owner) if owners else None
            if not modes or owners is None:  # not held by this owner
                return False
            modes.pop()
            if not modes:
                del owners[owner]
            if not owners:
                del self._held[key]
            self._cond.notify_all()
        return True

    def release_all(self, spid: int, owner: str | None = None) -> None:
        """Release every lock of a session (``owner`` None) or of one of its owners."""
        with self._cond:
            for key in list(self._held):
                owners = self._held[key]
                for held in list(owners):
                    if held[0] == spid and (owner is None or held[1] == owner):
                        del owners[held]
                if not owners:
                    del self._held[key]
            self._cond.notify_all()

    def cancel(self, spid: int) -> None:
        with self._cond:
            self._cancelled.add(spid)
            self._cond.notify_all()

    def held(self, key: Key, owner: Owner) -> list[str]:
        with self._cond:
            return list(self._held.get(key, {}).get(owner, []))
