"""A plan to and from files: YAML (the whole plan in one readable document) and xlsx (sheets
plan, items, targets, budgets, as an office keeps them). Loading is all or nothing: the plan
is built in one transaction through `services`, so every rule holds and a refusal names the
place in the file ("items, row 4 (1.2)"), leaving stored data as they were."""

from __future__ import annotations

import polars as pl
import yaml
from django.db import transaction
from django.utils.translation import gettext as _

from municipium.catalog.models import Indicator
from municipium.lib.tabular import ProblemReport, open_workbook, to_xlsx
from municipium.meetings.models import Body
from municipium.places.models import Group, Unit

from . import services
from .models import Budget, Item, Plan, Target
from .services import PlanError

MAX_BYTES = 5 * 1024 * 1024
SHEETS = ("plan", "items", "targets", "budgets")


def to_yaml(plan: Plan) -> bytes:
    return yaml.safe_dump(services.document(plan), allow_unicode=True, sort_keys=False).encode("utf-8")


def _milestones_text(milestones: dict) -> str:
    return "; ".join(f"{y}={v}" for y, v in sorted(milestones.items()))


def to_workbook(plan: Plan) -> bytes:
    doc = services.document(plan)
    settings = {k: v for k, v in doc.items() if k != "items"}
    settings["levels"] = ", ".join(settings["levels"])
    items, targets, budgets = [], [], []
    for item in doc["items"]:
        items.append(
            {k: item[k] for k in ("code", "parent", "title", "description", "responsible", "working_group", "weight")}
        )
        for t in item["targets"]:
            row = {k: t[k] for k in t if k not in ("milestones", "own_values")}
            row["higher_is_better"] = "true" if t["higher_is_better"] else "false"
            targets.append(
                {
                    "item": item["code"],
                    **row,
                    "milestones": _milestones_text(t["milestones"]),
                    "own_values": _milestones_text(t["own_values"]),
                }
            )
        for b in item["budgets"]:
            budgets.append({"item": item["code"], **b})
    frames = {
        "plan": pl.DataFrame({"field": list(settings), "value": [str(v) for v in settings.values()]}),
        "items": pl.DataFrame(items, infer_schema_length=None) if items else pl.DataFrame({"code": []}),
        "targets": pl.DataFrame(targets, infer_schema_length=None) if targets else pl.DataFrame({"item": []}),
        "budgets": pl.DataFrame(budgets, infer_schema_length=None) if budgets else pl.DataFrame({"item": []}),
    }
    return to_xlsx(frames)


# -- reading ---------------------------------------------------------------------------------


def _pairs(text, where: str) -> dict:
    """ "2025=40; 2027=55" (a cell) or a mapping (YAML) as {"2025": 40.0}."""
    if not text:
        return {}
    if isinstance(text, dict):
        items = text.items()
    else:
        items = []
        for part in str(text).split(";"):
            if part.strip():
                year, _sep, value = part.partition("=")
                items.append((year.strip(), value.strip()))
    out = {}
    for year, value in items:
        try:
            out[str(int(float(year)))] = float(value)
        except (TypeError, ValueError):
            raise PlanError(
                _("%(text)s is not a list of year=value pairs such as 2025=40; 2027=55.") % {"text": text},
                None,
                where,
            ) from None
    return out


def _rows(sheet) -> list[dict]:
    rows = sheet.to_python(skip_empty_area=True)
    if not rows:
        return []
    header = [str(h).strip() for h in rows[0]]
    return [dict(zip(header, row, strict=False)) for row in rows[1:] if any(c not in ("", None) for c in row)]


def read_workbook(data: bytes, name: str) -> dict:
    report = ProblemReport(name)
    book = open_workbook(data, name, "xlsx", report)
    if book is None:
        raise PlanError(str(report.problems[0]) if report.problems else _("The workbook cannot be read."))
    present = set(book.sheet_names)
    missing = [s for s in SHEETS if s not in present]
    if missing:
        raise PlanError(_("The workbook lacks the sheets %(sheets)s.") % {"sheets": ", ".join(missing)})
    plan = {str(r.get("field")): r.get("value") for r in _rows(book.get_sheet_by_name("plan"))}
    plan["levels"] = [p.strip() for p in str(plan.get("levels") or "").split(",") if p.strip()]
    items = {}
    order = []
    for n, row in enumerate(_rows(book.get_sheet_by_name("items")), start=2):
        code = str(row.get("code") or "").strip()
        items[code] = {**row, "code": code, "targets": [], "budgets": [], "_where": f"items, {_('row')} {n}"}
        order.append(code)
    for sheet in ("targets", "budgets"):
        for n, row in enumerate(_rows(book.get_sheet_by_name(sheet)), start=2):
            code = str(row.get("item") or "").strip()
            where = f"{sheet}, {_('row')} {n}"
            if code not in items:
                raise PlanError(_("Item %(code)s is not on the items sheet.") % {"code": code}, None, where)
            items[code][sheet].append({**row, "_where": where})
    plan["items"] = [items[c] for c in order]
    return plan


def read(data: bytes, name: str) -> dict:
    if len(data) > MAX_BYTES:
        raise PlanError(_("The file is larger than %(limit)s MB.") % {"limit": MAX_BYTES // 1048576})
    if name.lower().endswith((".yaml", ".yml")):
        try:
            doc = yaml.safe_load(data.decode("utf-8"))
        except (UnicodeDecodeError, yaml.YAMLError) as error:
            raise PlanError(_("The file is not valid YAML in UTF-8: %(error)s") % {"error": error}) from error
        if not isinstance(doc, dict):
            raise PlanError(_("The YAML file must hold one plan (a mapping with code, title and items)."))
        return doc
    if name.lower().endswith(".xlsx"):
        return read_workbook(data, name)
    raise PlanError(_("%(name)s is neither a YAML (.yaml) nor an Excel (.xlsx) file.") % {"name": name})


def _number(value, what: str, where: str, *, integer=False, required=True):
    if value in (None, ""):
        if required:
            raise PlanError(_("%(what)s is missing.") % {"what": what}, None, where)
        return None
    try:
        number = float(str(value).replace(",", "."))
    except ValueError:
        raise PlanError(
            _("%(what)s is not a number: %(value)s") % {"what": what, "value": value}, None, where
        ) from None
    return int(number) if integer else number


@transaction.atomic
def load(actor, doc: dict, *, may_coordinate) -> Plan:
    """Create the plan, or replace a draft of the same code, from a document. `may_coordinate`
    (user, unit) says whether the actor may set up a plan for the unit."""
    unit = Unit.objects.filter(code=str(doc.get("unit") or "")).first()
    if unit is None:
        raise PlanError(_("Unknown unit: %(code)s") % {"code": doc.get("unit")}, None, "plan")
    if not may_coordinate(actor, unit):
        raise PlanError(_("You may not set up plans for %(unit)s.") % {"unit": unit.label}, None, "plan")
    code = str(doc.get("code") or "").strip()
    plan = Plan.objects.filter(code=code).first()
    if plan is not None:
        if plan.unit_id != unit.pk:
            raise PlanError(_("Plan %(code)s belongs to another unit.") % {"code": code}, None, "plan")
        if plan.state != Plan.State.DRAFT:
            raise PlanError(_("Plan %(code)s is not a draft; amend it first.") % {"code": code}, None, "plan")
        plan.items.all().delete()
    else:
        plan = Plan(code=code, unit=unit)
    plan.title = str(doc.get("title") or "").strip() or code
    plan.vision = str(doc.get("vision") or "")
    plan.start_year = _number(doc.get("start_year"), "start_year", "plan", integer=True)
    plan.end_year = _number(doc.get("end_year"), "end_year", "plan", integer=True)
    plan.levels = [str(level) for level in (doc.get("levels") or [])]
    for name in ("trajectory", "rollup"):
        if doc.get(name):
            setattr(plan, name, str(doc[name]))
    for name in ("on_track", "at_risk"):
        if doc.get(name) not in (None, ""):
            setattr(plan, name, _number(doc[name], name, "plan"))
    if doc.get("compare_with"):
        plan.compare_with = Group.objects.filter(code=doc["compare_with"]).first()
    if not code:
        raise PlanError(_("The plan needs a code."), None, "plan")
    services.save_plan(actor, plan)
    made: dict[str, Item] = {}
    for n, raw in enumerate(doc.get("items") or [], start=1):
        where = raw.get("_where") or f"items[{n}]"
        item_code = str(raw.get("code") or "").strip()
        where = f"{where} ({item_code})" if item_code else where
        parent_code = str(raw.get("parent") or "").strip() or None
        if parent_code and parent_code not in made:
            raise PlanError(
                _("Parent %(parent)s is not listed before %(item)s (an unknown item, or a cycle).")
                % {"parent": parent_code, "item": item_code},
                None,
                where,
            )
        body_code = raw.get("working_group")
        item = Item(
            plan=plan,
            parent=made.get(parent_code) if parent_code else None,
            code=item_code,
            title=str(raw.get("title") or "").strip() or item_code,
            description=str(raw.get("description") or ""),
            responsible=str(raw.get("responsible") or ""),
            body=Body.objects.filter(code=body_code).first() if body_code else None,
            weight=_number(raw.get("weight"), "weight", where, required=False),
            position=n,
        )
        made[item_code] = services.save_item(actor, item, where=where)
        for t in raw.get("targets") or []:
            t_where = t.get("_where") or where
            indicator = None
            if t.get("indicator"):
                indicator = Indicator.objects.filter(code=str(t["indicator"])).first()
                if indicator is None:
                    raise PlanError(_("Unknown indicator: %(code)s") % {"code": t["indicator"]}, None, t_where)
            target = Target(
                item=made[item_code],
                indicator=indicator,
                own_name=str(t.get("own_name") or ""),
                own_unit=str(t.get("own_unit") or ""),
                own_values=_pairs(t.get("own_values"), t_where),
                higher_is_better=str(t.get("higher_is_better", True)).lower() not in ("false", "0", "no"),
                baseline=_number(t.get("baseline"), "baseline", t_where),
                baseline_year=_number(t.get("baseline_year"), "baseline_year", t_where, integer=True),
                target=_number(t.get("target"), "target", t_where),
                target_year=_number(t.get("target_year"), "target_year", t_where, integer=True),
                milestones=_pairs(t.get("milestones"), t_where),
            )
            services.save_target(actor, target, unit_of_measure=str(t.get("unit_of_measure") or ""), where=t_where)
        for b in raw.get("budgets") or []:
            b_where = b.get("_where") or where
            services.save_budget(
                actor,
                Budget(
                    item=made[item_code],
                    year=_number(b.get("year"), "year", b_where, integer=True),
                    amount=_number(b.get("amount"), "amount", b_where),
                    source=str(b.get("source") or ""),
                ),
            )
    problems = services.weight_problems(plan)
    if problems:
        raise PlanError(problems[0], None, "items")
    return plan
