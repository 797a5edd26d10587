"""String functions: length, substr, left, right, lpad, rpad, replacestr, split, join, regexes."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping.casting import can_cast
from flowservice.mapping.expressions import (
    CompiledExpression,
    ExpressionTypeError,
    call_args,
    is_text,
    literal_text,
)
from flowservice.mapping.function_kit import (
    Kernel,
    as_text,
    elementwise,
    keep_in_lists,
    literal_int,
    need_text,
)
from flowservice.mapping.function_registry import function
from flowservice.mapping.syntax import Call, Literal

_TEXT = "String"
TEXT_LIST = pa.list_(pa.string())


@function(
    "length",
    category=_TEXT,
    syntax="length(INPUT)",
    description="The number of characters in the text.",
    returns="int",
    example='length("adobe")',
    result="5",
)
def _length(node: Call, schema: pa.Schema) -> CompiledExpression:
    (value,) = call_args(node, schema, 1, 1)
    need_text(node, 0, value)
    return elementwise([value], pa.int32(), lambda v: pc.utf8_length(as_text(v[0])))


@function(
    "substr",
    category=_TEXT,
    syntax="substr(INPUT, START_INDEX, LENGTH)",
    description="LENGTH characters from the 0-based START_INDEX (both number literals).",
    returns="string",
    example='substr("This is a substring test", 7, 8)',
    result='" a subst"',
)
def _substr(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _, _ = call_args(node, schema, 3, 3)
    need_text(node, 0, value)
    start = literal_int(node, 1, "START_INDEX")
    length = literal_int(node, 2, "LENGTH")
    if start < 0 or length < 0:
        raise ExpressionTypeError(
            "substr() needs a START_INDEX and LENGTH of 0 or more", node.position
        )

    def kernel(v: list[pa.Array]) -> pa.Array:
        return pc.utf8_slice_codeunits(as_text(v[0]), start=start, stop=start + length)

    return elementwise([value], pa.string(), kernel)


@function(
    "replacestr",
    category=_TEXT,
    syntax="replacestr(INPUT, TO_FIND, TO_REPLACE)",
    description="Replaces every occurrence of the text TO_FIND (not a pattern).",
    returns="string",
    example='replacestr("This is a string re test", "re", "replace")',
    result='"This is a string replace test"',
)
def _replacestr(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _, _ = call_args(node, schema, 3, 3)
    need_text(node, 0, value)
    find = literal_text(node, 1, "TO_FIND")
    replace = literal_text(node, 2, "TO_REPLACE")
    if not find:
        return value

    def kernel(v: list[pa.Array]) -> pa.Array:
        return pc.replace_substring(as_text(v[0]), pattern=find, replacement=replace)

    return elementwise([value], pa.string(), kernel)


def _split_kernel(separator: str) -> Kernel:
    def kernel(v: list[pa.Array]) -> pa.Array:
        lists = pc.split_pattern(as_text(v[0]), pattern=separator)
        return keep_in_lists(lists, pc.not_equal(pc.list_flatten(lists), ""))

    return kernel


@function(
    "split",
    category=_TEXT,
    syntax="split(INPUT, SEPARATOR)",
    description="The non-empty parts of the text between occurrences of SEPARATOR (an array).",
    returns="array of string",
    example='split("Hello world", " ")',
    result='["Hello", "world"]',
)
def _split(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = call_args(node, schema, 2, 2)
    need_text(node, 0, value)
    separator = literal_text(node, 1, "SEPARATOR")
    if not separator:
        raise ExpressionTypeError("split() needs a non-empty SEPARATOR", node.args[1].position)
    return elementwise([value], TEXT_LIST, _split_kernel(separator))


@function(
    "join",
    category=_TEXT,
    syntax="join(SEPARATOR, [OBJECTS])",
    description="Joins an array, or several values, with SEPARATOR; nulls are skipped.",
    returns="string",
    example='join(" ", split("Hello world", " "))',
    result='"Hello world"',
)
def _join(node: Call, schema: pa.Schema) -> CompiledExpression:
    parts = call_args(node, schema, 2, None)
    separator = literal_text(node, 0, "SEPARATOR")
    values = parts[1:]
    if len(values) == 1 and pa.types.is_list(values[0].type):
        if not is_text(values[0].type.value_type):
            raise ExpressionTypeError("join() needs an array of text", node.args[1].position)

        def join_list(v: list[pa.Array]) -> pa.Array:
            return pc.binary_join(_drop_nulls(v[0]), separator)

        return elementwise(values, pa.string(), join_list)
    for i, part in enumerate(values, start=1):
        if not can_cast(part.type, pa.string()):
            raise ExpressionTypeError(
                f"join() cannot turn {part.type} into text", node.args[i].position
            )

    def join_values(v: list[pa.Array]) -> pa.Array:
        # binary_join_element_wise(null_handling="skip") drops all-null rows (pyarrow 2x),
        # so build one list per row and join that
        lists = _drop_nulls(rows_as_lists([as_text(a) for a in v]))
        empty = pc.equal(pc.list_value_length(lists), 0)
        return pc.if_else(empty, pa.scalar(None, pa.string()), pc.binary_join(lists, separator))

    return elementwise(values, pa.string(), join_values)


def _drop_nulls(lists: pa.Array) -> pa.Array:
    flat = pc.list_flatten(lists)
    return lists if flat.null_count == 0 else keep_in_lists(lists, pc.is_valid(flat))


def rows_as_lists(columns: list[pa.Array], mask: pa.Array | None = None) -> pa.Array:
    """One list per row holding that row's value of each column, in column order."""
    width = len(columns)
    rows = len(columns[0])
    order = (np.arange(rows)[:, None] + np.arange(width)[None, :] * rows).ravel()
    flat = pc.take(pa.concat_arrays(columns), pa.array(order))
    offsets = pa.array(np.arange(0, rows * width + 1, width, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, flat, mask=mask)


def _checked_regex(node: Call, index: int) -> str:
    pattern = literal_text(node, index, "REGEX")
    try:
        pc.match_substring_regex(pa.array(["x"]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        message = str(exc).split(":", 1)[-1].strip()
        raise ExpressionTypeError(
            f"bad regular expression {pattern!r}: {message}", node.args[index].position
        ) from None
    return pattern


def _named_groups(pattern: str) -> str:
    """RE2's extract_regex needs named groups: the whole match becomes g0, each group g1, g2..."""
    out: list[str] = []
    count = 0
    i = 0
    in_class = False
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            out.append(pattern[i : i + 2])
            i += 2
            continue
        if in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
            # a "]" right after "[" or "[^" is a literal
            if pattern[i + 1 : i + 2] == "]" or pattern[i + 1 : i + 3] == "^]":
                step = 2 if pattern[i + 1] == "]" else 3
                out.append(pattern[i : i + step])
                i += step
                continue
        elif ch == "(" and pattern[i + 1 : i + 2] != "?":
            count += 1
            out.append(f"(?P<g{count}>")
            i += 1
            continue
        out.append(ch)
        i += 1
    return f"(?P<g0>{''.join(out)})"


@function(
    "extract_regex",
    category=_TEXT,
    syntax="extract_regex(STRING, REGEX)",
    description="The first match of REGEX: the whole match, then each group (an array).",
    returns="array of string",
    example='extract_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")',
    result='["E259,E259B_009,1_1", "E259", "1_1"]',
)
def _extract_regex(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = call_args(node, schema, 2, 2)
    need_text(node, 0, value)
    original = _checked_regex(node, 1)
    pattern = _named_groups(original)
    try:
        pc.extract_regex(pa.array(["x"]), pattern)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise ExpressionTypeError(
            "extract_regex() cannot use named groups in REGEX", node.args[1].position
        ) from None

    def kernel(v: list[pa.Array]) -> pa.Array:
        found = pc.extract_regex(as_text(v[0]), pattern)
        fields = [found.field(i) for i in range(found.type.num_fields)]
        return rows_as_lists(fields, mask=pc.is_null(found))

    return elementwise([value], TEXT_LIST, kernel)


@function(
    "matches_regex",
    category=_TEXT,
    syntax="matches_regex(STRING, REGEX)",
    description="Whether the whole text matches REGEX.",
    returns="boolean",
    example='matches_regex("E259,E259B_009,1_1", "([^,]+),[^,]*,([^,]+)")',
    result="true",
)
def _matches_regex(node: Call, schema: pa.Schema) -> CompiledExpression:
    value, _ = call_args(node, schema, 2, 2)
    need_text(node, 0, value)
    pattern = f"^(?:{_checked_regex(node, 1)})$"

    def kernel(v: list[pa.Array]) -> pa.Array:
        return pc.match_substring_regex(as_text(v[0]), pattern)

    return elementwise([value], pa.bool_(), kernel)


def _affix(name: str, kernel_name: str, example: str) -> None:
    @function(
        name,
        category=_TEXT,
        syntax=f"{name}(STRING, AFFIX)",
        description=f"Whether the text {name.replace('with', 's with')} AFFIX (case-sensitive).",
        returns="boolean",
        example=example,
        result="true",
        adobe=False,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        value, _ = call_args(node, schema, 2, 2)
        need_text(node, 0, value)
        affix = literal_text(node, 1, "AFFIX")
        kernel = getattr(pc, kernel_name)
        return elementwise([value], pa.bool_(), lambda v: kernel(as_text(v[0]), pattern=affix))

    del build


_affix("startswith", "starts_with", 'startswith("adobe.com", "adobe")')
_affix("endswith", "ends_with", 'endswith("adobe.com", ".com")')


def _padding(node: Call, index: int) -> str:
    """PADDING: a text literal; null or empty text pads with one space, as in Data Prep."""
    arg = node.args[index]
    if isinstance(arg, Literal) and arg.value is None:
        return " "
    return literal_text(node, index, "PADDING") or " "


def padded(text: pa.Array, count: int, padding: str, *, left: bool) -> pa.Array:
    """Text widened to ``count`` characters with ``padding`` repeated; longer text is kept whole."""
    if len(padding) == 1:
        pad = pc.utf8_lpad if left else pc.utf8_rpad
        return pad(text, width=max(count, 0), padding=padding)
    missing = pc.max_element_wise(pc.subtract(count, pc.utf8_length(text)), 0)
    # The fill of k characters is the first k of PADDING repeated, on either side. Arrow has no
    # kernel that repeats text per row, so each distinct k of the batch is built once in Python
    # (a loop over those few lengths, never over rows) and the rows take theirs.
    lengths = pc.unique(pc.drop_null(missing))
    repeated = padding * (max(count, 0) // len(padding) + 1)
    fills = pa.array([repeated[:k] for k in lengths.to_pylist()], pa.string())
    fill = pc.take(fills, pc.index_in(missing, lengths))
    return pc.binary_join_element_wise(*((fill, text) if left else (text, fill)), "")


def _pad(name: str, side: str, result: str) -> None:
    @function(
        name,
        category=_TEXT,
        syntax=f"{name}(INPUT, COUNT, PADDING)",
        description=f"INPUT widened to COUNT characters by repeating PADDING on the {side} "
        "(one space when PADDING is empty or null); longer text stays whole.",
        returns="string",
        example=f'{name}("bat", 8, "yz")',
        result=result,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        value, _, _ = call_args(node, schema, 3, 3)
        need_text(node, 0, value)
        count = literal_int(node, 1, "COUNT")
        padding = _padding(node, 2)

        def kernel(v: list[pa.Array]) -> pa.Array:
            return padded(as_text(v[0]), count, padding, left=side == "left")

        return elementwise([value], pa.string(), kernel)

    del build


_pad("lpad", "left", '"yzyzybat"')
_pad("rpad", "right", '"batyzyzy"')


def _end(name: str, description: str, result: str) -> None:
    @function(
        name,
        category=_TEXT,
        syntax=f"{name}(STRING, COUNT)",
        description=description,
        returns="string",
        example=f'{name}("abcde", 2)',
        result=result,
    )
    def build(node: Call, schema: pa.Schema) -> CompiledExpression:
        value, _ = call_args(node, schema, 2, 2)
        need_text(node, 0, value)
        count = literal_int(node, 1, "COUNT")
        stop: int | None
        if count <= 0:  # empty text, as Apache Commons' StringUtils.left/right
            start, stop = 0, 0
        else:
            start, stop = (0, count) if name == "left" else (-count, None)

        def kernel(v: list[pa.Array]) -> pa.Array:
            return pc.utf8_slice_codeunits(as_text(v[0]), start=start, stop=stop)

        return elementwise([value], pa.string(), kernel)

    del build


_end("left", "The first COUNT characters (all of a shorter text).", '"ab"')
_end("right", "The last COUNT characters (all of a shorter text).", '"de"')
