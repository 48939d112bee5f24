"""API routes of the siting app, mounted at /api/siting/: the projects the caller may read,
their criteria and AHP weights, and a run's classes, candidate sites (with their outlines
as GeoJSON on request) and the stability of their ranks. The figures are the stored run's,
as the pages show them."""

from typing import Literal

from django.http import Http404
from ninja import Router, Schema

from municipium.api.schemas import responses
from municipium.siting import access, services
from municipium.siting.models import Project, Run

from .auth import reader

router = Router(tags=["siting"])


class MemberOut(Schema):
    unit: str
    population: int
    lon: float
    lat: float


class CriterionOut(Schema):
    code: str
    name: str
    kind: str
    measure: str
    topic: str
    buffer_m: float
    low: float | None
    high: float | None
    shape: str
    benefit: bool
    a: float
    b: float
    weight: float | None
    citation: str


class ProjectOut(Schema):
    code: str
    name: str
    group: str
    epsg: int | None
    cell: float
    method: str
    synthetic: bool
    members: list[MemberOut]
    layers: list[str]
    criteria_set: str | None
    criteria_version: int | None
    legal_status: str | None
    criteria: list[CriterionOut]
    runs: list[int]


class JudgedOut(Schema):
    a: str
    b: str
    given: float
    implied: float


class ExpertOut(Schema):
    name: str
    complete: bool
    weights: list[float] = []
    cr: float | None = None
    consistent: bool | None = None
    responsible: list[JudgedOut] = []


class WeightsOut(Schema):
    factors: list[str]
    weighting: str
    weights: dict[str, float]
    group_cr: float | None
    experts: list[ExpertOut]


class ClassOut(Schema):
    low: float
    high: float
    area_m2: float


class StabilityOut(Schema):
    best_share: float
    min_rank: int
    max_rank: int


class CandidateOut(Schema):
    rank: int
    closeness: float
    area_m2: float
    mean_suitability: float
    haul_km: float
    haul_by_member: dict[str, float]
    compactness: float
    lon: float
    lat: float
    stability: StabilityOut | None
    geometry: dict | None = None


class RunOut(Schema):
    project: str
    number: int
    criteria_version: int
    weights: dict[str, float]
    required_area_m2: float
    tonnes: float
    classes: list[ClassOut]
    excluded_m2: float
    candidates: list[CandidateOut]


def _project(request, code: str) -> Project:
    user = reader(request)
    found = Project.objects.select_related("group", "criteria_set").filter(code=code).first()
    if found is None or not access.can_read(user, found):
        raise Http404
    return found


@router.get("/projects", response=responses(list[str]), summary="Siting projects the caller may read")
def projects(request):
    user = reader(request)
    return list(access.readable(user).order_by("code").values_list("code", flat=True))


@router.get("/projects/{code}", response=responses(ProjectOut), summary="A siting project")
def project(request, code: str):
    p = _project(request, code)
    criteria = list(p.criteria_set.criteria.all()) if p.criteria_set else []
    return {
        "code": p.code,
        "name": p.name,
        "group": p.group.code,
        "epsg": p.epsg,
        "cell": p.cell,
        "method": p.method,
        "synthetic": p.synthetic,
        "members": [
            {"unit": m.unit.code, "population": m.population, "lon": m.lon, "lat": m.lat}
            for m in p.members.select_related("unit")
        ],
        "layers": [layer.topic for layer in p.layers.all()],
        "criteria_set": p.criteria_set.name if p.criteria_set else None,
        "criteria_version": p.criteria_set.version if p.criteria_set else None,
        "legal_status": p.criteria_set.legal_status if p.criteria_set else None,
        "criteria": [services._criterion_data(c) for c in criteria],
        "runs": [r.number for r in p.runs.all()],
    }


@router.get("/projects/{code}/weights", response=responses(WeightsOut), summary="Factor weights (AHP)")
def weights(request, code: str):
    p = _project(request, code)
    found = services.weighting(p)
    return {
        "factors": found["codes"],
        "weighting": p.weighting,
        "weights": found["weights"],
        "group_cr": found["group"]["cr"] if found["group"] else None,
        "experts": found["experts"],
    }


@router.get("/projects/{code}/runs/{number}", response=responses(RunOut), summary="A run's results")
def run(request, code: str, number: int, geometry: Literal["none", "geojson"] = "none"):
    p = _project(request, code)
    found = Run.objects.filter(project=p, number=number).first()
    if found is None:
        raise Http404
    candidates = []
    for c in found.results["candidates"]:
        s = services.stability_of(found, c)
        candidates.append(
            {
                **{k: c[k] for k in ("rank", "closeness", "area_m2", "mean_suitability", "haul_km", "compactness")},
                **{k: c[k] for k in ("haul_by_member", "lon", "lat")},
                "stability": None
                if s is None
                else {"best_share": s["best_share"], "min_rank": s["min_rank"], "max_rank": s["max_rank"]},
                "geometry": c["geometry"] if geometry == "geojson" else None,
            }
        )
    return {
        "project": p.code,
        "number": found.number,
        "criteria_version": found.inputs["criteria_set"]["version"],
        "weights": found.inputs["weights"],
        "required_area_m2": found.inputs["need"]["area_m2"],
        "tonnes": found.inputs["need"]["tonnes"],
        "classes": found.results["classes"],
        "excluded_m2": found.results["excluded_m2"],
        "candidates": candidates,
    }
