"""How many people to ask and whom: the sample-size calculator and the draws from a frame.

A coordinator uses `sample_size` (or `sample_size_by_stratum`) when planning: it turns the
wished margin of error into completed interviews and into the number of people to contact,
and returns each step so the page can explain it. After the sampling frame is imported,
`draw_simple`, `draw_systematic` or `draw_stratified` select the units with a seeded numpy
generator; the seed is returned so that the draw can be recorded and repeated, and each
selected unit carries its inclusion probability, from which the design weight follows.

Sample size for a proportion (Cochran 1977, §4.4; Krejcie & Morgan 1970):
    n0 = z² p (1 − p) / e²           (simple random sample from an infinite population)
    n1 = n0 × deff                   (clustered or weighted designs need more interviews)
    n  = n1 / (1 + (n1 − 1) / N)     (finite population correction, when N is known)
    completed = ⌈n⌉, contacts = ⌈completed / response rate⌉
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from municipium.lib.survey.common import Step, codes, z_for

# -- sample size -------------------------------------------------------------------------


@dataclass(frozen=True)
class SampleSize:
    """Completed interviews needed and people to contact, with the steps that lead there.

    Step keys: z, infinite_population_n, with_design_effect, with_finite_population,
    completed_interviews, response_rate, contacts.
    """

    margin_of_error: float
    confidence: float
    proportion: float
    population: int | None
    design_effect: float
    response_rate: float
    z: float
    completed: int
    contacts: int
    steps: tuple[Step, ...]


def _check_fraction(name: str, value: float, *, allow_one: bool = True) -> None:
    upper_ok = value <= 1 if allow_one else value < 1
    if not isinstance(value, int | float) or math.isnan(value) or not (0 < value and upper_ok):
        bound = "1" if allow_one else "1 (exclusive)"
        raise ValueError(f"{name} must be greater than 0 and at most {bound}, got {value!r}")


def sample_size(
    margin_of_error: float,
    *,
    confidence: float = 0.95,
    proportion: float = 0.5,
    population: int | None = None,
    design_effect: float = 1.0,
    response_rate: float = 1.0,
) -> SampleSize:
    """Completed interviews for a proportion to be known within ± `margin_of_error`.

    `margin_of_error` and `proportion` are fractions (0.05 = ±5 points). The expected
    proportion 0.5 is the safe default: it gives the largest sample. `population` is the
    number of units in the frame; when given, the finite population correction applies and
    the result never exceeds it.
    """
    _check_fraction("margin_of_error", margin_of_error, allow_one=False)
    _check_fraction("proportion", proportion, allow_one=False)
    _check_fraction("response_rate", response_rate)
    z = z_for(confidence)
    if not isinstance(design_effect, int | float) or not design_effect >= 1:
        raise ValueError(f"design_effect must be at least 1, got {design_effect!r}")
    if population is not None and (isinstance(population, bool) or not isinstance(population, int) or population < 1):
        raise ValueError(f"population must be a whole number of at least 1, got {population!r}")
    n0 = z * z * proportion * (1 - proportion) / margin_of_error**2
    n1 = n0 * design_effect
    steps = [Step("z", z), Step("infinite_population_n", n0), Step("with_design_effect", n1)]
    n = n1
    if population is not None:
        n = n1 / (1 + (n1 - 1) / population)
        steps.append(Step("with_finite_population", n))
    # A tiny tolerance keeps 384.0000000001 (float noise) from becoming 385.
    completed = max(1, math.ceil(n - 1e-9))
    if population is not None:
        completed = min(completed, population)
    contacts = math.ceil(completed / response_rate - 1e-9)
    if population is not None and contacts > population:
        # Not an error: the coordinator learns that a census of the frame is needed and even
        # that may not yield enough completed interviews at the expected response rate.
        contacts = population
    steps += [Step("completed_interviews", completed), Step("response_rate", response_rate), Step("contacts", contacts)]
    return SampleSize(
        margin_of_error,
        confidence,
        proportion,
        population,
        float(design_effect),
        response_rate,
        z,
        completed,
        contacts,
        tuple(steps),
    )


@dataclass(frozen=True)
class StratifiedSampleSize:
    """Per-stratum sample sizes (each stratum reported with its own precision) and totals."""

    strata: Mapping[Hashable, SampleSize]
    completed: int
    contacts: int


def sample_size_by_stratum(
    populations: Mapping[Hashable, int], margin_of_error: float, **options
) -> StratifiedSampleSize:
    """`sample_size` for every stratum, for when each area must be reported on its own.

    Options are those of `sample_size` (confidence, proportion, design_effect,
    response_rate). The total is what the whole survey costs; it is larger than one
    survey-wide sample because each stratum needs its own precision.
    """
    if not populations:
        raise ValueError("populations is empty: give the number of units per stratum")
    results = {}
    for stratum, size in populations.items():
        if size == 0:
            raise ValueError(f"stratum {stratum!r} has no units in the population")
        results[stratum] = sample_size(margin_of_error, population=size, **options)
    return StratifiedSampleSize(
        results, sum(r.completed for r in results.values()), sum(r.contacts for r in results.values())
    )


# -- draws -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Draw:
    """Selected frame positions (0-based, ascending) and each one's inclusion probability.

    `probabilities[i]` belongs to `positions[i]`. `seed` recreates the draw with
    `numpy.random.default_rng(seed)`. For stratified draws `allocation` gives the sample
    size per stratum and `stratum_sizes` the frame size per stratum.
    """

    method: str
    seed: int
    frame_size: int
    positions: np.ndarray
    probabilities: np.ndarray
    allocation: Mapping[Hashable, int] | None = None
    stratum_sizes: Mapping[Hashable, int] | None = None
    interval: float | None = None
    start: float | None = None


def _seed(seed: int | None) -> int:
    if seed is None:
        # Fresh entropy, returned to the caller so the draw is on record and repeatable.
        entropy = np.random.SeedSequence().entropy
        assert isinstance(entropy, int)  # SeedSequence() with no argument draws one int
        return entropy
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative whole number, got {seed!r}")
    return seed


def _check_n(n: int, frame_size: int, where: str = "the frame") -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise ValueError(f"sample size must be a whole number, got {n!r}")
    if frame_size == 0:
        raise ValueError(f"{where} is empty: there is nobody to draw")
    if n < 1:
        raise ValueError(f"sample size must be at least 1, got {n}")
    if n > frame_size:
        raise ValueError(f"sample size {n} is larger than {where} ({frame_size} units)")


def draw_simple(frame_size: int, n: int, *, seed: int | None = None) -> Draw:
    """Simple random sample without replacement: every unit has probability n/N."""
    _check_n(n, frame_size)
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    positions = np.sort(rng.choice(frame_size, size=n, replace=False))
    return Draw("simple", seed, frame_size, positions, np.full(n, n / frame_size))


def draw_systematic(frame_size: int, n: int, *, seed: int | None = None, sort_key: Sequence | None = None) -> Draw:
    """Systematic sample: a random start in [0, k) and then every k-th unit, k = N/n.

    The interval may be fractional, so exactly n units are drawn and each has probability
    n/N. With `sort_key` (one sortable value per frame unit, e.g. district then street) the
    frame is first ordered by it, which spreads the sample over the key (implicit
    stratification); ties keep frame order.
    """
    _check_n(n, frame_size)
    seed = _seed(seed)
    order = np.arange(frame_size)
    if sort_key is not None:
        if len(sort_key) != frame_size:
            raise ValueError(f"sort_key has {len(sort_key)} entries but the frame has {frame_size}")
        order = np.array(sorted(range(frame_size), key=lambda i: sort_key[i]), dtype=np.int64)
    rng = np.random.default_rng(seed)
    interval = frame_size / n
    start = float(rng.uniform(0, interval))
    picks = np.floor(start + interval * np.arange(n)).astype(np.int64)
    picks = np.minimum(picks, frame_size - 1)  # guards start + (n-1)k rounding to N
    positions = np.sort(order[picks])
    return Draw("systematic", seed, frame_size, positions, np.full(n, n / frame_size), interval=interval, start=start)


def allocate_proportional(stratum_sizes: Mapping[Hashable, int], n: int) -> dict[Hashable, int]:
    """Split n over strata in proportion to their sizes, by largest remainder (Hamilton).

    Every non-empty stratum gets at least one unit (otherwise it could not be estimated at
    all) and no stratum more than it has. The quota of stratum h is q = n N_h / N; each
    stratum first gets ⌊q⌋ (at least 1), then units are added to, or when the minimum of 1
    overshot taken from, the strata whose allocation is furthest from their quota. Ties go
    to the stratum listed first, so the result is deterministic.
    """
    names = list(stratum_sizes)
    sizes = np.array([stratum_sizes[s] for s in names], dtype=float)
    if len(names) == 0 or sizes.sum() == 0:
        raise ValueError("the frame is empty: there is nobody to draw")
    if np.any(sizes < 0):
        raise ValueError("stratum sizes cannot be negative")
    total = int(sizes.sum())
    _check_n(n, total)
    nonempty = sizes > 0
    if n < nonempty.sum():
        raise ValueError(
            f"sample size {n} is smaller than the number of non-empty strata "
            f"({int(nonempty.sum())}); each stratum needs at least one unit"
        )
    quota = n * sizes / total
    alloc = np.where(nonempty, np.maximum(1, np.floor(quota)), 0)
    alloc = np.minimum(alloc, sizes)
    while alloc.sum() < n:
        gap = np.where(alloc < sizes, quota - alloc, -np.inf)
        alloc[int(np.argmax(gap))] += 1
    while alloc.sum() > n:
        gap = np.where(alloc > 1, quota - alloc, np.inf)
        alloc[int(np.argmin(gap))] -= 1
    return {s: int(a) for s, a in zip(names, alloc, strict=True)}


def draw_stratified(
    strata: Sequence[Hashable],
    *,
    n: int | None = None,
    sizes: Mapping[Hashable, int] | None = None,
    seed: int | None = None,
) -> Draw:
    """Stratified simple random sample: proportional to size (give `n`) or set sizes.

    `strata` gives each frame unit's stratum. With `sizes` every stratum of the frame must
    be listed (0 is allowed, and means the stratum is not surveyed); a stratum that is not
    in the frame is an error, as is a size larger than its stratum. Inclusion probability of
    a unit in stratum h is n_h / N_h.
    """
    if (n is None) == (sizes is None):
        raise ValueError("give either n (proportional allocation) or sizes (per stratum), not both")
    frame_size = len(strata)
    if frame_size == 0:
        raise ValueError("the frame is empty: there is nobody to draw")
    labels, unit_codes = codes(strata)
    counts = np.bincount(unit_codes, minlength=len(labels))
    stratum_sizes = {label: int(c) for label, c in zip(labels, counts, strict=True)}
    if n is not None:
        allocation = allocate_proportional(stratum_sizes, n)
    else:
        assert sizes is not None  # the caller gives n or sizes (checked above)
        unknown = [s for s in sizes if s not in stratum_sizes]
        if unknown:
            raise ValueError(f"sizes name strata that are not in the frame: {unknown!r}")
        missing = [s for s in stratum_sizes if s not in sizes]
        if missing:
            raise ValueError(f"sizes do not say how many to draw from strata {missing!r}")
        allocation = {}
        for s in labels:
            want = sizes[s]
            if isinstance(want, bool) or not isinstance(want, int | np.integer) or want < 0:
                raise ValueError(f"size for stratum {s!r} must be a whole number ≥ 0, got {want!r}")
            if want > stratum_sizes[s]:
                raise ValueError(f"size {want} for stratum {s!r} is larger than the stratum ({stratum_sizes[s]} units)")
            allocation[s] = int(want)
        if sum(allocation.values()) == 0:
            raise ValueError("sizes ask for no units at all")
    seed = _seed(seed)
    rng = np.random.default_rng(seed)
    chosen, probs = [], []
    for k, s in enumerate(labels):
        members = np.flatnonzero(unit_codes == k)
        take = allocation[s]
        if take:
            chosen.append(rng.choice(members, size=take, replace=False))
            probs.append(np.full(take, take / len(members)))
    positions = np.concatenate(chosen)
    probabilities = np.concatenate(probs)
    order = np.argsort(positions)
    return Draw(
        "stratified",
        seed,
        frame_size,
        positions[order],
        probabilities[order],
        allocation=allocation,
        stratum_sizes=stratum_sizes,
    )
