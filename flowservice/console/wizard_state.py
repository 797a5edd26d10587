"""The dataflow wizard's state: a signed hidden field, and each step's form parsed into it.

The state travels in the page (no server-side draft), signed with an HMAC keyed by the
session's secret CSRF token, so a page from another session or an edited field is refused.
Signing only proves the console wrote it: every step still re-checks what it reads
(datasets through the API's route), and the API's own handlers check everything at Create.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from flowservice.console.access import BAD_FORM
from flowservice.errors import InvalidRequest, PermissionDenied

FREQUENCIES = ("once", "minute", "hour", "day", "week")
WRITE_MODES = ("append", "merge")
DELETE_MODES = ("hard", "soft")
DELTA_TYPES = frozenset({"date-time", "date", "integer", "long", "short", "byte"})
MAX_MAPPINGS = 50
_PURPOSE = b"console-dataflow-wizard"


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()


def sign(state: dict[str, Any], secret: str) -> str:
    payload = base64.urlsafe_b64encode(json.dumps(state, sort_keys=True).encode()).decode()
    mac = hmac.new(_key(secret), payload.encode(), hashlib.sha256).hexdigest()
    return f"{payload}.{mac}"


def unsign(token: str, secret: str) -> dict[str, Any]:
    """The state a page carried; a missing, foreign or edited one is refused."""
    payload, _, mac = token.partition(".")
    expected = hmac.new(_key(secret), payload.encode(), hashlib.sha256).hexdigest()
    if not payload or not hmac.compare_digest(mac.encode(), expected.encode()):
        raise PermissionDenied(BAD_FORM)
    state = json.loads(base64.urlsafe_b64decode(payload.encode()))
    if not isinstance(state, dict):
        raise PermissionDenied(BAD_FORM)
    return state


def dataset_choice(form: dict[str, str]) -> dict[str, str]:
    """Step 1: a new dataset (name, description) or an existing one (its id, checked later)."""
    if form.get("dataset_mode") == "existing":
        dataset_id = form.get("dataset_id", "").strip()
        if not dataset_id:
            raise InvalidRequest("Choose a dataset, or create a new one.")
        return {"mode": "existing", "id": dataset_id}
    name = form.get("dataset_name", "").strip()
    if not name:
        raise InvalidRequest("Name the new dataset.")
    return {
        "mode": "new",
        "name": name[:1024],
        "description": form.get("dataset_description", "").strip()[:4096],
    }


def mappings_of(form: dict[str, str]) -> list[dict[str, str]]:
    """Step 2: the added (destination, expression) rows; blank rows are dropped."""
    rows = []
    for index in range(MAX_MAPPINGS):
        destination = form.get(f"destination_{index}", "").strip()
        expression = form.get(f"expression_{index}", "").strip()
        if destination or expression:
            rows.append({"destination": destination, "expression": expression})
    return rows


def utc_seconds(text: str) -> int:
    """A ``datetime-local`` value (``2026-12-03T15:04``), read as UTC, in epoch seconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InvalidRequest("Start time is not a date and time (YYYY-MM-DD HH:MM, UTC).") from None
    return int(moment.replace(tzinfo=UTC).timestamp())


def utc_local_text(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M")


def schedule_of(
    form: dict[str, str],
    *,
    columns: list[str],
    primary_key: list[str],
    delta_columns: list[str],
    change_tracking: bool,
) -> dict[str, Any]:
    """Step 3: frequency, interval, start, backfill, how runs pick rows, and how they write."""
    frequency = form.get("frequency", "once")
    if frequency not in FREQUENCIES:
        raise InvalidRequest(f"Frequency must be one of {', '.join(FREQUENCIES)}.")
    incremental = form.get("incremental", "full")
    if incremental.startswith("delta:"):
        if incremental.removeprefix("delta:") not in delta_columns:
            raise InvalidRequest("The delta column must be a date, time or integer column.")
    elif incremental == "cdc":
        if not change_tracking:
            raise InvalidRequest("Change Tracking is not enabled for this table.")
    elif incremental != "full":
        raise InvalidRequest("Choose how each run picks its rows.")
    write_mode = form.get("write_mode", "append")
    if write_mode not in WRITE_MODES:
        raise InvalidRequest("Write mode must be append or merge.")
    delete_mode = form.get("delete_mode", "hard")
    if delete_mode not in DELETE_MODES:
        raise InvalidRequest("Deleted rows are either removed (hard) or kept and marked (soft).")
    keys = key_columns_of(form.get("key_columns", ""), columns=columns)
    if write_mode == "merge" and not keys and not primary_key:
        raise InvalidRequest(
            "This table has no primary key: name the columns that identify a row to merge by."
        )
    return {
        "frequency": frequency,
        "interval": form.get("interval", "").strip(),
        "start": utc_seconds(form.get("start", "")),
        "backfill": form.get("backfill") == "true",
        "incremental": incremental,
        "write_mode": write_mode,
        "key_columns": keys if write_mode == "merge" else [],
        "delete_mode": delete_mode if write_mode == "merge" else "hard",
    }


def key_columns_of(text: str, *, columns: list[str]) -> list[str]:
    """The merge key typed as comma-separated column names (blank: the primary key)."""
    by_lower = {c.lower(): c for c in columns}
    keys: list[str] = []
    for typed in (part.strip() for part in text.split(",")):
        if not typed:
            continue
        name = by_lower.get(typed.lower())
        if name is None:
            raise InvalidRequest(f"The key column {typed} is not a column of this table.")
        if name in keys:
            raise InvalidRequest(f"The key column {name} is named twice.")
        keys.append(name)
    return keys


def target_params(dataset_id: str, schedule: dict[str, Any]) -> dict[str, Any]:
    """The target connection's ``params``: the dataset and how runs write into it."""
    params: dict[str, Any] = {"dataSetId": dataset_id, "writeMode": schedule["write_mode"]}
    if schedule["write_mode"] == "merge":
        if schedule.get("key_columns"):
            params["keyColumns"] = list(schedule["key_columns"])
        params["deleteMode"] = schedule.get("delete_mode", "hard")
    return params


def schedule_params(schedule: dict[str, Any]) -> dict[str, Any]:
    """The flow's ``scheduleParams`` (backfill and interval only where the API allows them)."""
    params: dict[str, Any] = {
        "startTime": str(schedule["start"]),
        "frequency": schedule["frequency"],
    }
    if schedule["frequency"] != "once":
        params["interval"] = schedule["interval"]
        params["backfill"] = "true" if schedule["backfill"] else "false"
    return params
