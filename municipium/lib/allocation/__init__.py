"""Sharing the cost of a shared facility between municipalities: pure numpy/scipy, no Django.

A cost game over n participants gives the cost c(S) of serving every coalition S on its own
(coalitions are bit masks: bit i set = participant i is in S; c(0) = 0). From it:

- `shapley`: each participant's average marginal cost over all orders of joining (exact up
  to `EXACT_LIMIT` participants; beyond, `shapley_sampled` with its standard error);
- `scrb`: separable cost, remaining benefit (the water-resources engineers' method, as in the
  Tennessee Valley Authority tradition): each pays its separable cost c(N) − c(N∖i) and the
  non-separable rest in proportion to its remaining benefit c(i) − separable;
- `nucleolus`: the allocation that makes the most aggrieved coalition as little aggrieved as
  possible, then the next, and so on (a sequence of linear programs solved with HiGHS);
  coalitions are fixed only when the dual shows they are tight in every optimal solution, the
  correct procedure (Guajardo & Jörnsten 2015 list the mistake of fixing all tight ones);
- `core_check`: is an allocation individually rational and in the core (no coalition pays
  more together than it would alone)? If not, which coalition objects; `least_core` says
  whether any allocation is in the core at all.
Keys that need no game: `equal`, `proportional`, `two_part`; and `annualised` capital cost.

References and the worked examples the tests check are in tests/data/allocation/README.md.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

EXACT_LIMIT = 15  # 2^15 coalitions: exact methods stay well under a second
TOL = 1e-7


class AllocationError(ValueError):
    pass


# -- keys without a game ---------------------------------------------------------------------


def annualised(capital: float, rate: float, years: int) -> float:
    """The yearly payment that repays `capital` over `years` at `rate` (an annuity)."""
    import numpy_financial as npf

    if years <= 0:
        raise AllocationError(_("the lifetime must be at least one year"))
    if rate < 0:
        raise AllocationError(_("the interest rate cannot be negative"))
    if rate == 0:
        return capital / years
    return float(-npf.pmt(rate, years, capital))


def equal(total: float, n: int) -> list[float]:
    return [total / n] * n


def proportional(total: float, drivers: Sequence[float]) -> list[float]:
    weights = [float(d) for d in drivers]
    if any(w < 0 for w in weights):
        raise AllocationError(_("a driver cannot be negative"))
    whole = sum(weights)
    if whole <= 0:
        raise AllocationError(_("the drivers sum to zero: nothing to share by"))
    return [total * w / whole for w in weights]


def two_part(fixed: float, variable: float, fixed_drivers: Sequence[float], variable_drivers: Sequence[float]):
    """Fixed cost by one driver (e.g. reserved capacity), variable cost by another (m³)."""
    return [
        a + b for a, b in zip(proportional(fixed, fixed_drivers), proportional(variable, variable_drivers), strict=True)
    ]


# -- games -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Game:
    """A cost game: `costs[mask]` is c(S); costs[0] = 0."""

    n: int
    costs: np.ndarray

    @property
    def grand(self) -> int:
        return (1 << self.n) - 1

    def alone(self, i: int) -> float:
        return float(self.costs[1 << i])


def game(n: int, cost: Callable[[int], float] | dict[int, float] | Sequence[float]) -> Game:
    """A game from a function of the mask, a {mask: cost} mapping, or a list by mask."""
    if n < 1:
        raise AllocationError(_("a game needs at least one participant"))
    if n > EXACT_LIMIT:
        raise AllocationError(
            ngettext(
                "%(n)s participant is more than exact methods stop at (%(limit)s participants)",
                "%(n)s participants make too many coalitions; exact methods stop at %(limit)s participants",
                n,
            )
            % {"n": n, "limit": EXACT_LIMIT}
        )
    size = 1 << n
    costs = np.zeros(size)
    for mask in range(1, size):
        if callable(cost):
            value = cost(mask)
        elif isinstance(cost, dict):
            if mask not in cost:
                raise AllocationError(_("the cost of coalition %(members)s is missing") % {"members": members(mask)})
            value = cost[mask]
        else:
            value = cost[mask]
        if value is None or not math.isfinite(float(value)):
            raise AllocationError(_("the cost of coalition %(members)s is not a number") % {"members": members(mask)})
        costs[mask] = float(value)
    return Game(n, costs)


def members(mask: int) -> list[int]:
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def scale_economies(drivers: Sequence[float], *, fixed: float, unit: float, exponent: float) -> Callable[[int], float]:
    """c(S) = fixed + unit × (Σ drivers in S)^exponent: one plant for the coalition, with
    economies of scale when exponent < 1 (the "six-tenths rule" of engineering costs)."""
    key = tuple(drivers)
    loads: list[float] = []

    def cost(mask: int) -> float:
        if not loads:  # on the first call, which `game` makes only below its participant limit
            loads.extend(coalition_loads(key))
        return fixed + unit * loads[mask] ** exponent

    return cost


@functools.lru_cache(maxsize=16)
def coalition_loads(drivers: tuple[float, ...]) -> list[float]:
    """Σ drivers of every coalition, by mask: the same sums for a facility and each of its
    scenarios (a scenario changes the costs, not the drivers), and for the next request of
    the same page. Summed as before, one coalition at a time, so each is the same number to
    the last bit; 15 participants' 32,767 sums were 0.39 s of the cost-sharing page for each
    of the facility's three variants (issue 18)."""
    return [sum(drivers[i] for i in members(mask)) for mask in range(1 << len(drivers))]


def savings_game(g: Game) -> np.ndarray:
    """v(S) = Σ c(i) − c(S): what a coalition saves by building together."""
    singles = np.array([g.alone(i) for i in range(g.n)])
    masks = np.arange(1 << g.n)
    bits = (masks[:, None] >> np.arange(g.n)) & 1
    return bits @ singles - g.costs


def _bits(n: int) -> np.ndarray:
    masks = np.arange(1 << n)
    return ((masks[:, None] >> np.arange(n)) & 1).astype(np.int8)


def shapley(g: Game) -> list[float]:
    n = g.n
    bits = _bits(n)
    sizes = bits.sum(axis=1)
    weights = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n) for s in range(n)])
    masks = np.arange(1 << n)
    out = []
    for i in range(n):
        without = masks[bits[:, i] == 0]
        marginal = g.costs[without | (1 << i)] - g.costs[without]
        out.append(float(np.sum(weights[sizes[without]] * marginal)))
    return out


def shapley_sampled(n: int, cost: Callable[[int], float], *, samples: int = 2000, seed: int = 0):
    """Shapley values from random orders of joining, for games too large to enumerate:
    (values, standard errors)."""
    rng = np.random.default_rng(seed)
    sums = np.zeros(n)
    squares = np.zeros(n)
    for _sample in range(samples):
        mask, before = 0, 0.0
        for i in rng.permutation(n):
            mask |= 1 << int(i)
            after = cost(mask)
            sums[i] += after - before
            squares[i] += (after - before) ** 2
            before = after
    mean = sums / samples
    var = np.maximum(squares / samples - mean**2, 0.0)
    return mean.tolist(), np.sqrt(var / samples).tolist()


def scrb(g: Game) -> list[float]:
    total = float(g.costs[g.grand])
    separable = [total - float(g.costs[g.grand & ~(1 << i)]) for i in range(g.n)]
    remaining = [max(g.alone(i) - separable[i], 0.0) for i in range(g.n)]
    rest = total - sum(separable)
    whole = sum(remaining)
    if whole <= TOL:
        return [s + rest / g.n for s in separable]
    return [s + rest * r / whole for s, r in zip(separable, remaining, strict=True)]


def nucleolus(g: Game) -> list[float]:
    """The nucleolus of the cost game over imputations (x_i ≤ c(i), Σ x = c(N))."""
    from scipy.optimize import linprog

    n, grand = g.n, g.grand
    if sum(g.alone(i) for i in range(n)) < g.costs[grand] - TOL:
        raise AllocationError(_("no allocation is possible: building together costs more than everyone alone"))
    if n == 1:
        return [float(g.costs[grand])]
    bits = _bits(n).astype(float)
    free = list(range(1, grand))  # proper coalitions still in play
    fixed: list[tuple[int, float]] = []  # (coalition, its settled complaint)
    bounds = [(None, g.alone(i)) for i in range(n)] + [(None, None)]
    x = None
    for _round in range(2 * n + 2):
        # minimise t subject to x(S) − c(S) ≤ t (free S), x(S) − c(S) = e_S (fixed S), Σx = c(N)
        a_ub = np.hstack([bits[free], -np.ones((len(free), 1))])
        b_ub = g.costs[free]
        eq_rows = [np.append(np.ones(n), 0.0)] + [np.append(bits[s], 0.0) for s, _e in fixed]
        eq_rhs = [g.costs[grand]] + [g.costs[s] + e for s, e in fixed]
        result = linprog(
            np.append(np.zeros(n), 1.0),
            A_ub=a_ub,
            b_ub=b_ub,
            A_eq=np.array(eq_rows),
            b_eq=np.array(eq_rhs),
            bounds=bounds,
            method="highs",
        )
        if result.status != 0:
            raise AllocationError(_("the linear program failed: %(reason)s") % {"reason": result.message})
        x, t = result.x[:n], result.x[n]
        marginals = np.abs(result.ineqlin.marginals)
        tight = [s for s, m in zip(free, marginals, strict=True) if m > TOL]
        if not tight:  # degenerate duals: test each tight coalition whether it can move
            slack = bits[free] @ x - g.costs[free] - t
            candidates = [s for s, gap in zip(free, slack, strict=True) if abs(gap) <= 1e-6]
            tight = [s for s in candidates if not _can_relax(g, bits, free, fixed, s, t, bounds)]
            tight = tight or candidates[:1]
        fixed.extend((s, t) for s in tight)
        free = [s for s in free if s not in set(tight)]
        rows = np.array([bits[s] for s, _e in fixed] + [np.ones(n)])
        if np.linalg.matrix_rank(rows) >= n or not free:
            break
    if x is None:
        raise AllocationError(_("the nucleolus was not found"))
    return [float(v) for v in x]


def _can_relax(g, bits, free, fixed, s, t, bounds) -> bool:
    """Whether coalition s's complaint can fall below t while the others stay ≤ t."""
    from scipy.optimize import linprog

    n = g.n
    others = [f for f in free if f != s]
    a_ub = np.vstack([np.hstack([bits[others], np.zeros((len(others), 1))]), np.append(bits[s], 1.0)])
    b_ub = np.append(g.costs[others] + t, g.costs[s] + t)
    eq_rows = [np.append(np.ones(n), 0.0)] + [np.append(bits[f], 0.0) for f, _e in fixed]
    eq_rhs = [g.costs[g.grand]] + [g.costs[f] + e for f, e in fixed]
    result = linprog(
        np.append(np.zeros(n), -1.0),
        A_ub=a_ub,
        b_ub=b_ub,
        A_eq=np.array(eq_rows),
        b_eq=np.array(eq_rhs),
        bounds=bounds[:n] + [(0, None)],
        method="highs",
    )
    return result.status == 0 and -result.fun > 1e-6


@dataclass(frozen=True)
class CoreCheck:
    individually_rational: bool
    in_core: bool
    objecting: list[int] | None  # the coalition that would do better alone, if any
    excess: float  # how much more it pays together than alone (> 0 means it objects)


def core_check(g: Game, allocation: Sequence[float]) -> CoreCheck:
    """Does every coalition pay at most what it would alone? Checked over all coalitions."""
    x = np.asarray(allocation, dtype=float)
    bits = _bits(g.n).astype(float)
    complaints = bits[1 : g.grand] @ x - g.costs[1 : g.grand]
    worst = int(np.argmax(complaints)) + 1 if len(complaints) else g.grand
    excess = float(complaints.max()) if len(complaints) else 0.0
    rational = all(x[i] <= g.alone(i) + TOL for i in range(g.n))
    balanced = abs(float(x.sum()) - float(g.costs[g.grand])) <= 1e-6 * max(1.0, abs(float(g.costs[g.grand])))
    in_core = balanced and excess <= 1e-6 * max(1.0, abs(float(g.costs[g.grand])))
    return CoreCheck(rational, in_core, None if in_core else members(worst), excess)


def least_core(g: Game) -> float:
    """The smallest t for which some allocation keeps every coalition's complaint ≤ t; the
    core is empty exactly when t > 0."""
    from scipy.optimize import linprog

    n, grand = g.n, g.grand
    bits = _bits(n).astype(float)
    proper = list(range(1, grand))
    result = linprog(
        np.append(np.zeros(n), 1.0),
        A_ub=np.hstack([bits[proper], -np.ones((len(proper), 1))]),
        b_ub=g.costs[proper],
        A_eq=np.append(np.ones(n), 0.0)[None, :],
        b_eq=[g.costs[grand]],
        bounds=[(None, None)] * (n + 1),
        method="highs",
    )
    if result.status != 0:
        raise AllocationError(_("the linear program failed: %(reason)s") % {"reason": result.message})
    return float(result.x[n])
