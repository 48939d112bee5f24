"""The arithmetic of fees and tariffs for water, sewage and waste: what the service costs in
a year (the revenue requirement), how much of it fees recover, what a tariff structure bills
a household, how a tariff left unchanged loses value, the phase-in path that reaches a cost
recovery target under a cap on the yearly real increase, and whether households can afford
the bill. Pure functions on plain numbers; the `tariffs` app stores a study's inputs and
calls these on every read (`municipium.tariffs.services`).

The vocabulary is the one utility regulators and IBNET use:
- *revenue requirement* = operating costs + capital charge (depreciation, or the annuity of
  the investment) + debt service − non-tariff revenue;
- *operating cost coverage* = operating revenue / operating costs (IBNET indicator 24.1);
- *full cost recovery* = revenue / (operating costs + capital charge + debt service);
- *collection efficiency* = cash collected / amount billed.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from municipium.lib.allocation import AllocationError, annualised
from municipium.lib.numbers import format_number, format_share


class TariffError(ValueError):
    """Bad figures, with the field (or block, or row) at fault named in the message."""

    def __init__(self, message: str, where: str = ""):
        super().__init__(message)
        self.message = message
        self.where = where


def _not_negative(value: float, where: str) -> float:
    if value is None or math.isnan(value) or value < 0:
        raise TariffError(_("%(where)s cannot be negative.") % {"where": where}, where)
    return float(value)


# -- cost and revenue -----------------------------------------------------------------------


@dataclass
class Costs:
    """A service's costs in one year. `operating` is by category (staff, energy, fuel,
    disposal fees, maintenance, administration and billing...). The capital charge is the
    depreciation when given, else the annuity of `investment` over `lifetime` at `rate`
    (what the assets cost a year); `debt_service` is what loans cost that year."""

    operating: dict[str, float] = field(default_factory=dict)
    depreciation: float | None = None
    investment: float = 0.0
    rate: float = 0.0
    lifetime: int = 25
    debt_service: float = 0.0
    non_tariff_revenue: float = 0.0

    def check(self) -> None:
        for name, value in self.operating.items():
            _not_negative(value, name)
        for name in ("investment", "debt_service", "non_tariff_revenue"):
            _not_negative(getattr(self, name), name)
        if self.depreciation is not None:
            _not_negative(self.depreciation, "depreciation")

    @property
    def operating_total(self) -> float:
        return float(sum(self.operating.values()))

    @property
    def capital_charge(self) -> float:
        if self.depreciation is not None:
            return float(self.depreciation)
        try:
            return annualised(self.investment, self.rate, self.lifetime)
        except AllocationError as error:
            raise TariffError(str(error), "rate") from None

    @property
    def full_cost(self) -> float:
        return self.operating_total + self.capital_charge + self.debt_service

    @property
    def revenue_requirement(self) -> float:
        """What fees must bring in: the full cost less what other revenue covers."""
        self.check()
        return max(0.0, self.full_cost - self.non_tariff_revenue)


@dataclass
class Ratios:
    operating_cost_coverage: float | None
    operating_ratio: float | None
    full_cost_recovery: float | None
    collection_efficiency: float | None


def ratios(costs: Costs, billed: float, collected: float | None = None) -> Ratios:
    """The regulators' ratios from a year's costs, the fees billed and the cash collected.
    Revenue counts what was billed plus non-tariff revenue; a ratio whose denominator is zero
    is None (undefined), never infinity."""
    costs.check()
    _not_negative(billed, "billed")
    revenue = billed + costs.non_tariff_revenue
    operating = costs.operating_total
    return Ratios(
        operating_cost_coverage=revenue / operating if operating else None,
        operating_ratio=operating / revenue if revenue else None,
        full_cost_recovery=revenue / costs.full_cost if costs.full_cost else None,
        collection_efficiency=(_not_negative(collected, "collected") / billed if billed else None)
        if collected is not None
        else None,
    )


# -- what a structure bills ------------------------------------------------------------------


@dataclass
class Block:
    upper: float | None  # the block ends at this volume; None: no end (the last block)
    price: float  # per unit of volume inside the block


def check_blocks(blocks: Sequence[Block]) -> None:
    """Increasing-block tariffs: each block starts where the previous ended, so their ends
    rise strictly; only the last may be open-ended; prices are not negative. A refusal names
    the block (1 = the first, the lifeline block of a water tariff)."""
    if not blocks:
        raise TariffError(_("A block tariff needs at least one block."), "blocks")
    previous = 0.0
    for number, block in enumerate(blocks, start=1):
        where = _("block %(number)s") % {"number": format_number(number, 0)}
        _not_negative(block.price, where)
        if block.upper is None:
            if number != len(blocks):
                raise TariffError(_("Only the last block may have no upper end (%(where)s).") % {"where": where}, where)
            continue
        if block.upper <= previous:
            raise TariffError(
                _(
                    "The blocks overlap: %(where)s ends at %(upper)s, not above where the block before ends (%(previous)s)."
                )
                % {"where": where, "upper": block.upper, "previous": previous},
                where,
            )
        previous = block.upper


def block_charge(blocks: Sequence[Block], volume: float) -> float:
    """The volumetric charge for `volume` on increasing blocks: each unit at its block's price.
    A volume beyond a closed last block is billed at the last block's price."""
    check_blocks(blocks)
    _not_negative(volume, "volume")
    charge, start = 0.0, 0.0
    for block in blocks:
        end = block.upper if block.upper is not None else math.inf
        if volume <= start:
            break
        charge += (min(volume, end) - start) * block.price
        start = end
    if volume > start and math.isfinite(start):
        charge += (volume - start) * blocks[-1].price
    return charge


@dataclass
class Structure:
    """A tariff structure: a fixed charge per household (per connection) plus, as the
    service bills, a charge per person, per m² of dwelling, per litre of bin volume a
    collection, per kg collected (pay as you throw), per m³ flat, or per m³ on increasing
    blocks."""

    fixed: float = 0.0
    per_person: float = 0.0
    per_m2: float = 0.0
    per_bin_litre: float = 0.0
    per_kg: float = 0.0
    per_m3: float = 0.0
    blocks: list[Block] = field(default_factory=list)


@dataclass
class Household:
    persons: float = 1
    dwelling_m2: float = 0
    bin_litres: float = 0  # bin volume × collections in the period
    kg: float = 0
    m3: float = 0


def bill(structure: Structure, household: Household) -> float:
    """One household's bill for the period the structure's prices are for."""
    for name in ("persons", "dwelling_m2", "bin_litres", "kg", "m3"):
        _not_negative(getattr(household, name), name)
    for name in ("fixed", "per_person", "per_m2", "per_bin_litre", "per_kg", "per_m3"):
        _not_negative(getattr(structure, name), name)
    total = (
        structure.fixed
        + structure.per_person * household.persons
        + structure.per_m2 * household.dwelling_m2
        + structure.per_bin_litre * household.bin_litres
        + structure.per_kg * household.kg
        + structure.per_m3 * household.m3
    )
    if structure.blocks:
        total += block_charge(structure.blocks, household.m3)
    return total


# -- value over time -------------------------------------------------------------------------


def real_erosion(inflation: Sequence[float]) -> float:
    """The share of its real value a tariff left unchanged has lost after years of the given
    inflation rates (0.05 = 5 %): 1 − 1 / Π(1 + π)."""
    index = 1.0
    for rate in inflation:
        if rate <= -1:
            raise TariffError(_("An inflation rate must be above −100 %."), "inflation")
        index *= 1 + rate
    return 1 - 1 / index


@dataclass
class Year:
    year: int
    tariff: float  # nominal, per unit billed
    demand: float  # units billed
    revenue: float  # collected
    cost: float  # nominal full cost
    recovery: float  # revenue / cost
    real_increase: float  # this year's increase above inflation


@dataclass
class PhaseIn:
    years: list[Year]
    increase: float  # the yearly real increase the path uses
    reached: bool  # the target is reached by the target year
    problem: str = ""


@dataclass
class Scenario:
    """A multi-year what-if. Costs split into a fixed part and a part per unit of demand,
    both rising with inflation; demand grows by `growth` a year and answers the real price by
    its `elasticity` (constant elasticity: demand × (real price ratio)^elasticity); `collection`
    is the share of bills paid."""

    first_year: int
    years: int
    tariff: float
    demand: float
    fixed_cost: float
    unit_cost: float
    inflation: float = 0.0
    growth: float = 0.0
    elasticity: float = 0.0
    collection: float = 1.0

    def check(self) -> None:
        if self.years < 1:
            raise TariffError(_("A scenario covers at least one year."), "years")
        for name in ("tariff", "demand", "fixed_cost", "unit_cost"):
            _not_negative(getattr(self, name), name)
        if not 0 < self.collection <= 1:
            raise TariffError(_("The collection rate lies between 0 and 1 (e.g. 0.92)."), "collection")
        if self.elasticity > 0:
            raise TariffError(_("A price elasticity of demand is zero or negative (e.g. −0.2)."), "elasticity")

    def run(self, increase: float) -> list[Year]:
        """Each year's figures when the tariff rises by inflation plus `increase` a year."""
        self.check()
        out = []
        for t in range(self.years + 1):
            price_index = (1 + self.inflation) ** t
            real = (1 + increase) ** t
            demand = self.demand * (1 + self.growth) ** t * real**self.elasticity
            tariff = self.tariff * price_index * real
            revenue = tariff * demand * self.collection
            cost = (self.fixed_cost + self.unit_cost * demand) * price_index
            out.append(
                Year(
                    self.first_year + t,
                    tariff,
                    demand,
                    revenue,
                    cost,
                    revenue / cost if cost else math.inf,
                    increase if t else 0.0,
                )
            )
        return out


def phase_in(scenario: Scenario | ClassScenario, target: float, by_year: int, cap: float) -> PhaseIn:
    """The smallest constant yearly real increase (at most `cap`) with which cost recovery
    reaches `target` by `by_year`, solved with scipy's brentq. When no increase under the
    cap gets there, says so and gives the closest path: the cap every year, and the recovery
    it reaches."""
    from scipy.optimize import brentq

    scenario.check()
    if target is None or not 0 < target <= 10:
        raise TariffError(
            _("The cost recovery target is a ratio above zero (e.g. 1.0 for full cost recovery)."), "target"
        )
    if not scenario.first_year < by_year <= scenario.first_year + scenario.years:
        raise TariffError(_("The target year lies within the scenario's years."), "by_year")
    if cap < 0:
        raise TariffError(_("The cap on the yearly real increase cannot be negative."), "cap")
    t = by_year - scenario.first_year

    def recovery(increase: float) -> float:
        return scenario.run(increase)[t].recovery

    if recovery(0.0) >= target:
        return PhaseIn(scenario.run(0.0), 0.0, True)
    if recovery(cap) < target:
        path = scenario.run(cap)
        return PhaseIn(
            path,
            cap,
            False,
            _(
                "No path under the cap reaches %(target)s cost recovery by %(year)s: raising the tariff by the "
                "cap every year reaches %(reached)s. Raise the cap, move the year, or cut costs."
            )
            % {
                "target": format_share(100 * target),
                "year": format_number(by_year, 0, grouping=False),
                "reached": format_share(100 * path[t].recovery),
            },
        )
    increase = brentq(lambda g: recovery(g) - target, 0.0, cap, xtol=1e-12)
    return PhaseIn(scenario.run(increase), increase, True)


# -- affordability ---------------------------------------------------------------------------


@dataclass
class IncomeGroup:
    label: str  # "decile 1", "quintile 2"...
    households: float
    income: float  # mean disposable income per household, same period as the bill


@dataclass
class Affordability:
    shares: list[tuple[IncomeGroup, float]]  # each group's bill as a share of its income
    households_above: float
    share_above: float
    subsidy: float  # what a social tariff bringing every group to the threshold costs

    @property
    def households_above_count(self) -> int:
        """Households above the threshold as a whole number (for plural messages)."""
        return int(round(self.households_above))


def affordability(groups: Sequence[IncomeGroup], household_bill: float, threshold: float) -> Affordability:
    """The reference bill against each income group's income: who pays more than
    `threshold` (e.g. 0.03 for water and sanitation, UNDP Human Development Report 2006), and
    the cost of a targeted social tariff that brings those groups' bill down to it."""
    if not groups:
        raise TariffError(_("Give at least one income group."), "income")
    if not 0 < threshold < 1:
        raise TariffError(_("The threshold is a share of income between 0 and 1 (e.g. 0.03)."), "threshold")
    _not_negative(household_bill, "bill")
    shares, above, subsidy = [], 0.0, 0.0
    for number, group in enumerate(groups, start=1):
        where = _("income row %(number)s") % {"number": format_number(number, 0)}
        _not_negative(group.households, where)
        if group.income <= 0:
            raise TariffError(_("The income in %(where)s must be above zero.") % {"where": where}, where)
        share = household_bill / group.income
        shares.append((group, share))
        if share > threshold:
            above += group.households
            subsidy += group.households * (household_bill - threshold * group.income)
    total = sum(g.households for g in groups)
    return Affordability(shares, above, above / total if total else 0.0, subsidy)


# -- customer classes ------------------------------------------------------------------------


@dataclass
class CustomerClass:
    """Households, business, institutions...: what the class is billed, how its demand
    moves, and the share of the service's fixed cost it causes (from a cost-of-service
    study; the variable cost follows each class's volume)."""

    name: str
    demand: float  # units billed in the first year (m³, tonnes...)
    price: float  # per unit
    fixed_share: float  # share of the fixed cost this class causes (the shares add up to 1)
    customers: float = 0.0
    fixed_charge: float = 0.0  # per customer a year
    elasticity: float = 0.0
    growth: float = 0.0


@dataclass
class ClassYear:
    name: str
    demand: float
    revenue: float  # collected
    cost: float  # what the class causes
    cross_subsidy: float  # revenue − cost: above zero the class pays for others


def by_class(
    classes: Sequence[CustomerClass],
    *,
    years: int,
    fixed_cost: float,
    unit_cost: float,
    inflation: float = 0.0,
    collection: float = 1.0,
    increase: dict[str, float] | None = None,
) -> list[list[ClassYear]]:
    """Each year (0 = the first) of each class: demand answering its real price, revenue,
    the cost it causes (its share of the fixed cost, the unit cost on its volume) and the
    cross-subsidy between classes. `increase` is each class's yearly real price increase."""
    if not classes:
        raise TariffError(_("Give at least one customer class."), "classes")
    if abs(sum(c.fixed_share for c in classes) - 1) > 1e-9:
        raise TariffError(_("The classes' shares of the fixed cost must add up to 1."), "fixed_share")
    if not 0 < collection <= 1:
        raise TariffError(_("The collection rate lies between 0 and 1 (e.g. 0.92)."), "collection")
    for c in classes:
        for name in ("demand", "price", "fixed_share", "customers", "fixed_charge"):
            _not_negative(getattr(c, name), f"{c.name}: {name}")
        if c.elasticity > 0:
            raise TariffError(
                _("A price elasticity of demand is zero or negative (e.g. −0.2)."), f"{c.name}: elasticity"
            )
    increase = increase or {}
    out = []
    for t in range(years + 1):
        index = (1 + inflation) ** t
        row = []
        for c in classes:
            real = (1 + increase.get(c.name, 0.0)) ** t
            demand = c.demand * (1 + c.growth) ** t * real**c.elasticity
            revenue = (c.price * demand + c.fixed_charge * c.customers) * index * real * collection
            cost = (fixed_cost * c.fixed_share + unit_cost * demand) * index
            row.append(ClassYear(c.name, demand, revenue, cost, revenue - cost))
        out.append(row)
    return out


@dataclass
class ClassScenario:
    """A multi-year what-if on the customer classes themselves: each class's demand grows and
    answers its real price, the cost is a fixed part (shared by the classes' `fixed_share`)
    and a part per unit of volume, both rising with inflation. The service's year is the sum
    of its classes' years, so the class split and the totals always agree; `phase_in` solves
    on it as on a `Scenario`. `growth`, when given, replaces each class's own growth."""

    first_year: int
    years: int
    classes: Sequence[CustomerClass]
    fixed_cost: float
    unit_cost: float
    inflation: float = 0.0
    collection: float = 1.0
    growth: float | None = None

    def _classes(self) -> list[CustomerClass]:
        if self.growth is None:
            return list(self.classes)
        from dataclasses import replace

        return [replace(c, growth=self.growth) for c in self.classes]

    def check(self) -> None:
        if self.years < 1:
            raise TariffError(_("A scenario covers at least one year."), "years")
        for name in ("fixed_cost", "unit_cost"):
            _not_negative(getattr(self, name), name)
        if self.inflation <= -1:
            raise TariffError(_("An inflation rate must be above −100 %."), "inflation")
        if not sum(c.demand for c in self.classes):
            raise TariffError(_("The customer classes bill no volume: give each class its volume."), "classes")

    def by_class(self, increase: float) -> list[list[ClassYear]]:
        return by_class(
            self._classes(),
            years=self.years,
            fixed_cost=self.fixed_cost,
            unit_cost=self.unit_cost,
            inflation=self.inflation,
            collection=self.collection,
            increase={c.name: increase for c in self.classes},
        )

    def run(self, increase: float) -> list[Year]:
        """The service's years: the classes' demand, revenue and cost added up; `tariff` is
        the average revenue billed per unit of volume."""
        self.check()
        out = []
        for t, row in enumerate(self.by_class(increase)):
            demand = sum(c.demand for c in row)
            revenue = sum(c.revenue for c in row)
            cost = sum(c.cost for c in row)
            out.append(
                Year(
                    self.first_year + t,
                    revenue / self.collection / demand if demand else 0.0,
                    demand,
                    revenue,
                    cost,
                    revenue / cost if cost else math.inf,
                    increase if t else 0.0,
                )
            )
        return out
