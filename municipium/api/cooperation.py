"""API routes of the cooperation app, mounted at /api/cooperation/: agreements the caller may
read with parties and obligations, and a facility's cost split by every method (from
`cooperation.sharing.allocate`, the page's figures)."""

import datetime as dt

from django.http import Http404
from ninja import Router, Schema

from municipium.api.schemas import responses
from municipium.cooperation import access, sharing
from municipium.cooperation.models import Agreement, Facility

from .auth import reader

router = Router(tags=["cooperation"])


class ObligationOut(Schema):
    party: str
    text: str
    due: dt.date | None
    status: str
    state: str


class AgreementOut(Schema):
    code: str
    title: str
    kind: str
    status: str
    group: str | None
    signed: dt.date | None
    in_force: dt.date | None
    expiry: dt.date | None
    parties: list[str]
    obligations: list[ObligationOut]


class ShareOut(Schema):
    participant: str
    cost: float
    stand_alone: float | None
    saving: float | None
    individually_rational: bool | None


class MethodOut(Schema):
    method: str
    in_core: bool | None
    objecting: list[str]
    problem: str
    shares: list[ShareOut]


class ScenarioOut(Schema):
    name: str
    changes: dict[str, float | int | str]
    annual_total: float
    joint_cost: float | None
    core_empty: bool | None
    methods: list[MethodOut]


class FacilityOut(Schema):
    code: str
    name: str
    group: str
    year: int
    annual_total: float
    joint_cost: float | None
    core_empty: bool | None
    methods: list[MethodOut]
    scenarios: list[ScenarioOut]


def _agreement(a: Agreement) -> dict:
    return {
        "code": a.code,
        "title": a.title,
        "kind": a.kind,
        "status": a.status,
        "group": a.group.code if a.group else None,
        "signed": a.signed,
        "in_force": a.in_force,
        "expiry": a.expiry,
        "parties": [p.unit.code for p in a.parties.all()],
        "obligations": [
            {"party": o.party.unit.code, "text": o.text, "due": o.due, "status": o.status, "state": o.state}
            for o in a.obligations.select_related("party__unit")
        ],
    }


@router.get("/agreements", response=responses(list[AgreementOut]), summary="Agreements")
def agreements(request):
    user = reader(request)
    rows = Agreement.objects.select_related("group").prefetch_related("parties__unit")
    return [_agreement(a) for a in rows if access.can_read(user, a)]


@router.get("/agreements/{code}", response=responses(AgreementOut), summary="One agreement")
def agreement(request, code: str):
    user = reader(request)
    found = Agreement.objects.filter(code=code).first()
    if found is None or not access.can_read(user, found):
        raise Http404
    return _agreement(found)


@router.get("/facilities/{code}", response=responses(FacilityOut), summary="A facility's cost split by every method")
def facility(request, code: str):
    user = reader(request)
    found = Facility.objects.select_related("group").filter(code=code).first()
    if found is None or not access.can_read_facility(user, found):
        raise Http404
    comparison = sharing.compare(found)
    result = comparison.variants[0].allocation
    return {
        "code": found.code,
        "name": found.name,
        "group": found.group.code,
        "year": found.year,
        **_split(result),
        "scenarios": [
            {"name": v.scenario.name, "changes": v.scenario.changes(), **_split(v.allocation)}
            for v in comparison.variants[1:]
            if v.scenario is not None
        ],
    }


def _split(result: sharing.Allocation) -> dict:
    return {
        "annual_total": result.annual_total,
        "joint_cost": result.joint_cost,
        "core_empty": result.core_empty,
        "methods": [
            {
                "method": m.code,
                "in_core": m.in_core,
                "objecting": m.objecting,
                "problem": m.problem,
                "shares": [
                    {
                        "participant": s.participant.unit.code,
                        "cost": s.cost,
                        "stand_alone": s.alone,
                        "saving": s.saving,
                        "individually_rational": s.rational,
                    }
                    for s in m.shares
                ],
            }
            for m in result.methods
        ],
    }
