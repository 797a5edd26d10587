"""Property tests: the fast and general date parsers agree, and parsing inverts formatting."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from flowservice.mapping.datetime_formats import compile_pattern, parse_dates, parse_timestamps

PATTERNS = ["yyyy-MM-dd HH:mm:ss", "dd/MM/yyyy", "yyyyMMdd'T'HHmm", "MM.dd.yyyy HH"]
STRFTIME = {"yyyy-MM-dd HH:mm:ss": "%Y-%m-%d %H:%M:%S", "dd/MM/yyyy": "%d/%m/%Y",
            "yyyyMMdd'T'HHmm": "%Y%m%dT%H%M", "MM.dd.yyyy HH": "%m.%d.%Y %H"}  # fmt: skip
moments = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 31))
# Near-misses: digits and separators in date-like shapes, including impossible dates.
near_misses = st.from_regex(
    r"\A[0-9]{1,4}[-/.][0-9]{1,2}[-/.][0-9]{1,4}( [0-9]{1,2}(:[0-9]{2}){0,2})?\Z"
)


@settings(max_examples=60, deadline=None)
@given(pattern=st.sampled_from(PATTERNS), values=st.lists(moments, min_size=1, max_size=20))
def test_parsing_inverts_formatting(pattern: str, values: list[dt.datetime]) -> None:
    compiled = compile_pattern(pattern)
    assert compiled.strptime_format is not None  # these patterns take the fast path
    texts = pa.array([v.strftime(STRFTIME[pattern]) for v in values])
    parsed = parse_timestamps(texts, compiled, "UTC")
    expected = [
        dt.datetime.strptime(t, STRFTIME[pattern]).replace(tzinfo=dt.UTC) for t in texts.to_pylist()
    ]
    assert parsed.values.to_pylist() == expected
    assert not any(parsed.failed.to_pylist())


@settings(max_examples=120, deadline=None)
@given(
    pattern=st.sampled_from(PATTERNS),
    texts=st.lists(st.one_of(near_misses, st.text(max_size=20), st.none()), max_size=20),
    zone=st.sampled_from(["UTC", "Europe/Paris", "America/St_Johns"]),
)
def test_fast_and_general_parsers_agree(pattern: str, texts: list[str | None], zone: str) -> None:
    fast = compile_pattern(pattern)
    general = dataclasses.replace(fast, strptime_format=None, day_at=None)
    array = pa.array(texts, pa.string())
    a, b = parse_timestamps(array, fast, zone), parse_timestamps(array, general, zone)
    assert a.values.to_pylist() == b.values.to_pylist()
    assert a.failed.to_pylist() == b.failed.to_pylist()
    assert (
        parse_dates(array, fast).values.to_pylist()
        == parse_dates(array, general).values.to_pylist()
    )
    # A failed row is exactly a non-null text that did not give a value.
    for text, value, failed in zip(texts, a.values.to_pylist(), a.failed.to_pylist(), strict=True):
        assert failed == (text is not None and value is None)
