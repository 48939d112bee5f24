"""API routes of the plans app, mounted at /api/plans/: plans the caller may read, and one
plan's tree with targets and progress from `plans.progress.compute` (the page's figures)."""

from django.http import Http404
from ninja import Router, Schema

from municipium.api.schemas import responses
from municipium.plans import access, progress
from municipium.plans.models import Plan

from .auth import reader

router = Router(tags=["plans"])


class PlanOut(Schema):
    code: str
    title: str
    unit: str
    start_year: int
    end_year: int
    state: str


class TargetOut(Schema):
    indicator: str | None
    own_name: str | None
    unit_of_measure: str
    baseline: float
    baseline_year: int
    target: float
    target_year: int
    milestones: dict[str, float]
    year: int | None
    actual: float | None
    expected: float | None
    achieved_pct: float | None
    status: str
    rank: int | None
    rank_of: int | None
    group_median: float | None


class ItemOut(Schema):
    code: str
    parent: str | None
    level: str
    title: str
    weight: float | None
    progress_pct: float | None
    status: str
    targets: list[TargetOut]


class PlanDetail(PlanOut):
    levels: list[str]
    compare_with: str | None
    items: list[ItemOut]


def _out(plan: Plan) -> dict:
    return {
        "code": plan.code,
        "title": plan.title,
        "unit": plan.unit.code,
        "start_year": plan.start_year,
        "end_year": plan.end_year,
        "state": plan.state,
    }


@router.get("/", response=responses(list[PlanOut]), summary="Plans")
def plans(request):
    return [_out(p) for p in access.plans_for(reader(request))]


@router.get("/{code}", response=responses(PlanDetail), summary="One plan with targets and progress")
def plan(request, code: str):
    user = reader(request)
    found = Plan.objects.select_related("unit", "compare_with").filter(code=code).first()
    if found is None or not access.can_read(user, found):
        raise Http404
    public = access.public_figures(user, found)
    items = []
    for _depth, node in progress.flatten(progress.compute(found, public=public)):
        item = node.item
        items.append(
            {
                "code": item.code,
                "parent": item.parent.code if item.parent else None,
                "level": item.level_name,
                "title": item.title,
                "weight": item.weight,
                "progress_pct": node.progress,
                "status": node.status,
                "targets": [
                    {
                        "indicator": t.target.indicator.code if t.target.indicator else None,
                        "own_name": t.target.own_name or None,
                        "unit_of_measure": t.target.unit_label,
                        "baseline": t.target.baseline,
                        "baseline_year": t.target.baseline_year,
                        "target": t.target.target,
                        "target_year": t.target.target_year,
                        "milestones": t.target.milestones or {},
                        "year": t.year,
                        "actual": t.actual,
                        "expected": t.expected,
                        "achieved_pct": t.achieved,
                        "status": t.status,
                        "rank": t.rank,
                        "rank_of": t.rank_of,
                        "group_median": t.median,
                    }
                    for t in node.targets
                ],
            }
        )
    return {
        **_out(found),
        "levels": found.level_names(),
        "compare_with": found.compare_with.code if found.compare_with else None,
        "items": items,
    }
