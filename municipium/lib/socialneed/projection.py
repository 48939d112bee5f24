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
- `cohort_component_by_sex`: the same for a population by age band and sex, each sex with its
  own survival and migration; births come from the mothers' bands of one sex (usually
  women) and are split between the sexes by stated shares (e.g. 105 boys to 100 girls).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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
        rows.append(_step(current, widths, survival, births_per_person * sum(current[m] for m in mothers), migration))
    return rows


def _step(current, widths, survival, births: float, migration) -> list[float]:
    """One year: survival, ageing by 1/width of each closed band, births into the first band,
    then net migration."""
    survivors = [p * s for p, s in zip(current, survival, strict=True)]
    moving = [sv / w if w else 0.0 for sv, w in zip(survivors, widths, strict=True)]
    out = []
    for i in range(len(current)):
        value = survivors[i] - moving[i] + (moving[i - 1] if i else births)
        out.append(value * (1 + migration[i]))
    return out


def cohort_component_by_sex(
    population: Mapping[str, Sequence[float]],
    widths: Sequence[int | None],
    survival: Mapping[str, Sequence[float]],
    births_per_person: float,
    mothers: Sequence[int],
    mothers_sex: str,
    birth_shares: dict[str, float],
    migration: Mapping[str, Sequence[float]] | None = None,
    years: int = 1,
) -> list[dict[str, list[float]]]:
    """The population by sex and band after each yearly step (the first is the base). Births
    are `births_per_person` times the start-of-year population of the `mothers` bands of
    `mothers_sex`, split by `birth_shares` (one share per sex, adding up to 1)."""
    sexes = list(population)
    if not sexes or set(survival) != set(sexes) or set(birth_shares) != set(sexes):
        raise ProjectionError("give a survival ratio and a share of births for every sex")
    if mothers_sex not in population:
        raise ProjectionError("the mothers' sex must be one of the population's")
    if any(not 0 <= v <= 1 for v in birth_shares.values()) or abs(sum(birth_shares.values()) - 1) > 1e-9:
        raise ProjectionError("the shares of births by sex lie between 0 and 1 and add up to 1")
    migration = migration or {}
    for sex in sexes:  # the checks of one sex's projection, without births
        cohort_component(population[sex], widths, survival[sex], 0.0, [], migration.get(sex), 0)
    if births_per_person < 0 or any(not 0 <= m < len(widths) for m in mothers):
        raise ProjectionError("births cannot be negative and the mothers' bands must be bands of the population")
    zero = [0.0] * len(widths)
    rows = [{sex: list(map(float, population[sex])) for sex in sexes}]
    for _ in range(years):
        current = rows[-1]
        births = births_per_person * sum(current[mothers_sex][m] for m in mothers)
        rows.append(
            {
                sex: _step(current[sex], widths, survival[sex], births * birth_shares[sex], migration.get(sex) or zero)
                for sex in sexes
            }
        )
    return rows


def split_age_sex(codes: Sequence[str]) -> tuple[list[str], list[str]] | None:
    """The age bands and sexes of a cross breakdown whose categories are written
    "<band> <sex>" ("65-79 F", "80+ M"), in the order the bands first appear; None when the
    codes are not such a full cross of bands and sexes."""
    bands: list[str] = []
    sexes: list[str] = []
    pairs = set()
    for code in codes:
        parts = code.strip().rsplit(" ", 1)
        if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
            return None
        band, sex = parts[0].strip(), parts[1].strip()
        if band not in bands:
            bands.append(band)
        if sex not in sexes:
            sexes.append(sex)
        pairs.add((band, sex))
    if len(sexes) < 2 or len(pairs) != len(bands) * len(sexes) or len(pairs) != len(codes):
        return None
    return bands, sexes


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
