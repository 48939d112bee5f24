"""Group statistics, ranks and trends: the numbers a benchmark sets a value against.

Pure functions, no Django. Each measure exists twice: as a Polars expression (the trend: a
numpy function), which the compute engine applies to whole frames at once, and as a
plain-Python function over a list, which says what the measure *is* in a few obvious lines
and which the tests hold the whole-frame version to. Missing values are None in Python and
null in Polars (NaN in numpy); every measure skips them and says over how many values it
stands (`n`).

Quantiles use linear interpolation between order statistics, Hyndman & Fan type 7: the
position of quantile q among n sorted values is q × (n − 1), counted from 0. It is what
Excel's PERCENTILE.INC, LibreOffice's PERCENTILE, R's default quantile() and numpy's default
percentile() give, so coordinators who check a median in a spreadsheet get the same number.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Sequence

import polars as pl

HIGHER_IS_BETTER = "higher_is_better"
LOWER_IS_BETTER = "lower_is_better"
NEUTRAL = "neutral"

QUANTILES = {"p10": 0.10, "p25": 0.25, "median": 0.50, "p75": 0.75, "p90": 0.90}
SUMMARY_COLUMNS = ("n", "min", *QUANTILES, "max", "mean", "pooled")
TREND_PERIODS = 5  # K: the trend is the slope over the current and K − 1 earlier periods
TREND_MIN_POINTS = 3


# -- plain Python: the definitions ---------------------------------------------------------


def _present(values: Sequence[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def quantile(values: Sequence[float | None], q: float) -> float | None:
    """Type-7 quantile of the non-missing values; None when there are none."""
    xs = sorted(_present(values))
    if not xs:
        return None
    position = q * (len(xs) - 1)
    below = math.floor(position)
    above = min(below + 1, len(xs) - 1)
    return xs[below] + (position - below) * (xs[above] - xs[below])


def summary(
    values: Sequence[float | None],
    numerators: Sequence[float | None] | None = None,
    denominators: Sequence[float | None] | None = None,
) -> dict[str, float | int | None]:
    """n, min, p10, p25, median, p75, p90, max, mean and pooled over one group's members.

    `pooled` is Σ numerator ÷ Σ denominator over the members that have a value (each of
    which has both parts), so large members weigh more than in the mean of ratios; None
    without parts or when the summed denominator is 0.
    """
    xs = _present(values)
    result: dict[str, float | int | None] = {"n": len(xs), "min": min(xs) if xs else None}
    for name, q in QUANTILES.items():
        result[name] = quantile(xs, q)
    result["max"] = max(xs) if xs else None
    result["mean"] = math.fsum(xs) / len(xs) if xs else None
    result["pooled"] = None
    if numerators is not None and denominators is not None:
        parts = [
            (a, b)
            for v, a, b in zip(values, numerators, denominators, strict=True)
            if v is not None and a is not None and b is not None
        ]
        den = math.fsum(b for _a, b in parts)
        if parts and den != 0:
            result["pooled"] = math.fsum(a for a, _b in parts) / den
    return result


def competition_ranks(values: Sequence[float | None], polarity: str) -> list[int | None]:
    """1 = best by polarity; tied values share the best of their places ("1, 2, 2, 4").

    Neutral indicators have no best; they are ranked like higher-is-better (1 = highest)
    so that rank and percentile read the same way. n log n: a country's group has
    thousands of members.
    """
    present = sorted(v for v in values if v is not None)
    n = len(present)
    if polarity == LOWER_IS_BETTER:
        return [None if v is None else bisect.bisect_left(present, v) + 1 for v in values]
    return [None if v is None else n - bisect.bisect_right(present, v) + 1 for v in values]


def percentiles(values: Sequence[float | None], polarity: str) -> list[float | None]:
    """100 × (n − rank) ÷ (n − 1): 100 for the best, 0 for the worst, ties share the best.

    For neutral polarity that is the share of the other members with a lower value (higher
    value, higher percentile). A group of one is its own best: 100.
    """
    ranks = competition_ranks(values, polarity)
    n = sum(1 for r in ranks if r is not None)
    return [None if r is None else (100.0 if n == 1 else 100.0 * (n - r) / (n - 1)) for r in ranks]


def trend_slope(points: Sequence[tuple[float, float | None]], *, min_points: int = TREND_MIN_POINTS) -> float | None:
    """Least-squares slope of y on x over the points with a y; None with fewer than
    `min_points`. The caller passes the last K periods (x = period ordinal)."""
    pts = [(x, y) for x, y in points if y is not None]
    if len(pts) < min_points:
        return None
    mx = math.fsum(x for x, _ in pts) / len(pts)
    my = math.fsum(y for _, y in pts) / len(pts)
    sxx = math.fsum((x - mx) ** 2 for x, _ in pts)
    if sxx == 0:
        return None
    return math.fsum((x - mx) * (y - my) for x, y in pts) / sxx


# -- Polars: what the engine runs ---------------------------------------------------------


def summary_exprs(
    value: str = "value", numerator: str | None = "numerator", denominator: str | None = "denominator"
) -> list[pl.Expr]:
    """Aggregations for group_by(...).agg(): the columns of `summary()`, same rules."""
    v = pl.col(value)
    exprs = [v.count().alias("n"), v.min().alias("min")]
    exprs += [v.quantile(q, interpolation="linear").alias(name) for name, q in QUANTILES.items()]
    exprs += [v.max().alias("max"), v.mean().alias("mean")]
    if numerator and denominator:
        both = v.is_not_null() & pl.col(numerator).is_not_null() & pl.col(denominator).is_not_null()
        den = pl.col(denominator).filter(both).sum()
        num = pl.col(numerator).filter(both).sum()
        # sum() of nothing is 0, so "no parts" and "parts summing to 0" both end here.
        exprs.append(pl.when(den != 0).then(num / den).alias("pooled"))
    else:
        exprs.append(pl.lit(None, dtype=pl.Float64).alias("pooled"))
    return exprs


def summary_arrays(values, numerators, denominators, starts) -> dict:
    """The columns of `summary()` for many groups of many indicators at once, in numpy:
    what the engine runs (issue 18). `values`, `numerators` and `denominators` are (k, m)
    float arrays, one row an indicator, NaN for a missing figure (a formula never gives
    NaN: `Formula.to_polars`), and each group's members lie side by side in the m columns,
    group j starting at column `starts[j]` (increasing, from 0). Returns (k, groups) arrays:
    "n" (int64), the others float64 with NaN where `summary()` gives None.

    One sort of each group serves its five quantiles, its min and its max: as Polars
    aggregations (`summary_exprs`) each quantile sorted the group again, and a full
    recompute's grouping of 1,000 indicators over 2,500 units took a third of its
    computing. The quantiles are `quantile()`'s arithmetic on the same order statistics, so
    they are its numbers to the bit; the mean and the pooled ratio are sums over the
    members in their order (`math.fsum`'s to rounding)."""
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    k, m = values.shape
    starts = np.asarray(starts, dtype=np.int64)
    groups = len(starts)
    sizes = np.diff(np.r_[starts, m])
    known = ~np.isnan(values)
    n = np.add.reduceat(known.astype(np.int64), starts, axis=1) if groups else np.zeros((k, 0), dtype=np.int64)
    out: dict = {"n": n}
    if not groups:
        return out | {name: np.zeros((k, 0)) for name in SUMMARY_COLUMNS[1:]}
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out["mean"] = np.where(n > 0, np.add.reduceat(np.where(known, values, 0.0), starts, axis=1) / n, np.nan)
        num, den = np.asarray(numerators, dtype=np.float64), np.asarray(denominators, dtype=np.float64)
        both = known & ~np.isnan(num) & ~np.isnan(den)
        num_sum = np.add.reduceat(np.where(both, num, 0.0), starts, axis=1)
        den_sum = np.add.reduceat(np.where(both, den, 0.0), starts, axis=1)
        out["pooled"] = np.where(den_sum != 0, num_sum / den_sum, np.nan)
    for name in ("min", *QUANTILES, "max"):
        out[name] = np.full((k, groups), np.nan)
    # Groups padded to the next power of two of their size and sorted row by row, a few
    # matrices in all: NaN sorts last, so each group's first n places are its values in order.
    padded = np.concatenate([values, np.full((k, 1), np.nan)], axis=1)
    width = 1 << np.ceil(np.log2(np.maximum(sizes, 1))).astype(np.int64)
    for size in np.unique(width).tolist():
        which = np.flatnonzero(width == size)
        place = np.arange(size)
        columns = np.where(place < sizes[which][:, None], starts[which][:, None] + place, m)
        ordered = np.sort(padded[:, columns], axis=2)  # (k, groups of this width, size)
        count = n[:, which]
        has = count > 0
        last = np.maximum(count - 1, 0)
        at = np.s_[:, which]

        def order_statistic(index, ordered=ordered):
            return np.take_along_axis(ordered, index[..., None], axis=2)[..., 0]

        out["min"][at] = np.where(has, ordered[..., 0], np.nan)
        out["max"][at] = np.where(has, order_statistic(last), np.nan)
        for name, q in QUANTILES.items():
            position = q * last.astype(np.float64)
            below = np.floor(position).astype(np.int64)
            above = np.minimum(below + 1, last)
            low, high = order_statistic(below), order_statistic(above)
            out[name][at] = np.where(has, low + (position - below) * (high - low), np.nan)
    return out


def rank_expr(value: str, polarity: str, over: Sequence[str]) -> pl.Expr:
    """Competition rank (1 = best) within `over`; null where the value is null."""
    v = pl.col(value)
    descending = polarity != LOWER_IS_BETTER
    return v.rank(method="min", descending=descending).over(list(over)).cast(pl.Int64)


def percentile_expr(rank: str, n: str) -> pl.Expr:
    """From a competition rank and the number ranked: see `percentiles()`."""
    r, count = pl.col(rank).cast(pl.Float64), pl.col(n).cast(pl.Float64)
    return (
        pl.when(pl.col(rank).is_null())
        .then(None)
        .when(count == 1)
        .then(100.0)
        .otherwise(100.0 * (count - r) / (count - 1))
    )


def trend_array(values, units, k: int = TREND_PERIODS, min_points: int = TREND_MIN_POINTS, *, at=None):
    """Least-squares slope per period over the current and k − 1 earlier rows of a unit, for
    whole columns at once (numpy arrays; NaN where a value is missing, and in the result
    where there is no slope).

    The rows must be sorted by (unit, period) with one row per period and no gaps, so row
    offsets are period offsets. The sums are centred on the current period (x = 0, −1, ...),
    which keeps them small and the slope exact to rounding; NaN where the current value is
    missing or fewer than `min_points` values are known. `trend_slope` says what it is.

    numpy rather than a Polars expression: as an expression (k shifted copies, each masked
    to its unit, five horizontal sums) one indicator's trend took 6-7 ms on a save's grid of
    4,500 rows, where the rest of its evaluation took under 1 ms (issue 18); these are the
    same operations in the same order, so the slopes are the same to the bit.

    `at`: only at these rows (positions, increasing), NaN elsewhere; each the same number as
    the whole column's (a full recompute compares trends only where a published row may be
    stored, a few periods of twenty)."""
    import numpy as np

    v = np.asarray(values, dtype=np.float64)
    u = np.asarray(units)
    size = len(v)
    if at is not None:
        rows = np.asarray(at, dtype=np.int64)
        if not len(rows):
            return np.full(size, np.nan)
        out = np.full(size, np.nan)
        ys = []
        for j in range(k):
            source = np.maximum(rows - j, 0)
            ys.append(np.where((rows >= j) & (u[source] == u[rows]), v[source], np.nan))
        out[rows] = _slopes(ys, v[rows], min_points)
        return out
    ys = []
    for j in range(k):
        y = np.full(size, np.nan)
        if j < size:
            y[j:] = v[: size - j]
            y[j:][u[j:] != u[: size - j]] = np.nan
        ys.append(y)
    return _slopes(ys, v, min_points)


def _slopes(ys: list, v, min_points: int):
    """`trend_array`'s slopes from each row's value and the k values ending at it (`ys[j]`:
    j periods back, NaN for none)."""
    import numpy as np

    known = [(~np.isnan(y)).astype(np.float64) for y in ys]
    filled = [np.where(np.isnan(y), 0.0, y) for y in ys]
    n = _pairwise_sum(known)
    sx = _pairwise_sum([m * float(-j) for j, m in enumerate(known)])
    sxx = _pairwise_sum([m * float(j * j) for j, m in enumerate(known)])
    sy = _pairwise_sum(filled)
    sxy = _pairwise_sum([y * float(-j) for j, y in enumerate(filled)])
    denominator = n * sxx - sx * sx
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (n * sxy - sx * sy) / denominator
    return np.where(~np.isnan(v) & (n >= min_points) & (denominator != 0), slope, np.nan)


def _pairwise_sum(arrays: list):
    """Elementwise sum, halves first (a + b) + (c + (d + e)): the order in which Polars'
    `sum_horizontal` adds, so that `trend_array` gives what the expression it replaced gave."""
    if len(arrays) == 1:
        return arrays[0]
    middle = len(arrays) // 2
    return _pairwise_sum(arrays[:middle]) + _pairwise_sum(arrays[middle:])


def change_exprs(value: str, unit: str) -> tuple[pl.Expr, pl.Expr]:
    """Change against the previous period and its relative size in % of |previous|
    (|·| so that a rise reads as positive even from a negative start); null without a
    previous value, and the % also when the previous value is 0."""
    previous = pl.when(pl.col(unit).shift(1) == pl.col(unit)).then(pl.col(value).shift(1))
    change = pl.col(value) - previous
    change_pct = pl.when(previous != 0).then(100.0 * change / previous.abs())
    return change, change_pct
