"""The series layout (`benchmarks.series`): rows in, series out and back, bit for bit, and the
hidden published twins folded into their "all" series (issue 18)."""

import math
from unittest.mock import patch

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from municipium.benchmarks import series


def frame(rows: list[dict]) -> pl.DataFrame:
    base = {name: None for name in series.STORED_FIGURES} | {"missing": ""}
    return pl.DataFrame([base | row for row in rows], schema=series.ROW_SCHEMA)


def stored(encoded: series.Encoded, *, with_id: bool = False) -> list[tuple]:
    """What a database row of each series holds, as `decode` reads it: (id,) key, first,
    missing, figures."""
    return [(*((k + 1,) if with_id else ()), *row[:4], *row[5:]) for k, row in enumerate(encoded.rows())]


def as_set(rows: pl.DataFrame) -> set[tuple]:
    columns = ["indicator_id", "unit_id", "basis", "ordinal", *series.STORED_FIGURES, "missing"]
    return {
        tuple(None if isinstance(v, float) and math.isnan(v) else v for v in r) for r in rows.select(columns).rows()
    }


def test_rows_come_back_as_they_went_in_with_gaps_and_reasons():
    rows = frame(
        [
            {"indicator_id": 1, "unit_id": 7, "basis": "all", "ordinal": 3, "value": 1.5},
            {"indicator_id": 1, "unit_id": 7, "basis": "all", "ordinal": 5, "value": 2.5},
            {"indicator_id": 1, "unit_id": 7, "basis": "all", "ordinal": 6, "missing": "confidential"},
            {"indicator_id": 1, "unit_id": 8, "basis": "published", "ordinal": 6, "value": -0.0},
        ]
    )
    encoded = series.encode(rows)
    assert len(encoded) == 2 and encoded.count.tolist() == [3, 1]
    assert encoded.length.tolist() == [4, 1]  # ordinals 3..6, the gap at 4 kept as no row
    back = series.decode(stored(encoded))
    assert as_set(back) == as_set(rows)
    assert math.copysign(1, back.filter(pl.col("unit_id") == 8)["value"][0]) == -1  # bits, not just values


def test_a_hidden_published_twin_lives_in_its_all_series_and_comes_back():
    # The latest year (ordinal 6) is in draft: the published data give unit 7 no row there
    # (neither value nor reason), so the public must not see the "all" value. Unit 8's
    # published figure is another value: it stays a series of its own. Unit 9's bare
    # published row has no "all" twin to fold into: it stays a series too.
    rows = frame(
        [
            {"indicator_id": 1, "unit_id": 7, "basis": "all", "ordinal": 5, "value": 2.0},
            {"indicator_id": 1, "unit_id": 7, "basis": "all", "ordinal": 6, "value": 3.0},
            {"indicator_id": 1, "unit_id": 7, "basis": "published", "ordinal": 6},
            {"indicator_id": 1, "unit_id": 8, "basis": "all", "ordinal": 6, "value": 4.0},
            {"indicator_id": 1, "unit_id": 8, "basis": "published", "ordinal": 6, "value": 5.0},
            {"indicator_id": 1, "unit_id": 9, "basis": "published", "ordinal": 6},
        ]
    )
    encoded = series.encode(rows)
    keys = list(zip(encoded.unit_ids.tolist(), encoded.bases, strict=True))
    assert keys == [(7, "all"), (8, "all"), (8, "published"), (9, "published")]
    assert encoded.count.tolist() == [3, 1, 1, 1]  # the hidden twin counted in its "all" series
    assert (encoded.codes >= series.HIDDEN).sum() == 1
    back = series.decode(stored(encoded, with_id=True), with_id=True)
    assert as_set(back) == as_set(rows)
    twin = back.filter((pl.col("unit_id") == 7) & (pl.col("basis") == "published"))
    sibling = back.filter((pl.col("unit_id") == 7) & (pl.col("ordinal") == 6) & (pl.col("basis") == "all"))
    assert twin["series_id"].to_list() == sibling["series_id"].to_list()  # one stored row holds both


def test_one_periods_element_reports_its_hidden_twin():
    rows = frame(
        [
            {"indicator_id": 1, "unit_id": 7, "basis": "all", "ordinal": 6, "value": 3.0, "missing": ""},
            {"indicator_id": 1, "unit_id": 7, "basis": "published", "ordinal": 6},
            {"indicator_id": 1, "unit_id": 8, "basis": "all", "ordinal": 6, "missing": "not_shared"},
        ]
    )
    encoded = series.encode(rows)
    elements = [row[5] for row in encoded.rows()]
    has, out = series.decode_elements(elements, {"value": [row[6] for row in encoded.rows()]})
    assert has.tolist() == [True, True]
    assert out["hidden"].tolist() == [True, False]
    assert out["missing"].tolist() == ["", "not_shared"]
    assert out["value"][0] == 3.0 and np.isnan(out["value"][1])


@pytest.mark.parametrize("ordinals", [[0], [0, 4095]])
def test_a_series_spans_at_most_max_elements(ordinals):
    rows = frame([{"indicator_id": 1, "unit_id": 1, "basis": "all", "ordinal": o, "value": 1.0} for o in ordinals])
    assert len(series.encode(rows)) == 1
    too_long = frame([{"indicator_id": 1, "unit_id": 1, "basis": "all", "ordinal": o, "value": 1.0} for o in (0, 4096)])
    with pytest.raises(ValueError, match="more than 4096"):
        series.encode(too_long)


def test_the_change_and_trend_are_derived_from_the_values_each_reader_sees():
    """What the engine computes (`stats.change_exprs`, `stats.trend_array` on its grid of a
    unit's periods), from the stored values: on all data the "all" rows'; for the public
    each published row, a hidden one among them (no value), else the "all" row."""
    from municipium.lib import stats

    values = [10.0, 12.0, None, 15.0, 14.0, 18.0, 0.0, 3.0]  # ordinals 1..8, 3 without a value
    rows = [
        {
            "indicator_id": 1,
            "unit_id": 7,
            "basis": "all",
            "ordinal": k + 1,
            "value": v,
            "missing": "" if v is not None else "confidential",
        }
        for k, v in enumerate(values)
    ]
    # The public: ordinal 7 is another value, ordinal 8 a hidden row (drafts).
    rows += [
        {"indicator_id": 1, "unit_id": 7, "basis": "published", "ordinal": 7, "value": 6.0},
        {"indicator_id": 1, "unit_id": 7, "basis": "published", "ordinal": 8},
    ]
    encoded = series.encode(frame(rows))
    back = series.decode(stored(encoded)).sort("basis", "ordinal")

    def expected(seen):
        grid = np.array([np.nan if v is None else v for v in [None, None, None, None, *seen]])
        trend = stats.trend_array(grid, np.zeros(len(grid), dtype=np.int64))[4:]
        previous = np.r_[np.nan, grid[4:-1]]
        change = grid[4:] - previous
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(previous != 0, 100.0 * change / np.abs(previous), np.nan)
        return change, pct, trend

    everyone = back.filter(pl.col("basis") == "all")
    for name, want in zip(series.DERIVED, expected(values), strict=True):
        got = everyone[name].fill_null(np.nan).to_numpy()
        assert np.array_equal(got, want, equal_nan=True), name
    assert everyone["change"].to_list()[:2] == [None, 2.0] and everyone["change_pct"][7] is None  # from 0
    public = back.filter(pl.col("basis") == "published")
    seen = [*values[:6], 6.0, None]
    for name, want in zip(series.DERIVED, expected(seen), strict=True):
        got = public[name].fill_null(np.nan).to_numpy()
        assert np.array_equal(got, want[6:], equal_nan=True), name
    assert public["change"].to_list() == [-12.0, None]  # 6 - 18; the hidden row has none


def _inserted(encoded: series.Encoded) -> list[tuple]:
    """The rows SQLite stores from `Encoded.sqlite_inserts` (a real SQLite table of the
    stored columns), in the series' key order."""
    import sqlite3

    columns = series.COLUMNS
    db = sqlite3.connect(":memory:")
    db.execute(f"CREATE TABLE s (id INTEGER PRIMARY KEY, {', '.join(f'"{c}"' for c in columns)})")
    for sql, params in encoded.sqlite_inserts('"s"', "2026-12-08 01:00:00"):
        db.execute(sql.replace("%s", "?"), params)
    found = db.execute(f"SELECT {', '.join(f'"{c}"' for c in columns)} FROM s ORDER BY 1, 2, 3").fetchall()
    db.close()
    return found


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 3),  # indicator
            st.integers(1, 40),  # unit
            st.sampled_from(["all", "published"]),
            st.integers(0, 9),  # ordinal
            st.one_of(st.none(), st.floats(allow_nan=False, width=64)),  # value
            st.one_of(st.none(), st.floats(-1e6, 1e6)),  # numerator
            st.sampled_from(["", "confidential", "not_collected"]),
        ),
        max_size=120,
        unique_by=lambda r: r[:4],
    ),
    st.integers(1, 5),
)
def test_sqlite_stores_each_series_as_rows_describes_it(rows, run):
    """Series of mixed layouts (starts, lengths, gaps, figures present or not, both bases,
    hidden twins) split into runs of at most `run` series: each stored row holds exactly
    the key and bytes `Encoded.rows` gives for its series."""
    encoded = series.encode(
        frame(
            [
                {"indicator_id": i, "unit_id": u, "basis": b, "ordinal": o, "value": v, "numerator": n, "missing": m}
                for i, u, b, o, v, n, m in rows
            ]
        )
    )
    with patch.object(series, "SQLITE_RUN", run):
        found = _inserted(encoded)
    expected = sorted((*row, "2026-12-08 01:00:00") for row in encoded.rows())
    assert found == expected
