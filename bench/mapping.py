"""A mapping set of Data Prep functions against the same work written directly in pyarrow.

Usage: ``.venv/bin/python bench/mapping.py [--rows 1000000] [--rounds 5] [--batch 131072]``

One table of ``--rows`` synthetic rows (e-mails, names, URLs, timestamps as text, ages,
country codes, amounts) goes through ten mappings — hashing, text, URL, date, conditional
and arithmetic functions — compiled once by ``MappingSet.compile`` and applied batch by
batch, as a run does. The baseline is the same ten results computed by hand with
``pyarrow.compute`` (and ``hashlib`` over the distinct e-mails, as Arrow has no SHA-256
kernel), on the same batches, in the same process. Rounds alternate the two; each side's
median is printed with the ratio mapping / baseline (target: at most 1.5). The outputs are
compared once, so the two sides provably do the same work.
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from flowservice.mapping import MappingSet

MAPPINGS = [
    ("sha256(lower(trim(email)))", "emailHash"),
    ("upper(trim(name))", "name"),
    ('concat(name, " <", email, ">")', "contact"),
    ("get_url_host(url)", "host"),
    ('to_timestamp(created, "yyyy-MM-dd HH:mm:ss")', "createdAt"),
    ('date_part("yyyy", to_timestamp(created, "yyyy-MM-dd HH:mm:ss"))', "createdYear"),
    ('iif(age >= 18, "adult", "minor")', "segment"),
    ('decode(country, "US", "United States", "FR", "France", "DE", "Germany", "Other")', "land"),
    ("amount * 1.2", "gross"),
    ('replacestr(phone, "-", "")', "phone"),
]


def source_table(rows: int, seed: int = 7) -> pa.Table:
    rng = np.random.default_rng(seed)
    ids = np.arange(rows)
    email = pc.binary_join_element_wise(
        pa.array(np.char.add(" User", ids.astype(str))), "@Example.com ", ""
    )
    seconds = rng.integers(1_500_000_000, 1_700_000_000, rows).astype("datetime64[s]")
    created = pc.strftime(pa.array(seconds), format="%Y-%m-%d %H:%M:%S")
    return pa.table(
        {
            "email": email,
            "name": pa.array(np.char.add("  name ", (ids % 5000).astype(str))),
            "url": pc.binary_join_element_wise(
                pa.array(np.char.add("https://shop", (ids % 100).astype(str))),
                ".example.com/p?id=1",
                "",
            ),
            "created": created,
            "age": pa.array(rng.integers(5, 90, rows), pa.int32()),
            "country": pa.array(rng.choice(["US", "FR", "DE", "IT"], rows)),
            "amount": pa.array(rng.random(rows) * 100),
            "phone": pa.array(np.char.add("555-01-", (ids % 10000).astype(str))),
        }
    )


def _sha256(values: pa.Array) -> pa.Array:
    encoded = pc.dictionary_encode(values)
    digests = [hashlib.sha256(v.encode()).hexdigest() for v in encoded.dictionary.to_pylist()]
    return pc.take(pa.array(digests, pa.string()), encoded.indices)


def baseline(batch: pa.RecordBatch) -> pa.RecordBatch:
    """The ten results written directly with pyarrow.compute."""
    email, name = batch.column("email"), batch.column("name")
    created = pc.assume_timezone(
        pc.strptime(batch.column("created"), format="%Y-%m-%d %H:%M:%S", unit="us"), "UTC"
    )
    host = pc.struct_field(pc.extract_regex(batch.column("url"), r"^[a-z]+://(?P<h>[^:/?#]*)"), "h")
    country = batch.column("country")
    land = pc.case_when(
        pc.make_struct(pc.equal(country, "US"), pc.equal(country, "FR"), pc.equal(country, "DE")),
        "United States",
        "France",
        "Germany",
        "Other",
    )
    columns = [
        _sha256(pc.utf8_lower(pc.utf8_trim_whitespace(email))),
        pc.utf8_upper(pc.utf8_trim_whitespace(name)),
        pc.binary_join_element_wise(name, " <", email, ">", ""),
        host,
        created,
        pc.year(created),
        pc.if_else(pc.greater_equal(batch.column("age"), 18), "adult", "minor"),
        land,
        pc.multiply(batch.column("amount"), 1.2),
        pc.replace_substring(batch.column("phone"), "-", ""),
    ]
    return pa.RecordBatch.from_arrays(columns, names=[d for _, d in MAPPINGS])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=131_072)
    args = parser.parse_args()
    table = source_table(args.rows)
    batches = table.to_batches(max_chunksize=args.batch)
    rules = [{"sourceAttribute": s, "destinationXdmPath": d} for s, d in MAPPINGS]
    mapping = MappingSet.compile(rules, source=table.schema)

    first = mapping.apply(batches[0])
    expected = baseline(batches[0])
    assert first.failed_count == 0
    for name in expected.schema.names:
        got, want = first.records.column(name), expected.column(name)
        if pa.types.is_integer(want.type) or pa.types.is_timestamp(want.type):
            got, want = got.cast(want.type), want
        assert got.equals(want), name

    mapped_times: list[float] = []
    direct_times: list[float] = []
    for _ in range(args.rounds):
        start = time.perf_counter()
        for batch in batches:
            mapping.apply(batch)
        mapped_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        for batch in batches:
            baseline(batch)
        direct_times.append(time.perf_counter() - start)
    mapped, direct = statistics.median(mapped_times), statistics.median(direct_times)
    print(
        f"rows {args.rows:,} in batches of {args.batch:,}, {len(MAPPINGS)} mappings, "
        f"median of {args.rounds} rounds"
    )
    print(f"mapping set  {mapped:.3f} s  ({args.rows / mapped:,.0f} rows/s)")
    print(f"pyarrow      {direct:.3f} s  ({args.rows / direct:,.0f} rows/s)")
    print(f"ratio        {mapped / direct:.2f}  (target <= 1.5)")


if __name__ == "__main__":
    main()
