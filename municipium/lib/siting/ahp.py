"""Analytic hierarchy process (Saaty): weights from a pairwise comparison matrix.

A judgement a[i][j] on Saaty's 1-9 scale says how much more criterion i matters than j (1
equal, 3 moderate, 5 strong, 7 very strong, 9 extreme, reciprocals the other way). The
weights are the principal right eigenvector, normalised to sum to 1; the consistency index
is CI = (lambda_max - n) / (n - 1) and the ratio CR = CI / RI with Saaty's random index.
CR >= 0.10 asks the experts to revisit their judgements; the ones most responsible are those
whose value is farthest from the ratio of the derived weights, |ln(a_ij w_j / w_i)|
(Saaty 2003, "Decision-making with the AHP: why is the principal eigenvector necessary").
Several experts' judgements are combined cell by cell by their geometric mean (Aczel and
Saaty 1983), which keeps the matrix reciprocal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

# Saaty's random consistency index by matrix order (Saaty 1980/1990; n = 1..15).
RANDOM_INDEX = (0.0, 0.0, 0.0, 0.58, 0.90, 1.12, 1.24, 1.32, 1.41, 1.45, 1.49, 1.51, 1.48, 1.56, 1.57, 1.59)
THRESHOLD = 0.10
SCALE_MIN, SCALE_MAX = 1 / 9, 9.0


class AHPError(ValueError):
    """A matrix that cannot be used. `code` names the fault for the app to word in the
    reader's language (this floor has no catalogue); `where` is the (row, column), 0-based,
    when one cell is at fault."""

    def __init__(self, code: str, message: str, where: tuple[int, int] | None = None):
        super().__init__(message)
        self.code = code
        self.where = where


@dataclass(frozen=True)
class Judgement:
    i: int
    j: int
    given: float  # a_ij as entered
    implied: float  # w_i / w_j from the derived weights
    error: float  # |ln(given / implied)|


@dataclass(frozen=True)
class Result:
    weights: tuple[float, ...]
    lambda_max: float
    ci: float
    ri: float
    cr: float
    responsible: tuple[Judgement, ...] = field(default_factory=tuple)

    @property
    def consistent(self) -> bool:
        return self.cr < THRESHOLD


def check(matrix) -> np.ndarray:
    """The matrix as floats, refused unless square, positive, on the 1/9..9 scale, with ones
    on the diagonal and reciprocal (a_ji = 1/a_ij, within 1 %)."""
    try:
        a = np.array(matrix, dtype=float)
    except (TypeError, ValueError) as error:
        raise AHPError("numeric", f"the matrix is not numeric: {error}") from error
    if a.ndim != 2 or a.shape[0] != a.shape[1] or a.shape[0] < 1:
        raise AHPError("square", "the matrix must be square")
    n = a.shape[0]
    if n > len(RANDOM_INDEX) - 1:
        raise AHPError("size", f"at most {len(RANDOM_INDEX) - 1} criteria can be compared")
    for i in range(n):
        for j in range(n):
            v = a[i, j]
            if not math.isfinite(v) or v <= 0:
                raise AHPError(
                    "positive", f"row {i + 1}, column {j + 1}: a judgement must be a positive number", (i, j)
                )
            if i == j and abs(v - 1) > 1e-9:
                raise AHPError(
                    "diagonal", f"row {i + 1}, column {j + 1}: a criterion compared with itself is 1", (i, j)
                )
            if not (SCALE_MIN - 1e-9 <= v <= SCALE_MAX + 1e-9):
                raise AHPError("scale", f"row {i + 1}, column {j + 1}: judgements run from 1/9 to 9", (i, j))
            if abs(v * a[j, i] - 1) > 0.01:
                raise AHPError(
                    "reciprocal",
                    f"row {i + 1}, column {j + 1}: the judgement is not the reciprocal of its mirror",
                    (i, j),
                )
    return a


def from_pairs(n: int, pairs: dict[tuple[int, int], float]) -> np.ndarray:
    """A full reciprocal matrix from the judgements above the diagonal {(i, j): a_ij}."""
    a = np.ones((n, n))
    for (i, j), v in pairs.items():
        if not (0 <= i < n and 0 <= j < n) or i == j:
            raise AHPError("pair", f"no such pair of criteria: {i + 1}, {j + 1}")
        a[i, j] = v
        a[j, i] = 1 / v if v else math.inf
    return a


def weights(matrix, top: int = 3) -> Result:
    a = check(matrix)
    n = a.shape[0]
    if n == 1:
        return Result((1.0,), 1.0, 0.0, 0.0, 0.0)
    values, vectors = np.linalg.eig(a)
    k = int(np.argmax(values.real))
    lam = float(values[k].real)
    w = np.abs(vectors[:, k].real)
    w = w / w.sum()
    ci = max((lam - n) / (n - 1), 0.0)
    ri = RANDOM_INDEX[n]
    cr = ci / ri if ri else 0.0
    judged = []
    for i in range(n):
        for j in range(i + 1, n):
            implied = w[i] / w[j]
            judged.append(Judgement(i, j, float(a[i, j]), float(implied), abs(math.log(a[i, j] / implied))))
    judged.sort(key=lambda g: -g.error)
    responsible = tuple(judged[:top]) if cr >= THRESHOLD else ()
    return Result(tuple(float(x) for x in w), lam, ci, ri, cr, responsible)


def group(matrices) -> np.ndarray:
    """Aggregation of individual judgements (AIJ): the cell-wise geometric mean."""
    checked = [check(m) for m in matrices]
    if not checked:
        raise AHPError("empty", "no expert's judgements to combine")
    shape = checked[0].shape
    if any(m.shape != shape for m in checked):
        raise AHPError("shape", "the experts compared different numbers of criteria")
    return np.exp(np.mean(np.log(np.stack(checked)), axis=0))
