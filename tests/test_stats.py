"""Group statistics, ranks, percentiles and trends: the Polars versions the engine runs agree
with the plain-Python definitions, and the definitions say what coordinators expect."""

import math

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from municipium.lib import stats

POLARITIES = [stats.HIGHER_IS_BETTER, stats.LOWER_IS_BETTER, stats.NEUTRAL]

finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False, allow_infinity=False)
maybe = st.one_of(st.none(), finite)
# Few distinct values, so that ties are common.
tied = st.one_of(st.none(), st.sampled_from([0.0, 1.0, 2.5, 2.5, -3.0, 7.0]))


def close(a, b, rel=1e-9, abs_=1e-9):
    if a is None or b is None:
        return a is None and b is None
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def test_quantiles_interpolate_linearly_like_excel_percentile_inc():
    xs = [15.0, 20.0, 35.0, 40.0, 50.0]
    assert stats.quantile(xs, 0.4) == 29.0  # PERCENTILE.INC({15,20,35,40,50}, 0.4)
    assert stats.quantile(xs, 0.5) == 35.0
    assert stats.quantile([1.0, 2.0, 3.0, 4.0], 0.25) == 1.75
    assert stats.quantile([1.0, 2.0, 3.0, 4.0], 0.9) == pytest.approx(3.7)
    assert stats.quantile([None, 5.0], 0.1) == 5.0
    assert stats.quantile([None], 0.5) is None


def test_summary_skips_missing_and_pools_parts_of_members_with_a_value():
    result = stats.summary([10.0, None, 30.0], [1.0, 5.0, 9.0], [10.0, 10.0, 30.0])
    assert result["n"] == 2 and result["min"] == 10.0 and result["max"] == 30.0 and result["mean"] == 20.0
    assert result["median"] == 20.0
    assert result["pooled"] == (1.0 + 9.0) / (10.0 + 30.0)
    assert stats.summary([], [], [])["pooled"] is None
    assert stats.summary([1.0], [1.0], [0.0])["pooled"] is None


def test_ranks_follow_polarity_and_ties_share_the_best_rank():
    values = [5.0, 9.0, None, 5.0, 1.0]
    assert stats.competition_ranks(values, stats.HIGHER_IS_BETTER) == [2, 1, None, 2, 4]
    assert stats.competition_ranks(values, stats.LOWER_IS_BETTER) == [2, 4, None, 2, 1]
    assert stats.competition_ranks(values, stats.NEUTRAL) == [2, 1, None, 2, 4]


def test_percentile_is_100_for_the_best_and_0_for_the_worst():
    assert stats.percentiles([5.0, 9.0, None, 5.0, 1.0], stats.LOWER_IS_BETTER) == [
        100 * 2 / 3,
        0.0,
        None,
        100 * 2 / 3,
        100.0,
    ]
    assert stats.percentiles([3.0], stats.HIGHER_IS_BETTER) == [100.0]
    assert stats.percentiles([3.0, 3.0], stats.HIGHER_IS_BETTER) == [100.0, 100.0]
    # Neutral: higher value, higher percentile; the share of the others below.
    assert stats.percentiles([1.0, 2.0, 3.0], stats.NEUTRAL) == [0.0, 50.0, 100.0]


def test_trend_is_the_least_squares_slope_and_needs_three_points():
    assert stats.trend_slope([(1, 1.0), (2, 3.0), (3, 5.0)]) == 2.0
    assert stats.trend_slope([(1, 1.0), (2, None), (3, 5.0)]) is None
    assert stats.trend_slope([(1, 2.0), (2, 1.0), (4, 2.0), (5, 1.0)]) == pytest.approx(-0.1)


@settings(max_examples=200, deadline=None)
@given(groups=st.lists(st.lists(st.tuples(maybe, maybe, maybe), min_size=1, max_size=12), min_size=1, max_size=4))
def test_polars_group_summary_matches_the_definition(groups):
    rows = [(g, v, a, b) for g, members in enumerate(groups) for v, a, b in members]
    frame = pl.DataFrame(
        rows,
        schema={"g": pl.Int64, "value": pl.Float64, "numerator": pl.Float64, "denominator": pl.Float64},
        orient="row",
    )
    got = {row["g"]: row for row in frame.group_by("g").agg(stats.summary_exprs()).iter_rows(named=True)}
    for g, members in enumerate(groups):
        expected = stats.summary(*zip(*members, strict=True))
        for name in stats.SUMMARY_COLUMNS:
            assert close(got[g][name], expected[name]), (name, members)


@settings(max_examples=200, deadline=None)
@given(
    groups=st.lists(st.lists(st.tuples(maybe, maybe, maybe), min_size=1, max_size=40), min_size=1, max_size=5),
    indicators=st.integers(min_value=1, max_value=3),
)
def test_numpy_group_summary_matches_the_definition(groups, indicators):
    """What the engine runs (`summary_arrays`: groups side by side, several indicators as
    rows, NaN for None): the definition's quantiles to the bit, since they take the same
    arithmetic on the same order statistics; the sums to rounding."""
    import numpy as np

    members = [member for group in groups for member in group]
    starts = np.cumsum([0] + [len(group) for group in groups[:-1]])

    def matrix(k, shift):
        column = [np.nan if member[k] is None else member[k] for member in members]
        return np.array([[x + shift * row if not np.isnan(x) else x for x in column] for row in range(indicators)])

    got = stats.summary_arrays(matrix(0, 1.5), matrix(1, 2.0), matrix(2, 0.5), starts)
    for row in range(indicators):
        for g, group in enumerate(groups):
            shifted = [
                tuple(None if x is None else x + step * row for x, step in zip(m, (1.5, 2.0, 0.5))) for m in group
            ]
            expected = stats.summary(*zip(*shifted, strict=True))
            for name in stats.SUMMARY_COLUMNS:
                value = got[name][row, g]
                value = None if name != "n" and np.isnan(value) else value
                if name in ("min", "max", *stats.QUANTILES):
                    assert value == expected[name], (name, group)
                else:
                    assert close(value, expected[name]), (name, group)


def test_numpy_group_summary_of_groups_without_values():
    import numpy as np

    nothing = np.full((1, 3), np.nan)
    got = stats.summary_arrays(nothing, nothing, nothing, [0, 2])
    assert got["n"].tolist() == [[0, 0]]
    assert all(np.isnan(got[name]).all() for name in stats.SUMMARY_COLUMNS[1:])


@settings(max_examples=200, deadline=None)
@given(values=st.lists(tied, min_size=1, max_size=15), polarity=st.sampled_from(POLARITIES))
def test_polars_ranks_and_percentiles_match_the_definition(values, polarity):
    frame = pl.DataFrame({"g": [1] * len(values), "value": values}, schema={"g": pl.Int64, "value": pl.Float64})
    frame = frame.with_columns(stats.rank_expr("value", polarity, ["g"]).alias("rank"))
    frame = frame.with_columns(pl.col("value").count().over("g").alias("n"))
    frame = frame.with_columns(stats.percentile_expr("rank", "n").alias("percentile"))
    assert frame["rank"].to_list() == stats.competition_ranks(values, polarity)
    expected = stats.percentiles(values, polarity)
    assert all(close(a, b) for a, b in zip(frame["percentile"].to_list(), expected, strict=True))


@settings(max_examples=200, deadline=None)
@given(series=st.lists(st.lists(maybe, min_size=1, max_size=9), min_size=1, max_size=3))
def test_polars_trend_and_change_match_the_definition(series):
    rows = [(u, t, v) for u, values in enumerate(series) for t, v in enumerate(values)]
    frame = pl.DataFrame(rows, schema={"unit": pl.Int64, "t": pl.Int64, "value": pl.Float64}, orient="row")
    change, change_pct = stats.change_exprs("value", "unit")
    frame = frame.with_columns(
        pl.Series("trend", stats.trend_array(frame["value"].to_numpy(), frame["unit"].to_numpy()), nan_to_null=True),
        change.alias("change"),
        change_pct.alias("change_pct"),
    )
    for (u, t, _v), trend, ch, pct in zip(rows, frame["trend"], frame["change"], frame["change_pct"], strict=True):
        values = series[u]
        window = [(x, values[x]) for x in range(max(0, t - 4), t + 1)]
        expected = stats.trend_slope(window) if values[t] is not None else None
        assert close(trend, expected, rel=1e-6, abs_=1e-6), (values, t)
        previous = values[t - 1] if t else None
        if values[t] is None or previous is None:
            assert ch is None and pct is None
        else:
            assert ch == values[t] - previous
            assert close(pct, None if previous == 0 else 100 * (values[t] - previous) / abs(previous))


@settings(max_examples=100, deadline=None)
@given(
    series=st.lists(st.lists(maybe, min_size=1, max_size=9), min_size=1, max_size=3),
    picked=st.lists(st.integers(0, 26), max_size=8),
)
def test_the_trend_at_some_rows_is_the_whole_columns_there(series, picked):
    """`trend_array(at=...)`: the same numbers, bit for bit, at the rows asked for."""
    import numpy as np

    values = np.array([np.nan if v is None else v for values in series for v in values])
    units = np.array([u for u, values in enumerate(series) for _ in values])
    rows = np.array(sorted({r for r in picked if r < len(values)}), dtype=np.int64)
    whole = stats.trend_array(values, units)
    some = stats.trend_array(values, units, at=rows)
    assert np.array_equal(some[rows], whole[rows], equal_nan=True)
    assert np.isnan(np.delete(some, rows)).all()
