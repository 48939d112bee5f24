"""Target populations carried forward to a planning year.

Two methods, both with their assumptions stated because a planner must be able to say them
to a council:

- `constant_rate`: each age band (or sex) grows or shrinks every year at the rate it had
  between two observed years, compounded: P(t) = P(0) · (1 + r)^t.
- `cohort_component`: a simple cohort-component projection by broad age bands, in yearly
  steps. Assumptions: (1) rates are constant over the horizon; (2) people are spread evenly
  over the years of a closed band, so each year 1/width of a band's survivors move up to the
  next band; the last band is open; (3) survivors of each band are P·s, s its yearly survival
  ratio; (4) births in a year are the births-per-person rate times the start-of-year
  population of the bands named as mothers' bands, enter the first band and are counted as
  survivors of their first year; (5) net migration is a yearly rate per band applied after
  ageing and births.
"""

from __future__ import annotations

from collections.abc import Sequence


class ProjectionError(ValueError):
    pass


def growth_rate(earlier: float, later: float, years: int) -> float:
    """The yearly compound rate that takes `earlier` to `later` in `years` years."""
    if years <= 0:
        raise ProjectionError("the later year must come after the earlier one")
    if earlier <= 0 or later < 0:
        raise ProjectionError("a growth rate needs a positive earlier population")
    return float((later / earlier) ** (1 / years) - 1)


def constant_rate(base: dict[str, float], rates: dict[str, float], years: int) -> dict[str, float]:
    if years < 0:
        raise ProjectionError("cannot project backwards")
    missing = set(base) - set(rates)
    if missing:
        raise ProjectionError("no rate for " + ", ".join(sorted(missing)))
    for code, rate in rates.items():
        if rate <= -1:
            raise ProjectionError(f"the rate of {code} would empty the band")
    return {code: value * (1 + rates[code]) ** years for code, value in base.items()}


def cohort_component(
    population: Sequence[float],
    widths: Sequence[int | None],
    survival: Sequence[float],
    births_per_person: float,
    mothers: Sequence[int],
    migration: Sequence[float] | None = None,
    years: int = 1,
) -> list[list[float]]:
    """The population by band after each of `years` yearly steps (the first row is the base).
    `widths` are the bands' widths in years, None for the open last band."""
    k = len(population)
    migration = list(migration) if migration is not None else [0.0] * k
    if not (len(widths) == len(survival) == len(migration) == k) or k == 0:
        raise ProjectionError("give a width, a survival ratio and a migration rate for every band")
    if any(w is None for w in widths[:-1]) or any(w is not None and w < 1 for w in widths):
        raise ProjectionError("only the last band may be open; a closed band is at least a year wide")
    if any(not (0 <= s <= 1) for s in survival):
        raise ProjectionError("a survival ratio lies between 0 and 1")
    if births_per_person < 0 or any(p < 0 for p in population):
        raise ProjectionError("populations and birth rates cannot be negative")
    if any(not (0 <= m < k) for m in mothers):
        raise ProjectionError("the mothers' bands must be bands of the population")
    if any(m <= -1 for m in migration):
        raise ProjectionError("net migration cannot take away more than a band")
    rows = [list(map(float, population))]
    for _ in range(years):
        current = rows[-1]
        survivors = [p * s for p, s in zip(current, survival, strict=True)]
        moving = [sv / w if w else 0.0 for sv, w in zip(survivors, widths, strict=True)]
        births = births_per_person * sum(current[m] for m in mothers)
        nxt = []
        for i in range(k):
            value = survivors[i] - moving[i] + (moving[i - 1] if i else births)
            nxt.append(value * (1 + migration[i]))
        rows.append(nxt)
    return rows


def band_widths(codes: Sequence[str]) -> list[int | None]:
    """Widths in years of age bands written "0-14", "15-64", "80+" (the open last band: None).
    The bands must follow each other without gaps or overlaps."""
    import re

    widths: list[int | None] = []
    expected = None
    for n, code in enumerate(codes):
        closed = re.fullmatch(r"\s*(\d+)\s*[-–]\s*(\d+)\s*", code)
        open_ = re.fullmatch(r"\s*(\d+)\s*\+\s*", code)
        if closed:
            low, high = int(closed[1]), int(closed[2])
            if high < low:
                raise ProjectionError(f"the age band {code} ends before it starts")
            width: int | None = high - low + 1
        elif open_ and n == len(codes) - 1:
            low, width = int(open_[1]), None
        else:
            raise ProjectionError(f"{code} is not an age band such as 15-64, or an open last band such as 80+")
        if expected is not None and low != expected:
            raise ProjectionError(f"the age band {code} does not follow the one before it")
        expected = low + width if width else None
        widths.append(width)
    return widths
