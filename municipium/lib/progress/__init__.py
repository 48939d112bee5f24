"""Progress of a plan's indicators towards their targets: pure arithmetic, no Django.

- `achieved`: how far from the baseline to the target a value has come, in % (the linear
  measure every plan reports: (actual − baseline) / (target − baseline) × 100);
- `expected`: where the indicator should be by a year if it moved from baseline to target on
  a straight line, or at a constant growth rate;
- `ratio` and `status`: the progress made against the progress expected by now. On a constant
  growth rate this is the Statistics Canada / Open SDG measure, the observed compound annual
  growth rate over the one required to reach the target on time, R = CAGR_observed /
  CAGR_required, judged against thresholds (95 % on track, 60 % at risk by default; the
  method and its published worked example are cited in tests/data/progress/README.md); on a
  straight line it is the same ratio of distances covered;
- `rollup`: progress of a goal from its children's, plain or weighted mean.

Polarity is carried by the direction from baseline to target; `direction` says whether higher
values are better (+1) or lower (−1), and a target set against it is refused by the caller.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

ON_TRACK = 0.95
AT_RISK = 0.60


class ProgressError(ValueError):
    pass


def achieved(actual: float, baseline: float, target: float) -> float | None:
    """Share of the way from baseline to target covered by `actual`, in %. 100 = target met;
    negative = moved away. When the target equals the baseline there is no way to cover."""
    if target == baseline:
        return None
    return (actual - baseline) / (target - baseline) * 100.0


def expected(
    baseline: float, target: float, baseline_year: int, target_year: int, year: int, *, trajectory: str = "linear"
) -> float:
    """The value expected in `year` on the way from baseline to target."""
    if target_year <= baseline_year:
        raise ProgressError("the target year must come after the baseline year")
    share = min(max((year - baseline_year) / (target_year - baseline_year), 0.0), 1.0)
    if trajectory == "growth":
        if baseline <= 0 or target <= 0:
            raise ProgressError("a constant growth rate needs a positive baseline and target")
        return baseline * (target / baseline) ** share
    return baseline + (target - baseline) * share


def cagr(start: float, end: float, years: float) -> float:
    """Compound annual growth rate from `start` to `end` over `years`."""
    if years <= 0:
        raise ProgressError("growth needs at least one year between the values")
    if start <= 0 or end <= 0:
        raise ProgressError("a growth rate needs positive values")
    return (end / start) ** (1.0 / years) - 1.0


def ratio(
    actual: float,
    year: int,
    baseline: float,
    baseline_year: int,
    target: float,
    target_year: int,
    *,
    trajectory: str = "linear",
) -> float | None:
    """Progress made over progress expected by `year` (1 = exactly on the path)."""
    if year <= baseline_year or target == baseline:
        return None
    if trajectory == "growth":
        observed = cagr(baseline, actual, year - baseline_year)
        required = cagr(baseline, target, target_year - baseline_year)
        return observed / required if required else None
    due = expected(baseline, target, baseline_year, target_year, year)
    return (actual - baseline) / (due - baseline) if due != baseline else None


def met(actual: float, target: float, direction: int) -> bool:
    return actual >= target if direction > 0 else actual <= target


@dataclass(frozen=True)
class Thresholds:
    on_track: float = ON_TRACK
    at_risk: float = AT_RISK

    def __post_init__(self):
        if not (self.at_risk < self.on_track):
            raise ProgressError("the at-risk threshold must be below the on-track threshold")


def status(
    actual: float | None,
    year: int | None,
    baseline: float,
    baseline_year: int,
    target: float,
    target_year: int,
    *,
    direction: int,
    trajectory: str = "linear",
    thresholds: Thresholds = Thresholds(),
) -> str:
    """achieved, on_track, at_risk, off_track, or unknown (no value, no time passed)."""
    if actual is None or year is None:
        return "unknown"
    if met(actual, target, direction) and (target - baseline) * direction >= 0:
        return "achieved"
    try:
        r = ratio(actual, year, baseline, baseline_year, target, target_year, trajectory=trajectory)
    except ProgressError:
        r = ratio(actual, year, baseline, baseline_year, target, target_year, trajectory="linear")
    if r is None or math.isnan(r):
        return "unknown"
    if r >= thresholds.on_track:
        return "on_track"
    if r >= thresholds.at_risk:
        return "at_risk"
    return "off_track"


def rollup(children: Sequence[tuple[float | None, float | None]], *, weighted: bool) -> float | None:
    """A parent's progress from its children's (progress, weight) pairs. Children without a
    progress are left out; weighted means renormalise over those present. Weights of the
    children must sum to 1 (checked by `check_weights` when the plan is saved)."""
    present = [(p, w) for p, w in children if p is not None]
    if not present:
        return None
    if weighted:
        total = sum((w or 0.0) for _p, w in present)
        if total <= 0:
            return None
        return sum(p * (w or 0.0) for p, w in present) / total
    return sum(p for p, _w in present) / len(present)


def check_weights(weights: Iterable[float | None], *, tolerance: float = 1e-6) -> float | None:
    """None when the weights are all empty or sum to 1 (or 100 %); else their sum, to report."""
    given = [w for w in weights if w is not None]
    if not given:
        return None
    total = sum(given)
    if abs(total - 1.0) <= tolerance or abs(total - 100.0) <= tolerance * 100:
        return None
    return total
