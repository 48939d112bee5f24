"""Synthetic demo observations: plausible, consistent, deterministic — and not real.

`generate(catalog, units)` yields long-format rows (the import format) for every
municipality and every yearly variable of a catalogue. Each unit gets a profile (population,
area, how urban it is, its country's price and service levels) and a few latent factors
(wealth, efficiency, quality) that drift smoothly over the years with a little noise. Each
variable has a rule in RULES that builds its value from the profile and from other
variables, so the indicators come out plausible and the figures agree with each other:
billed ≤ produced, served ≤ population, recycled + landfilled ≤ collected, compliant
samples ≤ samples, the categories of a breakdown add up to the population, and so on.

A variable without a rule is still generated: from an indicator that reads it as a share
of another variable (`100 * x / y` → x is a share of y), as a rate per inhabitant
(`1000 * x / population`), or else by its unit of measure. New catalogue entries therefore
get sensible numbers at once, and a rule here only makes them better.

Every row says "Synthetic demo data — not real figures". Values are a pure function of
(seed, unit, variable, year), so reordering the catalogue or the units changes nothing.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

SOURCE = "Synthetic demo data — not real figures"
REPORTING_KINDS = ("municipality", "utility")
# A utility reports only its own service area's figures.
UTILITY_AREAS = ("water",)
UTILITY_VARIABLES = ("population",)

MISSING_SHARE = 0.03
MISSING_CODES = (("not_collected", 0.8), ("not_shared", 0.15), ("confidential", 0.05))
ABSENT_SHARE = 0.006  # (unit, variable) pairs with no rows at all (never population or area)
OPEN_YEAR_STATUSES = (("draft", 0.3), ("submitted", 0.4), ("approved", 0.3))

# --- profiles -----------------------------------------------------------------------------

# Country levels. Money is in EUR. Shares are fractions; each unit varies around them.
COUNTRIES = {
    # wealth (relative), household size, women share, age shares 0-14 / 65-79 / 80+, then
    # service levels by area: water, waste, roads, housing, taxes, investment.
    "RS": dict(
        wealth=0.45,
        hh=2.9,
        women=0.513,
        young=0.140,
        old=0.155,
        oldest=0.050,
        water_cov=0.85,
        sewer_cov=0.60,
        lpcd=165,
        nrw=0.38,
        tariff=0.55,
        cost_cov=0.92,
        collect=0.86,
        treated=0.30,
        compliance=0.94,
        bursts=70,
        staff=6.5,
        waste_kg=330,
        waste_cov=0.85,
        separate=0.06,
        landfill=0.92,
        waste_cost=45,
        fee_cov=0.75,
        dumps=12,
        paved=0.60,
        good=0.45,
        road_cost=2500,
        accidents=13,
        pt=0.6,
        dwellings=5,
        rent=0.8,
        arrears=0.35,
        maint=3.5,
        tax_collect=0.70,
        arrears_tax=0.60,
        own=0.45,
        capex=0.16,
        external=0.30,
        permit_days=18,
        permits=2.5,
        on_time=0.80,
        digital_map=0.85,
        addressed=0.80,
        extract_days=7,
        homecare=0.008,
        care_hours=150,
        hour_cost=4.0,
        care_places=20,
        place_cost=4000,
        care_wait=60,
        assistance=0.045,
        daycare=5,
    ),
    "PL": dict(
        wealth=0.80,
        hh=2.6,
        women=0.517,
        young=0.153,
        old=0.145,
        oldest=0.045,
        water_cov=0.95,
        sewer_cov=0.85,
        lpcd=100,
        nrw=0.15,
        tariff=1.80,
        cost_cov=1.02,
        collect=0.97,
        treated=1.00,
        compliance=0.99,
        bursts=18,
        staff=2.6,
        waste_kg=350,
        waste_cov=1.00,
        separate=0.32,
        landfill=0.38,
        waste_cost=190,
        fee_cov=0.95,
        dumps=1.5,
        paved=0.78,
        good=0.60,
        road_cost=12000,
        accidents=6,
        pt=1.0,
        dwellings=25,
        rent=2.6,
        arrears=0.25,
        maint=16,
        tax_collect=0.94,
        arrears_tax=0.12,
        own=0.40,
        capex=0.20,
        external=0.40,
        permit_days=45,
        permits=5.0,
        on_time=0.90,
        digital_map=0.97,
        addressed=0.97,
        extract_days=5,
        homecare=0.015,
        care_hours=300,
        hour_cost=9.0,
        care_places=30,
        place_cost=18000,
        care_wait=120,
        assistance=0.035,
        daycare=8,
    ),
    "BG": dict(
        wealth=0.45,
        hh=2.4,
        women=0.515,
        young=0.140,
        old=0.170,
        oldest=0.055,
        water_cov=0.98,
        sewer_cov=0.70,
        lpcd=105,
        nrw=0.58,
        tariff=1.00,
        cost_cov=1.00,
        collect=0.93,
        treated=0.70,
        compliance=0.96,
        bursts=110,
        staff=5.0,
        waste_kg=400,
        waste_cov=0.99,
        separate=0.20,
        landfill=0.60,
        waste_cost=70,
        fee_cov=0.90,
        dumps=6,
        paved=0.80,
        good=0.40,
        road_cost=3000,
        accidents=10,
        pt=0.6,
        dwellings=7,
        rent=1.1,
        arrears=0.20,
        maint=4.5,
        tax_collect=0.82,
        arrears_tax=0.35,
        own=0.35,
        capex=0.18,
        external=0.55,
        permit_days=21,
        permits=3.0,
        on_time=0.75,
        digital_map=0.80,
        addressed=0.85,
        extract_days=5,
        homecare=0.015,
        care_hours=150,
        hour_cost=5.0,
        care_places=18,
        place_cost=5000,
        care_wait=200,
        assistance=0.03,
        daycare=5,
    ),
    "LT": dict(
        wealth=0.90,
        hh=2.3,
        women=0.530,
        young=0.150,
        old=0.150,
        oldest=0.060,
        water_cov=0.85,
        sewer_cov=0.75,
        lpcd=90,
        nrw=0.24,
        tariff=1.20,
        cost_cov=1.02,
        collect=0.97,
        treated=1.00,
        compliance=0.99,
        bursts=22,
        staff=2.8,
        waste_kg=460,
        waste_cov=0.995,
        separate=0.40,
        landfill=0.25,
        waste_cost=120,
        fee_cov=1.00,
        dumps=1.0,
        paved=0.45,
        good=0.50,
        road_cost=4500,
        accidents=10,
        pt=0.8,
        dwellings=8,
        rent=1.5,
        arrears=0.10,
        maint=7,
        tax_collect=0.93,
        arrears_tax=0.15,
        own=0.25,
        capex=0.15,
        external=0.50,
        permit_days=14,
        permits=6.0,
        on_time=0.92,
        digital_map=0.95,
        addressed=0.97,
        extract_days=2,
        homecare=0.022,
        care_hours=220,
        hour_cost=8.0,
        care_places=50,
        place_cost=10000,
        care_wait=120,
        assistance=0.04,
        daycare=11,
    ),
    "IR": dict(
        wealth=0.25,
        hh=3.3,
        women=0.493,
        young=0.240,
        old=0.055,
        oldest=0.012,
        water_cov=0.98,
        sewer_cov=0.55,
        lpcd=215,
        nrw=0.27,
        tariff=0.15,
        cost_cov=0.70,
        collect=0.90,
        treated=0.75,
        compliance=0.97,
        bursts=45,
        staff=4.0,
        waste_kg=300,
        waste_cov=0.98,
        separate=0.07,
        landfill=0.80,
        waste_cost=20,
        fee_cov=0.50,
        dumps=3,
        paved=0.92,
        good=0.55,
        road_cost=3000,
        accidents=20,
        pt=0.7,
        dwellings=1,
        rent=0.6,
        arrears=0.20,
        maint=2.5,
        tax_collect=0.75,
        arrears_tax=0.40,
        own=0.65,
        capex=0.35,
        external=0.25,
        permit_days=60,
        permits=4.0,
        on_time=0.60,
        digital_map=0.45,
        addressed=0.70,
        extract_days=12,
        homecare=0.002,
        care_hours=80,
        hour_cost=2.0,
        care_places=7,
        place_cost=2000,
        care_wait=60,
        assistance=0.07,
        daycare=3,
    ),
}
DEFAULT_COUNTRY = dict(COUNTRIES["PL"], wealth=1.0)

# Real places: population around 2016 (rounded), yearly growth, area in km², how urban
# (0 rural … 1 fully urban). Synthetic figures start from these so the demo looks right.
PLACES = {
    "RS-70670": (124_000, -0.011, 854, 0.55),
    "RS-70343": (15_300, -0.016, 606, 0.25),
    "RS-70262": (11_100, -0.015, 306, 0.30),
    "RS-70017": (24_900, -0.014, 387, 0.25),
    "RS-71196": (8_900, -0.011, 124, 0.45),
    "RS-70378": (17_000, -0.016, 249, 0.20),
    "RS-71170": (45_400, -0.015, 448, 0.40),
    "PL-1002011": (44_400, -0.009, 33.6, 1.0),
    "PL-0461011": (353_900, -0.008, 176, 1.0),
    "PL-3006023": (45_700, -0.002, 200, 0.60),
    "PL-1406043": (29_600, -0.005, 246, 0.55),
    "PL-1420011": (22_400, -0.004, 11.6, 1.0),
    "PL-1438011": (40_700, -0.006, 14.4, 1.0),
    "BG-PAZ03": (5_900, -0.020, 679, 0.50),
    "BG-PAZ04": (8_100, -0.018, 317, 0.40),
    "BG-PAZ06": (9_000, -0.018, 228, 0.40),
    "BG-PAZ08": (34_200, -0.014, 800, 0.60),
    "BG-PAZ14": (4_900, -0.020, 220, 0.10),
    "BG-PAZ19": (111_000, -0.014, 637, 0.65),
    "BG-PAZ20": (23_300, -0.012, 541, 0.70),
    "BG-PAZ21": (18_400, -0.013, 135, 0.80),
    "BG-PAZ24": (14_500, -0.009, 294, 0.60),
    "BG-PAZ29": (24_600, -0.015, 353, 0.35),
    "BG-PAZ32": (4_700, -0.022, 198, 0.40),
    "BG-PAZ39": (5_500, -0.008, 305, 0.55),
    "LT-02": (54_600, -0.008, 40, 1.0),
    "LT-03": (27_400, -0.010, 1404, 0.10),
    "LT-07": (21_700, -0.006, 453, 0.75),
    "LT-24": (20_700, -0.016, 1310, 0.20),
    "LT-55": (23_500, -0.016, 2218, 0.35),
    "IR-QOM-01": (1_201_000, 0.014, 270, 1.0),
    "IR-QOM-02": (3_300, 0.010, 6, 0.9),
    "IR-QOM-03": (3_400, 0.010, 5, 0.9),
    "IR-QOM-04": (1_600, 0.010, 4, 0.9),
    "IR-QOM-05": (2_100, 0.010, 4, 0.9),
    "IR-QOM-06": (8_900, 0.012, 6, 0.9),
}
BASE_YEAR = 2016

# Breakdown categories when the catalogue does not list them.
DEFAULT_CATEGORIES = {"sex": ["F", "M"], "age_band": ["0-14", "15-64", "65-79", "80+"]}


def _stable_random(*key) -> random.Random:
    # random.Random(str) hashes the text with SHA-512: the same on every run and platform.
    return random.Random("|".join(str(k) for k in key))


def _pick(rng: random.Random, weighted) -> str:
    x, total = rng.random(), 0.0
    for value, weight in weighted:
        total += weight
        if x < total:
            return value
    return weighted[-1][0]


@dataclass
class Profile:
    """What a unit is like: the fixed ground its yearly figures grow from."""

    code: str
    country: str
    population: float
    growth: float
    area: float
    urban: float
    levels: dict
    seed: int
    merged: list = field(default_factory=list)  # (profile, first year) of units merged into this one

    @classmethod
    def of(cls, unit: dict, seed: int, parent: Profile | None = None) -> Profile:
        code = unit["code"]
        country = code.split("-")[0]
        levels = COUNTRIES.get(country, DEFAULT_COUNTRY)
        if parent is not None:  # a utility serves its municipality
            return cls(code, country, parent.population, parent.growth, parent.area, parent.urban, levels, seed)
        if code in PLACES:
            population, growth, area, urban = PLACES[code]
        else:  # an unknown place: a plausible small town, different for each code
            rng = _stable_random(seed, code, "profile")
            population = round(math.exp(rng.gauss(math.log(20_000), 0.9)), -2)
            growth = rng.gauss(-0.005, 0.008)
            area = round(population / math.exp(rng.gauss(math.log(80), 1.0)), 1)
            urban = min(1.0, max(0.05, 0.25 + 0.15 * math.log10(population / 5_000)))
        return cls(code, country, population, growth, area, urban, levels, seed)

    def factor(self, name: str, sd: float) -> float:
        """A unit's fixed lognormal deviation from its country level (the same every year)."""
        return math.exp(_stable_random(self.seed, self.code, "factor", name).gauss(0, sd))

    def z(self, name: str) -> float:
        return _stable_random(self.seed, self.code, "z", name).gauss(0, 1)


class Year:
    """One unit's figures for one year, computed on demand so rules can read each other."""

    def __init__(self, profile: Profile, year: int, rules: dict):
        self.p, self.year, self.rules = profile, year, rules
        self.t = year - BASE_YEAR
        self.values: dict[str, float | dict] = {}
        self._busy: set[str] = set()

    def __call__(self, code: str):
        if code not in self.values:
            if code in self._busy:
                raise RuntimeError(f"synthetic rules depend on each other in a circle at {code}")
            self._busy.add(code)
            self.values[code] = self.rules[code](self)
            self._busy.discard(code)
        return self.values[code]

    # Helpers the rules are written in.
    def lvl(self, name: str) -> float:
        return self.p.levels[name]

    def noise(self, name: str, sd: float = 0.03) -> float:
        """A small year-to-year wobble (lognormal, mean about 1)."""
        return math.exp(_stable_random(self.p.seed, self.p.code, "noise", name, self.year).gauss(0, sd))

    def share(
        self, name: str, level: float, spread: float = 0.4, trend: float = 0.0, low=0.0, high=1.0, wobble: float = 0.08
    ) -> float:
        """A fraction near `level`: the unit's own offset (on the logit scale), a smooth yearly
        trend (logit units per year, e.g. 0.05) and a little noise, kept inside [low, high]."""
        level = min(max(level, 1e-4), 1 - 1e-4)
        logit = math.log(level / (1 - level)) + spread * self.p.z(name) + trend * self.t
        logit += _stable_random(self.p.seed, self.p.code, "wobble", name, self.year).gauss(0, wobble)
        return min(high, max(low, 1 / (1 + math.exp(-logit))))

    def level(self, name: str, base: float, spread: float = 0.2, growth: float = 0.0, sd: float = 0.03) -> float:
        """A positive amount near `base`: unit offset, yearly growth (e.g. 0.04 = 4 %/year), noise."""
        return base * self.p.factor(name, spread) * (1 + growth) ** self.t * self.noise(name, sd)

    def wealth(self) -> float:
        return self.lvl("wealth") * self.p.factor("wealth", 0.15) * (1.03**self.t)

    def prices(self) -> float:
        """Price level: about 3 % a year, with the 2022–2023 inflation jump."""
        jump = 1.0 if self.year < 2022 else (1.10 if self.year == 2022 else 1.18)
        return (1.025**self.t) * jump

    @property
    def pop(self) -> float:
        return self("population")


def _count(x: float) -> int:
    return max(0, int(round(x)))


# --- rules ----------------------------------------------------------------------------


def _population(y: Year) -> int:
    p = y.p
    total = p.population * (1 + p.growth) ** y.t * y.noise("population", 0.002)
    for other, since in p.merged:
        if y.year >= since:
            total += Year(other, y.year, y.rules)("population")
    return _count(total)


def _area(y: Year) -> float:
    return round(y.p.area + sum(o.area for o, since in y.p.merged if y.year >= since), 2)


def _by_sex(y: Year) -> dict:
    women = _count(y.pop * y.share("women", y.lvl("women"), spread=0.03, wobble=0.003, low=0.47, high=0.56))
    return {"F": women, "M": y.pop - women}


def _by_age(y: Year) -> dict:
    rural = 1 - y.p.urban  # the countryside is older
    young = y.share("young", y.lvl("young") * (1 - 0.1 * rural), spread=0.1, trend=-0.01, wobble=0.01)
    old = y.share("old", y.lvl("old") * (1 + 0.25 * rural), spread=0.12, trend=0.02, wobble=0.01)
    oldest = y.share("oldest", y.lvl("oldest") * (1 + 0.3 * rural), spread=0.15, trend=0.02, wobble=0.01)
    bands = {"0-14": _count(y.pop * young), "65-79": _count(y.pop * old), "80+": _count(y.pop * oldest)}
    bands["15-64"] = y.pop - sum(bands.values())
    return {k: bands[k] for k in ("0-14", "15-64", "65-79", "80+")}


# Women's share of each age band: about even among children, more among the old (women
# live longer). Synthetic round figures, not statistics.
WOMEN_BY_AGE = {"0-14": 0.487, "15-64": 0.497, "65-79": 0.55, "80+": 0.64}


def _by_age_sex(y: Year) -> dict:
    out = {}
    for band, people in _by_age(y).items():
        women = _count(people * WOMEN_BY_AGE[band])
        out[f"{band} F"], out[f"{band} M"] = women, people - women
    return {f"{band} {sex}": out[f"{band} {sex}"] for sex in "FM" for band in WOMEN_BY_AGE}


def _water_rules() -> dict:
    urban = lambda y: y.p.urban  # noqa: E731
    return {
        "water_pop_served": lambda y: _count(
            y.pop
            * y.share("water_cov", y.lvl("water_cov") * (0.85 + 0.15 * urban(y)), spread=0.5, trend=0.04, high=0.998)
        ),
        "sewer_pop_served": lambda y: _count(
            min(
                y("water_pop_served"),
                y.pop
                * y.share("sewer_cov", y.lvl("sewer_cov") * (0.6 + 0.4 * urban(y)), spread=0.5, trend=0.05, high=0.99),
            )
        ),
        # litres per person and day billed to households
        "water_billed_households": lambda y: _count(
            y("water_pop_served") * y.level("lpcd", y.lvl("lpcd"), 0.12, -0.005) * 365 / 1000
        ),
        "water_billed": lambda y: _count(y("water_billed_households") / y.share("household_part", 0.75, 0.3)),
        "water_produced": lambda y: _count(
            y("water_billed") / (1 - y.share("nrw", y.lvl("nrw"), 0.35, -0.03, 0.05, 0.75))
        ),
        "water_connections": lambda y: _count(
            y("water_pop_served") / (2.6 + 9 * urban(y) ** 2) * y.noise("wconn", 0.01)
        ),
        "sewer_connections": lambda y: _count(
            y("sewer_pop_served") / (2.6 + 9 * urban(y) ** 2) * y.noise("sconn", 0.01)
        ),
        "water_staff": lambda y: round(
            (y("water_connections") + y("sewer_connections")) * y.level("staff", y.lvl("staff"), 0.25, -0.015) / 1000, 1
        ),
        "water_revenue_billed": lambda y: round(
            y("water_billed") * y.level("tariff", y.lvl("tariff"), 0.2) * y.prices()
        ),
        "water_opex": lambda y: round(
            y("water_revenue_billed") / y.level("cost_cov", y.lvl("cost_cov"), 0.1, 0.0, 0.04)
        ),
        "water_revenue_collected": lambda y: round(
            y("water_revenue_billed") * y.share("collect", y.lvl("collect"), 0.5, 0.03, 0.5, 1.0)
        ),
        "wastewater_collected": lambda y: _count(
            y("water_billed")
            * y("sewer_pop_served")
            / max(1, y("water_pop_served"))
            * y.level("infiltration", 1.15, 0.08)
        ),
        "wastewater_treated": lambda y: _count(
            y("wastewater_collected")
            * (
                0.0
                if y.lvl("treated") < 0.5 and y.p.urban < 0.3  # small Serbian towns: no treatment plant yet
                else y.share("treated", y.lvl("treated"), 0.8, 0.1, 0.0, 1.0)
            )
        ),
        "water_samples_total": lambda y: _count((12 + y("water_pop_served") * 0.0015) * y.noise("samples", 0.05)),
        "water_samples_compliant": lambda y: min(
            y("water_samples_total"),
            _count(y("water_samples_total") * y.share("compliance", y.lvl("compliance"), 0.6, 0.05, 0.6, 1.0)),
        ),
        "water_mains_length": lambda y: round(
            y("water_pop_served") * (2.5 + 10 * (1 - urban(y))) / 1000 * y.p.factor("mains", 0.15), 1
        ),
        "water_bursts": lambda y: _count(
            y("water_mains_length") * y.level("bursts", y.lvl("bursts"), 0.35, -0.02, 0.1) / 100
        ),
    }


def _waste_rules() -> dict:
    def recycled_share(y):
        return min(y("waste_separate") / max(1, y("waste_collected")) * 0.75 + 0.02, 0.95)

    return {
        "waste_collected": lambda y: _count(
            y.pop * y.level("waste_kg", y.lvl("waste_kg"), 0.12, 0.01) * (0.8 + 0.2 * y.p.urban) / 1000
        ),
        "waste_pop_covered": lambda y: _count(
            y.pop * y.share("waste_cov", y.lvl("waste_cov") * (0.8 + 0.2 * y.p.urban), 0.6, 0.08, high=1.0)
        ),
        "waste_separate": lambda y: _count(
            y("waste_collected") * y.share("separate", y.lvl("separate"), 0.4, 0.08, 0.005, 0.7)
        ),
        "waste_recycled": lambda y: _count(y("waste_collected") * recycled_share(y)),
        "waste_landfilled": lambda y: _count(
            y("waste_collected")
            * min(1 - recycled_share(y), y.share("landfill", y.lvl("landfill"), 0.4, -0.06, 0.0, 1.0))
        ),
        "waste_cost": lambda y: round(
            y("waste_collected") * y.level("waste_cost", y.lvl("waste_cost"), 0.2) * y.prices()
        ),
        "waste_fee_revenue": lambda y: round(y("waste_cost") * y.level("fee_cov", y.lvl("fee_cov"), 0.1, 0.005, 0.03)),
        "waste_illegal_dumps": lambda y: _count(y.pop * y.level("dumps", y.lvl("dumps"), 0.5, -0.04, 0.15) / 10_000),
    }


def _roads_rules() -> dict:
    return {
        "roads_length": lambda y: round(
            y("area_km2") * (0.5 + 4.5 * y.p.urban**2) * y.p.factor("road_density", 0.2) * (1.003**y.t), 1
        ),
        "roads_paved_length": lambda y: round(y("roads_length") * y.share("paved", y.lvl("paved"), 0.5, 0.04), 1),
        "roads_good_length": lambda y: round(y("roads_paved_length") * y.share("good", y.lvl("good"), 0.5, 0.02), 1),
        "roads_maintenance_cost": lambda y: round(
            y("roads_length")
            * y.level("road_cost", y.lvl("road_cost"), 0.3, 0.0, 0.08)
            * (0.6 + 0.8 * y.p.urban)
            * y.prices()
        ),
        "road_injury_accidents": lambda y: _count(
            y.pop * y.level("accidents", y.lvl("accidents"), 0.25, -0.02, 0.08) / 10_000
        ),
        # journeys per inhabitant: a few in villages, hundreds in big cities
        "pt_passengers": lambda y: _count(
            y.pop
            * y.lvl("pt")
            * y.level("pt_trips", 4 + 60 * y.p.urban**2 * math.log10(max(10, y.pop) / 5_000 + 1), 0.3, 0.01, 0.04)
            * (0.75 if y.year in (2020, 2021) else 1.0)
        ),  # the pandemic years
        "pt_vehicle_km": lambda y: _count(y("pt_passengers") / y.level("load", 3.0 + 2 * y.p.urban, 0.2)),
        "pt_pop_near_stop": lambda y: _count(y.pop * y.share("stop_cov", 0.45 + 0.5 * y.p.urban, 0.5, 0.02, high=0.99)),
        "streetlight_length": lambda y: round(y("roads_length") * y.share("lit", 0.25 + 0.6 * y.p.urban, 0.4, 0.03), 1),
    }


def _housing_rules() -> dict:
    def allocated(y):
        return max(1, _count(y("housing_dwellings") * y.share("turnover", 0.035, 0.3)))

    return {
        "housing_dwellings": lambda y: _count(
            y.pop * y.level("dwellings", y.lvl("dwellings"), 0.5, -0.005, 0.005) / 1000
        ),
        "housing_vacant": lambda y: _count(y("housing_dwellings") * y.share("vacancy", 0.04, 0.5, 0.0, 0.0, 0.3)),
        "housing_floor_area": lambda y: _count(y("housing_dwellings") * y.level("dwelling_m2", 47, 0.1, 0.0, 0.003)),
        "housing_rent_due": lambda y: round(
            y("housing_floor_area") * 12 * y.level("rent", y.lvl("rent"), 0.2) * y.prices()
        ),
        "housing_rent_arrears": lambda y: round(
            y("housing_rent_due") * y.share("rent_arrears", y.lvl("arrears"), 0.4, -0.02)
        ),
        "housing_maintenance_cost": lambda y: round(
            y("housing_floor_area") * y.level("maint", y.lvl("maint"), 0.25, 0.0, 0.08) * y.prices()
        ),
        "housing_waiting_list": lambda y: _count(y("housing_dwellings") * y.share("waiting", 0.12, 0.6)),
        "housing_allocated": allocated,
        "housing_waiting_months_total": lambda y: _count(allocated(y) * y.level("wait_months", 30, 0.4, 0.0, 0.15)),
    }


def _taxes_rules() -> dict:
    return {
        # per inhabitant, rising with the price level; larger towns have more taxable property
        "tax_local_due": lambda y: round(
            y.pop
            * 120
            * y.wealth()
            * y.prices()
            * (0.7 + 0.5 * y.p.urban)
            * y.p.factor("tax_base", 0.2)
            * y.noise("tax_due", 0.02)
        ),
        "tax_local_collected": lambda y: round(
            y("tax_local_due") * y.share("tax_collect", y.lvl("tax_collect"), 0.5, 0.04, 0.4, 0.995)
        ),
        "tax_arrears": lambda y: round(
            y("tax_local_due") * y.share("tax_arrears", y.lvl("arrears_tax"), 0.4, -0.03, 0.01, 2.0)
        ),
        "tax_property_revenue": lambda y: round(y("tax_local_collected") * y.share("property_part", 0.55, 0.3)),
        "fee_revenue": lambda y: round(
            y.pop * 18 * y.wealth() * y.prices() * y.p.factor("fees", 0.3) * y.noise("fees", 0.05)
        ),
        "revenue_own": lambda y: round(
            (y("tax_local_collected") + y("fee_revenue")) * y.level("own_other", 1.6, 0.15, 0.0, 0.04)
        ),
        "revenue_total": lambda y: round(y("revenue_own") / y.share("own", y.lvl("own"), 0.3, 0.0, 0.1, 0.9)),
        "tax_collection_cost": lambda y: round(y("tax_local_collected") * y.share("tax_cost", 0.025, 0.4, -0.02)),
        "tax_payments_total": lambda y: _count(y.pop / y.lvl("hh") * y.level("payments", 2.2, 0.2, 0.0, 0.03)),
        "tax_payments_online": lambda y: _count(
            y("tax_payments_total") * y.share("online", 0.12 + 0.25 * y.wealth(), 0.5, 0.22, 0.0, 0.97)
        ),
    }


def _geodesy_rules() -> dict:
    return {
        "geo_digital_map_area": lambda y: round(
            y("area_km2") * y.share("digital_map", y.lvl("digital_map"), 0.6, 0.12, 0.0, 1.0), 2
        ),
        "geo_plan_area": lambda y: round(
            y("area_km2") * y.share("plan", 0.05 + 0.6 * y.p.urban**2, 0.5, 0.04, 0.0, 1.0), 2
        ),
        "geo_buildings_total": lambda y: _count(
            y.pop * 1.3 / (2.6 + 10 * y.p.urban**2) * (1.004**y.t) * y.p.factor("buildings", 0.1)
        ),
        "geo_buildings_addressed": lambda y: _count(
            y("geo_buildings_total") * y.share("addressed", y.lvl("addressed"), 0.5, 0.08, 0.0, 1.0)
        ),
        "geo_requests_total": lambda y: _count(y.pop * y.level("geo_requests", 35, 0.3, 0.0, 0.06) / 1000),
        "geo_requests_online": lambda y: _count(
            y("geo_requests_total") * y.share("geo_online", 0.1 + 0.3 * y.wealth(), 0.5, 0.25, 0.0, 0.98)
        ),
        "geo_extracts_issued": lambda y: _count(y("geo_requests_total") * y.share("extracts", 0.6, 0.3)),
        "geo_extract_days_total": lambda y: _count(
            y("geo_extracts_issued") * y.level("extract_days", y.lvl("extract_days"), 0.3, -0.04, 0.08)
        ),
        "geo_surveys_received": lambda y: _count(y.pop * y.level("surveys", 5, 0.3, 0.01, 0.08) / 1000),
        "geo_surveys_on_time": lambda y: _count(
            y("geo_surveys_received") * y.share("surveys_on_time", 0.85, 0.6, 0.05)
        ),
        "geo_cost": lambda y: round(
            y("geo_requests_total") * y.level("geo_cost", 50, 0.25, 0.0, 0.05) * y.wealth() * y.prices()
        ),
    }


def _social_rules() -> dict:
    def users(y):  # home care users by age band: a share of each band, far higher among the oldest
        rate = y.lvl("homecare") * y.p.factor("homecare", 0.3) * (1.02**y.t) * y.noise("homecare", 0.04)
        ages = y("population_by_age")
        per_band = {"0-14": 0.02, "15-64": 0.08, "65-79": 1.0, "80+": 4.5}
        return {band: _count(ages[band] * rate * per_band.get(band, 1.0)) for band in ages}

    def oldest(y):
        return y("population_by_age")["80+"]

    def places(y):
        return max(2, _count(oldest(y) * y.level("care_places", y.lvl("care_places"), 0.35, 0.01, 0.02) / 1000))

    return {
        "homecare_users": users,
        "homecare_hours": lambda y: _count(
            sum(users(y).values()) * y.level("care_hours", y.lvl("care_hours"), 0.3, 0.0, 0.05)
        ),
        "homecare_cost": lambda y: round(
            y("homecare_hours") * y.level("hour_cost", y.lvl("hour_cost"), 0.2, 0.0, 0.04) * y.prices()
        ),
        "residential_care_places": places,
        "residential_care_cost": lambda y: round(
            places(y) * y.level("place_cost", y.lvl("place_cost"), 0.2, 0.0, 0.04) * y.prices()
        ),
        "residential_admissions": lambda y: max(1, _count(places(y) * y.share("admissions", 0.3, 0.3))),
        "residential_waiting_days_total": lambda y: _count(
            y("residential_admissions") * y.level("care_wait", y.lvl("care_wait"), 0.4, 0.0, 0.15)
        ),
        "social_assistance_recipients": lambda y: _count(
            y.pop * y.share("assistance", y.lvl("assistance"), 0.3, -0.03)
        ),
        "daycare_disability_places": lambda y: _count(
            y.pop * y.level("daycare", y.lvl("daycare"), 0.4, 0.02, 0.02) / 10_000
        ),
    }


def _investment_rules() -> dict:
    def cycle(y):  # EU funding periods: investment peaks before elections and at period ends
        return {2016: 0.75, 2017: 0.9, 2018: 1.15, 2019: 1.2, 2020: 1.0, 2021: 0.95, 2022: 1.05, 2023: 1.25}.get(
            y.year, 1.0
        )

    def projects(y):
        return max(1, _count(y.pop * y.level("projects", 1.2, 0.3, 0.0, 0.25) * cycle(y) / 10_000))

    return {
        "expenditure_total": lambda y: round(y("revenue_total") * y.level("deficit", 1.02, 0.03, 0.0, 0.03)),
        "capex": lambda y: round(
            y("expenditure_total")
            * min(0.6, y.lvl("capex") * y.p.factor("capex", 0.25) * cycle(y) * y.noise("capex", 0.1))
        ),
        "capex_external": lambda y: round(y("capex") * y.share("external", y.lvl("external"), 0.5, 0.0, 0.0, 0.95)),
        "permits_issued": lambda y: max(
            1, _count(y.pop * y.level("permits", y.lvl("permits"), 0.35, 0.01, 0.1) / 1000)
        ),
        "permits_days_total": lambda y: _count(
            y("permits_issued") * y.level("permit_days", y.lvl("permit_days"), 0.3, -0.03, 0.08)
        ),
        "permits_on_time": lambda y: _count(
            y("permits_issued") * y.share("permits_on_time", y.lvl("on_time"), 0.6, 0.08)
        ),
        "projects_completed": projects,
        "projects_on_time": lambda y: _count(projects(y) * y.share("projects_on_time", 0.65, 0.6, 0.02)),
        "projects_on_budget": lambda y: _count(projects(y) * y.share("projects_on_budget", 0.7, 0.6, 0.02)),
    }


RULES = {
    "population": _population,
    "population_by_sex": _by_sex,
    "population_by_age": _by_age,
    "population_by_age_sex": _by_age_sex,
    "area_km2": _area,
    "households": lambda y: _count(y.pop / (y.lvl("hh") * y.p.factor("hh", 0.05) * (1 - 0.006 * y.t))),
    **_water_rules(),
    **_waste_rules(),
    **_roads_rules(),
    **_housing_rules(),
    **_taxes_rules(),
    **_investment_rules(),
    **_geodesy_rules(),
    **_social_rules(),
}


# --- fallback rules for variables RULES does not know ----------------------------------


def _text(value) -> str:
    if isinstance(value, dict):
        return str(value.get("en") or next(iter(value.values()), ""))
    return str(value or "")


SHARE_FORMULA = re.compile(r"^\s*100\s*\*\s*([A-Za-z_]\w*)\s*/\s*([A-Za-z_]\w*)\s*$")
RATE_FORMULA = re.compile(r"^\s*(\d+)\s*\*\s*([A-Za-z_]\w*)\s*/\s*population\s*$")
PER_CAPITA_FORMULA = re.compile(r"^\s*([A-Za-z_]\w*)\s*/\s*population\s*$")

# By unit of measure (English text): amount per inhabitant, and whether it is a count.
BY_UNIT = {
    "eur": (60.0, True),
    "persons": (0.01, True),
    "m³": (50.0, True),
    "t": (0.3, True),
    "km": (0.004, False),
    "m²": (2.0, True),
    "inhabitants": (0.6, True),
    "households": (0.02, True),
    "fte": (0.002, False),
    "hours": (0.5, False),
    "months": (0.01, True),
}


def _fallback_rule(variable: dict, indicators: list[dict]):
    code = variable["code"]
    unit = _text(variable.get("unit")).strip().lower()
    low, high = variable.get("min"), variable.get("max")

    for indicator in indicators:  # read as a percentage of another variable: a share of it
        match = SHARE_FORMULA.match(indicator.get("formula", ""))
        if match and match[1] == code and match[2] != code:
            whole = match[2]

            def share_of(y, whole=whole):
                total = y(whole)
                total = sum(total.values()) if isinstance(total, dict) else total
                value = total * y.share(code, 0.6, 0.6, 0.03, 0.0, 1.0)
                return _count(value) if float(total).is_integer() else round(value, 1)

            return share_of
    for indicator in indicators:  # a rate per 1 000 / 10 000 inhabitants, or per inhabitant
        formula = indicator.get("formula", "")
        rate = RATE_FORMULA.match(formula)
        if rate and rate[2] == code:
            per = float(rate[1])
            return lambda y, per=per: _count(y.pop * y.level(code, 5.0, 0.4, 0.0, 0.05) / per)
        if PER_CAPITA_FORMULA.match(formula) and PER_CAPITA_FORMULA.match(formula)[1] == code:
            return lambda y: round(y.pop * y.level(code, 50.0, 0.3) * (y.wealth() * y.prices() if unit == "eur" else 1))

    if unit == "%" or (low is not None and high is not None and float(low) >= 0 and float(high) <= 100):
        lo, hi = float(low or 0), float(high if high is not None else 100)
        return lambda y: round(lo + (hi - lo) * y.share(code, 0.6, 0.6, 0.03), 1)
    per_inhabitant, is_count = BY_UNIT.get(unit, (0.001, True))

    def amount(y):
        value = y.pop * y.level(code, per_inhabitant, 0.3, 0.01)
        if unit == "eur":
            value *= y.wealth() * y.prices()
        return _count(value) if is_count else round(value, 1)

    return amount


def _clamp(value, variable):
    low, high = variable.get("min"), variable.get("max")
    if low is not None and value < low:
        value = type(value)(low)
    if high is not None and value > high:
        value = type(value)(high)
    return value


# --- the generator ----------------------------------------------------------------------


def generate(
    catalog: dict,
    units: list[dict],
    years: Iterable[int] = range(2016, 2026),
    seed: int = 2026,
    *,
    successions: Iterable[dict] = (),
) -> Iterator[dict]:
    """Yield synthetic observation rows for every reporting unit and yearly variable.

    catalog: the merged starter catalogue ({"variables": [...], "indicators": [...],
    "breakdowns": [...]}, as in municipium/catalog/starter/*.yaml). units: dicts with code,
    kind, parent, valid_from, valid_to (as in municipium/demo/units.yaml). successions:
    optional [{predecessor, successor, kind, date}]; after a merger the successor's
    population (and everything derived from it) includes the predecessor's.

    Rows: {unit, variable, period, value, missing, breakdown, source, comment, status};
    value is None exactly when missing holds a code.
    """
    years = list(years)
    variables = {v["code"]: v for v in catalog.get("variables", []) if v.get("period", "year") == "year"}
    indicators = list(catalog.get("indicators", []))
    categories = dict(DEFAULT_CATEGORIES)
    for breakdown in catalog.get("breakdowns", []):
        categories[breakdown["code"]] = [c["code"] for c in breakdown.get("categories", [])]
    # Every rule stays available, so a catalogue without (say) water_pop_served can still
    # derive water_billed_households from it; only the catalogue's variables are written.
    rules = dict(RULES)
    rules.update({code: _fallback_rule(v, indicators) for code, v in variables.items() if code not in RULES})

    by_code = {u["code"]: u for u in units}
    profiles: dict[str, Profile] = {}
    notes: dict[tuple, str] = {}  # (unit, variable, year): comment
    for unit in units:
        if unit.get("kind") == "municipality":
            profiles[unit["code"]] = Profile.of(unit, seed)
    for unit in units:
        if unit.get("kind") in REPORTING_KINDS and unit["code"] not in profiles:
            profiles[unit["code"]] = Profile.of(unit, seed, profiles.get(unit.get("parent")))
    for succession in successions:
        if succession.get("kind", "merger") == "merger" and succession["successor"] in profiles:
            start = _year_of(succession.get("date")) or (
                _year_of(by_code[succession["predecessor"]].get("valid_to")) + 1
            )
            profiles[succession["successor"]].merged.append((profiles[succession["predecessor"]], start))
            notes[(succession["successor"], "population", start)] = (
                f"Includes {succession['predecessor']}, merged into this unit in {start} (synthetic merger)"
            )

    for code, profile in profiles.items():
        unit = by_code[code]
        first, last = _year_of(unit.get("valid_from")), _year_of(unit.get("valid_to"))
        reported = [
            v
            for v in variables
            if unit["kind"] == "municipality"
            or variables[v].get("service_area") in UTILITY_AREAS
            or v in UTILITY_VARIABLES
        ]
        status_2025 = _pick(_stable_random(seed, code, "status"), OPEN_YEAR_STATUSES)
        absent = {
            v
            for v in reported
            if v not in ("population", "area_km2") and _stable_random(seed, code, v, "absent").random() < ABSENT_SHARE
        }
        for year in years:
            if (first and year < first) or (last and year > last):
                continue
            figures = Year(profile, year, rules)
            status = "published" if year <= 2024 else status_2025
            for variable_code in reported:
                if variable_code in absent:
                    continue
                variable = variables[variable_code]
                value = figures(variable_code)
                rng = _stable_random(seed, code, variable_code, year, "missing")
                missing = _pick(rng, MISSING_CODES) if rng.random() < MISSING_SHARE else ""
                cats = categories.get(variable.get("breakdown") or "", [])
                if cats and not isinstance(value, dict):  # a fallback value for a breakdown variable
                    value = _split(value, cats, _stable_random(seed, code, variable_code))
                parts = value.items() if isinstance(value, dict) else [("", value)]
                for breakdown, amount in parts:
                    yield {
                        "unit": code,
                        "variable": variable_code,
                        "period": str(year),
                        "value": None if missing else _clamp(amount, variable),
                        "missing": missing,
                        "breakdown": breakdown,
                        "source": SOURCE,
                        "comment": notes.get((code, variable_code, year), ""),
                        "status": status,
                    }


def _split(total, categories, rng):
    weights = [rng.uniform(0.5, 1.5) for _ in categories]
    parts = [_count(total * w / sum(weights)) for w in weights]
    parts[-1] = _count(total) - sum(parts[:-1])
    return dict(zip(categories, parts))


def _year_of(day) -> int | None:
    if day in (None, ""):
        return None
    return int(str(day)[:4])
