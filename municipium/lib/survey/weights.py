"""Weights that make the respondents stand for the population: the "Weight" step of a survey.

A coordinator uses these in order: `design_weights` from the inclusion probabilities kept at
the draw; optionally `adjust_nonresponse` within cells (e.g. strata) so respondents also
carry those who did not answer; `rake` to known population margins (age, sex, area);
`trim_weights` when a few weights became extreme; and `kish` for the weighting report's
design effect and effective sample size. Each returns the weights together with what the
report needs to explain them.

Raking and trimming follow R's `survey` package (`rake`, `trimWeights`) so that the
published R examples are the reference the tests hold us to.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from municipium.lib.survey.common import Step, as_float_array, codes, same_length


class RakingError(ValueError):
    """Raking did not reach the margins within the allowed iterations."""


# -- design weights and nonresponse ------------------------------------------------------


def design_weights(probabilities: Sequence[float] | np.ndarray) -> np.ndarray:
    """1/π for each unit: how many units of the frame each selected unit stands for."""
    p = as_float_array(probabilities, "probabilities")
    if p.size == 0:
        raise ValueError("probabilities is empty")
    bad = np.flatnonzero((p <= 0) | (p > 1))
    if bad.size:
        raise ValueError(f"inclusion probabilities must be in (0, 1]; position {int(bad[0])} has {p[bad[0]]!r}")
    return 1.0 / p


@dataclass(frozen=True)
class NonresponseAdjustment:
    """Respondents' weights (0 for nonrespondents) after the adjustment within cells.

    `factors[cell]` = Σ weights of all sampled units in the cell ÷ Σ weights of its
    respondents; `response_rates[cell]` is the weighted response rate, its inverse.
    """

    weights: np.ndarray
    factors: Mapping[Hashable, float]
    response_rates: Mapping[Hashable, float]


def adjust_nonresponse(
    weights: Sequence[float] | np.ndarray, responded: Sequence[bool], cells: Sequence[Hashable] | None = None
) -> NonresponseAdjustment:
    """Spread the weight of nonrespondents over the respondents of the same cell.

    The assumption (to be stated in the report) is that within a cell, respondents and
    nonrespondents are alike. Without `cells` the whole sample is one cell.
    """
    w = as_float_array(weights, "weights")
    same_length("responded", responded, len(w), "weights")
    r = np.asarray(responded, dtype=bool)
    if cells is None:
        cells = [None] * len(w)
    same_length("cells", cells, len(w), "weights")
    labels, unit_codes = codes(cells)
    all_w = np.bincount(unit_codes, weights=w, minlength=len(labels))
    resp_w = np.bincount(unit_codes, weights=w * r, minlength=len(labels))
    empty = [labels[k] for k in range(len(labels)) if resp_w[k] <= 0]
    if empty:
        raise ValueError(
            f"cells without any respondent cannot be adjusted: {empty!r}; merge them with a neighbouring cell"
        )
    factor = all_w / resp_w
    adjusted = np.where(r, w * factor[unit_codes], 0.0)
    return NonresponseAdjustment(
        adjusted,
        {labels[k]: float(factor[k]) for k in range(len(labels))},
        {labels[k]: float(resp_w[k] / all_w[k]) for k in range(len(labels))},
    )


# -- raking ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RakeResult:
    """Raked weights and the record of how they were reached.

    `targets[variable][category]` are the population totals used (shares already turned
    into totals); `achieved` the weighted totals of the raked sample, equal to the targets
    within `tolerance`. `factors` = raked ÷ starting weight per unit. `max_error` is the
    largest |achieved − target| ÷ population total.
    """

    weights: np.ndarray
    factors: np.ndarray
    iterations: int
    max_error: float
    targets: Mapping[str, Mapping[Hashable, float]]
    achieved: Mapping[str, Mapping[Hashable, float]]
    steps: tuple[Step, ...]


def _targets(
    margins: Mapping[str, Mapping[Hashable, float]], population_total: float | None, base_total: float
) -> dict[str, dict[Hashable, float]]:
    """Turn each margin into population totals; shares (summing to 1) are scaled.

    All margins must describe the same population total, otherwise no set of weights can
    meet them all and raking would never converge.
    """
    kinds: dict[str, str] = {}
    for var, margin in margins.items():
        if not margin:
            raise ValueError(f"margin for {var!r} is empty")
        for cat, value in margin.items():
            if not isinstance(value, int | float) or math.isnan(value) or value < 0:
                raise ValueError(f"margin {var!r}, category {cat!r}: {value!r} is not a non-negative number")
        total = math.fsum(margin.values())
        if total <= 0:
            raise ValueError(f"margin for {var!r} sums to 0")
        kinds[var] = "share" if abs(total - 1) < 1e-9 else "total"
    totals = {var: math.fsum(margins[var].values()) for var in margins if kinds[var] == "total"}
    if totals:
        reference = next(iter(totals.values()))
        for var, total in totals.items():
            if abs(total - reference) > 1e-6 * reference:
                raise ValueError(
                    f"margins disagree on the population total: {var!r} sums to "
                    f"{total:g}, another margin to {reference:g}"
                )
        if population_total is not None and abs(population_total - reference) > 1e-6 * reference:
            raise ValueError(f"population_total {population_total:g} differs from the margins' total {reference:g}")
        scale = reference
    else:
        scale = population_total if population_total is not None else base_total
    return {
        var: {cat: float(v) * (scale if kinds[var] == "share" else 1.0) for cat, v in margin.items()}
        for var, margin in margins.items()
    }


def rake(
    weights: Sequence[float] | np.ndarray,
    variables: Mapping[str, Sequence[Hashable]],
    margins: Mapping[str, Mapping[Hashable, float]],
    *,
    population_total: float | None = None,
    tolerance: float = 1e-10,
    max_iterations: int = 100,
) -> RakeResult:
    """Iterative proportional fitting of `weights` to population margins.

    `variables[name]` gives each respondent's category, `margins[name]` the population
    total (or share) per category. Margins made of shares are scaled to `population_total`,
    or to the totals of the other margins, or else to the sum of the starting weights.

    Each iteration adjusts the weights to every margin in turn (as R's `rake` does by
    repeated post-stratification); it stops when no weighted margin is further from its
    target than `tolerance` × population total. Errors: a category in the sample that the
    margins lack (it could not be weighted), a margin category with a positive total but no
    respondent (an empty cell: nobody can stand for it), a variable without margin, and no
    convergence within `max_iterations` (`RakingError`).
    """
    w0 = as_float_array(weights, "weights")
    if w0.size == 0:
        raise ValueError("weights is empty: there are no respondents to rake")
    if np.any(w0 <= 0):
        raise ValueError("weights must be positive before raking")
    if set(variables) != set(margins):
        raise ValueError(f"variables {sorted(variables)} and margins {sorted(margins)} must name the same variables")
    targets = _targets(margins, population_total, float(w0.sum()))
    groups = []
    for var, cats in variables.items():
        same_length(f"variable {var!r}", cats, len(w0), "weights")
        labels, unit_codes = codes(cats)
        absent = [c for c in labels if c not in targets[var]]
        if absent:
            raise ValueError(
                f"variable {var!r}: categories {absent!r} occur in the sample but have no population margin"
            )
        empty = [c for c, t in targets[var].items() if t > 0 and c not in labels]
        if empty:
            raise ValueError(
                f"variable {var!r}: categories {empty!r} have a population total "
                "but no respondent (empty cell); merge them with another category"
            )
        zero = [c for c in labels if targets[var][c] == 0]
        if zero:
            raise ValueError(f"variable {var!r}: categories {zero!r} have respondents but a population total of 0")
        goal = np.array([targets[var][c] for c in labels])
        groups.append((var, labels, unit_codes, goal))
    scale = math.fsum(next(iter(targets.values())).values())
    w = w0.copy()
    error = math.inf
    iterations = 0
    for iterations in range(1, max_iterations + 1):  # noqa: B007 - the count is reported
        for _var, labels, unit_codes, goal in groups:
            have = np.bincount(unit_codes, weights=w, minlength=len(labels))
            w *= (goal / have)[unit_codes]
        error = (
            max(
                float(np.max(np.abs(np.bincount(c, weights=w, minlength=len(lab)) - goal)))
                for _v, lab, c, goal in groups
            )
            / scale
        )
        if error <= tolerance:
            break
    else:
        raise RakingError(
            f"raking did not converge in {max_iterations} iterations: a margin is "
            f"still off by {error:.3g} of the population; the margins may be "
            "inconsistent with the sample (e.g. a combination nobody answered)"
        )
    achieved = {
        var: {lab: float(v) for lab, v in zip(labels, np.bincount(c, weights=w, minlength=len(labels)), strict=True)}
        for var, labels, c, _goal in groups
    }
    k = kish(w)
    steps = (
        Step("iterations", iterations),
        Step("max_error", error),
        Step("smallest_factor", float((w / w0).min())),
        Step("largest_factor", float((w / w0).max())),
        Step("design_effect", k.design_effect),
        Step("effective_n", k.effective_n),
    )
    return RakeResult(w, w / w0, iterations, error, targets, achieved, steps)


# -- trimming ----------------------------------------------------------------------------


@dataclass(frozen=True)
class TrimResult:
    """Trimmed weights with the same total, and what trimming did.

    `lower`/`upper` are the absolute bounds applied (after turning relative bounds into
    absolute ones); `trimmed` counts units that ended at a bound; `moved` is the total weight
    taken from (or given to) the units outside the bounds in the first round.
    """

    weights: np.ndarray
    lower: float
    upper: float
    iterations: int
    trimmed: int
    moved: float
    steps: tuple[Step, ...]


def trim_weights(
    weights: Sequence[float] | np.ndarray,
    *,
    lower: float | None = None,
    upper: float | None = None,
    relative_to_mean: bool = False,
    strict: bool = True,
    max_iterations: int = 1000,
) -> TrimResult:
    """Cap weights at `upper` and raise them to `lower`, keeping their total.

    This is R's `survey::trimWeights`: weights outside the bounds are set to the bound and
    the trimmed amount is shared out *equally* (added, not multiplied) among the units that
    were inside. Sharing out can push units over a bound again; with `strict=True` (R's
    `strict=TRUE`) the step repeats until every weight is within bounds. With
    `relative_to_mean` the bounds are multiples of the mean weight (e.g. upper=3.5).
    """
    w = as_float_array(weights, "weights").copy()
    if w.size == 0:
        raise ValueError("weights is empty")
    if lower is None and upper is None:
        raise ValueError("give a lower or an upper bound (or both)")
    mean = float(w.mean())
    lo = -math.inf if lower is None else float(lower) * (mean if relative_to_mean else 1.0)
    hi = math.inf if upper is None else float(upper) * (mean if relative_to_mean else 1.0)
    if lo > hi:
        raise ValueError(f"lower bound {lo:g} is above upper bound {hi:g}")
    total = math.fsum(w)
    n = w.size
    if n * hi < total * (1 - 1e-12) or n * lo > total * (1 + 1e-12):
        raise ValueError(
            f"bounds [{lo:g}, {hi:g}] cannot keep the total {total:g} of {n} "
            "weights: every weight would have to lie outside them"
        )
    # A relative slack stops the loop from chasing float noise at the bound.
    slack_hi = hi + 1e-12 * abs(hi) if math.isfinite(hi) else hi
    slack_lo = lo - 1e-12 * abs(lo) if math.isfinite(lo) else lo
    iterations = 0
    moved = 0.0
    # Units once trimmed stay at their bound and take no share; otherwise the share pushes
    # them over the bound again and the repetition only converges geometrically. The end
    # result is R's strict=TRUE fixed point: bounded units at the bound, all others moved
    # by the same amount.
    fixed = np.zeros(n, dtype=bool)
    while True:
        outside = ~fixed & ((w < slack_lo) | (w > slack_hi))
        if not outside.any():
            break
        iterations += 1
        if iterations > max_iterations:
            raise ValueError(f"trimming did not settle within {max_iterations} rounds")
        clipped = np.clip(w, lo, hi)
        trimmings = math.fsum(w - clipped)
        if iterations == 1:
            moved = trimmings
        w = clipped
        fixed |= outside
        receivers = ~fixed
        if not receivers.any():
            # Everything sits at a bound: only units at the bound on the far side can take
            # the remainder (weight to give goes to those at the lower bound, and back).
            receivers = fixed & (np.isclose(w, lo) if trimmings > 0 else np.isclose(w, hi))
            fixed &= ~receivers
        if not receivers.any():
            raise ValueError("every weight is at a bound; nothing can take up the trimmed weight")
        w[receivers] += trimmings / receivers.sum()
        if not strict:
            break
    at_bound = int(np.sum(np.isclose(w, lo) | np.isclose(w, hi)))
    k0, k1 = kish(as_float_array(weights, "weights")), kish(w)
    steps = (
        Step("lower", lo),
        Step("upper", hi),
        Step("iterations", iterations),
        Step("trimmed_units", at_bound),
        Step("moved_weight", moved),
        Step("design_effect_before", k0.design_effect),
        Step("design_effect_after", k1.design_effect),
    )
    return TrimResult(w, lo, hi, iterations, at_bound, moved, steps)


# -- Kish --------------------------------------------------------------------------------


@dataclass(frozen=True)
class KishDesignEffect:
    """Kish's design effect due to unequal weights and the effective sample size.

    design_effect = n Σw² / (Σw)²; effective_n = (Σw)² / Σw² = n / design_effect: the number
    of equally weighted interviews that would give the same precision.
    """

    n: int
    sum_weights: float
    sum_squared_weights: float
    design_effect: float
    effective_n: float
    steps: tuple[Step, ...]


def kish(weights: Sequence[float] | np.ndarray) -> KishDesignEffect:
    w = as_float_array(weights, "weights")
    w = w[w != 0]  # nonrespondents with weight 0 are not interviews
    if w.size == 0:
        raise ValueError("there are no positive weights")
    if np.any(w < 0):
        raise ValueError("weights cannot be negative")
    s, s2 = math.fsum(w), math.fsum(w * w)
    deff = w.size * s2 / (s * s)
    neff = s * s / s2
    steps = (
        Step("n", int(w.size)),
        Step("sum_weights", s),
        Step("sum_squared_weights", s2),
        Step("design_effect", deff),
        Step("effective_n", neff),
    )
    return KishDesignEffect(int(w.size), s, s2, deff, neff, steps)
