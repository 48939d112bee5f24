"""`frames.read_sqlite_file`: a full recompute's read of every observation from an SQLite
file through ADBC (issue 18) gives the frame the DB-API cursor gives, bit for bit, on a real
SQLite file, including a column whose first rows are all null (the driver infers a column's
type from the rows of a batch) and texts that keep "" apart from NULL."""

import random
import sqlite3
import struct

import numpy as np
import polars as pl
import pytest

from municipium.lib import frames

SCHEMA = {"unit_id": pl.Int64, "value": pl.Float64, "published": pl.Int64, "missing": pl.String}
SQL = "SELECT unit_id, value, CASE WHEN status = ? THEN 1 ELSE 0 END, missing FROM obs WHERE unit_id >= ? ORDER BY id"


@pytest.fixture
def sqlite_file(tmp_path):
    rng = random.Random(18)
    # Doubles of every magnitude, the awkward ones among them (their text forms do not
    # round-trip through SQLite's own conversion), after 3,000 rows without a value.
    doubles = [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(20_000)]
    doubles = [d for d in doubles if d == d and abs(d) != float("inf")]
    doubles += [0.1, 1 / 3, -0.0, 5e-324, 1.7976931348623157e308, 7.0]
    rows = [(u, None, "draft", "not_collected" if u % 2 else "") for u in range(3000)]
    rows += [(3000 + i, d, "published" if i % 3 else "draft", "") for i, d in enumerate(doubles)]
    rows += [(10**12, None, "published", None)]
    path = tmp_path / "observations.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE obs (id INTEGER PRIMARY KEY, unit_id INTEGER, value REAL, status TEXT, missing TEXT)")
        db.executemany("INSERT INTO obs (unit_id, value, status, missing) VALUES (?, ?, ?, ?)", rows)
    return path


def through_cursor(path, params) -> pl.DataFrame:
    with sqlite3.connect(path) as db:
        return pl.DataFrame(db.execute(SQL, params).fetchall(), schema=SCHEMA, orient="row")


def bits(frame: pl.DataFrame) -> np.ndarray:
    return frame.get_column("value").fill_null(0.0).to_numpy().view(np.int64)


def test_a_file_read_through_adbc_is_the_cursors_frame_bit_for_bit(sqlite_file):
    params = ["published", 0]
    got = frames.read_sqlite_file(str(sqlite_file), SQL, params, schema=SCHEMA)
    want = through_cursor(sqlite_file, params)
    assert got.schema == want.schema and got.height == want.height > 20_000
    assert got.equals(want)  # nulls where the cursor has None, "" apart from NULL
    assert np.array_equal(bits(got), bits(want))  # -0.0 and every last bit of the doubles
    assert got.get_column("value").head(3000).is_null().all()
    assert got.get_column("missing").tail(1).is_null().all() and (got.get_column("missing") == "").sum() > 1000


def test_a_column_of_nulls_only_and_an_empty_result_take_the_schemas_types(sqlite_file):
    nulls = frames.read_sqlite_file(str(sqlite_file), SQL + " LIMIT 10", ["published", 0], schema=SCHEMA)
    assert nulls.schema == pl.Schema(SCHEMA) and nulls.get_column("value").is_null().all()
    empty = frames.read_sqlite_file(str(sqlite_file), SQL, ["published", 10**13], schema=SCHEMA)
    assert empty.schema == pl.Schema(SCHEMA) and empty.is_empty()


@pytest.mark.django_db
def test_inside_a_transaction_the_committed_read_is_the_connections_own():
    """Another connection would not see the caller's uncommitted writes: inside a
    transaction (and on PostgreSQL, or an in-memory SQLite) `read_committed` is `read_sql`."""
    from tests import factories as f

    unit = f.unit()
    sql = "SELECT id, code FROM places_unit WHERE id = %s"
    schema = {"id": pl.Int64, "code": pl.String}
    assert frames.read_committed(sql, [unit.pk], schema=schema).rows() == [(unit.pk, unit.code)]
