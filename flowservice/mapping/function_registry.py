"""The one registry of expression functions and operators, with what the listing endpoints show.

Function modules register their builders here with :func:`function` / :func:`operator`;
``flowservice.mapping`` imports every module, so the registry is complete once the
package is imported. Each entry carries Adobe's signature, category and an example.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

if TYPE_CHECKING:
    from flowservice.mapping.expressions import CompiledExpression
    from flowservice.mapping.syntax import Call

Builder = Callable[["Call", pa.Schema], "CompiledExpression"]


@dataclass(frozen=True)
class FunctionSpec:
    """A function: its builder and how the ``/languages/el/functions`` listing describes it."""

    name: str
    category: str
    syntax: str
    description: str
    returns: str
    example: str
    result: str
    build: Builder
    #: False for the few names Data Prep does not have (kept for convenience, documented)
    adobe: bool = True

    def params(self) -> list[dict[str, object]]:
        """The parameters named in the signature: ``sha256(INPUT, CHARSET)`` → INPUT, CHARSET."""
        inside = self.syntax[self.syntax.find("(") + 1 : self.syntax.rfind(")")]
        names = [p.strip(" []'\".") for p in inside.replace("[", ",").split(",")]
        names = [n for n in names if n and n.replace("_", "").isalnum()]
        return [{"name": n, "position": i} for i, n in enumerate(names, start=1)]

    def wire(self) -> dict[str, object]:
        return {
            "category": self.category,
            "function": self.name,
            "description": self.description,
            "syntax": self.syntax,
            "returns": self.returns,
            "returnType": self.returns,
            "example": self.example,
            "result": self.result,
            "params": self.params(),
            "since": 1,
        }


@dataclass(frozen=True)
class OperatorSpec:
    """An operator of the expression language (a :class:`Call` named by its symbol)."""

    symbol: str
    method_name: str
    operands: int
    description: str
    example: str
    build: Builder

    def wire(self) -> dict[str, object]:
        return {
            "operatorSymbol": self.symbol,
            "methodName": self.method_name,
            "numberOfOperands": self.operands,
            "description": self.description,
            "example": self.example,
        }


_FUNCTIONS: dict[str, FunctionSpec] = {}
_OPERATORS: dict[tuple[str, int], OperatorSpec] = {}


def function(
    name: str,
    *,
    category: str,
    syntax: str,
    description: str,
    returns: str,
    example: str = "",
    result: str = "",
    adobe: bool = True,
) -> Callable[[Builder], Builder]:
    """Register the decorated builder as function ``name`` (names are lower case)."""

    def register(build: Builder) -> Builder:
        if name in _FUNCTIONS:
            raise ValueError(f"function {name}() registered twice")
        _FUNCTIONS[name] = FunctionSpec(
            name, category, syntax, description, returns, example, result, build, adobe
        )
        return build

    return register


def operator(
    symbol: str, method_name: str, operands: int, *, description: str, example: str
) -> Callable[[Builder], Builder]:
    """Register the decorated builder as operator ``symbol`` with ``operands`` operands."""

    def register(build: Builder) -> Builder:
        _OPERATORS[(symbol, operands)] = OperatorSpec(
            symbol, method_name, operands, description, example, build
        )
        return build

    return register


def lookup_function(name: str) -> FunctionSpec | None:
    return _FUNCTIONS.get(name)


def lookup_operator(symbol: str, operands: int) -> OperatorSpec | None:
    return _OPERATORS.get((symbol, operands))


def functions() -> tuple[FunctionSpec, ...]:
    """Every registered function, by category then name."""
    return tuple(sorted(_FUNCTIONS.values(), key=lambda f: (f.category, f.name)))


def operators() -> tuple[OperatorSpec, ...]:
    return tuple(_OPERATORS.values())


def function_names() -> tuple[str, ...]:
    return tuple(sorted(_FUNCTIONS))
