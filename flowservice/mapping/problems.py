"""Errors a mapping set can have, each naming the mapping at fault."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flowservice.errors import InvalidRequest


@dataclass(frozen=True)
class MappingProblem:
    """One bad mapping (index None: the set as a whole) and what is wrong, at which position."""

    index: int | None
    source_attribute: str
    destination: str
    message: str
    position: int | None = None

    def describe(self) -> str:
        where = f" at position {self.position}" if self.position is not None else ""
        if self.index is None and not self.destination:
            return self.message
        if self.index is None:
            return f"dataset field {self.destination!r}: {self.message}"
        return (
            f"mapping {self.index} (sourceAttribute {self.source_attribute!r} -> "
            f"destinationXdmPath {self.destination!r}): {self.message}{where}"
        )


class MappingInvalid(InvalidRequest):
    """A mapping set that cannot run: the Flow Service's 1419 "mapping validation failed"."""

    code = 1419
    title = "Mapping validation failed"

    def __init__(self, problems: Sequence[MappingProblem]) -> None:
        self.problems = tuple(problems)
        details = "; ".join(p.describe() for p in self.problems)
        super().__init__(f"{len(self.problems)} invalid mapping(s): {details}")


class ExpressionInvalid(InvalidRequest):
    """One expression (``POST /languages/el/validate``) that does not parse or type-check."""

    code = 1419
    title = "Expression validation failed"

    def __init__(self, reason: str, position: int | None) -> None:
        self.reason = reason
        self.position = position
        where = f" at position {position}" if position is not None else ""
        super().__init__(f"Invalid expression{where}: {reason}")
