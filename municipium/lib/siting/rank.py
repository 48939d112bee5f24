"""How much land a landfill needs, and which candidate site is best.

Required area (the usual sizing of a sanitary landfill, e.g. Tchobanoglous, Theisen and
Vigil 1993, ch. 11): the waste of the design period, year by year from a population growing
at a constant rate, P_t = P_0 (1 + r)^t, times the waste generated per person per day; its
volume at the compacted density; plus the daily and final cover as a share of the waste
volume; the footprint at the mean fill height; grossed up for the share of the site taken
by roads, buildings, buffers and drainage.

TOPSIS (Hwang and Yoon 1981): vector-normalised decision matrix, weighted, distances to the
ideal and anti-ideal alternatives, relative closeness C = d- / (d+ + d-), highest best.

Sensitivity: one weight at a time raised and lowered by a share (20 %), the others
rescaled in proportion so that the weights still sum to 1; and Monte-Carlo draws, each weight
multiplied by a uniform factor in [1 - s, 1 + s] and the set renormalised; for each
candidate, its rank under every change.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np


class RankError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Need:
    tonnes: float  # waste over the design period
    waste_m3: float
    cover_m3: float
    footprint_m2: float  # the fill itself
    area_m2: float  # the whole site


def required_area(
    population: float,
    growth: float,
    years: int,
    kg_per_person_day: float,
    density_t_m3: float,
    fill_height_m: float,
    cover_share: float,
    infrastructure_share: float,
) -> Need:
    checks = [
        ("population", population > 0),
        ("growth", -0.5 < growth < 0.5),
        ("years", 1 <= years <= 100),
        ("generation", 0 < kg_per_person_day <= 10),
        ("density", 0.1 <= density_t_m3 <= 2.0),
        ("height", 1 <= fill_height_m <= 200),
        ("cover", 0 <= cover_share < 1),
        ("infrastructure", 0 <= infrastructure_share < 1),
    ]
    for code, ok in checks:
        if not ok:
            raise RankError(code, f"{code} is out of range")
    people = sum(population * (1 + growth) ** t for t in range(years))
    tonnes = people * kg_per_person_day * 365 / 1000
    waste = tonnes / density_t_m3
    cover = waste * cover_share
    footprint = (waste + cover) / fill_height_m
    return Need(tonnes, waste, cover, footprint, footprint / (1 - infrastructure_share))


def haul(sites: Sequence[tuple[float, float]], sources: Sequence[tuple[float, float, float]]):
    """Straight-line haul from each source (x, y, tonnes) to each site (x, y), projected
    metres: (distances in km [site][source], tonne-weighted mean km per site)."""
    d = [[math.hypot(sx - x, sy - y) / 1000 for x, y, _t in sources] for sx, sy in sites]
    total = sum(t for *_xy, t in sources)
    means = [sum(di * t for di, (*_xy, t) in zip(row, sources)) / total if total else 0.0 for row in d]
    return d, means


def topsis(matrix, weights, benefit: Sequence[bool]) -> np.ndarray:
    """Relative closeness of each alternative (rows) on the criteria (columns)."""
    x = np.asarray(matrix, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != len(benefit) or x.shape[0] < 1:
        raise RankError("matrix", "one row per alternative and one column per criterion")
    if not np.isfinite(x).all():
        raise RankError("matrix", "the decision matrix has a missing value")
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (x.shape[1],) or (w < 0).any() or w.sum() <= 0:
        raise RankError("weights", "one non-negative weight per criterion")
    w = w / w.sum()
    norms = np.sqrt((x**2).sum(axis=0))
    norms[norms == 0] = 1.0
    v = x / norms * w
    good = np.where(benefit, v.max(axis=0), v.min(axis=0))
    bad = np.where(benefit, v.min(axis=0), v.max(axis=0))
    d_plus = np.sqrt(((v - good) ** 2).sum(axis=1))
    d_minus = np.sqrt(((v - bad) ** 2).sum(axis=1))
    total = d_plus + d_minus
    return np.where(total > 0, d_minus / np.where(total > 0, total, 1), 1.0)


def ranks(scores) -> list[int]:
    """1 for the highest score; ties share the better rank."""
    s = list(scores)
    return [1 + sum(1 for other in s if other > mine + 1e-12) for mine in s]


def shifted(weights, k: int, change: float) -> np.ndarray:
    """Weights with w_k multiplied by (1 + change) and the others rescaled in proportion."""
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    new_k = min(max(w[k] * (1 + change), 0.0), 1.0)
    rest = 1 - w[k]
    out = w * ((1 - new_k) / rest) if rest > 0 else np.zeros_like(w)
    out[k] = new_k
    return out


@dataclass(frozen=True)
class Stability:
    base_rank: list[int]
    one_at_a_time: list[dict]  # {criterion, change, ranks}
    draws: int
    rank_share: list[list[float]]  # [candidate][rank - 1] share of draws
    best_share: list[float]
    min_rank: list[int]
    max_rank: list[int]


def sensitivity(
    weights,
    rank_for: Callable[[np.ndarray], list[int]],
    share: float = 0.2,
    draws: int = 500,
    seed: int = 1,
) -> Stability:
    """How the candidates' ranks move with the criterion weights. `rank_for(weights)` gives
    the candidates' ranks under a set of weights."""
    if not (0 < share < 1):
        raise RankError("share", "the change must be between 0 and 100 %")
    if not (0 <= draws <= 100_000):
        raise RankError("draws", "too many draws")
    w = np.asarray(weights, dtype=np.float64)
    w = w / w.sum()
    base = rank_for(w)
    n = len(base)
    oat: list[dict] = []
    for k in range(len(w)):
        for change in (-share, share):
            oat.append({"criterion": k, "change": change, "ranks": rank_for(shifted(w, k, change))})
    rng = np.random.default_rng(seed)
    counts = np.zeros((n, n), dtype=np.int64)
    low, high = list(base), list(base)
    for _ in range(draws):
        drawn = w * rng.uniform(1 - share, 1 + share, size=w.shape)
        r = rank_for(drawn / drawn.sum())
        for c, rank in enumerate(r):
            counts[c, rank - 1] += 1
            low[c], high[c] = min(low[c], rank), max(high[c], rank)
    for entry in oat:
        entry_ranks: list[int] = entry["ranks"]
        for c, rank in enumerate(entry_ranks):
            low[c], high[c] = min(low[c], rank), max(high[c], rank)
    shares = (counts / draws).tolist() if draws else [[0.0] * n for _ in range(n)]
    return Stability(base, oat, draws, shares, [row[0] for row in shares], low, high)
