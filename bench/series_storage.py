"""An experiment for the next step of issue 18, not part of `make bench`: what storing the
derived values one row per (indicator, unit) series would cost a full rebuild, against the
one row per value that the engine stores today (ARCHITECTURE.md, "What a full recompute
costs at a country's scale").

    python bench/series_storage.py [--indicators 1000] [--units 2500] [--years 20]
                                   [--pg postgres://postgres@127.0.0.1:5432/postgres]

For each database it makes a scratch table shaped as such a store would be (the series key,
the first period, and the value, numerator, denominator, change, change % and trend of every
period as one binary array each: float64, NaN where there is none), writes indicators ×
units rows into it a batch of 25 indicators at a time, as a rebuild would, builds the unit
index at the end, reports the time and the size, reads one series back, and drops it all.
The numbers are random (the engine's computing is measured apart: the bench's bare pass);
what is measured is encoding the arrays and the database's write.

PostgreSQL: binary COPY of a buffer built with one numpy structured array (no text: with
text array literals `{1.5,...}` the same rows took nine times as long, the float formatting
and parsing). SQLite: `executemany` of the rows with the arrays as blobs, one transaction."""

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


def _finish(conn, args, started: float) -> tuple[float, float]:
    """The unit index built once the rows are in, as a rebuild does; one series read back
    whole. Returns the index's seconds and the whole write's."""
    began = time.perf_counter()
    conn.execute("CREATE INDEX series_unit ON series (unit_id)")
    index = time.perf_counter() - began
    total = time.perf_counter() - started
    back = conn.execute("SELECT value FROM series WHERE indicator_id = 1 AND unit_id = 2").fetchone()[0]
    assert len(np.frombuffer(back, dtype=np.float64)) == args.years
    return index, total


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
                + ", ".join(f"{n} bytea" for n in NAMES)
                + ", computed_at timestamptz NOT NULL, UNIQUE (indicator_id, unit_id, breakdown, basis))"
            )
            width = 8 * args.years
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
                    out[n] = np.ascontiguousarray(arrays[n]).view(f"V{width}").ravel()
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
                rows += len(indicators)
            index, total = _finish(conn, args, started)
            size = conn.execute("SELECT pg_total_relation_size('series')").fetchone()[0]
    finally:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.close()
    return {"rows": rows, "encode_s": encode, "write_s": write, "index_s": index, "total_s": total, "bytes": size}


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
        encode = write = 0.0
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
            rows += len(batch)
        index, total = _finish(conn, args, started)
        conn.close()
        size = sum(p.stat().st_size for p in Path(folder).iterdir())
    return {"rows": rows, "encode_s": encode, "write_s": write, "index_s": index, "total_s": total, "bytes": size}


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
            f"in all {found['total_s']:.1f} s; {found['bytes'] / 2**30:.2f} GiB",
            flush=True,
        )


if __name__ == "__main__":
    main()
