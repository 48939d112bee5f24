"""Shared pieces of the survey library: the explanation step, normal quantiles, checks.

A coordinator never sees this module directly; it gives every other module the same way of
recording *how* a number came about (`Step`) and the same normal quantile, so that a sample
size and a confidence interval computed for the same confidence level use the same z.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

_NORMAL = NormalDist()


@dataclass(frozen=True)
class Step:
    """One intermediate result: `key` is a stable code the app translates, `value` the number.

    Keys are lower_snake_case and documented where the step is produced; the app maps them
    to sentences ("with 95% confidence we use z = 1.96") in the coordinator's language.
    """

    key: str
    value: float | int | str


def z_for(confidence: float) -> float:
    """Two-sided normal quantile, e.g. 1.959964 for 0.95 (R's `qnorm(0.975)`)."""
    if not isinstance(confidence, int | float) or math.isnan(confidence) or not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1 (exclusive), got {confidence!r}")
    return _NORMAL.inv_cdf(0.5 + confidence / 2)


def two_sided_p(z: float) -> float:
    """P(|Z| ≥ |z|) for a standard normal Z."""
    return 2 * (1 - _NORMAL.cdf(abs(z)))


def as_float_array(values: Sequence[float] | np.ndarray, name: str) -> np.ndarray:
    """1-d float array; a clear error names the argument when it is not numeric or not finite."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must contain only numbers") from error
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains missing or infinite values")
    return array


def same_length(name: str, values: Sequence | np.ndarray, n: int, other: str) -> None:
    if len(values) != n:
        raise ValueError(f"{name} has {len(values)} entries but {other} has {n}")


def codes(labels: Sequence | np.ndarray) -> tuple[list, np.ndarray]:
    """Distinct labels in order of first appearance and each unit's index into them.

    First-appearance order (not sorted) keeps mixed label types (None, ints, strings) usable
    and makes results list strata in the order the frame has them.
    """
    index: dict = {}
    out = np.empty(len(labels), dtype=np.int64)
    for i, label in enumerate(labels):
        out[i] = index.setdefault(label, len(index))
    return list(index), out
