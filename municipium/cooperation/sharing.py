"""A facility's cost split among its participants, every method side by side, computed on
read from the facility's figures and the participants' drivers (observed where the
observations exist, typed where not). The page, the decision package (page and PDF), the
xlsx export and the API all read `allocate`."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from municipium.lib import allocation as maths
from municipium.lib import numbers
from municipium.observations.models import Observation

from .models import Facility, Participant, Scenario

# Drivers read from the participants' own observations when they exist (variable codes of
# the starter catalogue); the rest are typed on the facility page.
OBSERVED = {
    "population": "population",
    "water_m3": "water_billed",
    "wastewater_m3": "wastewater_collected",
    "tonnes": "waste_collected",
}

METHODS = [
    ("equal", gettext_lazy("Equal shares")),
    ("proportional", gettext_lazy("In proportion to the fixed-cost driver")),
    ("two_part", gettext_lazy("Two-part: fixed and variable by their drivers")),
    ("shapley", gettext_lazy("Shapley value")),
    ("scrb", gettext_lazy("Separable cost, remaining benefit (SCRB)")),
    ("nucleolus", gettext_lazy("Nucleolus")),
]


@dataclass
class Share:
    participant: Participant
    cost: float
    alone: float | None
    saving: float | None
    rational: bool | None


@dataclass
class Method:
    code: str
    label: str
    shares: list[Share] = field(default_factory=list)
    in_core: bool | None = None
    objecting: list[str] = field(default_factory=list)  # unit labels of the coalition that objects
    problem: str = ""


@dataclass
class Allocation:
    facility: Facility
    participants: list[Participant]
    drivers: dict[int, dict[str, tuple[float | None, str]]]  # participant id → driver → (value, source)
    annual_total: float
    joint_cost: float | None  # c(N) of the game, when there is one
    core_empty: bool | None
    methods: list[Method]
    problem: str = ""

    def driver_rows(self) -> list[tuple[Participant, list[tuple[float | None, str]]]]:
        """For tables: each participant with its drivers in the order of `models.DRIVERS`."""
        from .models import DRIVERS

        return [(p, [self.drivers[p.pk][code] for code, _label in DRIVERS]) for p in self.participants]


def driver_values(facility: Facility, participants) -> dict[int, dict[str, tuple[float | None, str]]]:
    """Each participant's drivers: typed on the page first, else the unit's observation of the
    facility's year."""
    codes = {p.unit_id for p in participants}
    observed: dict[tuple[int, str], float] = {}
    rows = Observation.objects.filter(
        unit_id__in=codes,
        variable__code__in=list(OBSERVED.values()),
        period__code=str(facility.year),
        breakdown="",
        value__isnull=False,
    ).values_list("unit_id", "variable__code", "value")
    for unit_id, variable, value in rows:
        observed[(unit_id, variable)] = value
    zone_area: dict[int, float] = {}
    if facility.agreement_id:
        from .services import zone_area_by_unit

        zone_area = zone_area_by_unit(facility.agreement)
    out = {}
    for p in participants:
        values = {}
        for driver in OBSERVED.keys() | {"pe", "capacity", "zone_area", "haul_km"}:
            typed = (p.drivers or {}).get(driver)
            if typed not in (None, ""):
                values[driver] = (float(typed), "typed")
            elif driver in OBSERVED and (p.unit_id, OBSERVED[driver]) in observed:
                values[driver] = (observed[(p.unit_id, OBSERVED[driver])], "observed")
            elif driver == "zone_area" and zone_area:
                values[driver] = (zone_area.get(p.unit_id, 0.0), "zones")
            else:
                values[driver] = (None, "")
        # Tonne-kilometres: what each participant's waste costs to haul to the site (the
        # siting module hands over the haul distances), unless typed.
        typed = (p.drivers or {}).get("tonne_km")
        tonnes, haul = values["tonnes"][0], values["haul_km"][0]
        if typed not in (None, ""):
            values["tonne_km"] = (float(typed), "typed")
        elif tonnes is not None and haul is not None:
            values["tonne_km"] = (tonnes * haul, "derived")
        else:
            values["tonne_km"] = (None, "")
        out[p.pk] = values
    return out


def _column(drivers, participants, driver: str) -> list[float]:
    values = [drivers[p.pk][driver][0] for p in participants]
    missing = [p.unit.label for p, v in zip(participants, values, strict=True) if v is None]
    if missing:
        raise maths.AllocationError(
            _("The driver %(driver)s is missing for %(units)s.") % {"driver": driver, "units": ", ".join(missing)}
        )
    return [float(v) for v in values if v is not None]


def build_game(facility: Facility, participants, drivers) -> maths.Game | None:
    """The cost game: typed coalition costs, or the cost function with economies of scale;
    None when the facility has neither."""
    n = len(participants)
    if facility.coalition_costs:
        index = {p.unit.code: i for i, p in enumerate(participants)}
        costs = {}
        for key, value in facility.coalition_costs.items():
            mask = 0
            for code in str(key).split("+"):
                if code.strip() not in index:
                    raise maths.AllocationError(
                        _("The coalition %(coalition)s names %(code)s, who is not a participant.")
                        % {"coalition": key, "code": code.strip()}
                    )
                mask |= 1 << index[code.strip()]
            costs[mask] = value
        missing = [m for m in range(1, 1 << n) if m not in costs]
        if missing:
            names = "+".join(participants[i].unit.code for i in maths.members(missing[0]))
            raise maths.AllocationError(
                ngettext(
                    "%(count)s coalition cost is missing: %(coalition)s.",
                    "%(count)s coalition costs are missing, e.g. %(coalition)s.",
                    len(missing),
                )
                % {"count": numbers.format_number(len(missing), 0), "coalition": names}
            )
        return maths.game(n, costs)
    if facility.scale_unit <= 0 and facility.scale_fixed <= 0:
        return None
    loads = _column(drivers, participants, facility.scale_driver)
    return maths.game(
        n,
        maths.scale_economies(
            loads, fixed=facility.scale_fixed, unit=facility.scale_unit, exponent=facility.scale_exponent
        ),
    )


def _solved(memo: dict | None, game: maths.Game, what: str, solve):
    """`solve(game)` once per game: scenarios that change only the financing keep the cost
    game, and its LPs (nucleolus, least core) are the slow part of a split at 15 players."""
    if memo is None:
        return solve(game)
    key = (game.n, game.costs.tobytes(), what)
    if key not in memo:
        memo[key] = solve(game)
    return memo[key]


def allocate(facility: Facility, participants=None, drivers=None, memo: dict | None = None) -> Allocation:
    """Every method's split of the facility's yearly cost. `participants` and `drivers` may be
    passed in when several variants of one facility are split (`compare`), so that they are
    read once; `memo` then keeps the game's solutions between variants."""
    if participants is None:
        participants = list(facility.participants.select_related("unit"))
    if drivers is None:
        drivers = driver_values(facility, participants)
    annuity = maths.annualised(facility.capital_cost, facility.interest_rate, facility.lifetime)
    total = annuity + facility.fixed_opex + facility.variable_opex
    result = Allocation(facility, participants, drivers, total, None, None, [])
    if not participants:
        result.problem = _("The facility has no participants yet.")
        return result
    try:
        game = build_game(facility, participants, drivers)
    except maths.AllocationError as error:
        game, result.problem = None, str(error)
    if game is not None:
        result.joint_cost = float(game.costs[game.grand])
        result.core_empty = _solved(memo, game, "least_core", maths.least_core) > 1e-9 * max(
            1.0, abs(result.joint_cost)
        )
    for code, label in METHODS:
        method = Method(code, str(label))
        try:
            if code == "equal":
                costs = maths.equal(total, len(participants))
            elif code == "proportional":
                costs = maths.proportional(total, _column(drivers, participants, facility.fixed_driver))
            elif code == "two_part":
                costs = maths.two_part(
                    annuity + facility.fixed_opex,
                    facility.variable_opex,
                    _column(drivers, participants, facility.fixed_driver),
                    _column(drivers, participants, facility.variable_driver),
                )
            elif game is None:
                method.problem = _("Give the cost of each coalition, or the cost function, to use this method.")
                result.methods.append(method)
                continue
            else:
                costs = _solved(
                    memo, game, code, {"shapley": maths.shapley, "scrb": maths.scrb, "nucleolus": maths.nucleolus}[code]
                )
        except maths.AllocationError as error:
            method.problem = str(error)
            result.methods.append(method)
            continue
        for i, (p, cost) in enumerate(zip(participants, costs, strict=True)):
            alone = game.alone(i) if game is not None else None
            method.shares.append(
                Share(
                    p,
                    cost,
                    alone,
                    None if alone is None else alone - cost,
                    None if alone is None else cost <= alone + 1e-7,
                )
            )
        if game is not None and code in ("shapley", "scrb", "nucleolus"):
            check = _solved(memo, game, f"core:{code}", lambda g, costs=costs: maths.core_check(g, costs))
            method.in_core = check.in_core
            method.objecting = [participants[i].unit.label for i in check.objecting or []]
        result.methods.append(method)
    return result


@dataclass
class Variant:
    """One column of the scenarios table: the facility as it stands (scenario None) or as a
    scenario changes it, split by every method."""

    scenario: Scenario | None
    allocation: Allocation

    def method(self, code: str) -> Method | None:
        return next((m for m in self.allocation.methods if m.code == code), None)


@dataclass
class Comparison:
    participants: list[Participant]
    method: str
    variants: list[Variant]

    def rows(self) -> list[tuple[Participant, list[float | None]]]:
        """Each participant with what it pays under the chosen method in every variant
        (None where the method cannot split that variant)."""
        out = []
        for i, p in enumerate(self.participants):
            costs: list[float | None] = []
            for variant in self.variants:
                method = variant.method(self.method)
                costs.append(method.shares[i].cost if method and method.shares else None)
            out.append((p, costs))
        return out


def compare(facility: Facility, method: str = "two_part") -> Comparison:
    """The facility and each of its scenarios split side by side. The participants and their
    drivers are read once: a scenario changes the facility's figures, not who takes part."""
    participants = list(facility.participants.select_related("unit"))
    drivers = driver_values(facility, participants)
    memo: dict = {}
    variants = [Variant(None, allocate(facility, participants, drivers, memo))]
    for scenario in facility.scenarios.all():
        scenario.facility = facility
        variants.append(Variant(scenario, allocate(scenario.applied(), participants, drivers, memo)))
    if method not in dict(METHODS):
        method = "two_part"
    return Comparison(participants, method, variants)


@dataclass
class TrueUp:
    participant: Participant
    advance: float
    actual: float
    difference: float  # + the participant pays more, − it gets money back


def true_up(facility: Facility) -> list[TrueUp]:
    """The two-part split on the planned drivers against the same split on the year's actual
    drivers (participants' `actual`): who pays in, who gets back."""
    participants = list(facility.participants.select_related("unit"))
    if not participants:
        return []
    planned = driver_values(facility, participants)
    actual = {
        p.pk: {
            k: (float(v), "actual") if v not in (None, "") else planned[p.pk][k]
            for k, v in {**{d: None for d in planned[p.pk]}, **(p.actual or {})}.items()
        }
        for p in participants
    }
    annuity = maths.annualised(facility.capital_cost, facility.interest_rate, facility.lifetime)

    def split(values):
        return maths.two_part(
            annuity + facility.fixed_opex,
            facility.variable_opex,
            _column(values, participants, facility.fixed_driver),
            _column(values, participants, facility.variable_driver),
        )

    before, after = split(planned), split(actual)
    return [TrueUp(p, b, a, a - b) for p, b, a in zip(participants, before, after, strict=True)]
