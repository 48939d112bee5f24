"""Results of a survey with their uncertainty: the "Analyse" step.

A coordinator sees these as "73% satisfied (68–78%)", an index, a mean, the comparison with
last year or with the other municipalities, and the importance–satisfaction matrix. The
functions take the answers and weights per respondent plus the design (strata, clusters,
population sizes, raking margins) and return the number, its design-based standard error,
a confidence interval and the intermediate steps.

Standard errors are Taylor linearisation as in R's `survey` package (`svymean`,
`svytotal`; `svyrecvar` for one stage): each respondent gets a score, scores are summed per
cluster, and the variance is Σ_h (1 − f_h) n_h/(n_h − 1) Σ_i (t_hi − t̄_h)² over strata h
with n_h clusters and sampling fraction f_h. After raking the scores are first replaced by
their residuals from the margin indicator variables, as R does for `rake`: calibrated
margins have no sampling error left, which usually makes the SE smaller. Subgroups (and
"don't know" exclusions) are domains: excluded respondents keep their place in the design
with a zero score, so strata and clusters are still counted, as R does for subsets.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from municipium.lib.survey.common import Step, as_float_array, codes, same_length, two_sided_p, z_for
from municipium.lib.survey.weights import kish

DONT_KNOW = "dont_know"

KEEP_UP = "keep_up_the_good_work"
CONCENTRATE = "concentrate_here"
LOW_PRIORITY = "low_priority"
OVERKILL = "possible_overkill"


@dataclass(frozen=True)
class Design:
    """How the respondents were sampled and weighted; one entry per respondent.

    `strata` and `clusters` (primary sampling units, nested in strata) may be omitted.
    `population_sizes` gives, per respondent, the number of clusters (or of units, without
    clusters) in its stratum's population, as R's `fpc=`; values ≤ 1 are sampling
    fractions. Omitted, the variance is "with replacement" (no finite population
    correction). `raked_on` lists the category sequences the weights were raked on (the
    values of `variables` given to `rake`).

    A stratum taken whole (as many sampled units as its population) has no sampling error
    and adds nothing to the variance, whatever its number of units, as in R. A stratum with
    a single sampling unit otherwise has no variance estimate: `lonely_psu` says what to do,
    as R's `options(survey.lonely.psu=)`: "fail" (refuse, R's default) or "certainty" (treat
    it as taken with certainty: it adds nothing).
    """

    weights: np.ndarray
    strata: Sequence[Hashable] | None = None
    clusters: Sequence[Hashable] | None = None
    population_sizes: Sequence[float] | None = None
    raked_on: Sequence[Sequence[Hashable]] | None = None
    lonely_psu: str = "fail"

    # What every estimate on this design needs, worked out once: an analysis asks for dozens
    # of estimates (each service, each breakdown) on the same respondents, and recoding the
    # strata and refitting the margins each time made a 20,000-response survey take minutes.

    @cached_property
    def stratum_codes(self) -> tuple[list, np.ndarray]:
        return codes(self.strata if self.strata is not None else [None] * len(self.weights))

    @cached_property
    def sampling_units(self) -> np.ndarray:
        """Each respondent's primary sampling unit (itself, without clusters)."""
        if self.clusters is None:
            return np.arange(len(self.weights))
        return codes(list(zip(self.stratum_codes[1].tolist(), self.clusters, strict=True)))[1]

    @cached_property
    def margin_projection(self) -> tuple[np.ndarray, np.ndarray]:
        """The raking margins' indicator matrix X and its pseudo-inverse, so that a residual
        on the margins is z − X(X⁺z) without a least-squares fit per estimate."""
        columns = []
        for values in self.raked_on or ():
            labels, unit_codes = codes(values)
            indicator = np.zeros((len(values), len(labels)))
            indicator[np.arange(len(values)), unit_codes] = 1.0
            columns.append(indicator)
        x = np.hstack(columns)
        return x, np.linalg.pinv(x)


def design(
    weights: Sequence[float] | np.ndarray | None = None,
    *,
    n: int | None = None,
    strata: Sequence[Hashable] | None = None,
    clusters: Sequence[Hashable] | None = None,
    population_sizes: Sequence[float] | None = None,
    raked_on: Sequence[Sequence[Hashable]] | None = None,
    lonely_psu: str = "fail",
) -> Design:
    """Build and check a `Design`; without weights, `n` equally weighted respondents."""
    if lonely_psu not in ("fail", "certainty"):
        raise ValueError(f"lonely_psu must be 'fail' or 'certainty', got {lonely_psu!r}")
    if weights is None:
        if n is None:
            raise ValueError("give weights or the number of respondents n")
        w = np.ones(n)
    else:
        w = as_float_array(weights, "weights")
    if np.any(w < 0):
        raise ValueError("weights cannot be negative")
    for name, values in (("strata", strata), ("clusters", clusters), ("population_sizes", population_sizes)):
        if values is not None:
            same_length(name, values, len(w), "weights")
    for values in raked_on or ():
        same_length("a raking variable", values, len(w), "weights")
    return Design(w, strata, clusters, population_sizes, raked_on, lonely_psu)


@dataclass(frozen=True)
class Estimate:
    """A design-based estimate with its standard error and normal confidence interval.

    Step keys: n, sum_weights, value, standard_error, z, margin, ci_low, ci_high, strata,
    clusters, finite_population_correction, certainty_strata, calibrated.
    """

    value: float
    se: float
    ci_low: float
    ci_high: float
    confidence: float
    n: int
    sum_weights: float
    steps: tuple[Step, ...]


# -- the variance engine -----------------------------------------------------------------


def _calibration_residuals(scores: np.ndarray, d: Design) -> np.ndarray:
    """Scores with the part explained by the raking margins removed.

    R (`svyrecvar`, raking branch) sweeps x ← x − w · ave(x / w | margin cell) over the
    margins repeatedly; that converges to the least-squares residual of x / w on all margin
    indicators together, which is computed here directly.
    """
    if np.any(d.weights <= 0):
        raise ValueError("raked weights must be positive")
    x, pseudo_inverse = d.margin_projection
    z = scores / d.weights
    return d.weights * (z - x @ (pseudo_inverse @ z))


def _variance(scores: np.ndarray, d: Design) -> tuple[float, list[Step]]:
    if d.raked_on:
        scores = _calibration_residuals(scores, d)
    stratum_labels, stratum_codes = d.stratum_codes
    psu = d.sampling_units
    n_psu_total = int(psu.max()) + 1
    totals = np.bincount(psu, weights=scores, minlength=n_psu_total)
    psu_stratum = np.empty(n_psu_total, dtype=np.int64)
    psu_stratum[psu] = stratum_codes
    fpc = None
    if d.population_sizes is not None:
        fpc = np.asarray(d.population_sizes, dtype=float)
    variance = 0.0
    certain = 0
    for h, label in enumerate(stratum_labels):
        t = totals[psu_stratum == h]
        n_h = len(t)
        factor = 1.0
        if fpc is not None:
            sizes = np.unique(fpc[stratum_codes == h])
            if len(sizes) != 1:
                raise ValueError(f"population_sizes differ within stratum {label!r}")
            size = float(sizes[0])
            fraction = size if size <= 1 else n_h / size
            if fraction > 1:
                raise ValueError(f"stratum {label!r}: {n_h} sampled units but a population of only {size:g}")
            factor = 1 - fraction
        if factor < 1e-7:
            certain += 1
            continue  # taken whole: no sampling error (R's onestrat returns 0)
        if n_h < 2:
            if d.lonely_psu == "certainty":
                certain += 1
                continue
            raise ValueError(
                f"stratum {label!r} has only one sampling unit, so its variance "
                "cannot be estimated; merge it with a similar stratum"
            )
        variance += factor * n_h / (n_h - 1) * float(np.sum((t - t.mean()) ** 2))
    steps = [
        Step("strata", len(stratum_labels)),
        Step("clusters", n_psu_total),
        Step("finite_population_correction", "yes" if fpc is not None else "no"),
        Step("certainty_strata", certain),
        Step("calibrated", "yes" if d.raked_on else "no"),
    ]
    return variance, steps


def _domain(d: Design, where: Sequence[bool] | None) -> np.ndarray:
    if where is None:
        return np.ones(len(d.weights), dtype=bool)
    same_length("where", where, len(d.weights), "weights")
    return np.asarray(where, dtype=bool)


def _values_inside(y, d: Design, where) -> tuple[np.ndarray, np.ndarray]:
    """`y` as floats and who counts: the domain's respondents with a positive weight, all of
    whom must have a value."""
    y = np.asarray(y, dtype=float)
    same_length("y", y, len(d.weights), "weights")
    inside = _domain(d, where) & (d.weights > 0)
    if not np.all(np.isfinite(y[inside])):
        raise ValueError("y has missing values inside the domain; exclude them with `where`")
    return y, inside


def _estimate(
    value: float, variance: float, confidence: float, n: int, sum_w: float, design_steps: list[Step]
) -> Estimate:
    z = z_for(confidence)
    se = math.sqrt(max(variance, 0.0))
    low, high = value - z * se, value + z * se
    steps = (
        Step("n", n),
        Step("sum_weights", sum_w),
        Step("value", value),
        Step("standard_error", se),
        Step("z", z),
        Step("margin", z * se),
        Step("ci_low", low),
        Step("ci_high", high),
        *design_steps,
    )
    return Estimate(value, se, low, high, confidence, n, sum_w, steps)


def normal_interval(value: float, se: float, confidence: float = 0.95) -> tuple[float, float]:
    """value ± z·se, R's `confint` default for survey statistics."""
    z = z_for(confidence)
    return value - z * se, value + z * se


def weighted_mean(
    y: Sequence[float] | np.ndarray,
    d: Design,
    *,
    where: Sequence[bool] | np.ndarray | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Weighted mean Σwy/Σw over the domain `where` (all respondents if omitted).

    Values outside the domain are ignored (they may be NaN). R: `svymean`.
    """
    y, inside = _values_inside(y, d, where)
    w = np.where(inside, d.weights, 0.0)
    sum_w = math.fsum(w)
    if sum_w <= 0:
        raise ValueError("nobody in the domain: the mean is undefined")
    yy = np.where(inside, y, 0.0)
    mean = math.fsum(w * yy) / sum_w
    scores = w * (yy - mean) / sum_w
    variance, steps = _variance(scores, d)
    return _estimate(mean, variance, confidence, int(inside.sum()), sum_w, steps)


def weighted_total(
    y: Sequence[float] | np.ndarray, d: Design, *, where: Sequence[bool] | None = None, confidence: float = 0.95
) -> Estimate:
    """Estimated population total Σwy over the domain. R: `svytotal`."""
    y, inside = _values_inside(y, d, where)
    w = np.where(inside, d.weights, 0.0)
    scores = w * np.where(inside, y, 0.0)
    variance, steps = _variance(scores, d)
    return _estimate(math.fsum(scores), variance, confidence, int(inside.sum()), math.fsum(w), steps)


def weighted_proportion(
    indicator: Sequence[bool | int] | np.ndarray,
    d: Design,
    *,
    where: Sequence[bool] | None = None,
    confidence: float = 0.95,
) -> Estimate:
    """Share of the (weighted) domain for which `indicator` is true; R: `svymean` of a 0/1."""
    values = np.asarray(indicator, dtype=float)
    inside = _domain(d, where)
    if not np.all(np.isin(values[inside], (0.0, 1.0))):
        raise ValueError("indicator must be 0/1 or True/False inside the domain")
    return weighted_mean(values, d, where=where, confidence=confidence)


# -- Wilson --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Interval:
    """Wilson score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    `n` is the sample size used: the number of respondents, or Kish's effective sample size
    for weighted data. Step keys: proportion, n, z, center, half_width, low, high.
    """

    proportion: float
    n: float
    low: float
    high: float
    confidence: float
    steps: tuple[Step, ...]


def wilson_interval(successes: float, n: float, confidence: float = 0.95) -> Interval:
    """Wilson score interval; stays inside [0, 1] and is sensible for 0 or n successes."""
    if not n > 0:
        raise ValueError(f"n must be positive, got {n!r}")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be between 0 and n ({n}), got {successes!r}")
    z = z_for(confidence)
    p = successes / n
    z2n = z * z / n
    center = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = max(0.0, center - half), min(1.0, center + half)
    steps = (
        Step("proportion", p),
        Step("n", n),
        Step("z", z),
        Step("center", center),
        Step("half_width", half),
        Step("low", low),
        Step("high", high),
    )
    return Interval(p, n, low, high, confidence, steps)


def wilson_interval_weighted(
    indicator: Sequence[bool | int] | np.ndarray, weights: Sequence[float] | np.ndarray, confidence: float = 0.95
) -> Interval:
    """Wilson interval around the weighted share, with Kish's effective n in place of n.

    A common approximation for weighted surveys (Kish 1965): the weighted proportion is
    treated as if it came from effective_n = (Σw)²/Σw² equally weighted interviews.
    """
    x = np.asarray(indicator, dtype=float)
    w = as_float_array(weights, "weights")
    same_length("indicator", x, len(w), "weights")
    if not np.all(np.isin(x, (0.0, 1.0))):
        raise ValueError("indicator must be 0/1 or True/False")
    k = kish(w)
    p = math.fsum(w * x) / k.sum_weights
    return wilson_interval(p * k.effective_n, k.effective_n, confidence)


# -- Korn–Graubard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ShareInterval:
    """Korn–Graubard interval for a design-based proportion (R: `svyciprop(method = "beta")`).

    The share's design variance gives an effective sample size n_eff = p(1 − p)/var (the
    number of simple-random interviews that would be as precise); it is scaled by
    (t_{n−1} / t_df)², df being the design's degrees of freedom (sampling units minus strata
    in the domain), and the exact Clopper–Pearson beta limits are taken for n_eff·p
    successes out of n_eff. It stays inside [0, 1] and never collapses: when every answer
    (or none) is "satisfied" the variance is 0 and n_eff is the number of answers (Korn and
    Graubard 1998), so a 12-of-12 cell gets 73.5–100 %, not "100 – 100".

    Step keys: proportion, n, variance, effective_n, degrees_of_freedom, df_adjusted_n,
    low, high.
    """

    proportion: float
    n: int
    effective_n: float
    degrees_of_freedom: int
    low: float
    high: float
    confidence: float
    steps: tuple[Step, ...]


def _degrees_of_freedom(d: Design, inside: np.ndarray) -> int:
    """R's `degf`: sampling units minus strata, counting only those with someone in the domain."""
    units = np.unique(d.sampling_units[inside]).size
    strata = np.unique(d.stratum_codes[1][inside]).size
    return int(units - strata)


def share_interval(
    indicator: Sequence[bool | int] | np.ndarray,
    d: Design,
    *,
    where: Sequence[bool] | None = None,
    confidence: float = 0.95,
) -> ShareInterval:
    """Korn–Graubard confidence interval of the share for which `indicator` is true."""
    estimate = weighted_proportion(indicator, d, where=where, confidence=confidence)
    return _korn_graubard(estimate, d, _domain(d, where) & (d.weights > 0), confidence)


def _korn_graubard(estimate: Estimate, d: Design, inside: np.ndarray, confidence: float) -> ShareInterval:
    from scipy import stats

    p, variance = estimate.value, estimate.se**2
    # R counts the rows of the subset design; a calibrated design keeps every row.
    n_rows = len(d.weights) if d.raked_on else int(inside.sum())
    df = _degrees_of_freedom(d, inside)
    if variance > 0 and 0 < p < 1:
        effective_n = p * (1 - p) / variance
    else:
        effective_n = float(estimate.n)
    alpha = 1 - confidence
    adjusted = effective_n
    if n_rows > 1 and df >= 1:
        adjusted = effective_n * (stats.t.ppf(alpha / 2, n_rows - 1) / stats.t.ppf(alpha / 2, df)) ** 2
    x = adjusted * p
    low = 0.0 if x <= 0 else float(stats.beta.ppf(alpha / 2, x, adjusted - x + 1))
    high = 1.0 if adjusted - x <= 0 else float(stats.beta.ppf(1 - alpha / 2, x + 1, adjusted - x))
    steps = (
        Step("proportion", p),
        Step("n", estimate.n),
        Step("variance", variance),
        Step("effective_n", effective_n),
        Step("degrees_of_freedom", df),
        Step("df_adjusted_n", adjusted),
        Step("low", low),
        Step("high", high),
    )
    return ShareInterval(p, estimate.n, effective_n, df, low, high, confidence, steps)


# -- satisfaction --------------------------------------------------------------------------


@dataclass(frozen=True)
class Satisfaction:
    """Share satisfied (top boxes), mean and 0–100 index for one question.

    `share_interval` is the Korn–Graubard interval of the share (what pages, reports and
    published figures show); `share_satisfied` keeps the normal one (its standard error is
    what comparisons test). `share_wilson` is the Wilson interval with Kish's effective n.
    `answered` excludes "don't know" and missing answers, which are counted separately.
    """

    share_satisfied: Estimate
    share_wilson: Interval
    mean: Estimate
    index: Estimate
    answered: int
    dont_know: int
    missing: int
    share_interval: ShareInterval | None = None


def satisfaction(
    answers: Sequence,
    d: Design | None = None,
    *,
    scale: tuple[int, int] = (1, 5),
    top_boxes: int = 2,
    satisfied: Sequence[int] | None = None,
    dont_know: Sequence = (DONT_KNOW,),
    where: Sequence[bool] | None = None,
    confidence: float = 0.95,
) -> Satisfaction:
    """Share satisfied, mean and index = (mean − low)/(high − low) × 100 with intervals.

    `satisfied` lists the points counted satisfied (the questionnaire's declaration); without
    it, the `top_boxes` highest points. `answers` holds one value per respondent: a whole
    number on the scale, None (not answered) or a "don't know" code. Answers outside the scale are refused. Those who did
    not answer or did not know are excluded as a domain, so the design is kept intact.
    """
    low, high = scale
    if not (isinstance(low, int) and isinstance(high, int) and high > low):
        raise ValueError(f"scale must be two whole numbers (low, high) with low < high, got {scale!r}")
    if not 1 <= top_boxes <= high - low:
        raise ValueError(f"top_boxes must be between 1 and {high - low}, got {top_boxes!r}")
    if satisfied is not None and (
        not satisfied or len(set(satisfied)) > high - low or not all(low <= v <= high for v in satisfied)
    ):
        raise ValueError(f"satisfied must be some, not all, points of the scale {low}–{high}, got {satisfied!r}")
    d = d if d is not None else design(n=len(answers))
    same_length("answers", answers, len(d.weights), "weights")
    base = _domain(d, where)
    values = np.full(len(answers), np.nan)
    n_dk = n_missing = 0
    # Only the domain's answers are read: a breakdown asks once per category.
    for i in np.flatnonzero(base).tolist():
        a = answers[i]
        if a is None:
            n_missing += 1
        elif a in dont_know:
            n_dk += 1
        elif isinstance(a, bool) or not isinstance(a, int | np.integer) or not low <= a <= high:
            raise ValueError(f"answer {a!r} at position {i} is not on the scale {low}–{high}")
        else:
            values[i] = a
    valid = base & ~np.isnan(values)
    if not valid.any():
        raise ValueError("nobody answered on the scale")
    if satisfied is None:
        top = np.where(valid, values > high - top_boxes, False)
    else:
        top = np.where(valid, np.isin(values, np.asarray(list(satisfied), dtype=float)), False)
    share = weighted_mean(top.astype(float), d, where=valid, confidence=confidence)
    mean = weighted_mean(values, d, where=valid, confidence=confidence)
    span = high - low
    z = z_for(confidence)
    index_value = (mean.value - low) / span * 100
    index_se = mean.se / span * 100
    index = Estimate(
        index_value,
        index_se,
        index_value - z * index_se,
        index_value + z * index_se,
        confidence,
        mean.n,
        mean.sum_weights,
        (
            Step("mean", mean.value),
            Step("scale_low", low),
            Step("scale_high", high),
            Step("value", index_value),
            Step("standard_error", index_se),
            Step("z", z),
            Step("ci_low", index_value - z * index_se),
            Step("ci_high", index_value + z * index_se),
        ),
    )
    wilson = wilson_interval_weighted(top[valid], d.weights[valid], confidence)
    interval = _korn_graubard(share, d, valid & (d.weights > 0), confidence)
    return Satisfaction(share, wilson, mean, index, int(valid.sum()), n_dk, n_missing, interval)


# -- comparisons ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Comparison:
    """Difference a − b of two independent estimates with its z test.

    Step keys: value_a, value_b, difference, se_a, se_b, standard_error, z, p_value.
    """

    difference: float
    se: float
    z: float
    p_value: float
    ci_low: float
    ci_high: float
    steps: tuple[Step, ...]


def compare_independent(
    value_a: float, se_a: float, value_b: float, se_b: float, *, confidence: float = 0.95
) -> Comparison:
    """Two-sided z test for independent samples (two surveys, two municipalities).

    SE of the difference = √(se_a² + se_b²): valid only when the samples are independent;
    a panel (same respondents twice) would need the covariance.
    """
    if se_a < 0 or se_b < 0:
        raise ValueError("standard errors cannot be negative")
    diff = value_a - value_b
    se = math.hypot(se_a, se_b)
    if se == 0:
        raise ValueError("both standard errors are 0: the difference cannot be tested")
    zval = diff / se
    p = two_sided_p(zval)
    zq = z_for(confidence)
    steps = (
        Step("value_a", value_a),
        Step("value_b", value_b),
        Step("difference", diff),
        Step("se_a", se_a),
        Step("se_b", se_b),
        Step("standard_error", se),
        Step("z", zval),
        Step("p_value", p),
    )
    return Comparison(diff, se, zval, p, diff - zq * se, diff + zq * se, steps)


def compare_estimates(a: Estimate, b: Estimate) -> Comparison:
    """`compare_independent` for two `Estimate`s, at the confidence level of the first."""
    return compare_independent(a.value, a.se, b.value, b.se, confidence=a.confidence)


def p_adjust(p_values: Sequence[float | None], method: str = "holm") -> list[float | None]:
    """Adjusted p-values as R's `p.adjust`: "holm" or "BH" (Benjamini–Hochberg, "fdr").

    Holm controls the chance of any false "significant" among the comparisons; BH the
    expected share of false ones among those declared significant (less strict, for many
    services × municipalities). Missing values (None) stay None and are not counted, as R's
    default `n = length(p[!is.na(p)])`.
    """
    method = {"fdr": "BH"}.get(method, method)
    if method not in ("holm", "BH"):
        raise ValueError(f"method must be 'holm' or 'BH', got {method!r}")
    present = [(i, float(p)) for i, p in enumerate(p_values) if p is not None and not math.isnan(p)]
    for _i, value in present:
        if not 0 <= value <= 1:
            raise ValueError(f"p-values must lie in [0, 1], got {value!r}")
    out: list[float | None] = [None] * len(p_values)
    n = len(present)
    if n == 0:
        return out
    idx = np.array([i for i, _ in present])
    p = np.array([v for _, v in present])
    adjusted: np.ndarray
    if method == "holm":
        order = np.argsort(p, kind="stable")
        adjusted = np.minimum(1, np.maximum.accumulate((n - np.arange(n)) * p[order]))
    else:
        order = np.argsort(-p, kind="stable")
        ranks = np.arange(n, 0, -1)
        adjusted = np.minimum(1, np.minimum.accumulate(n / ranks * p[order]))
    for k, position in enumerate(order):
        out[int(idx[position])] = float(adjusted[k])
    return out


# -- importance–satisfaction -------------------------------------------------------------


@dataclass(frozen=True)
class ServiceGap:
    """One service in the importance–satisfaction matrix; gap = importance − satisfaction."""

    service: Hashable
    importance: float
    satisfaction: float
    gap: float
    quadrant: str
    priority: int


@dataclass(frozen=True)
class GapAnalysis:
    """Quadrants relative to the mean importance and mean satisfaction over the services.

    keep_up_the_good_work: important and satisfying; concentrate_here: important but below
    average satisfaction; low_priority: less important, less satisfying; possible_overkill:
    less important but satisfying. A value equal to the mean counts as high. `priority`
    ranks by gap, 1 = largest gap (most to gain).
    """

    mean_importance: float
    mean_satisfaction: float
    services: tuple[ServiceGap, ...]


def importance_satisfaction(scores: Mapping[Hashable, tuple[float, float]]) -> GapAnalysis:
    """Gap scores and quadrants from (mean importance, mean satisfaction) per service.

    Both means must be on the same scale (e.g. 1–5) for the gap to mean anything.
    """
    if not scores:
        raise ValueError("no services given")
    for service, pair in scores.items():
        if len(pair) != 2 or not all(isinstance(v, int | float) and math.isfinite(v) for v in pair):
            raise ValueError(f"service {service!r} needs (importance, satisfaction) numbers")
    mi = math.fsum(v[0] for v in scores.values()) / len(scores)
    ms = math.fsum(v[1] for v in scores.values()) / len(scores)
    gaps = {s: imp - sat for s, (imp, sat) in scores.items()}
    ranked = sorted(scores, key=lambda s: -gaps[s])
    priority = {s: i + 1 for i, s in enumerate(ranked)}
    out = []
    for s, (imp, sat) in scores.items():
        if imp >= mi:
            quadrant = KEEP_UP if sat >= ms else CONCENTRATE
        else:
            quadrant = OVERKILL if sat >= ms else LOW_PRIORITY
        out.append(ServiceGap(s, float(imp), float(sat), gaps[s], quadrant, priority[s]))
    return GapAnalysis(mi, ms, tuple(out))
