"""The figures of a planning round, computed on read (DESIGN principle 5: the pages, the API
and the exports all take them from here): target populations from the units' published
observations projected to the planning year, need by the round's norms, supply, gap,
coverage, utilisation and flags per municipality and rolled up to the district, the
accessibility of settlements (2SFCA/E2SFCA) and the quotas of shared services."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from municipium.lib.socialneed import catchment, need, projection, quotas
from municipium.observations.models import Observation
from municipium.places.models import Membership, Unit

from .models import Norm, Round, Service, ServiceType, Settlement, SharedService

FLAGS = {
    "under": gettext_lazy("Under-supplied"),
    "over": gettext_lazy("Over-supplied"),
    "waiting": gettext_lazy("Full, with a waiting list"),
}
RECOMMENDATIONS = {
    "municipal": gettext_lazy("Each municipality"),
    "shared": gettext_lazy("Shared by agreement"),
    "district": gettext_lazy("At district level"),
}

# How many years back the constant-rate projection looks for its earlier population.
TREND_YEARS = 5


def members(round_: Round) -> list[Unit]:
    start, end = dt.date(round_.year, 1, 1), dt.date(round_.year, 12, 31)
    ids = Membership.objects.filter(group=round_.group).during(start, end).values("unit_id")
    return list(Unit.objects.filter(pk__in=ids, kind=Unit.Kind.MUNICIPALITY).order_by("code"))


def _target(norm: Norm, unit_ids: list[int], years: list[int]) -> dict[tuple[int, int], float]:
    """Published population of the norm's target group by (unit, year); a unit-year lacking
    one of the categories is left out (missing, never a partial sum)."""
    categories = list(norm.categories or []) or [""]
    rows = Observation.objects.filter(
        unit_id__in=unit_ids,
        variable_id=norm.variable_id,
        period__code__in=[str(y) for y in years],
        breakdown__in=categories,
        status="published",
        value__isnull=False,
    ).values_list("unit_id", "period__code", "breakdown", "value")
    found: dict[tuple[int, int], dict[str, float]] = defaultdict(dict)
    for unit_id, code, breakdown, value in rows:
        found[(unit_id, int(code))][breakdown] = float(value or 0)
    return {key: sum(v.values()) for key, v in found.items() if len(v) == len(categories)}


@dataclass
class Target:
    base: float | None  # the round's year
    projected: float | None  # the planning year
    rate: float | None  # yearly rate of the constant-rate projection, None without a trend


def target_populations(round_: Round, norm: Norm, units: list[Unit]) -> dict[int, Target]:
    if round_.projection == Round.Projection.COHORT and norm.variable.breakdown_id is not None:
        return _cohort(round_, norm, units)
    ids = [u.pk for u in units]
    years = list(range(round_.year - TREND_YEARS, round_.year + 1))
    found = _target(norm, ids, years)
    out = {}
    for unit_id in ids:
        base = found.get((unit_id, round_.year))
        if base is None:
            out[unit_id] = Target(None, None, None)
            continue
        earlier = next(((y, found[(unit_id, y)]) for y in years[:-1] if (unit_id, y) in found), None)
        rate = None
        if earlier is not None and earlier[1] > 0:
            rate = projection.growth_rate(earlier[1], base, round_.year - earlier[0])
        projected = projection.constant_rate({"t": base}, {"t": rate or 0.0}, round_.horizon - round_.year)["t"]
        out[unit_id] = Target(base, projected, rate)
    return out


def _cohort(round_: Round, norm: Norm, units: list[Unit]) -> dict[int, Target]:
    """The target group carried to the planning year by the cohort-component projection of the
    whole population by age band, under the round's stated assumptions; a unit lacking a band
    in the round's year is missing."""
    breakdown = norm.variable.breakdown
    if breakdown is None:  # target_populations sends only variables with a breakdown here
        return {u.pk: Target(None, None, None) for u in units}
    bands = list(breakdown.categories.order_by("order", "code").values_list("code", flat=True))
    a = round_.assumptions or {}
    by_sex = projection.split_age_sex(bands)
    if by_sex is not None:
        return _cohort_by_sex(round_, norm, units, bands, *by_sex)
    widths = projection.band_widths(bands)
    wanted = list(norm.categories or []) or bands
    full = Norm(variable=norm.variable, categories=bands)
    found = _target_bands(full, [u.pk for u in units], round_.year)
    out = {}
    for unit in units:
        base = found.get(unit.pk)
        if base is None or len(base) < len(bands):
            out[unit.pk] = Target(None, None, None)
            continue
        rows = projection.cohort_component(
            [base[b] for b in bands],
            widths,
            [float(a["survival"][b]) for b in bands],
            float(a.get("births_per_person", 0)),
            [bands.index(b) for b in a.get("mothers", [])],
            [float((a.get("migration") or {}).get(b, 0)) for b in bands],
            round_.horizon - round_.year,
        )
        out[unit.pk] = Target(sum(base[b] for b in wanted), sum(rows[-1][bands.index(b)] for b in wanted), None)
    return out


def _cohort_by_sex(
    round_: Round, norm: Norm, units: list[Unit], codes: list[str], bands: list[str], sexes: list[str]
) -> dict[int, Target]:
    """The cohort-component projection of a population by age band and sex (categories
    "<band> <sex>"): each sex with its survival and migration (an assumption stated for a band
    and sex, else for the band), births from the mothers' bands of the mothers' sex split by
    the stated shares of births."""
    a = round_.assumptions or {}
    widths = projection.band_widths(bands)
    wanted = list(norm.categories or []) or codes
    found = _target_bands(Norm(variable=norm.variable, categories=codes), [u.pk for u in units], round_.year)

    def per_band(key: str, sex: str, default: float) -> list[float]:
        given = a.get(key) or {}
        return [float(given.get(f"{band} {sex}", given.get(band, default))) for band in bands]

    # A survival ratio the round does not state is NaN, which the projection refuses (the
    # round's checks ask for every one first): never a ratio made up here.
    survival = {sex: per_band("survival", sex, float("nan")) for sex in sexes}
    migration = {sex: per_band("migration", sex, 0.0) for sex in sexes}
    shares = {sex: float((a.get("birth_shares") or {}).get(sex, 0)) for sex in sexes}
    if not any(shares.values()):
        shares = {sex: 1 / len(sexes) for sex in sexes}  # no births assumed: the shares are idle
    mothers = [bands.index(b) for b in a.get("mothers", [])]
    out = {}
    for unit in units:
        base = found.get(unit.pk)
        if base is None or len(base) < len(codes):
            out[unit.pk] = Target(None, None, None)
            continue
        rows = projection.cohort_component_by_sex(
            {sex: [base[f"{band} {sex}"] for band in bands] for sex in sexes},
            widths,
            survival,
            float(a.get("births_per_person", 0)),
            mothers,
            a.get("mothers_sex", sexes[0]),
            shares,
            migration,
            round_.horizon - round_.year,
        )
        last = rows[-1]
        projected = sum(last[code.rsplit(" ", 1)[1]][bands.index(code.rsplit(" ", 1)[0])] for code in wanted)
        out[unit.pk] = Target(sum(base[c] for c in wanted), projected, None)
    return out


def _target_bands(norm: Norm, unit_ids: list[int], year: int) -> dict[int, dict[str, float]]:
    rows = Observation.objects.filter(
        unit_id__in=unit_ids,
        variable_id=norm.variable_id,
        period__code=str(year),
        breakdown__in=list(norm.categories),
        status="published",
        value__isnull=False,
    ).values_list("unit_id", "breakdown", "value")
    found: dict[int, dict[str, float]] = defaultdict(dict)
    for unit_id, breakdown, value in rows:
        found[unit_id][breakdown] = float(value or 0)
    return found


@dataclass
class Row:
    unit: Unit
    service_type: ServiceType
    line: need.Line | None  # None: the target population is missing
    target: float | None
    flags: list[str] = field(default_factory=list)

    @property
    def coverage_percent(self) -> float | None:
        coverage = self.line.coverage if self.line else None
        return None if coverage is None else 100 * coverage

    @property
    def flag_labels(self) -> list[str]:
        return [str(FLAGS[f]) for f in self.flags]


@dataclass
class TypeSummary:
    service_type: ServiceType
    rows: list[Row]
    roll_up: need.RollUp | None
    missing: list[Unit]

    @property
    def coverage_percent(self) -> float | None:
        coverage = self.roll_up.total.coverage if self.roll_up else None
        return None if coverage is None else 100 * coverage

    @property
    def recommendation(self) -> str:
        return str(RECOMMENDATIONS[self.roll_up.recommendation]) if self.roll_up else ""

    @property
    def too_small(self) -> list[str]:
        codes = set(self.roll_up.too_small) if self.roll_up else set()
        return [row.unit.label for row in self.rows if row.unit.code in codes]


def supply(units: list[Unit], year: int) -> dict[tuple[int, int], dict]:
    """Capacity, users and waiting list by (unit, service type) in a year."""
    out: dict[tuple[int, int], dict] = defaultdict(lambda: {"capacity": 0.0, "users": None, "waiting": 0.0})
    for service in Service.objects.filter(provider__unit__in=units, year=year).select_related("provider"):
        entry = out[(service.provider.unit_id, service.service_type_id)]
        entry["capacity"] += service.capacity
        entry["waiting"] += service.waiting
        if service.users is not None:
            entry["users"] = (entry["users"] or 0.0) + service.users
    return out


def needs_table(round_: Round, units: list[Unit] | None = None) -> list[TypeSummary]:
    """Need against capacity for every service type the round's norms cover, by municipality
    and for the district (the roll-up counts only municipalities whose need is known)."""
    units = units if units is not None else members(round_)
    norms = list(round_.norms.norms.select_related("service_type", "variable"))
    by_type: dict[int, list[Norm]] = defaultdict(list)
    for norm in norms:
        by_type[norm.service_type_id].append(norm)
    have = supply(units, round_.year)
    out = []
    for type_id, type_norms in sorted(by_type.items(), key=lambda kv: (kv[1][0].service_type.order, kv[0])):
        service_type = type_norms[0].service_type
        targets = [target_populations(round_, n, units) for n in type_norms]
        rows, lines, missing = [], {}, []
        for unit in units:
            terms = [(t[unit.pk].projected, n.places, n.per) for n, t in zip(type_norms, targets, strict=True)]
            figures = have.get((unit.pk, type_id), {"capacity": 0.0, "users": None, "waiting": 0.0})
            if any(p is None for p, _places, _per in terms):
                rows.append(Row(unit, service_type, None, None))
                missing.append(unit)
                continue
            total = need.normative_need([(float(p), places, per) for p, places, per in terms if p is not None])
            line = need.Line(need=total, **figures)
            lines[unit.code] = line
            target = sum(float(t[unit.pk].projected or 0) for t in targets)
            rows.append(Row(unit, service_type, line, target, line.flags()))
        up = need.roll_up(lines, service_type.minimum_places, service_type.level) if lines else None
        out.append(TypeSummary(service_type, rows, up, missing))
    return out


def unit_needs(round_: Round, service_type: ServiceType) -> dict[str, float]:
    """Need by municipality code for one service type (the default key of quotas)."""
    for summary in needs_table(round_):
        if summary.service_type.pk == service_type.pk:
            return {row.unit.code: row.line.need for row in summary.rows if row.line is not None}
    return {}


def shared_quotas(shared: SharedService) -> list[dict]:
    """Each party's places: as agreed when `quotas` is set, else in proportion to need."""
    parties = list(shared.agreement.parties.select_related("unit"))
    codes = [p.unit.code for p in parties]
    needs = unit_needs(shared.round, shared.service_type)
    by_need = None
    party_needs = {c: needs.get(c, 0.0) for c in codes}
    if sum(party_needs.values()) > 0:
        by_need = quotas.quotas(shared.places, party_needs)
    out = []
    for party in parties:
        code = party.unit.code
        agreed = shared.quotas.get(code) if shared.quotas else None
        out.append(
            {
                "party": party,
                "unit": party.unit,
                "need": party_needs[code],
                "by_need": by_need.get(code) if by_need else None,
                "places": agreed if agreed is not None else (by_need.get(code) if by_need else None),
                "agreed": agreed is not None,
            }
        )
    return out


def proposal_check(round_: Round, unit: Unit, table: list[TypeSummary] | None = None) -> list[dict]:
    """A municipality's proposal against its identified need, type by type: the places it
    plans for the planning year beside the need and today's capacity, flagged where they fall
    short of the need or exceed it by the same thresholds as the supply (lib/socialneed)."""
    from .models import ProposalLine

    table = table if table is not None else needs_table(round_, [unit])
    planned: dict[int, float] = defaultdict(float)
    for line in ProposalLine.objects.filter(proposal__round=round_, proposal__unit=unit):
        planned[line.service_type_id] += line.places
    out = []
    for summary in table:
        row = next((r for r in summary.rows if r.unit.pk == unit.pk), None)
        if row is None or row.line is None:
            continue
        places = planned.get(summary.service_type.pk)
        check = need.Line(need=row.line.need, capacity=places or 0.0)
        out.append(
            {
                "service_type": summary.service_type,
                "need": row.line.need,
                "capacity": row.line.capacity,
                "proposed": places,
                "difference": (places or 0.0) - row.line.need,
                "flags": [str(FLAGS[f]) for f in check.flags() if f != "waiting"],
            }
        )
    return out


# -- accessibility -----------------------------------------------------------------------------

DECAYS = ("none", "step", "gaussian")


@dataclass
class Accessibility:
    settlements: list[Settlement]
    services: list[Service]
    access: list[float]  # places per 1,000 of the target group reachable, by settlement
    ratio: list[float]  # places per 1,000 of the target group in each service point's catchment
    unreached: list[bool]
    method: str
    size: float
    matrix: object | None = None  # the stored TravelMatrix whose minutes were used; None: straight lines in km

    @property
    def basis(self) -> str:
        return "minutes" if self.matrix is not None else "km"


def accessibility(
    round_: Round,
    service_type: ServiceType,
    method: str = "none",
    size: float = 30.0,
) -> Accessibility:
    """Settlements' access to a service type (2SFCA for "none", E2SFCA otherwise). Demand is
    a settlement's population times its municipality's share of the target group; distances
    are the minutes of the round's stored travel-time matrix for the type when there is one
    (a pair it lacks is out of reach), else straight lines in km. Step zones are the
    catchment's thirds weighted 1, 0.68, 0.22 (Luo & Qi 2009); the Gaussian's width is half
    the catchment."""
    from .models import TravelMatrix, TravelTime

    units = members(round_)
    settlements = list(Settlement.objects.filter(unit__in=units).select_related("unit"))
    services = list(
        Service.objects.filter(
            provider__unit__in=units, year=round_.year, service_type=service_type, lon__isnull=False, lat__isnull=False
        ).select_related("provider")
    )
    share = _target_share(round_, service_type, units)
    demand = [s.population * share.get(s.unit_id, 0.0) for s in settlements]
    matrix = TravelMatrix.objects.filter(round=round_, service_type=service_type).first()
    if matrix is not None:
        import numpy as np

        # One pass over the stored pairs (a matrix usually holds only the pairs within reach),
        # placed by position; every other pair stays NaN, out of reach.
        cost = np.full((len(settlements), len(services)), np.nan)
        rows = np.array(
            TravelTime.objects.filter(matrix=matrix).values_list("settlement_id", "service_id", "minutes"),
            dtype=float,
        ).reshape(-1, 3)
        i, found_i = _positions([s.pk for s in settlements], rows[:, 0])
        j, found_j = _positions([v.pk for v in services], rows[:, 1])
        keep = found_i & found_j
        cost[i[keep], j[keep]] = rows[keep, 2]
    else:
        cost = catchment.straight_line_km(
            [(s.lon, s.lat) for s in settlements], [(float(v.lon or 0), float(v.lat or 0)) for v in services]
        )
    steps = [(size / 3, 1.0), (2 * size / 3, 0.68), (size, 0.22)]
    result = catchment.supply_to_demand(
        demand, [v.capacity for v in services], cost, method, size=size, steps=steps, sigma=size / 2
    )
    return Accessibility(
        settlements,
        services,
        [float(a) * 1000 for a in result.access],
        [float(r) * 1000 for r in result.ratio],
        [bool(u) for u in result.unreached],
        method,
        size,
        matrix,
    )


def _positions(ids: list[int], wanted):
    """Where each of `wanted` stands in `ids`, and whether it is there at all."""
    import numpy as np

    known = np.array(ids, dtype=float)
    if not len(known):
        return np.zeros(len(wanted), dtype=int), np.zeros(len(wanted), dtype=bool)
    order = np.argsort(known)
    at = np.searchsorted(known, wanted, sorter=order).clip(max=len(known) - 1)
    return order[at], known[order[at]] == wanted


def _target_share(round_: Round, service_type: ServiceType, units: list[Unit]) -> dict[int, float]:
    """Each municipality's target group as a share of its population (base year)."""
    norms = list(round_.norms.norms.filter(service_type=service_type).select_related("variable"))
    if not norms:
        return {}
    totals = dict(
        Observation.objects.filter(
            unit__in=units,
            variable__code="population",
            period__code=str(round_.year),
            breakdown="",
            status="published",
            value__isnull=False,
        ).values_list("unit_id", "value")
    )
    target = target_populations(round_, norms[0], units)
    out = {}
    for unit in units:
        total, base = totals.get(unit.pk), target[unit.pk].base
        if total and base is not None:
            out[unit.pk] = base / float(total)
    return out


# -- the board ---------------------------------------------------------------------------------


def board(round_: Round, today: dt.date | None = None) -> list[dict]:
    """Where each municipality stands: proposal, consultation, council decision, sent."""
    from django.utils import timezone

    today = today or timezone.localdate()
    proposals = {p.unit_id: p for p in round_.proposals.select_related("consultation").prefetch_related("lines")}
    out = []
    for unit in members(round_):
        proposal = proposals.get(unit.pk)
        consultation = proposal.consultation if proposal else None
        lines = list(proposal.lines.all()) if proposal else []
        if proposal and proposal.sent_on:
            stage, label = "sent", _("Sent to the agency")
        elif consultation and consultation.council_date:
            stage, label = "decided", _("Approved by the council")
        elif consultation:
            stage = consultation.phase(today)
            label = str(consultation.Phase(stage).label)
        elif lines:
            stage, label = "drafted", _("Proposal drafted")
        else:
            stage, label = "none", _("No proposal yet")
        late = stage != "sent" and today > round_.agency_deadline
        out.append(
            {
                "unit": unit,
                "proposal": proposal,
                "places": sum(line.places for line in lines),
                "consultation": consultation,
                "stage": stage,
                "label": label,
                "late": late,
            }
        )
    return out
