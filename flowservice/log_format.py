"""How the service logs: plain text, or one JSON object per line (``log_format = "json"``).

Both go through the secret redaction filter (``flowservice.secrets``). A
record's ``run`` extra (see ``flows.run_log``) becomes top-level JSON fields.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from flowservice.secrets import install_log_redaction

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...run fields}``, one line per record."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "run", None)
        if isinstance(fields, dict):
            out.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            out["exception"] = record.exc_info[0].__name__  # the type only: texts may hold secrets
        return json.dumps(out, default=str)


def configure_logging(level: str, log_format: str) -> None:
    """Like ``logging.basicConfig``: a stderr handler in the chosen format unless the root
    logger has handlers already (a host application's or a test runner's); then redaction."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    install_log_redaction()
