"""Every change to a plan goes through here: checked, in one transaction, audited. Pages,
the API, the YAML/xlsx loader and the demo call these, so the rules (no cycles, levels in
order, weights that sum, baselines before targets, units that match) hold for all.

A refusal is a `PlanError` naming the field (and, from a file, where in it)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext as _

from municipium.audit.models import record, snapshot
from municipium.lib.progress import check_weights

from .models import Budget, Item, Plan, Target, Version


class PlanError(ValueError):
    def __init__(self, message: str, field: str | None = None, where: str = ""):
        super().__init__(f"{where}: {message}" if where else message)
        self.message = f"{where}: {message}" if where else message
        self.field = field


def _audit(action, instance, actor, before=None, note=""):
    record(action, instance, actor=actor, before=before, after=snapshot(instance), via="web", note=note)


def _editable(plan: Plan) -> None:
    if plan.state != Plan.State.DRAFT:
        raise PlanError(_("The plan is %(state)s; amend it to change it.") % {"state": plan.get_state_display()})


def save_plan(actor, plan: Plan) -> Plan:
    if plan.end_year <= plan.start_year:
        raise PlanError(_("The plan must end after it starts."), "end_year")
    if plan.at_risk >= plan.on_track:
        raise PlanError(_("The at-risk threshold must be below the on-track threshold."), "at_risk")
    stored = Plan.objects.get(pk=plan.pk) if plan.pk else None
    if stored is not None:
        _editable(stored)  # settings change only in a draft, whoever calls
    before = snapshot(stored) if stored is not None else None
    with transaction.atomic():
        plan.save()
        _audit("update" if before else "create", plan, actor, before)
    return plan


def save_item(actor, item: Item, *, where: str = "") -> Item:
    plan = item.plan
    _editable(plan)
    levels = plan.level_names()
    if item.parent_id is not None:
        parent = Item.objects.get(pk=item.parent_id)
        if parent.plan_id != plan.pk:
            raise PlanError(_("The parent item belongs to another plan."), "parent", where)
        # Walk up from the parent: meeting the item itself means the tree would loop.
        node: Item | None = parent
        seen: set[int] = set()
        while node is not None:
            if (item.pk is not None and node.pk == item.pk) or node.pk in seen:
                raise PlanError(
                    _("%(item)s cannot be placed under %(parent)s: that would make a cycle.")
                    % {"item": item.code, "parent": parent.code},
                    "parent",
                    where,
                )
            seen.add(node.pk)
            node = node.parent
        item.level = parent.level + 1
    else:
        item.level = 0
    if item.level >= len(levels):
        raise PlanError(
            _("The plan's levels are %(levels)s; %(item)s would be below the last.")
            % {"levels": ", ".join(levels), "item": item.code},
            "parent",
            where,
        )
    if not (item.code or "").strip():
        raise PlanError(_("Give the item a number, e.g. 1.2."), "code", where)
    clash = Item.objects.filter(plan=plan, code=item.code).exclude(pk=item.pk).exists()
    if clash:
        raise PlanError(_("Number %(code)s is taken in this plan.") % {"code": item.code}, "code", where)
    if item.weight is not None and not (0 <= item.weight <= 100):
        raise PlanError(_("A weight is between 0 and 1, or between 0 and 100 as a percentage."), "weight", where)
    before = snapshot(Item.objects.get(pk=item.pk)) if item.pk else None
    with transaction.atomic():
        item.save()
        _audit("update" if before else "create", item, actor, before)
    return item


def delete_item(actor, item: Item) -> None:
    _editable(item.plan)
    with transaction.atomic():
        record("delete", item, actor=actor, before=snapshot(item), via="web")
        item.delete()


def save_target(actor, target: Target, *, unit_of_measure: str = "", where: str = "") -> Target:
    """A baseline, milestones and a final target for one indicator of an item. `unit_of_measure`,
    when given, must be the catalogue indicator's own: a target in % on an indicator in m³
    would be compared with the wrong numbers."""
    _editable(target.item.plan)
    if target.baseline_year is None:
        raise PlanError(_("Give the year of the baseline."), "baseline_year", where)
    if target.target_year is None or target.target_year <= target.baseline_year:
        raise PlanError(_("The target year must come after the baseline year."), "target_year", where)
    if target.indicator_id is None and not (target.own_name or "").strip():
        raise PlanError(_("Choose a catalogue indicator or name the plan's own."), "indicator", where)
    if target.indicator_id is not None:
        from municipium.catalog.models import Indicator

        indicator = Indicator.objects.get(pk=target.indicator_id)
        expected_unit = indicator.unit_label
        if unit_of_measure and expected_unit and unit_of_measure.strip() != expected_unit:
            raise PlanError(
                _("%(indicator)s is measured in %(expected)s, not %(given)s.")
                % {"indicator": indicator.code, "expected": expected_unit, "given": unit_of_measure},
                "unit_of_measure",
                where,
            )
        if indicator.polarity != Indicator.Polarity.NEUTRAL:
            target.higher_is_better = indicator.polarity == Indicator.Polarity.HIGHER_IS_BETTER
    if (target.target - target.baseline) * target.direction < 0:
        raise PlanError(
            _("The target %(target)s is worse than the baseline %(baseline)s for an indicator where %(better)s.")
            % {
                "target": target.target,
                "baseline": target.baseline,
                "better": _("higher is better") if target.higher_is_better else _("lower is better"),
            },
            "target",
            where,
        )
    for year in target.milestones or {}:
        if not str(year).isdigit() or not (target.baseline_year < int(year) < target.target_year):
            raise PlanError(
                _("An intermediate target's year (%(year)s) must lie between the baseline and target years.")
                % {"year": year},
                "milestones",
                where,
            )
    before = snapshot(Target.objects.get(pk=target.pk)) if target.pk else None
    with transaction.atomic():
        target.save()
        _audit("update" if before else "create", target, actor, before)
    return target


def save_budget(actor, budget: Budget) -> Budget:
    _editable(budget.item.plan)
    if budget.amount is None or budget.amount < 0:
        raise PlanError(_("A budget amount cannot be negative."), "amount")
    with transaction.atomic():
        existing = Budget.objects.filter(item=budget.item, year=budget.year, source=budget.source).first()
        if existing:
            budget.pk = existing.pk
        budget.save()
        _audit("update" if existing else "create", budget, actor)
    return budget


def weight_problems(plan: Plan) -> list[str]:
    """Under a weighted roll-up, the children of each parent must carry weights that sum to 1."""
    if plan.rollup != Plan.Rollup.WEIGHTED:
        return []
    problems = []
    groups: dict[int | None, list[Item]] = {}
    for item in plan.items.all():
        groups.setdefault(item.parent_id, []).append(item)
    for parent_id, children in groups.items():
        total = check_weights([c.weight for c in children])
        if total is not None or any(c.weight is None for c in children):
            label = Item.objects.get(pk=parent_id).code if parent_id else _("the top level")
            problems.append(
                _("The weights under %(parent)s sum to %(total)s, not 1.")
                % {"parent": label, "total": round(sum(c.weight or 0 for c in children), 4)}
            )
    return problems


# -- versions --------------------------------------------------------------------------------


def document(plan: Plan) -> dict:
    """The plan as a plain document: what a version keeps, what YAML and xlsx files hold."""
    items = []
    for item in plan.items.select_related("parent", "body").prefetch_related("targets__indicator", "budgets"):
        items.append(
            {
                "code": item.code,
                "parent": item.parent.code if item.parent else None,
                "title": item.title,
                "description": item.description,
                "responsible": item.responsible,
                "working_group": item.body.code if item.body else None,
                "weight": item.weight,
                "targets": [
                    {
                        "indicator": t.indicator.code if t.indicator else None,
                        "own_name": t.own_name or None,
                        "own_unit": t.own_unit or None,
                        "own_values": t.own_values or {},
                        "higher_is_better": t.higher_is_better,
                        "baseline": t.baseline,
                        "baseline_year": t.baseline_year,
                        "target": t.target,
                        "target_year": t.target_year,
                        "milestones": t.milestones or {},
                    }
                    for t in item.targets.all()
                ],
                "budgets": [
                    {"year": b.year, "amount": float(b.amount), "source": b.source} for b in item.budgets.all()
                ],
            }
        )
    return {
        "code": plan.code,
        "title": plan.title,
        "unit": plan.unit.code,
        "vision": plan.vision,
        "start_year": plan.start_year,
        "end_year": plan.end_year,
        "levels": plan.level_names(),
        "trajectory": str(plan.trajectory),
        "rollup": str(plan.rollup),
        "on_track": plan.on_track,
        "at_risk": plan.at_risk,
        "items": items,
    }


def differences(old: dict, new: dict) -> list[dict]:
    """What changed from one version to the next, item by item and field by field."""
    before = {i["code"]: i for i in old.get("items", [])}
    after = {i["code"]: i for i in new.get("items", [])}
    out = []
    for code in sorted(set(before) | set(after), key=lambda c: [int(p) if p.isdigit() else p for p in c.split(".")]):
        if code not in before:
            out.append({"code": code, "change": "added", "title": after[code]["title"], "fields": []})
        elif code not in after:
            out.append({"code": code, "change": "removed", "title": before[code]["title"], "fields": []})
        else:
            fields = [k for k in after[code] if after[code].get(k) != before[code].get(k)]
            if fields:
                out.append({"code": code, "change": "changed", "title": after[code]["title"], "fields": fields})
    return out


def _version(plan: Plan, kind: str, **fields) -> Version:
    number = (plan.versions.order_by("-number").values_list("number", flat=True).first() or 0) + 1
    return Version.objects.create(plan=plan, number=number, kind=kind, snapshot=document(plan), **fields)


def send_to_consultation(actor, plan: Plan, *, opens: dt.date, closes: dt.date, council_deadline=None) -> Plan:
    """The draft goes to public consultation through the meetings app's consultations."""
    from municipium.meetings import services as meetings
    from municipium.meetings.models import Consultation

    _editable(plan)
    problems = weight_problems(plan)
    if problems:
        raise PlanError(problems[0], "rollup")
    with transaction.atomic():
        version = _version(plan, Version.Kind.CONSULTATION)
        consultation = meetings.save_consultation(
            actor,
            Consultation(
                unit=plan.unit,
                body=plan.body,
                code=f"plan-{plan.code}-v{version.number}"[:64],
                title=plan.title,
                summary=plan.vision or plan.title,
                opens=opens,
                closes=closes,
                council_deadline=council_deadline,
                published=True,
            ),
        )
        before = snapshot(plan)
        plan.state = Plan.State.CONSULTATION
        plan.consultation = consultation
        plan.save()
        _audit("update", plan, actor, before, note=f"version {version.number} to consultation")
    return plan


def adopt(actor, plan: Plan, *, number: str, date: dt.date) -> Version:
    if plan.state == Plan.State.ADOPTED:
        raise PlanError(_("The plan is adopted already."))
    number = (number or "").strip()
    if not number:
        raise PlanError(_("Give the number of the council decision."), "council_number")
    problems = weight_problems(plan)
    if problems:
        raise PlanError(problems[0], "rollup")
    if plan.consultation is not None and date < plan.consultation.closes:
        raise PlanError(_("The council cannot adopt the plan before its consultation closed."), "council_date")
    kind = Version.Kind.AMENDED if plan.versions.filter(kind=Version.Kind.ADOPTED).exists() else Version.Kind.ADOPTED
    with transaction.atomic():
        version = _version(plan, kind, council_number=number[:64], council_date=date)
        before = snapshot(plan)
        plan.state = Plan.State.ADOPTED
        plan.save()
        _audit("update", plan, actor, before, note=f"version {version.number} {kind}")
    return version


def amend(actor, plan: Plan) -> Plan:
    """An adopted plan is opened for amendment: a draft again, its adopted versions kept."""
    if plan.state != Plan.State.ADOPTED:
        raise PlanError(_("Only an adopted plan is amended."))
    with transaction.atomic():
        before = snapshot(plan)
        plan.state = Plan.State.DRAFT
        plan.save()
        _audit("update", plan, actor, before, note="opened for amendment")
    return plan
