"""API routes of the socialplanning app, mounted at /api/socialplanning/ by municipium.api.api:
service types and norms tables (public reference data), and for the rounds the caller may
read, the needs against capacity, the board, the shared services with their quotas and the
settlements' accessibility, all from `socialplanning.planning` (the pages' figures)."""

import datetime as dt
from typing import Literal

from django.http import Http404
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from municipium.api.schemas import responses
from municipium.lib.socialneed.catchment import CatchmentError
from municipium.socialplanning import access, planning
from municipium.socialplanning.models import NormTable, Round, ServiceType

from .auth import reader

router = Router(tags=["socialplanning"])


class ServiceTypeOut(Schema):
    code: str
    name: dict[str, str]
    kind: str
    level: str
    country: str
    minimum_places: float | None


class NormOut(Schema):
    service_type: str
    variable: str
    categories: list[str]
    places: float
    per: float
    note: str


class NormTableOut(Schema):
    code: str
    version: int
    title: str
    jurisdiction: str
    source: str
    effective: dt.date
    status: str
    norms: list[NormOut]


class RoundOut(Schema):
    code: str
    title: str
    group: str
    year: int
    horizon: int
    norms: str
    opens: dt.date
    agreement_deadline: dt.date
    agency_deadline: dt.date


class NeedRowOut(Schema):
    unit: str
    target_population: float | None
    need: float | None
    capacity: float | None
    users: float | None
    waiting: float | None
    gap: float | None
    coverage: float | None
    utilisation: float | None
    flags: list[str]


class DistrictOut(Schema):
    need: float
    capacity: float
    users: float | None
    waiting: float
    gap: float
    coverage: float | None
    too_small: list[str]
    recommendation: str


class NeedsOut(Schema):
    service_type: str
    level: str
    rows: list[NeedRowOut]
    district: DistrictOut | None


class BoardOut(Schema):
    unit: str
    stage: str
    places: float
    consultation_opens: dt.date | None
    consultation_closes: dt.date | None
    council_number: str
    council_date: dt.date | None
    sent_on: dt.date | None
    late: bool


class QuotaOut(Schema):
    unit: str
    need: float
    by_need: int | None
    places: int | None
    agreed: bool
    council_number: str
    council_date: dt.date | None


class SharedOut(Schema):
    service_type: str
    host: str
    places: int
    agreement: str
    quotas: list[QuotaOut]


class AccessOut(Schema):
    settlement: str
    unit: str
    name: str
    lon: float
    lat: float
    population: float
    places_per_1000: float


class AccessibilityOut(Schema):
    service_type: str
    method: str
    size: float
    basis: Literal["km", "minutes"] = Field(
        ..., description="km: straight lines; minutes: the round's stored travel-time matrix for the type"
    )
    settlements: list[AccessOut]


def _round(request, code: str) -> Round:
    found = Round.objects.select_related("group", "norms").filter(code=code).first()
    if found is None or not access.can_read(reader(request), found):
        raise Http404
    return found


@router.get("/service-types", response=responses(list[ServiceTypeOut]), summary="Service types")
def service_types(request):
    return [
        {
            "code": t.code,
            "name": t.name,
            "kind": t.kind,
            "level": t.level,
            "country": t.country,
            "minimum_places": t.minimum_places,
        }
        for t in ServiceType.objects.all()
    ]


@router.get("/norms", response=responses(list[NormTableOut]), summary="Norms tables with their sources")
def norms(request):
    return [
        {
            "code": t.code,
            "version": t.version,
            "title": t.title,
            "jurisdiction": t.jurisdiction,
            "source": t.source,
            "effective": t.effective,
            "status": t.status,
            "norms": [
                {
                    "service_type": n.service_type.code,
                    "variable": n.variable.code,
                    "categories": list(n.categories or []),
                    "places": n.places,
                    "per": n.per,
                    "note": n.note,
                }
                for n in t.norms.select_related("service_type", "variable")
            ],
        }
        for t in NormTable.objects.all()
    ]


@router.get("/rounds", response=responses(list[RoundOut]), summary="Planning rounds the caller takes part in")
def rounds(request):
    return [_round_out(r) for r in access.readable_rounds(reader(request))]


def _round_out(r: Round) -> dict:
    return {
        "code": r.code,
        "title": r.title,
        "group": r.group.code,
        "year": r.year,
        "horizon": r.horizon,
        "norms": f"{r.norms.code}@{r.norms.version}",
        "opens": r.opens,
        "agreement_deadline": r.agreement_deadline,
        "agency_deadline": r.agency_deadline,
    }


@router.get("/rounds/{code}", response=responses(RoundOut), summary="One planning round")
def round_(request, code: str):
    return _round_out(_round(request, code))


@router.get("/rounds/{code}/needs", response=responses(list[NeedsOut]), summary="Needs against capacity")
def needs(request, code: str):
    out = []
    for summary in planning.needs_table(_round(request, code)):
        up = summary.roll_up
        out.append(
            {
                "service_type": summary.service_type.code,
                "level": summary.service_type.level,
                "rows": [
                    {
                        "unit": row.unit.code,
                        "target_population": row.target,
                        "need": row.line.need if row.line else None,
                        "capacity": row.line.capacity if row.line else None,
                        "users": row.line.users if row.line else None,
                        "waiting": row.line.waiting if row.line else None,
                        "gap": row.line.gap if row.line else None,
                        "coverage": row.line.coverage if row.line else None,
                        "utilisation": row.line.utilisation if row.line else None,
                        "flags": row.flags,
                    }
                    for row in summary.rows
                ],
                "district": None
                if up is None
                else {
                    "need": up.total.need,
                    "capacity": up.total.capacity,
                    "users": up.total.users,
                    "waiting": up.total.waiting,
                    "gap": up.total.gap,
                    "coverage": up.total.coverage,
                    "too_small": up.too_small,
                    "recommendation": up.recommendation,
                },
            }
        )
    return out


@router.get("/rounds/{code}/board", response=responses(list[BoardOut]), summary="Where each municipality stands")
def board(request, code: str):
    return [
        {
            "unit": b["unit"].code,
            "stage": b["stage"],
            "places": b["places"],
            "consultation_opens": b["consultation"].opens if b["consultation"] else None,
            "consultation_closes": b["consultation"].closes if b["consultation"] else None,
            "council_number": b["consultation"].council_number if b["consultation"] else "",
            "council_date": b["consultation"].council_date if b["consultation"] else None,
            "sent_on": b["proposal"].sent_on if b["proposal"] else None,
            "late": b["late"],
        }
        for b in planning.board(_round(request, code))
    ]


@router.get("/rounds/{code}/shared", response=responses(list[SharedOut]), summary="Services shared with quotas")
def shared(request, code: str):
    found = _round(request, code)
    return [
        {
            "service_type": s.service_type.code,
            "host": s.host.code,
            "places": s.places,
            "agreement": s.agreement.code,
            "quotas": [
                {
                    "unit": q["unit"].code,
                    "need": q["need"],
                    "by_need": q["by_need"],
                    "places": q["places"],
                    "agreed": q["agreed"],
                    "council_number": q["party"].council_number,
                    "council_date": q["party"].council_date,
                }
                for q in planning.shared_quotas(s)
            ],
        }
        for s in found.shared.select_related("service_type", "host", "agreement")
    ]


class AccessQuery(Schema):
    service_type: str = Field(..., description="Service type code")
    method: Literal["none", "step", "gaussian"] = Field("none", description="none: 2SFCA; step, gaussian: E2SFCA")
    size: float = Field(
        30.0, gt=0, le=500, description="Catchment in km, or in minutes where a travel-time matrix is stored"
    )


@router.get(
    "/rounds/{code}/accessibility",
    response=responses(AccessibilityOut),
    summary="Places per 1,000 of the target group within reach of each settlement",
)
def accessibility(request, code: str, query: Query[AccessQuery]):
    found = _round(request, code)
    service_type = ServiceType.objects.filter(code=query.service_type).first()
    if service_type is None:
        raise HttpError(422, f"unknown service type: {query.service_type}")
    try:
        result = planning.accessibility(found, service_type, query.method, query.size)
    except CatchmentError as error:
        raise HttpError(422, str(error)) from error
    return {
        "service_type": service_type.code,
        "method": query.method,
        "size": query.size,
        "basis": result.basis,
        "settlements": [
            {
                "settlement": s.code,
                "unit": s.unit.code,
                "name": s.name,
                "lon": s.lon,
                "lat": s.lat,
                "population": s.population,
                "places_per_1000": value,
            }
            for s, value in zip(result.settlements, result.access, strict=True)
        ],
    }
