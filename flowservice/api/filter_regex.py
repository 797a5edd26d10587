"""The regular expression of a ``property=path~regex`` filter, checked before it runs.

Python's ``re`` backtracks: ``(a+)+$`` takes exponential time and ``a*a*b``
cubic time on a few thousand characters, and a search cannot be interrupted.
So an expression is refused unless its worst case is small, judged from its
shape by one left-to-right scan (no recursion, however deep it nests):

- at most ``MAX_REGEX_LENGTH`` characters; no back-references, conditionals
  or verbose mode; no ``{m,n}`` count above ``MAX_REGEX_REPEAT``;
- no repetition of a group that itself alternates or repeats (``(a|b)*``,
  ``(a+)+``): write ``[ab]*``, ``a+``;
- an estimate of its steps on a ``REGEX_PLANNED_TEXT``-character value at
  most ``MAX_REGEX_STEPS``: every unbounded repetition (``*``, ``+``,
  ``{m,}``) multiplies the work by the text's length, and so does searching
  from every position unless a leading ``^`` anchors it; alternatives,
  ``?`` and counted ranges multiply it by their number of ways.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flowservice.api.input_limits import (
    MAX_REGEX_LENGTH,
    MAX_REGEX_REPEAT,
    MAX_REGEX_STEPS,
    REGEX_PLANNED_TEXT,
)
from flowservice.errors import InvalidRequest

_COUNTED = re.compile(r"\{([0-9]*)(,?)([0-9]*)\}")
_INLINE_FLAGS = re.compile(r"\(\?([aiLmsux]*)(?:-([imsx]*))?[:)]")
# inside a class, Python warns about these (future set operations): refuse them instead
_SET_OPERATIONS = ("[", "--", "&&", "~~", "||")


@dataclass
class _Cost:
    """Worst-case work of a piece of the expression: ``choices`` × length ** ``unbounded``."""

    choices: int = 1
    unbounded: int = 0
    varies: bool = False  # alternates or repeats inside


@dataclass
class _Group:
    """An open group: the branches closed so far and the one being read."""

    branches: list[_Cost] = field(default_factory=list)
    current: _Cost = field(default_factory=_Cost)

    def close(self) -> _Cost:
        branches = [*self.branches, self.current]
        return _Cost(
            choices=sum(b.choices for b in branches),
            unbounded=max(b.unbounded for b in branches),
            varies=len(branches) > 1 or any(b.varies for b in branches),
        )


def _refuse(why: str) -> InvalidRequest:
    return InvalidRequest(f"Invalid property filter: the regular expression {why}", code=1440)


def _class_end(pattern: str, start: int) -> int:
    """The index after the ``]`` closing the class opened at ``start``."""
    at = start + 1
    if pattern.startswith("^", at):
        at += 1
    if pattern.startswith("]", at):
        at += 1
    while at < len(pattern) and pattern[at] != "]":
        if pattern[at] == "\\":
            at += 1
        elif pattern.startswith(_SET_OPERATIONS, at):
            raise _refuse("has '[' or a doubled '-', '&', '~', '|' in a class: escape them")
        at += 1
    return at + 1


def _repeat(pattern: str, at: int) -> tuple[int, int | None, int] | None:
    """(min, max or None, end) of a repetition operator at ``at``, or None."""
    char = pattern[at]
    if char in "*+?":
        low, high = (0, None) if char == "*" else (1, None) if char == "+" else (0, 1)
        end = at + 1
    else:
        counted = _COUNTED.match(pattern, at)
        if char != "{" or not counted or counted.group(0) == "{}":
            return None
        low_text, comma, high_text = counted.groups()
        if max(len(low_text), len(high_text)) > len(str(MAX_REGEX_REPEAT)) or any(
            t and int(t) > MAX_REGEX_REPEAT for t in (low_text, high_text)
        ):
            raise _refuse(f"repeats more than {MAX_REGEX_REPEAT} times")
        low = int(low_text or 0)
        high = None if comma and not high_text else int(high_text or low_text or 0)
        end = counted.end()
    if end < len(pattern) and pattern[end] in "?+":  # lazy or possessive
        end += 1
    return low, high, end


def _repeated(atom: _Cost, low: int, high: int | None) -> _Cost:
    if high == low and low <= 1:  # {0}, {1}
        return atom
    if high is not None and high <= 1:  # ?, {0,1}: the atom or nothing
        return _Cost(atom.choices + 1, atom.unbounded, True)
    if atom.varies:
        raise _refuse("repeats a group that itself alternates or repeats; simplify it")
    if high is None:
        return _Cost(1, 1, True)
    return _Cost(max(high - low + 1, 1), 0, high != low)  # {5,3} is re.compile's error


def _group_start_end(pattern: str, at: int) -> int:
    """The index after the opening of the group at ``at``; refuses unboundable constructs."""
    if not pattern.startswith("(?", at):
        return at + 1
    if pattern.startswith(("(?P=", "(?("), at):
        raise _refuse("uses a back-reference or a conditional")
    flags = _INLINE_FLAGS.match(pattern, at)
    if flags:
        if "x" in (flags.group(1) or "") + (flags.group(2) or ""):
            raise _refuse("uses verbose mode (x)")
        # "(?i)" is an empty group; "(?i:" opens one
        return flags.end() - 1 if flags.group(0).endswith(")") else flags.end()
    if pattern.startswith("(?P<", at):  # a named group: skip its name
        close = pattern.find(">", at)
        return len(pattern) if close < 0 else close + 1
    if pattern.startswith("(?#", at):  # a comment: an empty group closed by its ")"
        close = pattern.find(")", at)
        return len(pattern) if close < 0 else close
    if pattern.startswith(("(?<=", "(?<!"), at):
        return at + 4
    return at + 3


class _Scan:
    """The groups open at a point of the left-to-right scan, and the atom just read."""

    def __init__(self) -> None:
        self.stack = [_Group()]
        self.pending: _Cost | None = None  # the atom a repetition operator applies to

    def flush(self) -> None:
        atom, self.pending = self.pending, None
        if atom is not None:
            current = self.stack[-1].current
            current.choices *= atom.choices
            current.unbounded += atom.unbounded
            current.varies = current.varies or atom.varies

    def atom(self, cost: _Cost) -> None:
        self.flush()
        self.pending = cost


def _cost(pattern: str) -> tuple[_Cost, bool]:
    """The expression's worst-case cost, and whether it alternates at its top level."""
    scan = _Scan()
    at = 0
    while at < len(pattern):
        char = pattern[at]
        repeat = _repeat(pattern, at) if scan.pending is not None and char in "*+?{" else None
        if repeat is not None and scan.pending is not None:
            low, high, at = repeat
            scan.pending = _repeated(scan.pending, low, high)
            scan.flush()  # a second operator right after is re.compile's error to report
            continue
        if char == "(":
            scan.flush()
            at = _group_start_end(pattern, at)
            scan.stack.append(_Group())
            continue
        if char == ")" and len(scan.stack) > 1:
            scan.flush()
            scan.pending = scan.stack.pop().close()
        elif char == "|":
            scan.flush()
            group = scan.stack[-1]
            group.branches.append(group.current)
            group.current = _Cost()
        elif char == "\\":
            if pattern[at + 1 : at + 2] in tuple("123456789"):
                raise _refuse("uses a back-reference")
            scan.atom(_Cost())
            at += 1
        elif char == "[":
            scan.atom(_Cost())
            at = _class_end(pattern, at) - 1
        else:
            scan.atom(_Cost())
        at += 1
    scan.flush()
    while len(scan.stack) > 1:  # unbalanced: re.compile will say so
        scan.pending = scan.stack.pop().close()
        scan.flush()
    top = scan.stack[0]
    return top.close(), bool(top.branches)


def compile_filter_regex(pattern: str) -> re.Pattern[str]:
    """The compiled expression, or ``InvalidRequest`` saying which rule it breaks."""
    if len(pattern) > MAX_REGEX_LENGTH:
        raise _refuse(f"is longer than {MAX_REGEX_LENGTH} characters")
    cost, alternates = _cost(pattern)
    anchored = pattern.startswith(("^", "\\A")) and not alternates and not _multiline(pattern)
    searches = 1 if anchored else REGEX_PLANNED_TEXT
    if cost.choices * searches * REGEX_PLANNED_TEXT**cost.unbounded > MAX_REGEX_STEPS:
        raise _refuse(
            "could backtrack too long on a long value: anchor it with ^, or use fewer "
            "unbounded repetitions (*, +), alternatives and optional parts"
        )
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        raise _refuse("is not valid") from None


def _multiline(pattern: str) -> bool:
    return any("m" in (m.group(1) or "") for m in _INLINE_FLAGS.finditer(pattern))
