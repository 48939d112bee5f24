"""An experiment for the next step of issue 18, not part of `make bench`: what storing the
derived values one row per (indicator, unit) series would cost a full rebuild, against the
one row per value that the engine stores today (ARCHITECTURE.md, "What a full recompute
costs at a country's scale"), and how fast the pages' reads would be from it.

    python bench/series_storage.py [--indicators 1000] [--units 2500] [--years 20]
                                   [--db sqlite,postgres]
                                   [--pg postgres://postgres@127.0.0.1:5432/postgres]

For each database it makes a scratch table shaped as such a store would be (the series key,
the first period, and the value, numerator, denominator, change, change % and trend of every
period as one array each: float64, NaN where there is none), writes indicators × units rows
into it a batch of 25 indicators at a time, as a rebuild would, and the same values again as
one row per (indicator, period) slice holding every unit's value in the unit's position;
builds the unit index at the end, reports the time and the size. Then it times the reads a
profile and an indicator page make (one unit's series of 100 indicators; one period of every
unit; the unit's rank among 500 peers in 100 indicators), from the series, from the slices,
and through a view that gives today's rows back (so that readers written for rows could
stay), and drops it all. The numbers are random (the engine's computing is measured apart:
the bench's bare pass); what is measured is encoding, the database's write, and reading.

PostgreSQL: binary COPY of a buffer built with one numpy structured array (no text: with
text array literals `{1.5,...}` the same rows took nine times as long, the float formatting
and parsing); the series' arrays are float8[] so that SQL can read an element (`value[k]`)
and the view can unnest them (a bytea array of the same floats writes in about 60 % of the
time, but SQL cannot read it). SQLite: `executemany` of the rows with the arrays as blobs,
one transaction a batch; SQL reads an element with substr, the view with a Python function."""

import argparse
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

NAMES = ("value", "numerator", "denominator", "change", "change_pct", "trend")
BATCH = 25
COLUMNS = "indicator_id, unit_id, breakdown, basis, first_ordinal, " + ", ".join(NAMES) + ", computed_at"


def _batches(args):
    """(indicator ids, unit ids, {name: (rows, years) float64}) a batch of indicators at a time."""
    rng = np.random.default_rng(18)
    for first in range(0, args.indicators, BATCH):
        count = min(BATCH, args.indicators - first)
        n = count * args.units
        indicators = np.repeat(np.arange(first + 1, first + count + 1), args.units)
        units = np.tile(np.arange(1, args.units + 1), count)
        yield indicators, units, {name: rng.normal(100, 30, size=(n, args.years)) for name in NAMES}


def _slices(indicators, arrays, args):
    """The batch's values again as one row per (indicator, period) slice: every unit's value
    in the unit's position (here its id - 1), for the reads that want one period of every
    unit (ranks, the indicator page). Returns (indicator ids, ordinals, (rows, units) float64)."""
    count = len(indicators) // args.units
    cube = arrays["value"].reshape(count, args.units, args.years).transpose(0, 2, 1)
    ids = np.repeat(indicators[:: args.units], args.years)
    ordinals = np.tile(np.arange(2005, 2005 + args.years), count)
    return ids, ordinals, np.ascontiguousarray(cube.reshape(count * args.years, args.units))


def _finish(conn, args, started: float) -> tuple[float, float]:
    """The unit index built once the rows are in, as a rebuild does; one series read back
    whole. Returns the index's seconds and the whole write's."""
    began = time.perf_counter()
    conn.execute("CREATE INDEX series_unit ON series (unit_id)")
    index = time.perf_counter() - began
    total = time.perf_counter() - started
    back = conn.execute("SELECT value FROM series WHERE indicator_id = 1 AND unit_id = 2").fetchone()[0]
    assert len(back if isinstance(back, list) else np.frombuffer(back, dtype=np.float64)) == args.years
    return index, total


# --- Reading: what the pages would ask of such a store --------------------------------------
# The profile's and indicator page's reads at the full scale, read by the store's own SQL
# (an element of an array: PostgreSQL's subscript, SQLite's substr of the blob) and through a
# view that gives the rows of today's table back (PostgreSQL: unnest; SQLite: a Python
# function that reads a float out of the blob), so that readers written for rows could stay.

PROFILE = 100  # indicators in the unit's sets
PEERS = 500  # members of the unit's peer group
REPEAT = 9


def _timed(read) -> float:
    """The median of REPEAT warm runs, in milliseconds (one run first, to warm the cache)."""
    read()
    times = []
    for _ in range(REPEAT):
        began = time.perf_counter()
        read()
        times.append((time.perf_counter() - began) * 1000)
    return float(np.median(times))


def _subject(args) -> tuple[int, list[int], list[int], int]:
    """The unit (a member of its peer group), the group's members, the profile's indicators
    and the latest period's position (1-based)."""
    members = list(range(1, args.units + 1, max(1, args.units // PEERS)))[:PEERS]
    return members[len(members) // 2], members, list(range(1, min(PROFILE, args.indicators) + 1)), args.years


def _rank(rows, unit_value: dict[int, float]) -> dict[int, tuple[int, int]]:
    """(members with a value, members with a higher value) per indicator, counted in numpy."""
    ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    numbers = np.fromiter((r[1] for r in rows), dtype=np.float64, count=len(rows))
    keys, n = np.unique(ids, return_counts=True)
    own = np.array([unit_value[int(i)] for i in keys])[np.searchsorted(keys, ids)]
    higher = np.bincount(np.searchsorted(keys, ids[numbers > own]), minlength=len(keys))
    return {int(k): (int(c), int(h)) for k, c, h in zip(keys, n, higher, strict=True)}


def _slice_reads(fetch, mark: str, unit: int, members: list[int], indicators: list[int], k: int) -> dict:
    """Ranks and the indicator page's period read from the slices: one row an indicator."""
    positions = np.array(members) - 1

    def ranks():
        rows = fetch(
            f"SELECT indicator_id, value FROM slice WHERE ordinal = {mark} AND breakdown = '' AND basis = 'all'"
            f" AND indicator_id IN ({', '.join([mark] * len(indicators))})",
            (2004 + k, *indicators),
        )
        out = {}
        for indicator_id, blob in rows:
            every = np.frombuffer(blob, dtype=np.float64)
            out[indicator_id] = (len(positions), int((every[positions] > every[unit - 1]).sum()))
        return out

    def one():
        blob = fetch(
            f"SELECT value FROM slice WHERE indicator_id = {mark} AND ordinal = {mark} AND breakdown = ''"
            " AND basis = 'all'",
            (indicators[3], 2004 + k),
        )[0][0]
        return np.frombuffer(blob, dtype=np.float64)

    return {"slices: one indicator and period": _timed(one), "slices: ranks (100 rows, numpy)": _timed(ranks)}


def _periods(conn, args) -> None:
    conn.execute("CREATE TABLE period (id integer PRIMARY KEY, ordinal integer NOT NULL UNIQUE)")
    for k in range(args.years):
        conn.execute(f"INSERT INTO period (id, ordinal) VALUES ({k + 1}, {2005 + k})")


def reads_postgres(conn, args) -> dict[str, float]:
    unit, members, indicators, k = _subject(args)
    _periods(conn, args)
    conn.execute(
        "CREATE VIEW indicator_value AS SELECT s.indicator_id, s.unit_id, p.id AS period_id, s.breakdown, s.basis, "
        "u.value, u.numerator, u.denominator, u.change, u.change_pct, u.trend, s.computed_at FROM series s "
        "CROSS JOIN LATERAL unnest(s.value, s.numerator, s.denominator, s.change, s.change_pct, s.trend) "
        "WITH ORDINALITY AS u(value, numerator, denominator, change, change_pct, trend, i) "
        "JOIN period p ON p.ordinal = s.first_ordinal + u.i::integer - 1"
    )
    conn.execute("ANALYZE")

    def fetch(sql, params):
        return conn.execute(sql, params).fetchall()

    def ranks():
        own = dict(
            fetch(
                "SELECT indicator_id, value[%s] FROM series WHERE unit_id = %s AND indicator_id = ANY(%s)"
                " AND breakdown = '' AND basis = 'all'",
                (k, unit, indicators),
            )
        )
        rows = fetch(
            "SELECT indicator_id, value[%s] FROM series WHERE indicator_id = ANY(%s) AND unit_id = ANY(%s)"
            " AND breakdown = '' AND basis = 'all'",
            (k, indicators, members),
        )
        return _rank(rows, own)

    def counted():
        return fetch(
            "SELECT s.indicator_id, COUNT(*), SUM(CASE WHEN s.value[%s] > o.value[%s] THEN 1 ELSE 0 END) FROM series s"
            " JOIN series o ON o.indicator_id = s.indicator_id AND o.unit_id = %s AND o.breakdown = '' AND o.basis = 'all'"
            " WHERE s.indicator_id = ANY(%s) AND s.unit_id = ANY(%s) AND s.breakdown = '' AND s.basis = 'all'"
            " GROUP BY s.indicator_id",
            (k, k, unit, indicators, members),
        )

    return {
        **_slice_reads(fetch, "%s", unit, members, indicators, k),
        "ranks (counted in SQL)": _timed(counted),
        "slice (one indicator and period, every unit)": _timed(
            lambda: fetch(
                "SELECT unit_id, value[%s] FROM series WHERE indicator_id = %s AND breakdown = '' AND basis = 'all'",
                (k, indicators[3]),
            )
        ),
        "profile (one unit, 100 indicators, every period)": _timed(
            lambda: fetch(
                "SELECT indicator_id, value FROM series WHERE unit_id = %s AND indicator_id = ANY(%s)",
                (unit, indicators),
            )
        ),
        "ranks (100 indicators, 500 members, counted in numpy)": _timed(ranks),
        "view: slice": _timed(
            lambda: fetch(
                "SELECT unit_id, value FROM indicator_value WHERE indicator_id = %s AND period_id = %s AND basis = 'all'",
                (indicators[3], k),
            )
        ),
        "view: profile": _timed(
            lambda: fetch(
                "SELECT indicator_id, period_id, value FROM indicator_value WHERE unit_id = %s AND indicator_id = ANY(%s)",
                (unit, indicators),
            )
        ),
        "view: ranks' rows (100 slices of 500 members)": _timed(
            lambda: fetch(
                "SELECT indicator_id, value FROM indicator_value WHERE indicator_id = ANY(%s) AND period_id = %s"
                " AND unit_id = ANY(%s)",
                (indicators, k, members),
            )
        ),
        "view: a listing's page (100 rows at offset 25,000 of one indicator)": _timed(
            lambda: fetch(
                "SELECT * FROM indicator_value WHERE indicator_id = %s ORDER BY unit_id, period_id LIMIT 100 OFFSET 25000",
                (indicators[5],),
            )
        ),
    }


def reads_sqlite(conn, args) -> dict[str, float]:
    import struct

    unit, members, indicators, k = _subject(args)
    _periods(conn, args)
    conn.create_function("f64", 2, lambda blob, i: struct.unpack_from("<d", blob, 8 * i)[0], deterministic=True)
    conn.execute(
        "CREATE VIEW indicator_value AS SELECT s.indicator_id, s.unit_id, p.id AS period_id, s.breakdown, s.basis, "
        + ", ".join(f"f64(s.{n}, p.ordinal - s.first_ordinal) AS {n}" for n in NAMES)
        + ", s.computed_at FROM series s JOIN period p ON p.ordinal >= s.first_ordinal"
        " AND p.ordinal < s.first_ordinal + length(s.value) / 8"
    )
    conn.execute("ANALYZE")
    marks = lambda items: ", ".join("?" * len(items))  # noqa: E731
    at = 8 * (k - 1) + 1

    def fetch(sql, params):
        return conn.execute(sql, params).fetchall()

    def floats(rows, column=1):
        return np.frombuffer(b"".join(r[column] for r in rows), dtype=np.float64)

    def profile():
        rows = fetch(
            f"SELECT indicator_id, value FROM series WHERE unit_id = ? AND indicator_id IN ({marks(indicators)})",
            (unit, *indicators),
        )
        return [(r[0], np.frombuffer(r[1], dtype=np.float64)) for r in rows]

    def ranks():
        own = fetch(
            f"SELECT indicator_id, substr(value, {at}, 8) FROM series WHERE unit_id = ?"
            f" AND indicator_id IN ({marks(indicators)}) AND breakdown = '' AND basis = 'all'",
            (unit, *indicators),
        )
        own = dict(zip((r[0] for r in own), floats(own), strict=True))
        rows = fetch(
            f"SELECT indicator_id, substr(value, {at}, 8) FROM series WHERE indicator_id IN ({marks(indicators)})"
            f" AND unit_id IN ({marks(members)}) AND breakdown = '' AND basis = 'all'",
            (*indicators, *members),
        )
        return _rank(list(zip((r[0] for r in rows), floats(rows), strict=True)), own)

    def counted():
        return fetch(
            f"SELECT s.indicator_id, COUNT(*), SUM(CASE WHEN f64(s.value, {k - 1}) > f64(o.value, {k - 1}) THEN 1 ELSE 0 END)"
            " FROM series s JOIN series o ON o.indicator_id = s.indicator_id AND o.unit_id = ? AND o.breakdown = ''"
            f" AND o.basis = 'all' WHERE s.indicator_id IN ({marks(indicators)}) AND s.unit_id IN ({marks(members)})"
            " AND s.breakdown = '' AND s.basis = 'all' GROUP BY s.indicator_id",
            (unit, *indicators, *members),
        )

    return {
        **_slice_reads(fetch, "?", unit, members, indicators, k),
        "ranks (counted in SQL)": _timed(counted),
        "slice (one indicator and period, every unit)": _timed(
            lambda: floats(
                fetch(
                    f"SELECT unit_id, substr(value, {at}, 8) FROM series WHERE indicator_id = ? AND breakdown = ''"
                    " AND basis = 'all'",
                    (indicators[3],),
                )
            )
        ),
        "profile (one unit, 100 indicators, every period)": _timed(profile),
        "ranks (100 indicators, 500 members, counted in numpy)": _timed(ranks),
        "view: slice": _timed(
            lambda: fetch(
                "SELECT unit_id, value FROM indicator_value WHERE indicator_id = ? AND period_id = ? AND basis = 'all'",
                (indicators[3], k),
            )
        ),
        "view: profile": _timed(
            lambda: fetch(
                f"SELECT indicator_id, period_id, value FROM indicator_value WHERE unit_id = ?"
                f" AND indicator_id IN ({marks(indicators)})",
                (unit, *indicators),
            )
        ),
        "view: ranks' rows (100 slices of 500 members)": _timed(
            lambda: fetch(
                f"SELECT indicator_id, value FROM indicator_value WHERE indicator_id IN ({marks(indicators)})"
                f" AND period_id = ? AND unit_id IN ({marks(members)})",
                (*indicators, k, *members),
            )
        ),
        "view: a listing's page (100 rows at offset 25,000 of one indicator)": _timed(
            lambda: fetch(
                "SELECT * FROM indicator_value WHERE indicator_id = ? ORDER BY unit_id, period_id LIMIT 100 OFFSET 25000",
                (indicators[5],),
            )
        ),
    }


def postgres(args) -> dict:
    import psycopg

    admin = psycopg.connect(args.pg, autocommit=True)
    name = "municipium_series_experiment"
    admin.execute(f"DROP DATABASE IF EXISTS {name}")
    admin.execute(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(args.pg.rsplit("/", 1)[0] + "/" + name, autocommit=True) as conn:
            conn.execute(
                "CREATE TABLE series (id bigserial PRIMARY KEY, indicator_id bigint NOT NULL, unit_id bigint NOT NULL, "
                "breakdown varchar(32) NOT NULL, basis varchar(16) NOT NULL, first_ordinal integer NOT NULL, "
                + ", ".join(f"{n} float8[]" for n in NAMES)
                + ", computed_at timestamptz NOT NULL, UNIQUE (indicator_id, unit_id, breakdown, basis))"
            )
            conn.execute(
                "CREATE TABLE slice (indicator_id bigint NOT NULL, ordinal integer NOT NULL, breakdown varchar(32) NOT NULL,"
                " basis varchar(16) NOT NULL, value bytea NOT NULL, PRIMARY KEY (indicator_id, ordinal, breakdown, basis))"
            )
            slice_row = np.dtype(
                [
                    ("count", ">i2"),
                    ("l_ind", ">i4"),
                    ("ind", ">i8"),
                    ("l_ord", ">i4"),
                    ("ord", ">i4"),
                    ("l_breakdown", ">i4"),
                    ("l_basis", ">i4"),
                    ("basis", "S3"),
                    ("l_value", ">i4"),
                    ("value", f"V{8 * args.units}"),
                ]
            )
            slices = 0.0
            # A float8[] in PostgreSQL's binary format: dimensions, a has-nulls flag, the
            # element type (701, float8), the length and lower bound, then each element as
            # its length (8) and its big-endian bytes.
            element = np.dtype([("length", ">i4"), ("number", ">f8")])
            header = np.array([1, 0, 701, args.years, 1], dtype=">i4").tobytes()
            width = len(header) + element.itemsize * args.years
            # One COPY row in PostgreSQL's binary format: a field count, then each field as
            # its length and its big-endian bytes (an empty text has length 0).
            fields = [("count", ">i2"), ("l_ind", ">i4"), ("ind", ">i8"), ("l_unit", ">i4"), ("unit", ">i8")]
            fields += [
                ("l_breakdown", ">i4"),
                ("l_basis", ">i4"),
                ("basis", "S3"),
                ("l_first", ">i4"),
                ("first", ">i4"),
            ]
            for n in NAMES:
                fields += [(f"l_{n}", ">i4"), (n, f"V{width}")]
            fields += [("l_at", ">i4"), ("at", ">i8")]
            row = np.dtype(fields)
            stamp = int((time.time() - 946_684_800) * 1e6)  # microseconds since 2000-01-01
            encode = write = 0.0
            rows = 0
            started = time.perf_counter()
            for indicators, units, arrays in _batches(args):
                began = time.perf_counter()
                out = np.zeros(len(indicators), dtype=row)
                out["count"] = 6 + len(NAMES)
                out["l_ind"], out["ind"] = 8, indicators
                out["l_unit"], out["unit"] = 8, units
                out["l_basis"], out["basis"] = 3, b"all"
                out["l_first"], out["first"] = 4, 2005
                for n in NAMES:
                    out[f"l_{n}"] = width
                    items = np.empty(arrays[n].shape, dtype=element)
                    items["length"], items["number"] = 8, arrays[n]
                    framed = np.empty((len(indicators), width), dtype=np.uint8)
                    framed[:, : len(header)] = np.frombuffer(header, dtype=np.uint8)
                    framed[:, len(header) :] = items.view(np.uint8).reshape(len(indicators), -1)
                    out[n] = framed.view(f"V{width}").ravel()
                out["l_at"], out["at"] = 8, stamp
                data = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + out.tobytes() + b"\xff\xff"
                encode += time.perf_counter() - began
                began = time.perf_counter()
                with (
                    conn.cursor() as cursor,
                    cursor.copy(f"COPY series ({COLUMNS}) FROM STDIN (FORMAT binary)") as copy,
                ):
                    copy.write(data)
                write += time.perf_counter() - began
                began = time.perf_counter()
                ids, ordinals, cube = _slices(indicators, arrays, args)
                out = np.zeros(len(ids), dtype=slice_row)
                out["count"], out["l_ind"], out["ind"], out["l_ord"], out["ord"] = 5, 8, ids, 4, ordinals
                out["l_basis"], out["basis"], out["l_value"] = 3, b"all", 8 * args.units
                out["value"] = cube.view(f"V{8 * args.units}").ravel()
                with (
                    conn.cursor() as cursor,
                    cursor.copy(
                        "COPY slice (indicator_id, ordinal, breakdown, basis, value) FROM STDIN (FORMAT binary)"
                    ) as copy,
                ):
                    copy.write(b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8 + out.tobytes() + b"\xff\xff")
                slices += time.perf_counter() - began
                rows += len(indicators)
            index, total = _finish(conn, args, started)
            size = conn.execute("SELECT pg_total_relation_size('series')").fetchone()[0]
            reads = reads_postgres(conn, args)
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()
    return _report(rows, encode, write, slices, index, total, size, reads)


def sqlite(args) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "series.sqlite3"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA cache_size=-262144")  # 256 MiB, as the engine's rebuild raises it (bulk.bulk_cache)
        conn.execute(
            "CREATE TABLE series (id integer PRIMARY KEY, indicator_id integer NOT NULL, unit_id integer NOT NULL, "
            "breakdown text NOT NULL, basis text NOT NULL, first_ordinal integer NOT NULL, "
            + ", ".join(f"{n} blob" for n in NAMES)
            + ", computed_at text NOT NULL, UNIQUE (indicator_id, unit_id, breakdown, basis))"
        )
        conn.execute(
            "CREATE TABLE slice (indicator_id integer NOT NULL, ordinal integer NOT NULL, breakdown text NOT NULL,"
            " basis text NOT NULL, value blob NOT NULL, PRIMARY KEY (indicator_id, ordinal, breakdown, basis))"
            " WITHOUT ROWID"
        )
        encode = write = slices = 0.0
        rows = 0
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        started = time.perf_counter()
        for indicators, units, arrays in _batches(args):
            began = time.perf_counter()
            blobs = [
                [bytes(r) for r in np.ascontiguousarray(arrays[n]).view(f"V{8 * args.years}").ravel()] for n in NAMES
            ]
            batch = [
                (int(i), int(u), "", "all", 2005, *(column[k] for column in blobs), stamp)
                for k, (i, u) in enumerate(zip(indicators, units, strict=True))
            ]
            encode += time.perf_counter() - began
            began = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(f"INSERT INTO series ({COLUMNS}) VALUES ({', '.join('?' * (6 + len(NAMES)))})", batch)
            conn.execute("COMMIT")
            write += time.perf_counter() - began
            began = time.perf_counter()
            ids, ordinals, cube = _slices(indicators, arrays, args)
            conn.execute("BEGIN")
            conn.executemany(
                "INSERT INTO slice (indicator_id, ordinal, breakdown, basis, value) VALUES (?, ?, '', 'all', ?)",
                zip(ids.tolist(), ordinals.tolist(), (row.tobytes() for row in cube), strict=True),
            )
            conn.execute("COMMIT")
            slices += time.perf_counter() - began
            rows += len(batch)
        index, total = _finish(conn, args, started)
        reads = reads_sqlite(conn, args)
        conn.close()
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
    return _report(rows, encode, write, slices, index, total, size, reads)


def _report(rows, encode, write, slices, index, total, size, reads) -> dict:
    return {
        "rows": rows,
        "encode_s": encode,
        "write_s": write,
        "slices_s": slices,
        "index_s": index,
        "total_s": total,
        "bytes": size,
        "reads": reads,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=1000)
    parser.add_argument("--units", type=int, default=2500)
    parser.add_argument("--years", type=int, default=20)
    parser.add_argument("--db", default="sqlite,postgres")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    args = parser.parse_args()
    for kind in args.db.split(","):
        found = {"sqlite": sqlite, "postgres": postgres}[kind](args)
        print(
            f"{kind}: {found['rows']:,} series of {args.years} periods ({found['rows'] * args.years:,} values): "
            f"encoding {found['encode_s']:.1f} s, writing {found['write_s']:.1f} s, unit index {found['index_s']:.1f} s, "
            f"in all {found['total_s']:.1f} s; {found['bytes'] / 2**30:.2f} GiB; of which the value again as "
            f"{args.indicators * args.years:,} slices: {found['slices_s']:.1f} s",
            flush=True,
        )
        for name, ms in found["reads"].items():
            print(f"  {name}: {ms:.1f} ms (median of {REPEAT})", flush=True)


if __name__ == "__main__":
    main()
