"""API routes of the tariffs app, mounted at /api/tariffs/ by municipium.api.api: the studies
the caller may read, each with its base year's figures and every scenario's years, computed
by the same `tariffs.services` functions as the pages and the council's PDF."""

from django.http import Http404
from ninja import Router, Schema

from municipium.api.schemas import responses
from municipium.tariffs import access, services
from municipium.tariffs.models import Study

from .auth import reader

router = Router(tags=["tariffs"])


class ClassOut(Schema):
    name: str
    demand: float
    revenue: float
    cost: float
    cross_subsidy: float


class YearOut(Schema):
    year: int
    tariff: float
    demand: float
    revenue: float
    cost: float
    recovery: float
    real_increase: float


class IncomeOut(Schema):
    label: str
    households: float
    income: float
    bill_share: float


class AffordabilityOut(Schema):
    bill: float
    threshold: float
    groups: list[IncomeOut]
    households_above: float
    share_above: float
    social_tariff_cost: float


class ScenarioOut(Schema):
    name: str
    adopted: bool
    years_ahead: int
    inflation: float
    collection: float
    target: float | None
    by_year: int | None
    cap: float | None
    increase: float | None
    reached: bool | None
    problem: str
    years: list[YearOut]
    affordability: AffordabilityOut | None


class StudyOut(Schema):
    code: str
    name: str
    unit: str
    service: str
    currency: str
    base_year: int
    status: str
    synthetic: bool
    unchanged_since: int | None
    revenue_requirement: float | None
    full_cost: float | None
    billed: float | None
    collected: float | None
    operating_cost_coverage: float | None
    operating_ratio: float | None
    full_cost_recovery: float | None
    collection_efficiency: float | None
    real_erosion: float | None
    reference_bill: float | None
    classes: list[ClassOut]
    affordability: AffordabilityOut | None
    scenarios: list[ScenarioOut]
    problems: list[str]


class PeerOut(Schema):
    indicator: str
    group: str
    period: str
    n: int
    p25: float | None
    median: float | None
    p75: float | None
    own: float | None
    proposed: float | None
    peers_below_proposed: int | None


def _affordability(found, bill, threshold):
    if found is None:
        return None
    return {
        "bill": bill,
        "threshold": threshold,
        "groups": [
            {"label": g.label, "households": g.households, "income": g.income, "bill_share": share}
            for g, share in found.shares
        ],
        "households_above": found.households_above,
        "share_above": found.share_above,
        "social_tariff_cost": found.subsidy,
    }


def _classes(row):
    return [
        {"name": c.name, "demand": c.demand, "revenue": c.revenue, "cost": c.cost, "cross_subsidy": c.cross_subsidy}
        for c in row
    ]


@router.get("/studies", response=responses(list[str]), summary="Tariff studies the caller may read")
def studies(request):
    user = reader(request)
    return list(access.readable(user).order_by("code").values_list("code", flat=True))


def _readable(request, code: str) -> tuple:
    user = reader(request)
    found = Study.objects.select_related("unit").filter(code=code).first()
    if found is None or not access.can_read(user, found):
        raise Http404
    return user, found


@router.get(
    "/studies/{code}/peers",
    response=responses(list[PeerOut]),
    summary="The unit's figures against its groups, and where a scenario's first year would sit",
)
def peers(request, code: str, scenario: str | None = None):
    """`scenario` names the scenario to place (default: the adopted one, else the first)."""
    user, found = _readable(request, code)
    base = services.figures(found)
    results = services.all_scenarios(found, base)
    chosen = next((r for r in results if r.scenario.name == scenario), None) if scenario else None
    if scenario and chosen is None:
        raise Http404
    chosen = chosen or next((r for r in results if r.scenario.adopted), results[0] if results else None)
    return [
        {
            "indicator": p.indicator.code,
            "group": p.group.code,
            "period": p.period.code,
            "n": p.n,
            "p25": p.p25,
            "median": p.median,
            "p75": p.p75,
            "own": p.own,
            "proposed": p.proposed,
            "peers_below_proposed": p.below,
        }
        for p in services.peers(found, user, chosen, base)
    ]


@router.get("/studies/{code}", response=responses(StudyOut), summary="A tariff study, its figures and scenarios")
def study(request, code: str):
    user, found = _readable(request, code)
    base = services.figures(found)
    ratios = base.ratios
    scenarios = []
    for result in services.all_scenarios(found, base):
        s = result.scenario
        scenarios.append(
            {
                "name": s.name,
                "adopted": s.adopted,
                "years_ahead": s.years,
                "inflation": s.inflation,
                "collection": s.collection,
                "target": s.target,
                "by_year": s.by_year,
                "cap": s.cap,
                "increase": result.path.increase if result.path else None,
                "reached": result.path.reached if result.path else None,
                "problem": result.problem,
                "years": [vars(y) for y in result.path.years] if result.path else [],
                "affordability": _affordability(result.affordability, result.bill_first, found.threshold),
            }
        )
    return {
        "code": found.code,
        "name": found.name,
        "unit": found.unit.code,
        "service": found.service,
        "currency": found.currency,
        "base_year": found.base_year,
        "status": found.status,
        "synthetic": found.synthetic,
        "unchanged_since": found.unchanged_since,
        "revenue_requirement": base.revenue_requirement,
        "full_cost": base.full_cost,
        "billed": base.billed,
        "collected": base.collected,
        "operating_cost_coverage": ratios.operating_cost_coverage if ratios else None,
        "operating_ratio": ratios.operating_ratio if ratios else None,
        "full_cost_recovery": ratios.full_cost_recovery if ratios else None,
        "collection_efficiency": ratios.collection_efficiency if ratios else None,
        "real_erosion": base.erosion,
        "reference_bill": base.reference_bill,
        "classes": _classes(base.classes),
        "affordability": _affordability(base.affordability, base.reference_bill, found.threshold),
        "scenarios": scenarios,
        "problems": [message for _field, message in base.problems],
    }
