"""A plan's progress, computed on read from the derived indicator values (principle 1: the
observations are the truth; nothing here is stored). The page, the report, the PDF, the
open-data file and the API all take their figures from `compute`."""

from __future__ import annotations

from dataclasses import dataclass, field

from municipium.benchmarks import read
from municipium.lib import progress as maths

from .models import Item, Plan, Target


@dataclass
class TargetProgress:
    target: Target
    year: int | None = None  # the latest year with a value
    actual: float | None = None
    expected: float | None = None  # where the indicator should be by `year`
    achieved: float | None = None  # % of the way from baseline to target
    status: str = "unknown"
    milestone: tuple[int, float] | None = None  # the next intermediate target
    rank: int | None = None
    rank_of: int | None = None
    median: float | None = None
    series: list[tuple[int, float]] = field(default_factory=list)


@dataclass
class ItemProgress:
    item: Item
    targets: list[TargetProgress]
    progress: float | None  # % (own targets, or rolled up from children)
    status: str
    children: list[ItemProgress] = field(default_factory=list)


STATUS_ORDER = ["off_track", "at_risk", "unknown", "on_track", "achieved"]


def _series(target: Target, plan: Plan, *, public: bool, until: int | None):
    if target.indicator_id is None:
        values = sorted((int(y), float(v)) for y, v in (target.own_values or {}).items() if v is not None)
        return [(y, v, None) for y, v in values if until is None or y <= until]
    rows = read.series(target.indicator, plan.unit, public=public)
    out = []
    for row in rows:
        if row.period.kind != "year":
            continue
        year = row.period.start.year
        if until is None or year <= until:
            out.append((year, row.value, row.period))
    return out


def _target(target: Target, plan: Plan, *, public: bool, until: int | None) -> TargetProgress:
    out = TargetProgress(target=target)
    series = _series(target, plan, public=public, until=until)
    out.series = [(y, v) for y, v, _p in series]
    later = sorted((int(y), float(v)) for y, v in (target.milestones or {}).items())
    if not series:
        out.milestone = later[0] if later else None
        return out
    year, actual, period = series[-1]
    out.year, out.actual = year, actual
    out.milestone = next(((y, v) for y, v in later if y >= year), None)
    out.achieved = maths.achieved(actual, target.baseline, target.target)
    try:
        out.expected = maths.expected(
            target.baseline, target.target, target.baseline_year, target.target_year, year, trajectory=plan.trajectory
        )
    except maths.ProgressError:
        out.expected = maths.expected(target.baseline, target.target, target.baseline_year, target.target_year, year)
    out.status = maths.status(
        actual,
        year,
        target.baseline,
        target.baseline_year,
        target.target,
        target.target_year,
        direction=target.direction,
        trajectory=plan.trajectory,
        thresholds=maths.Thresholds(plan.on_track, plan.at_risk),
    )
    if period is not None and plan.compare_with_id:
        ranked = read.ranks(target.indicator, period, plan.compare_with, public=public)
        mine = next((r for r in ranked if r.unit.pk == plan.unit_id), None)
        if mine is not None:
            out.rank, out.rank_of = mine.rank, mine.n
        stat = read.statistic(target.indicator, period, plan.compare_with, public=public)
        out.median = stat.median if stat else None
    return out


def _worst(statuses: list[str]) -> str:
    known = [s for s in statuses if s != "unknown"]
    if not known:
        return "unknown"
    return min(known, key=STATUS_ORDER.index)


def compute(plan: Plan, *, public: bool, until: int | None = None) -> list[ItemProgress]:
    """The plan's tree with progress, top items first. `until`: the monitoring year (values
    of later years are left out, as the report of that year had them)."""
    items = list(plan.items.select_related("parent", "body").prefetch_related("targets__indicator"))
    children: dict[int | None, list[Item]] = {}
    for item in items:
        children.setdefault(item.parent_id, []).append(item)
    weighted = plan.rollup == Plan.Rollup.WEIGHTED

    def build(item: Item) -> ItemProgress:
        targets = [_target(t, plan, public=public, until=until) for t in item.targets.all()]
        kids = [build(child) for child in children.get(item.pk, [])]
        own = [t.achieved for t in targets if t.achieved is not None]
        if own:
            progress = sum(own) / len(own)
        else:
            progress = maths.rollup([(k.progress, k.item.weight) for k in kids], weighted=weighted)
        status = _worst([t.status for t in targets] + [k.status for k in kids])
        return ItemProgress(item=item, targets=targets, progress=progress, status=status, children=kids)

    return [build(item) for item in children.get(None, [])]


def flatten(tree: list[ItemProgress]) -> list[tuple[int, ItemProgress]]:
    """(depth, node) in reading order, for tables and files."""
    out: list[tuple[int, ItemProgress]] = []

    def walk(nodes, depth):
        for node in nodes:
            out.append((depth, node))
            walk(node.children, depth + 1)

    walk(tree, 0)
    return out
