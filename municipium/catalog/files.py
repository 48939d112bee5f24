"""The catalogue (service areas, breakdowns, variables, indicators, indicator sets) from and
to YAML.

A catalogue is one YAML file or a folder of them, read in name order and merged as one
(the starter catalogue is a common.yaml plus one file per service area). Everything is
checked before anything is written, formulas included: every name must be a variable or an
indicator of the catalogue (or already stored), and indicators must not refer to each other
in a circle. Then all objects are created or updated by code in one transaction, each
change audited. Problems read `water.yaml: indicators[12].formula: column 18: unknown name
'wter_billed'`.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.utils.translation import gettext as _

from municipium.audit.models import record
from municipium.lib.formulas import FormulaError, dependency_order, parse
from municipium.places.files import LoadReport, as_texts, read_yaml, save_all_or_nothing, save_changes
from municipium.places.models import Group

from .models import (
    CODE_PATTERN,
    Breakdown,
    Category,
    Indicator,
    IndicatorSet,
    PeriodKind,
    ServiceArea,
    SetIndicator,
    Variable,
)

SECTIONS = ("service_areas", "breakdowns", "variables", "indicators", "indicator_sets")


def catalogue_files(path) -> list[Path]:
    path = Path(path)
    if path.is_dir():
        return sorted(p for p in path.iterdir() if p.suffix.lower() in {".yaml", ".yml"} and p.is_file())
    return [path]


def load_catalog(path, *, actor=None, via: str = "command") -> LoadReport:
    """Load a catalogue file or folder: all or nothing, idempotent, audited."""
    files = catalogue_files(path)
    report = LoadReport(files=[p.name for p in files])
    if not files:
        report.problem(str(path), "", _("no YAML files found"), _("a .yaml file or a folder of them"))
        return report
    # (file, index in that file's section, entry) for each section, in reading order.
    entries: dict[str, list[tuple[str, int, dict]]] = {s: [] for s in SECTIONS}
    for file in files:
        data = read_yaml(file, report)
        if data is None:
            continue
        for key, items in data.items():
            if key not in SECTIONS:
                report.problem(file.name, str(key), _("unknown section '%(key)s'") % {"key": key}, ", ".join(SECTIONS))
                continue
            if not isinstance(items, list):
                report.problem(file.name, key, _("expected a list"), f"{key}: [...]")
                continue
            for index, item in enumerate(items):
                if not isinstance(item, dict):
                    report.problem(file.name, f"{key}[{index}]", _("expected a mapping"), "{code: ..., name: ...}")
                    continue
                entries[key].append((file.name, index, item))
    if report.problems:
        return report
    checked = _Checker(entries, report).run()
    if report.problems:
        return report
    return save_all_or_nothing(report, lambda: _save(checked, actor, via, report))


def _number(value, report, file, path):
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        try:
            return float(str(value).replace(",", "."))
        except ValueError:
            report.problem(file, path, _("'%(value)s' is not a number") % {"value": value}, _("a number such as 12.5"))
            return None
    return float(value)


class _Checker:
    def __init__(self, entries, report: LoadReport):
        self.entries, self.report = entries, report
        self.first_seen: dict[tuple[str, str], str] = {}

    def problem(self, file, path, message, expected=""):
        self.report.problem(file, path, message, expected)

    def code(self, section, file, index, item) -> str | None:
        at = f"{section}[{index}].code"
        code = item.get("code")
        if code is None or not re.match(CODE_PATTERN, str(code)):
            self.problem(
                file,
                at,
                _("'%(code)s' is not a valid code") % {"code": code if code is not None else ""},
                _("letters, digits and _, not starting with a digit, such as water_billed"),
            )
            return None
        code = str(code)
        first = self.first_seen.get((section, code))
        if first:
            self.problem(
                file,
                at,
                _("the code '%(code)s' is defined twice (first at %(first)s)") % {"code": code, "first": first},
                _("each code once"),
            )
            return None
        self.first_seen[(section, code)] = f"{file}: {section}[{index}]"
        return code

    def choice(self, value, choices, file, path, default=None):
        if value in (None, "") and default is not None:
            return default
        if value not in choices:
            self.problem(
                file,
                path,
                _("unknown value '%(value)s'") % {"value": value if value is not None else ""},
                _("one of %(codes)s") % {"codes": ", ".join(choices)},
            )
        return value

    def run(self) -> dict:
        areas, breakdowns, variables, indicators, sets = [], [], [], [], []
        for file, index, item in self.entries["service_areas"]:
            code = self.code("service_areas", file, index, item)
            areas.append(
                {
                    "code": code,
                    "name": as_texts(
                        item.get("name"), self.report, file, f"service_areas[{index}].name", required=True
                    ),
                }
            )
        for file, index, item in self.entries["breakdowns"]:
            at = f"breakdowns[{index}]"
            code = self.code("breakdowns", file, index, item)
            categories, seen = [], set()
            for c_index, category in enumerate(item.get("categories") or []):
                c_at = f"{at}.categories[{c_index}]"
                if not isinstance(category, dict):
                    category = {"code": category}
                c_code = str(category.get("code") or "").strip()
                if not c_code or len(c_code) > 32 or c_code in seen:
                    self.problem(
                        file,
                        f"{c_at}.code",
                        _("the category code '%(code)s' is empty, too long or repeated") % {"code": c_code},
                        _("a short code, unique within the breakdown"),
                    )
                seen.add(c_code)
                categories.append(
                    {"code": c_code, "name": as_texts(category.get("name"), self.report, file, f"{c_at}.name")}
                )
            if not categories:
                self.problem(file, f"{at}.categories", _("a breakdown needs categories"), "[{code: F}, {code: M}]")
            breakdowns.append(
                {
                    "code": code,
                    "name": as_texts(item.get("name"), self.report, file, f"{at}.name", required=True),
                    "categories": categories,
                }
            )

        area_codes = {a["code"] for a in areas} | set(ServiceArea.objects.values_list("code", flat=True))
        breakdown_codes = {b["code"] for b in breakdowns} | set(Breakdown.objects.values_list("code", flat=True))
        periods = PeriodKind.values
        for file, index, item in self.entries["variables"]:
            at = f"variables[{index}]"
            code = self.code("variables", file, index, item)
            area = item.get("service_area")
            if area not in area_codes:
                self.problem(
                    file,
                    f"{at}.service_area",
                    _("unknown service area '%(code)s'") % {"code": area or ""},
                    _("one of %(codes)s") % {"codes": ", ".join(sorted(area_codes))},
                )
            breakdown = item.get("breakdown")
            if breakdown and breakdown not in breakdown_codes:
                self.problem(
                    file,
                    f"{at}.breakdown",
                    _("unknown breakdown '%(code)s'") % {"code": breakdown},
                    _("one of %(codes)s") % {"codes": ", ".join(sorted(breakdown_codes))},
                )
            low = _number(item.get("min"), self.report, file, f"{at}.min")
            high = _number(item.get("max"), self.report, file, f"{at}.max")
            if low is not None and high is not None and low > high:
                self.problem(
                    file,
                    f"{at}.max",
                    _("max (%(max)s) is below min (%(min)s)") % {"max": high, "min": low},
                    _("a max at least as large as min"),
                )
            variables.append(
                {
                    "code": code,
                    "service_area": area,
                    "breakdown": breakdown or None,
                    "min_value": low,
                    "max_value": high,
                    "name": as_texts(item.get("name"), self.report, file, f"{at}.name", required=True),
                    "description": as_texts(item.get("description"), self.report, file, f"{at}.description"),
                    "unit_of_measure": as_texts(item.get("unit"), self.report, file, f"{at}.unit"),
                    "source": as_texts(item.get("source"), self.report, file, f"{at}.source"),
                    "period_kind": self.choice(item.get("period"), periods, file, f"{at}.period", default="year"),
                }
            )

        variable_codes = {v["code"] for v in variables} | set(Variable.objects.values_list("code", flat=True))
        formulas, where = {}, {}
        for file, index, item in self.entries["indicators"]:
            at = f"indicators[{index}]"
            code = self.code("indicators", file, index, item)
            if code in variable_codes:
                self.problem(
                    file,
                    f"{at}.code",
                    _("'%(code)s' is already the code of a variable") % {"code": code},
                    _("a code that no variable has, so formulas are unambiguous"),
                )
            area = item.get("service_area")
            if area not in area_codes:
                self.problem(
                    file,
                    f"{at}.service_area",
                    _("unknown service area '%(code)s'") % {"code": area or ""},
                    _("one of %(codes)s") % {"codes": ", ".join(sorted(area_codes))},
                )
            text = str(item.get("formula") or "")
            try:
                formula = parse(text)
                if code:
                    formulas[code], where[code] = formula, (file, f"{at}.formula")
            except FormulaError as error:
                self.problem(file, f"{at}.formula", str(error), _("a formula over variable and indicator codes"))
            decimals = item.get("decimals", 1)
            if not isinstance(decimals, int) or isinstance(decimals, bool) or not 0 <= decimals <= 6:
                self.problem(
                    file,
                    f"{at}.decimals",
                    _("'%(value)s' is not a number of decimals") % {"value": decimals},
                    _("a whole number from 0 to 6"),
                )
                decimals = 1
            thresholds = item.get("thresholds") or {}
            if not isinstance(thresholds, dict) or set(thresholds) - {"good", "poor"}:
                self.problem(
                    file,
                    f"{at}.thresholds",
                    _("thresholds must be {good: number, poor: number}"),
                    "{good: 20, poor: 35}",
                )
                thresholds = {}
            thresholds = {k: _number(v, self.report, file, f"{at}.thresholds.{k}") for k, v in thresholds.items()}
            indicators.append(
                {
                    "code": code,
                    "service_area": area,
                    "formula": text.strip(),
                    "name": as_texts(item.get("name"), self.report, file, f"{at}.name", required=True),
                    "definition": as_texts(item.get("definition"), self.report, file, f"{at}.definition"),
                    "unit_of_measure": as_texts(item.get("unit"), self.report, file, f"{at}.unit"),
                    "dimension": self.choice(
                        item.get("dimension"), Indicator.Dimension.values, file, f"{at}.dimension"
                    ),
                    "polarity": self.choice(
                        item.get("polarity"), Indicator.Polarity.values, file, f"{at}.polarity", default="neutral"
                    ),
                    "period_kind": self.choice(item.get("period"), periods, file, f"{at}.period", default="year"),
                    "decimals": decimals,
                    "target": _number(item.get("target"), self.report, file, f"{at}.target"),
                    "thresholds": thresholds,
                }
            )
        # Indicators already stored and not redefined here still take part in the checks.
        for stored in Indicator.objects.exclude(code__in=list(formulas)).exclude(
            code__in=[i["code"] for i in indicators]
        ):
            try:
                formulas.setdefault(stored.code, parse(stored.formula))
            except FormulaError:
                pass
        self._check_formulas(formulas, where, variable_codes)

        indicator_codes = {i["code"] for i in indicators} | set(Indicator.objects.values_list("code", flat=True))
        group_codes = set(Group.objects.values_list("code", flat=True))
        for file, index, item in self.entries["indicator_sets"]:
            at = f"indicator_sets[{index}]"
            code = self.code("indicator_sets", file, index, item)
            group = item.get("group")
            if group and group not in group_codes:
                self.problem(
                    file,
                    f"{at}.group",
                    _("unknown group '%(code)s'") % {"code": group},
                    _("the code of a group already loaded (load units and groups first)"),
                )
            members = item.get("indicators") or []
            for m_index, member in enumerate(members):
                if member not in indicator_codes:
                    self.problem(
                        file,
                        f"{at}.indicators[{m_index}]",
                        _("unknown indicator '%(code)s'") % {"code": member},
                        _("the code of an indicator in the catalogue"),
                    )
            if len(set(members)) != len(members):
                self.problem(file, f"{at}.indicators", _("an indicator is listed twice"), _("each indicator once"))
            sets.append(
                {
                    "code": code,
                    "group": group or None,
                    "indicators": [str(m) for m in members],
                    "name": as_texts(item.get("name"), self.report, file, f"{at}.name", required=True),
                }
            )
        return {
            "areas": areas,
            "breakdowns": breakdowns,
            "variables": variables,
            "indicators": indicators,
            "sets": sets,
        }

    def _check_formulas(self, formulas, where, variable_codes):
        known = variable_codes | set(formulas)
        unknown_found = False
        for code, formula in formulas.items():
            if code not in where:
                continue
            try:
                formula.check(known)
            except FormulaError as error:
                unknown_found = True
                self.problem(
                    *where[code],
                    str(error),
                    _("a variable or indicator code such as %(codes)s")
                    % {"codes": ", ".join(_close(error.name, known))}
                    if _close(error.name, known)
                    else _("a variable or indicator code"),
                )
        if unknown_found:
            return
        try:
            dependency_order(formulas, variable_codes)
        except FormulaError as error:
            file, path = where.get(error.indicator, ("", "indicators"))
            self.problem(file, path, str(error), _("indicators that do not depend on themselves"))


def _close(name, known) -> list[str]:
    import difflib

    return difflib.get_close_matches(name or "", sorted(known), n=3, cutoff=0.7)


def _save(checked: dict, actor, via: str, report: LoadReport) -> None:
    areas = {a.code: a for a in ServiceArea.objects.all()}
    for order, area in enumerate(checked["areas"]):
        instance = areas.get(area["code"]) or ServiceArea(code=area["code"])
        save_changes(
            instance,
            {"name": area["name"], "order": order},
            actor=actor,
            via=via,
            report=report,
            exists=instance.pk is not None,
        )
        areas[area["code"]] = instance
    breakdowns = {b.code: b for b in Breakdown.objects.all()}
    for breakdown in checked["breakdowns"]:
        instance = breakdowns.get(breakdown["code"]) or Breakdown(code=breakdown["code"])
        save_changes(
            instance, {"name": breakdown["name"]}, actor=actor, via=via, report=report, exists=instance.pk is not None
        )
        breakdowns[breakdown["code"]] = instance
        stored = {c.code: c for c in instance.categories.all()}
        for order, category in enumerate(breakdown["categories"]):
            c_instance = stored.get(category["code"]) or Category(breakdown=instance, code=category["code"])
            save_changes(
                c_instance,
                {"name": category["name"], "order": order},
                actor=actor,
                via=via,
                report=report,
                exists=c_instance.pk is not None,
            )
    variables = {v.code: v for v in Variable.objects.all()}
    for order, variable in enumerate(checked["variables"]):
        instance = variables.get(variable["code"]) or Variable(code=variable["code"])
        fields = {k: v for k, v in variable.items() if k not in {"code", "service_area", "breakdown"}}
        fields["service_area"] = areas[variable["service_area"]]
        fields["breakdown"] = breakdowns[variable["breakdown"]] if variable["breakdown"] else None
        fields["order"] = order
        save_changes(instance, fields, actor=actor, via=via, report=report, exists=instance.pk is not None)
    indicators = {i.code: i for i in Indicator.objects.all()}
    for order, indicator in enumerate(checked["indicators"]):
        instance = indicators.get(indicator["code"]) or Indicator(code=indicator["code"])
        fields = {k: v for k, v in indicator.items() if k not in {"code", "service_area"}}
        fields["service_area"] = areas[indicator["service_area"]]
        fields["order"] = order
        save_changes(instance, fields, actor=actor, via=via, report=report, exists=instance.pk is not None)
        indicators[indicator["code"]] = instance
    groups = {g.code: g for g in Group.objects.all()}
    for entry in checked["sets"]:
        instance = IndicatorSet.objects.filter(code=entry["code"]).first() or IndicatorSet(code=entry["code"])
        exists = instance.pk is not None
        save_changes(
            instance,
            {"name": entry["name"], "group": groups.get(entry["group"]) if entry["group"] else None},
            actor=actor,
            via=via,
            report=report,
            exists=exists,
        )
        before = list(instance.entries.order_by("order").values_list("indicator__code", flat=True)) if exists else []
        if before != entry["indicators"]:
            instance.entries.all().delete()
            SetIndicator.objects.bulk_create(
                SetIndicator(indicator_set=instance, indicator=indicators[code], order=order)
                for order, code in enumerate(entry["indicators"])
            )
            record(
                "update",
                instance,
                actor=actor,
                via=via,
                before={"indicators": before},
                after={"indicators": entry["indicators"]},
                note="indicators",
            )
            if exists:
                report.updated += 1


def dump_catalog() -> str:
    """The whole stored catalogue as YAML in the format load_catalog reads."""

    def texts(value):
        return value or None

    def clean(entry: dict) -> dict:
        return {k: v for k, v in entry.items() if v not in (None, {}, [], "")}

    data = {
        "service_areas": [
            clean({"code": a.code, "name": a.name}) for a in ServiceArea.objects.order_by("order", "code")
        ],
        "breakdowns": [
            clean(
                {
                    "code": b.code,
                    "name": b.name,
                    "categories": [
                        clean({"code": c.code, "name": c.name}) for c in b.categories.order_by("order", "code")
                    ],
                }
            )
            for b in Breakdown.objects.order_by("code")
        ],
        "variables": [
            clean(
                {
                    "code": v.code,
                    "service_area": v.service_area.code,
                    "name": v.name,
                    "description": texts(v.description),
                    "unit": texts(v.unit_of_measure),
                    "period": v.period_kind,
                    "breakdown": v.breakdown.code if v.breakdown else None,
                    "min": v.min_value,
                    "max": v.max_value,
                    "source": texts(v.source),
                }
            )
            for v in Variable.objects.select_related("service_area", "breakdown").order_by("order", "code")
        ],
        "indicators": [
            clean(
                {
                    "code": i.code,
                    "service_area": i.service_area.code,
                    "name": i.name,
                    "definition": texts(i.definition),
                    "formula": i.formula,
                    "unit": texts(i.unit_of_measure),
                    "dimension": i.dimension,
                    "polarity": i.polarity,
                    "decimals": i.decimals,
                    "target": i.target,
                    "thresholds": i.thresholds or None,
                    "period": i.period_kind,
                }
            )
            for i in Indicator.objects.select_related("service_area").order_by("order", "code")
        ],
        "indicator_sets": [
            clean(
                {
                    "code": s.code,
                    "name": s.name,
                    "group": s.group.code if s.group else None,
                    "indicators": list(s.entries.order_by("order").values_list("indicator__code", flat=True)),
                }
            )
            for s in IndicatorSet.objects.select_related("group").order_by("code")
        ],
    }
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=120)


def save_catalog(path) -> None:
    Path(path).write_text(dump_catalog(), encoding="utf-8")
