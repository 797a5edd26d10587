"""Parse a mapping's ``sourceAttribute`` into a small expression tree.

Grammar (lowest precedence first; binary operators associate to the left)::

    expr    := or
    or      := and (("||" | "or") and)*
    and     := eq (("&&" | "and") eq)*
    eq      := cmp (("==" | "!=") cmp)*
    cmp     := sum (("<" | "<=" | ">" | ">=") sum)*
    sum     := product (("+" | "-") product)*
    product := unary (("*" | "/" | "%") unary)*
    unary   := ("!" | "not" | "-") unary | primary
    primary := call | column | literal | "(" expr ")"
    call    := NAME "(" [ expr ("," expr)* ] ")"
    column  := NAME | "`" any text, `` for a backtick "`"
    literal := STRING | NUMBER | true | false | null
    STRING  := "..." or '...' with \\ escapes (\\", \\', \\\\, \\n, \\t)
    NAME    := letter or _ , then letters, digits, _ , $ or .

A NAME followed by "(" is a function call; any other NAME is a column.
An operator becomes a :class:`Call` named by its symbol (``a + b`` is
``Call("+", (a, b))``; ``and``/``or``/``not`` are spelled ``&&``/``||``/``!``),
so everything downstream walks one kind of node. ``-`` before a number literal
folds into the literal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

_ESCAPES = {'"': '"', "'": "'", "\\": "\\", "n": "\n", "t": "\t"}
_KEYWORDS: dict[str, bool | None] = {"true": True, "false": False, "null": None}
_WORD_OPERATORS = {"and": "&&", "or": "||", "not": "!"}
# longest first, so "<=" is not read as "<" then "="
_SYMBOLS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "+", "-", "*", "/", "%", "!")
#: binary operators by precedence level, lowest first
BINARY_LEVELS: tuple[tuple[str, ...], ...] = (
    ("||",),
    ("&&",),
    ("==", "!="),
    ("<", "<=", ">", ">="),
    ("+", "-"),
    ("*", "/", "%"),
)
UNARY_OPERATORS = ("!", "-")


class ExpressionSyntaxError(Exception):
    """A parse error at a 0-based character position of the expression."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Column:
    name: str
    position: int


@dataclass(frozen=True)
class Literal:
    value: str | int | float | bool | None
    position: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    position: int


Node = Column | Literal | Call


@dataclass(frozen=True)
class _Token:
    kind: str  # name, string, number, quoted, punct, operator, end
    text: str
    position: int
    value: str | int | float | None = None


def parse(text: str) -> Node:
    """Parse one expression; raises ExpressionSyntaxError naming the position."""
    parser = _Parser(_tokenize(text))
    node = parser.expression()
    parser.expect_end()
    return node


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "(),":
            tokens.append(_Token("punct", ch, i))
            i += 1
        elif ch in "\"'":
            value, end = _read_string(text, i)
            tokens.append(_Token("string", text[i:end], i, value))
            i = end
        elif ch == "`":
            value, end = _read_quoted_name(text, i)
            tokens.append(_Token("quoted", text[i:end], i, value))
            i = end
        elif ch.isdigit() or (ch == "." and i + 1 < len(text) and text[i + 1].isdigit()):
            number, end = _read_number(text, i)
            tokens.append(_Token("number", text[i:end], i, number))
            i = end
        elif ch.isalpha() or ch == "_":
            end = i + 1
            while end < len(text) and (text[end].isalnum() or text[end] in "_$."):
                end += 1
            word = text[i:end]
            if word.lower() in _WORD_OPERATORS:
                tokens.append(_Token("operator", _WORD_OPERATORS[word.lower()], i))
            else:
                tokens.append(_Token("name", word, i))
            i = end
        elif symbol := next((op for op in _SYMBOLS if text.startswith(op, i)), None):
            tokens.append(_Token("operator", symbol, i))
            i += len(symbol)
        else:
            raise ExpressionSyntaxError(f"unexpected character {ch!r}", i)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            if i + 1 >= len(text) or text[i + 1] not in _ESCAPES:
                raise ExpressionSyntaxError("unknown escape in string literal", i)
            out.append(_ESCAPES[text[i + 1]])
            i += 2
        elif ch == quote:
            return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ExpressionSyntaxError("string literal is not closed", start)


def _read_quoted_name(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        if text[i] == "`":
            if text[i + 1 : i + 2] == "`":
                out.append("`")
                i += 2
                continue
            if not out:
                raise ExpressionSyntaxError("empty column name", start)
            return "".join(out), i + 1
        out.append(text[i])
        i += 1
    raise ExpressionSyntaxError("quoted column name is not closed", start)


def _read_number(text: str, start: int) -> tuple[int | float, int]:
    end = start + 1
    while end < len(text) and (
        text[end].isdigit() or text[end] in ".eE" or (text[end] in "+-" and text[end - 1] in "eE")
    ):
        end += 1
    raw = text[start:end]
    try:
        value = float(raw) if any(c in raw for c in ".eE") else int(raw)
    except ValueError:
        raise ExpressionSyntaxError(f"malformed number {raw[:40]!r}", start) from None
    if isinstance(value, int) and value > 2**63:
        raise ExpressionSyntaxError("integer literal out of the 64-bit range", start)
    if isinstance(value, float) and not math.isfinite(value):
        raise ExpressionSyntaxError("number literal out of the floating-point range", start)
    return value, end


class _Parser:
    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def expect_end(self) -> None:
        token = self.peek()
        if token.kind != "end":
            raise ExpressionSyntaxError(
                f"unexpected {token.text!r} after the expression", token.position
            )

    def expression(self) -> Node:
        return self.binary(0)

    def binary(self, level: int) -> Node:
        if level == len(BINARY_LEVELS):
            return _checked_range(self.unary())
        left = self.binary(level + 1)
        while self.peek().kind == "operator" and self.peek().text in BINARY_LEVELS[level]:
            token = self.take()
            right = self.binary(level + 1)
            left = Call(token.text, (left, right), token.position)
        return left

    def unary(self) -> Node:
        token = self.peek()
        if token.kind == "operator" and token.text in UNARY_OPERATORS:
            self.take()
            operand = self.unary()
            if token.text == "-" and isinstance(operand, Literal) and _is_number(operand.value):
                assert isinstance(operand.value, int | float)
                return Literal(-operand.value, token.position)
            return Call(token.text, (_checked_range(operand),), token.position)
        return self.primary()

    def primary(self) -> Node:
        token = self.take()
        if token.kind == "string":
            assert isinstance(token.value, str)
            return Literal(token.value, token.position)
        if token.kind == "number":
            assert isinstance(token.value, int | float)
            return Literal(token.value, token.position)
        if token.kind == "quoted":
            assert isinstance(token.value, str)
            return Column(token.value, token.position)
        if token.kind == "name":
            if self.peek().text == "(" and self.peek().kind == "punct":
                return self.call(token)
            if token.text.lower() in _KEYWORDS:
                return Literal(_KEYWORDS[token.text.lower()], token.position)
            return Column(token.text, token.position)
        if token.kind == "punct" and token.text == "(":
            inner = self.expression()
            closing = self.take()
            if not (closing.kind == "punct" and closing.text == ")"):
                where = "the end" if closing.kind == "end" else repr(closing.text)
                raise ExpressionSyntaxError(f"expected ')', found {where}", closing.position)
            return inner
        if token.kind == "end":
            raise ExpressionSyntaxError("expression ends too early", token.position)
        raise ExpressionSyntaxError(f"unexpected {token.text!r}", token.position)

    def call(self, name: _Token) -> Call:
        self.take()  # "("
        args: list[Node] = []
        if self.peek().text == ")" and self.peek().kind == "punct":
            self.take()
            return Call(name.text.lower(), (), name.position)
        while True:
            args.append(self.expression())
            token = self.take()
            if token.kind == "punct" and token.text == ")":
                return Call(name.text.lower(), tuple(args), name.position)
            if not (token.kind == "punct" and token.text == ","):
                where = "the end" if token.kind == "end" else repr(token.text)
                raise ExpressionSyntaxError(
                    f"expected ',' or ')' in the call to {name.text}(), found {where}",
                    token.position,
                )


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _checked_range(node: Node) -> Node:
    """2**63 is only readable as the operand of a minus sign."""
    if isinstance(node, Literal) and isinstance(node.value, int) and node.value >= 2**63:
        raise ExpressionSyntaxError("integer literal out of the 64-bit range", node.position)
    return node
