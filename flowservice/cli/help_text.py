"""Help screens that read plainly: ``TEXT``/``INTEGER``/``PATH`` metavars, none on flags.

Typer 0.29 labels every value ``<str>``/``<int>`` and even flags ``<bool>``; this
walks the built command tree once and names each parameter's value the way
click's help always did, unless the parameter chose a metavar itself.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import Enum
from typing import Any

_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "Path": "PATH", "bool": "BOOLEAN"}


def _label(param: Any) -> str:
    if getattr(param, "is_flag", False) or getattr(param, "count", False):
        return ""
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None and getattr(descriptor, "is_choice", False):
        choices = [c.value if isinstance(c, Enum) else c for c in descriptor.choices or ()]
        return "[" + "|".join(str(c) for c in choices) + "]"
    if getattr(param, "param_type_name", "") == "argument":
        return str(param.name or "VALUE").upper()
    return _type_name(param)


def _type_name(param: Any) -> str:
    bare = param.bare_type() if hasattr(param, "bare_type") else "str"
    bare = bare.removeprefix("list[").removesuffix("]")
    return _NAMES.get(bare, bare.upper())


def _shown_as(name: str) -> Callable[..., str]:
    def display_type_rich(ctx: Any = None) -> str:
        return name

    return display_type_rich


def plain_metavars(command: Any) -> Any:
    """``command`` with a plain metavar on every parameter of it and its subcommands."""
    for param in command.params:
        if param.metavar is None:
            param.metavar = _label(param)
        if getattr(param, "param_type_name", "") == "argument" and hasattr(
            param, "display_type_rich"
        ):
            # an argument's type column ignores its metavar: name its type plainly too
            param.display_type_rich = _shown_as(_type_name(param))
    built_help_option = command.get_help_option

    def help_option(ctx: Any) -> Any:
        option = built_help_option(ctx)
        if option is not None and option.metavar is None:
            option.metavar = ""  # a flag takes no value
        return option

    command.get_help_option = help_option
    for sub in (getattr(command, "commands", None) or {}).values():
        plain_metavars(sub)
    return command
