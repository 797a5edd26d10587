"""Row checksums by key bucket, computed by DuckDB the same way over any Arrow rows.

Verifying a copy compares a dataset with its source without holding either in
Python. Every row gets an **ordinal**, its integer key itself or, for any other
key, ``hash()`` of its key columns, and a **row hash**, DuckDB's ``hash()`` of
the compared columns in a fixed order. Rows fall into buckets ``ordinal >> shift``
(a grid of power-of-two widths, so the buckets of a smaller shift nest inside
those of a larger one) and each bucket is summed up as (rows, sum of row hashes,
lowest and highest ordinal). Both sides are hashed from the same Arrow types (the
caller casts the source to the dataset's schema first), so equal rows give equal
hashes; the sum is exact (128 bits) and order-free.

Everything here reads Arrow streams once and returns small Arrow tables: the
rows themselves stay in DuckDB's streaming operators, never in Python objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads

from flowservice.errors import LakeError
from flowservice.lake.dataset import Dataset
from flowservice.lake.merge import DELETED_AT_COLUMN

# names of the columns this module adds; chosen so no dataset column is likely to clash
ORDINAL = "__flowservice_ordinal"
ROW_HASH = "__flowservice_row_hash"
BUCKET = "bucket"
# shifts of the bucket grid: a BIGINT key needs at most 63 bits, a UBIGINT hash 64
MAX_SHIFT = 63

# what a key is, when the two sides disagree about it
MISSING, EXTRA, DIFFERENT = "missing", "extra", "different"


@dataclass(frozen=True)
class ChecksumSpec:
    """How rows are keyed and hashed: the same spec must be used for both sides."""

    keys: tuple[str, ...]
    columns: tuple[str, ...]  # hashed, in this order; the keys are among them
    integer_ordinal: bool  # the ordinal is the single integer key (else a hash of the keys)

    def __post_init__(self) -> None:
        if not self.keys or any(k not in self.columns for k in self.keys):
            raise ValueError("the keys must be among the hashed columns")
        if self.integer_ordinal and len(self.keys) != 1:
            raise ValueError("an integer ordinal needs exactly one key column")

    def ordinal_sql(self) -> str:
        if self.integer_ordinal:
            return f"CAST({_q(self.keys[0])} AS BIGINT)"
        return "hash(" + ", ".join(_q(k) for k in self.keys) + ")"

    def row_hash_sql(self) -> str:
        return "hash(" + ", ".join(_q(c) for c in self.columns) + ")"

    def ordinal_type(self) -> pa.DataType:
        return pa.int64() if self.integer_ordinal else pa.uint64()


@dataclass(frozen=True)
class Buckets:
    """The rows whose ``ordinal >> shift`` is one of ``ids`` (an Arrow table, column ``bucket``)."""

    shift: int
    ids: pa.Table


@dataclass(frozen=True)
class BucketComparison:
    """One level of the comparison: which buckets agree, and what to do with the others.

    ``missing``/``extra`` hold buckets with rows on one side only (their rows are
    missing from, or extra in, the dataset: counted without looking further);
    ``listed`` buckets are small enough to compare key by key; ``narrowed``
    buckets are compared again at ``next_shift``.
    """

    buckets: int
    source_rows: int
    dataset_rows: int
    missing_rows: int
    extra_rows: int
    missing: pa.Table  # bucket
    extra: pa.Table  # bucket
    listed: pa.Table  # bucket, rows (the larger side's count)
    narrowed: pa.Table  # bucket
    next_shift: int | None


@dataclass(frozen=True)
class RowDifferences:
    """Keys that differ between two listings: counts, and the first samples by ordinal."""

    missing: int
    extra: int
    different: int
    samples: pa.Table  # kind, ordinal, key columns


class ChecksumSession:
    """One DuckDB database for a comparison's queries (opening one costs tens of ms).

    Each query runs on a cursor of its own, so the Arrow streams and tables it
    registers and the temporary tables it makes are gone when it returns.
    """

    def __init__(self) -> None:
        self._con = duckdb.connect()

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> ChecksumSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _cursor(
        self, rows: pa.RecordBatchReader | None = None
    ) -> Iterator[duckdb.DuckDBPyConnection]:
        """A cursor, with ``rows`` registered as ``src``.

        DuckDB reports an error raised while it pulls ``rows`` (a source failing
        mid-read, a batch that does not fit) as its own, with only the text: that
        original error is raised instead. Other DuckDB errors become ``LakeError``.
        """
        failure: list[BaseException] = []
        con = self._con.cursor()
        try:
            con.execute("SET TimeZone = 'UTC'")
            if rows is not None:
                con.register("src", _remembering(rows, failure))
            yield con
        except duckdb.Error as exc:
            if failure:
                raise failure[0] from exc
            raise LakeError(f"comparing checksums failed ({type(exc).__name__})") from exc
        finally:
            con.close()

    def bucket_checksums(
        self,
        rows: pa.RecordBatchReader,
        spec: ChecksumSpec,
        *,
        shift: int,
        within: Sequence[Buckets] | None,
    ) -> pa.Table:
        """(bucket, rows, hash_sum, low, high) of every bucket ``ordinal >> shift`` with rows.

        ``within`` keeps only the rows of those buckets (None: every row).
        """
        _check_shift(shift)
        with self._cursor(rows) as con:
            where = _register_within(con, within)
            return con.sql(
                f"SELECT {ORDINAL} >> {shift} AS {BUCKET}, count(*) AS rows, "
                f"sum(CAST({ROW_HASH} AS HUGEINT)) AS hash_sum, "
                f"min({ORDINAL}) AS low, max({ORDINAL}) AS high "
                f"FROM ({_hashed(spec)}){where} GROUP BY ALL ORDER BY {BUCKET}"
            ).to_arrow_table()

    def bucket_rows(
        self, rows: pa.RecordBatchReader, spec: ChecksumSpec, *, within: Sequence[Buckets]
    ) -> pa.Table:
        """The key columns, ordinal and row hash of every row in ``within``."""
        with self._cursor(rows) as con:
            where = _register_within(con, within)
            keys = ", ".join(_q(k) for k in spec.keys)
            return con.sql(
                f"SELECT {keys}, {ORDINAL}, {ROW_HASH} FROM ({_hashed(spec)}){where}"
            ).to_arrow_table()

    def first_keys(
        self,
        rows: pa.RecordBatchReader,
        spec: ChecksumSpec,
        *,
        within: Sequence[Buckets],
        limit: int,
    ) -> pa.Table:
        """Ordinal and key columns of the first ``limit`` rows of ``within``, by ordinal."""
        with self._cursor(rows) as con:
            where = _register_within(con, within)
            keys = ", ".join(_q(k) for k in spec.keys)
            return con.sql(
                f"SELECT {ORDINAL}, {keys} FROM ({_hashed(spec)}){where} "
                f"ORDER BY {ORDINAL}, {keys} LIMIT {int(limit)}"
            ).to_arrow_table()

    def compare_checksums(
        self, source: pa.Table, dataset: pa.Table, *, shift: int, list_rows: int, bucket_rows: int
    ) -> BucketComparison:
        """Match two sides' ``bucket_checksums`` and sort the buckets that differ.

        A differing bucket with rows on both sides is listed key by key when neither
        side has more than ``list_rows`` rows in it (or it cannot be cut further),
        else narrowed: ``next_shift`` aims at about ``bucket_rows`` rows per bucket in
        the densest of them, and is always smaller than ``shift``.
        """
        with self._cursor() as con:
            con.register("s", source)
            con.register("d", dataset)
            con.execute(
                f"""
                CREATE TEMP TABLE cmp AS
                SELECT coalesce(s.{BUCKET}, d.{BUCKET}) AS {BUCKET},
                       coalesce(s.rows, 0) AS sn, coalesce(d.rows, 0) AS dn,
                       s.hash_sum AS sh, d.hash_sum AS dh,
                       least(s.low, d.low) AS low, greatest(s.high, d.high) AS high
                FROM s FULL OUTER JOIN d ON s.{BUCKET} = d.{BUCKET}
                """
            )
            con.execute(
                f"""
                CREATE TEMP TABLE diff AS
                SELECT {BUCKET}, sn, dn, low, high,
                       CASE WHEN dn = 0 THEN 'missing'
                            WHEN sn = 0 THEN 'extra'
                            WHEN greatest(sn, dn) <= {int(list_rows)} OR {int(shift)} = 0
                                 OR low = high THEN 'listed'
                            ELSE 'narrowed' END AS kind
                FROM cmp WHERE sn <> dn OR sh IS DISTINCT FROM dh
                """
            )
            totals = con.sql(
                "SELECT count(*), coalesce(sum(sn), 0), coalesce(sum(dn), 0) FROM cmp"
            ).fetchall()[0]
            one_sided = con.sql(
                "SELECT coalesce(sum(sn) FILTER (kind = 'missing'), 0), "
                "coalesce(sum(dn) FILTER (kind = 'extra'), 0) FROM diff"
            ).fetchall()[0]

            def of_kind(kind: str, extra: str = "") -> pa.Table:
                return con.sql(
                    f"SELECT {BUCKET}{extra} FROM diff WHERE kind = '{kind}' ORDER BY {BUCKET}"
                ).to_arrow_table()

            narrowed = of_kind("narrowed")
            next_shift = None
            if narrowed.num_rows:
                # the densest narrowed bucket decides: width per bucket_rows rows, as a power of 2
                wanted = con.sql(
                    f"SELECT min(floor(log2(greatest((CAST(high AS DOUBLE) - CAST(low AS DOUBLE) "
                    f"+ 1) * {int(bucket_rows)} / greatest(sn, dn), 1)))) "
                    "FROM diff WHERE kind = 'narrowed'"
                ).fetchall()[0][0]
                next_shift = max(0, min(int(wanted), shift - 1))
            return BucketComparison(
                buckets=int(totals[0]),
                source_rows=int(totals[1]),
                dataset_rows=int(totals[2]),
                missing_rows=int(one_sided[0]),
                extra_rows=int(one_sided[1]),
                missing=of_kind("missing"),
                extra=of_kind("extra"),
                listed=of_kind("listed", ", greatest(sn, dn) AS rows"),
                narrowed=narrowed,
                next_shift=next_shift,
            )

    def compare_rows(
        self, source: pa.Table, dataset: pa.Table, spec: ChecksumSpec, *, samples: int
    ) -> RowDifferences:
        """Match two ``bucket_rows`` listings key by key.

        A key only in the source is missing from the dataset, one only in the dataset
        is extra; a key on both sides whose rows differ (or that has a different
        number of rows on each side) is different. ``samples`` per kind, by ordinal.
        """
        keys = [_q(k) for k in spec.keys]
        group = ", ".join(keys)
        joined = " AND ".join(f"s.{k} IS NOT DISTINCT FROM d.{k}" for k in keys)
        picked = ", ".join(f"coalesce(s.{k}, d.{k}) AS {k}" for k in keys)
        per_key = (
            f"SELECT {group}, min({ORDINAL}) AS {ORDINAL}, count(*) AS n, "
            f"sum(CAST({ROW_HASH} AS HUGEINT)) AS h FROM {{}} GROUP BY {group}"
        )
        with self._cursor() as con:
            con.register("s_rows", source)
            con.register("d_rows", dataset)
            con.execute(
                f"""
                CREATE TEMP TABLE diff AS
                SELECT CASE WHEN d.n IS NULL THEN '{MISSING}'
                            WHEN s.n IS NULL THEN '{EXTRA}'
                            ELSE '{DIFFERENT}' END AS kind,
                       coalesce(s.{ORDINAL}, d.{ORDINAL}) AS {ORDINAL}, {picked}
                FROM ({per_key.format("s_rows")}) s
                FULL OUTER JOIN ({per_key.format("d_rows")}) d ON {joined}
                WHERE s.n IS DISTINCT FROM d.n OR s.h IS DISTINCT FROM d.h
                """
            )
            counts = dict(con.sql("SELECT kind, count(*) FROM diff GROUP BY kind").fetchall())
            sampled = con.sql(
                f"SELECT kind, {ORDINAL}, {group} FROM diff QUALIFY row_number() OVER "
                f"(PARTITION BY kind ORDER BY {ORDINAL}, {group}) <= {int(samples)} "
                f"ORDER BY kind, {ORDINAL}, {group}"
            ).to_arrow_table()
        return RowDifferences(
            missing=int(counts.get(MISSING, 0)),
            extra=int(counts.get(EXTRA, 0)),
            different=int(counts.get(DIFFERENT, 0)),
            samples=sampled,
        )

    def dataset_key_summary(
        self, dataset: Dataset, spec: ChecksumSpec
    ) -> tuple[int, int | None, int | None]:
        """Rows of the dataset (soft-deleted left out) and the lowest and highest ordinal."""
        source = dataset.to_pyarrow_dataset()
        if source is None:
            return 0, None, None
        reader = dataset_rows(dataset, pa.schema([source.schema.field(k) for k in spec.keys]))
        with self._cursor(reader) as con:
            found = con.sql(
                f"SELECT count(*), min(o), max(o) FROM (SELECT {spec.ordinal_sql()} AS o FROM src)"
            ).fetchall()[0]
        low, high = found[1], found[2]
        return int(found[0]), None if low is None else int(low), None if high is None else int(high)


def dataset_rows(
    dataset: Dataset,
    schema: pa.Schema,
    *,
    key_ranges: tuple[str, Sequence[tuple[int | None, int | None]]] | None = None,
) -> pa.RecordBatchReader:
    """The dataset's current rows, ``schema``'s columns only, rows soft-deleted left out.

    ``key_ranges`` (column, [(start, end), ...]) keeps the rows of those half-open
    ranges of an integer key (None: that side open), skipping the files and row
    groups whose statistics lie outside them. No table yet: no rows.
    """
    source = dataset.to_pyarrow_dataset()
    if source is None:
        return pa.RecordBatchReader.from_batches(schema, iter(()))
    condition: pc.Expression | None = None
    if DELETED_AT_COLUMN in source.schema.names:
        condition = pc.field(DELETED_AT_COLUMN).is_null()
    if key_ranges is not None:
        column, ranges = key_ranges
        in_ranges = pc.scalar(False)
        for start, end in ranges:
            in_range = pc.scalar(True)
            if start is not None:
                in_range = in_range & (pc.field(column) >= start)
            if end is not None:
                in_range = in_range & (pc.field(column) < end)
            in_ranges = in_ranges | in_range
        condition = in_ranges if condition is None else condition & in_ranges
    # one file and two batches read ahead: the default (4 files, 16 batches) holds several
    # row groups of every column at once, and is no faster on a couple of cores
    scanner = pads.Scanner.from_dataset(
        source,
        columns=list(schema.names),
        filter=condition,
        batch_readahead=2,
        fragment_readahead=1,
    )
    return scanner.to_reader()


def _remembering(rows: pa.RecordBatchReader, failure: list[BaseException]) -> pa.RecordBatchReader:
    def batches() -> Iterator[pa.RecordBatch]:
        try:
            yield from rows
        except BaseException as exc:
            failure.append(exc)
            raise

    return pa.RecordBatchReader.from_batches(rows.schema, batches())


def _hashed(spec: ChecksumSpec) -> str:
    keys = ", ".join(_q(k) for k in spec.keys)
    return (
        f"SELECT {keys}, {spec.ordinal_sql()} AS {ORDINAL}, "
        f"{spec.row_hash_sql()} AS {ROW_HASH} FROM src"
    )


def _register_within(con: duckdb.DuckDBPyConnection, within: Sequence[Buckets] | None) -> str:
    """Register the bucket lists; the WHERE clause that keeps their rows ("" for all rows)."""
    if within is None:
        return ""
    if not within:
        return " WHERE false"
    tests = []
    for index, buckets in enumerate(within):
        _check_shift(buckets.shift)
        con.register(f"within_{index}", buckets.ids)
        tests.append(
            f"({ORDINAL} >> {int(buckets.shift)}) IN (SELECT {BUCKET} FROM within_{index})"
        )
    return " WHERE " + " OR ".join(tests)


def _check_shift(shift: int) -> None:
    if not 0 <= shift <= MAX_SHIFT:
        raise ValueError(f"shift must be between 0 and {MAX_SHIFT}")


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
