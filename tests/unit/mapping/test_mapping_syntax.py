from __future__ import annotations

import re
from typing import Any

import pytest

from flowservice.mapping.syntax import Call, Column, ExpressionSyntaxError, Literal, parse


def test_column_literal_and_nested_calls() -> None:
    node = parse('concat(UPPER(first), \' \', "x\\"y", 42, 1.5, true, null)')
    assert isinstance(node, Call) and node.name == "concat"
    upper, space, quoted, answer, half, yes, nothing = node.args
    assert upper == Call("upper", (Column("first", 13),), 7)
    assert space == Literal(" ", 21)
    assert quoted == Literal('x"y', 26)
    assert (answer, half, yes, nothing) == (
        Literal(42, 34),
        Literal(1.5, 38),
        Literal(True, 43),
        Literal(None, 49),
    )


def test_backtick_names_hold_any_text() -> None:
    assert parse("`Order Date`") == Column("Order Date", 0)
    assert parse("`a``b`") == Column("a`b", 0)
    assert parse("lower(`Straße Nr`)") == Call("lower", (Column("Straße Nr", 6),), 0)


def test_unicode_identifiers_and_dotted_names() -> None:
    assert parse("prénom") == Column("prénom", 0)
    assert parse("person.name") == Column("person.name", 0)


def test_negative_numbers_and_empty_calls() -> None:
    assert parse("coalesce(x, -3)") == Call("coalesce", (Column("x", 9), Literal(-3, 12)), 0)
    assert parse("f()") == Call("f", (), 0)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("lower(name", 10, "expected ',' or ')'"),
        ("lower(name))", 11, "after the expression"),
        ("concat('a' 'b')", 11, "expected ',' or ')'"),
        ("'open", 0, "not closed"),
        ("`open", 0, "not closed"),
        ("a # b", 2, "unexpected character"),
        ("", 0, "ends too early"),
        ("concat(a,)", 9, "unexpected ')'"),
        ("'bad \\q escape'", 5, "unknown escape"),
        ("``", 0, "empty column name"),
    ],
)
def test_syntax_errors_name_the_position(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError, match=re.escape(message)) as err:
        parse(text)
    assert err.value.position == position


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("9" * 40, "64-bit range"),
        (str(2**63), "64-bit range"),
        ("concat(a, -" + "9" * 25 + ")", "64-bit range"),
        ("1e999", "floating-point range"),
    ],
)
def test_number_literals_out_of_range_are_syntax_errors(text: str, reason: str) -> None:
    # such a literal once reached Arrow and failed a mapping set's PUT with a 500
    with pytest.raises(ExpressionSyntaxError, match=reason):
        parse(text)


def test_the_largest_integer_literals_parse() -> None:
    assert parse(str(2**63 - 1)) == Literal(2**63 - 1, 0)
    assert parse(str(-(2**63))).value == -(2**63)  # type: ignore[union-attr]


def test_operators_parse_with_precedence() -> None:
    tree = parse("a || b && !c == d + e * -2")
    assert tree == Call(
        "||",
        (
            Column("a", 0),
            Call(
                "&&",
                (
                    Column("b", 5),
                    Call(
                        "==",
                        (
                            Call("!", (Column("c", 11),), 10),
                            Call(
                                "+",
                                (
                                    Column("d", 16),
                                    Call("*", (Column("e", 20), Literal(-2, 24)), 22),
                                ),
                                18,
                            ),
                        ),
                        13,
                    ),
                ),
                7,
            ),
        ),
        2,
    )
    assert _shape(parse("not a and b or c")) == _shape(parse("!a && b || c"))
    assert parse("(1 + 2) * 3") == Call(
        "*", (Call("+", (Literal(1, 1), Literal(2, 5)), 3), Literal(3, 10)), 8
    )
    assert parse("a-1") == Call("-", (Column("a", 0), Literal(1, 2)), 1)
    assert parse("-9223372036854775808") == Literal(-(2**63), 0)


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("(a", 2, "expected ')'"),
        ("a +", 3, "ends too early"),
        ("a b", 2, "unexpected 'b'"),
        ("a = b", 2, "unexpected character"),
        ("a == == b", 5, "unexpected '=='"),
    ],
)
def test_operator_syntax_errors(text: str, position: int, message: str) -> None:
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse(text)
    assert caught.value.position == position and message in caught.value.message


def _shape(node: Any) -> Any:
    """A tree without positions."""
    if isinstance(node, Call):
        return (node.name, tuple(_shape(a) for a in node.args))
    return node.value if isinstance(node, Literal) else ("column", node.name)
