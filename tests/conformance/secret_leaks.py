"""Where a secret could escape from a failing connector call, gathered as text."""

from __future__ import annotations

import json
import traceback
from collections.abc import Iterable

from flowservice.connectors.base import CheckResult


def exception_texts(exc: BaseException) -> list[str]:
    """Message, repr, args and the formatted traceback of the whole cause chain."""
    texts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        texts += [str(seen), repr(seen), *(repr(a) for a in seen.args)]
        texts.append(str(getattr(seen, "message", "")))
        seen = seen.__cause__ or seen.__context__
    return texts


def result_texts(result: CheckResult) -> list[str]:
    return [str(result.message), repr(result), json.dumps(result.details, default=str)]


def leaked(secrets: Iterable[str], texts: Iterable[str]) -> list[str]:
    """The secrets that occur in any of ``texts``."""
    joined = "\n".join(texts)
    return [secret for secret in secrets if secret in joined]
