"""Tariff studies: their figures, their scenarios, their peers and their adoption.

Every figure a page, the API or the council's PDF shows comes from `figures` and
`scenario_figures` (DESIGN principle 5); they turn a stored study into the plain inputs of
`municipium.lib.tariffs` and word its refusals with the field at fault. Changes go through
`save_study`, `save_class`, `save_scenario`, `delete_*` and `adopt`, each one audited in one
transaction. Adoption is the one place a what-if becomes observations.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from municipium.accounts import access as accounts_access
from municipium.audit.models import record, snapshot
from municipium.benchmarks import read
from municipium.catalog.models import Indicator, ServiceArea, Variable
from municipium.lib import numbers
from municipium.lib import tariffs as lib
from municipium.lib.tariffs import TariffError
from municipium.lib.texts import in_every_language
from municipium.observations.models import ImportBatch, Period, Status, Via
from municipium.observations.services import Row, write_observations
from municipium.places.models import Group

from .models import COST_CATEGORIES, CustomerClass, Scenario, Study

# Incomes: a study may hold up to this many income groups (deciles, ventiles, percentiles).
MAX_INCOME_ROWS = 100
MAX_BLOCKS = 12
# Persian (and Arabic-Indic) digits and separators typed into a figure read as Latin.
LATIN_DIGITS = str.maketrans(
    {
        **{c: str(i) for i, c in enumerate("۰۱۲۳۴۵۶۷۸۹")},
        **{c: str(i) for i, c in enumerate("٠١٢٣٤٥٦٧٨٩")},
        "٫": ".",
        "٬": "",
        "\u2212": "-",
    }
)


class StudyError(Exception):
    """A refusal worded for the reader, with the form field (or row) at fault."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


def _audit(action, instance, actor, before=None, after=None):
    record(action, instance, actor=actor, before=before, after=after or snapshot(instance), via="form")


# -- reading the stored inputs ---------------------------------------------------------------


def blocks_of(study: Study) -> list[lib.Block]:
    return [lib.Block(None if upper is None else float(upper), float(price)) for upper, price in study.blocks]


def structure_of(study: Study) -> lib.Structure:
    """The households' tariff today (a scenario's years scale the bill, not the prices)."""
    return lib.Structure(
        fixed=study.fixed,
        per_person=study.per_person,
        per_m2=study.per_m2,
        per_bin_litre=study.per_bin_litre,
        per_kg=study.per_kg,
        per_m3=study.per_m3,
        blocks=blocks_of(study),
    )


def household_of(study: Study) -> lib.Household:
    return lib.Household(
        persons=study.ref_persons,
        dwelling_m2=study.ref_m2,
        bin_litres=study.ref_bin_litres,
        kg=study.ref_kg,
        m3=study.ref_m3,
    )


def incomes_of(study: Study) -> list[lib.IncomeGroup]:
    return [lib.IncomeGroup(str(r["label"]), float(r["households"]), float(r["income"])) for r in study.incomes]


def costs_of(study: Study) -> lib.Costs:
    return lib.Costs(
        operating={k: float(v) for k, v in study.operating.items()},
        depreciation=study.depreciation,
        investment=study.investment,
        rate=study.rate,
        lifetime=study.lifetime,
        debt_service=study.debt_service,
        non_tariff_revenue=study.non_tariff_revenue,
    )


def classes_of(study: Study) -> list[lib.CustomerClass]:
    return [
        lib.CustomerClass(
            name=c.name,
            demand=c.demand,
            price=c.price,
            fixed_share=c.fixed_share,
            customers=c.customers,
            fixed_charge=c.fixed_charge,
            elasticity=c.elasticity,
            growth=c.growth,
        )
        for c in study.classes.all()
    ]


# -- parsing what people type ----------------------------------------------------------------


def _number(text: str, where: str) -> float:
    cleaned = str(text).strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    cleaned = cleaned.translate(LATIN_DIGITS)
    if "," in cleaned and "." not in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        raise StudyError(
            _("%(where)s: “%(text)s” is not a number.") % {"where": where, "text": str(text)[:40]}, "incomes"
        ) from None
    if math.isnan(value) or math.isinf(value):
        raise StudyError(
            _("%(where)s: “%(text)s” is not a number.") % {"where": where, "text": str(text)[:40]}, "incomes"
        )
    return value


def _rows(text: str) -> list[list[str]]:
    """Lines of "a; b; c" (or tab- or comma-separated when there is no semicolon)."""
    rows: list[list[str]] = []
    for line in text.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            rows.append([])
            continue
        delimiter = ";" if ";" in line else ("\t" if "\t" in line else ",")
        rows.append([cell.strip() for cell in next(csv.reader(io.StringIO(line), delimiter=delimiter))])
    return rows


def parse_incomes(text: str) -> list[dict]:
    """The income table as typed or pasted from a spreadsheet: one group a line, "label;
    households; mean yearly income per household". A header line is skipped. Refusals name
    the line."""
    out = []
    for number, cells in enumerate(_rows(text), start=1):
        if not cells:
            continue
        where = _("line %(number)s") % {"number": numbers.format_number(number, 0)}
        if number == 1 and len(cells) >= 3 and not any(ch.isdigit() for ch in cells[1] + cells[2]):
            continue  # a header
        if len(cells) != 3:
            raise StudyError(
                _("%(where)s: give three values, the group, its households and its mean income.") % {"where": where},
                "incomes",
            )
        households = _number(cells[1], where)
        income = _number(cells[2], where)
        if households < 0:
            raise StudyError(_("%(where)s: the number of households cannot be negative.") % {"where": where}, "incomes")
        if income <= 0:
            raise StudyError(_("%(where)s: the income must be above zero.") % {"where": where}, "incomes")
        out.append({"label": cells[0][:60], "households": households, "income": income})
    if len(out) > MAX_INCOME_ROWS:
        raise StudyError(
            _("An income table has at most %(count)s groups.") % {"count": numbers.format_number(MAX_INCOME_ROWS, 0)},
            "incomes",
        )
    return out


def incomes_text(study: Study) -> str:
    return "\n".join(f"{r['label']}; {r['households']:g}; {r['income']:g}" for r in study.incomes)


def parse_blocks(text: str) -> list[list]:
    """Blocks as typed: one a line, "up to; price", the last "; price" or "-; price" (no
    upper end). Refusals name the line; the blocks' order and overlap are checked by
    `lib.tariffs.check_blocks`."""
    out: list[list] = []
    for number, cells in enumerate(_rows(text), start=1):
        if not cells:
            continue
        where = _("line %(number)s") % {"number": numbers.format_number(number, 0)}
        if len(cells) != 2:
            raise StudyError(
                _("%(where)s: give two values, where the block ends and its price.") % {"where": where}, "blocks"
            )
        upper = None if cells[0] in ("", "-", "–", "∞") else _number(cells[0], where)
        out.append([upper, _number(cells[1], where)])
    if len(out) > MAX_BLOCKS:
        raise StudyError(
            _("A tariff has at most %(count)s blocks.") % {"count": numbers.format_number(MAX_BLOCKS, 0)}, "blocks"
        )
    if out:
        try:
            lib.check_blocks([lib.Block(u, p) for u, p in out])
        except TariffError as error:
            raise StudyError(error.message, "blocks") from None
    return out


def blocks_text(study: Study) -> str:
    return "\n".join(f"{'' if u is None else f'{u:g}'}; {p:g}" for u, p in study.blocks)


def parse_inflation(text: str) -> list[float]:
    """Past yearly inflation as percentages, separated by spaces, commas or semicolons."""
    out = []
    for number, token in enumerate(text.replace(";", " ").replace("\n", " ").split(), start=1):
        where = _("value %(number)s") % {"number": numbers.format_number(number, 0)}
        try:
            value = _number(token.rstrip("%"), where)
        except StudyError as error:
            raise StudyError(error.message, "past_inflation") from None
        if value <= -100 or value > 1000:
            raise StudyError(
                _("%(where)s: a yearly inflation lies above −100 and at most 1,000 per cent.") % {"where": where},
                "past_inflation",
            )
        out.append(value / 100)
    return out


# -- checks and saves ------------------------------------------------------------------------


def check_study(study: Study) -> None:
    """The study's own figures, each refusal naming its field."""
    shares = [
        ("rate", 0 <= study.rate < 1, _("The interest rate is a share a year between 0 and 1 (e.g. 0.05).")),
        ("collection", 0 < study.collection <= 1, _("The collection rate lies between 0 and 1 (e.g. 0.92).")),
        ("variable_share", 0 <= study.variable_share <= 1, _("A share is between 0 and 1.")),
        ("threshold", 0 < study.threshold < 1, _("The threshold is a share of income between 0 and 1 (e.g. 0.03).")),
        ("lifetime", 1 <= study.lifetime <= 200, _("The lifetime is between 1 and 200 years.")),
        ("base_year", 1900 <= study.base_year <= 2200, _("Give the year as four digits.")),
    ]
    for name, ok, message in shares:
        if not ok:
            raise StudyError(message, name)
    if study.unchanged_since and study.unchanged_since > study.base_year:
        raise StudyError(_("The tariff cannot be unchanged since a year after the base year."), "unchanged_since")
    for name in (
        "investment",
        "debt_service",
        "non_tariff_revenue",
        "fixed",
        "per_person",
        "per_m2",
        "per_bin_litre",
        "per_kg",
        "per_m3",
        "ref_persons",
        "ref_m2",
        "ref_bin_litres",
        "ref_kg",
        "ref_m3",
    ):
        value = getattr(study, name)
        if value is None or value < 0 or math.isnan(value):
            raise StudyError(_("This figure cannot be negative."), name)
    if study.depreciation is not None and study.depreciation < 0:
        raise StudyError(_("This figure cannot be negative."), "depreciation")
    for key, value in study.operating.items():
        if key not in dict(COST_CATEGORIES):
            raise StudyError(_("Unknown cost category: %(code)s.") % {"code": key}, "operating")
        if value is None or value < 0:
            raise StudyError(_("This figure cannot be negative."), f"cost_{key}")


def save_study(actor, study: Study) -> Study:
    check_study(study)
    before = snapshot(Study.objects.get(pk=study.pk)) if study.pk else None
    with transaction.atomic():
        if not study.pk and getattr(actor, "is_authenticated", False):
            study.created_by = actor
        study.save()
        _audit("update" if before else "create", study, actor, before)
    return study


def save_class(actor, customer_class: CustomerClass) -> CustomerClass:
    c = customer_class
    for name in ("customers", "demand", "price", "fixed_charge"):
        if getattr(c, name) < 0:
            raise StudyError(_("This figure cannot be negative."), name)
    if not 0 <= c.fixed_share <= 1:
        raise StudyError(_("A share is between 0 and 1."), "fixed_share")
    if c.elasticity > 0 or c.elasticity < -5:
        raise StudyError(_("A price elasticity of demand is zero or negative (e.g. −0.2)."), "elasticity")
    if not -0.5 < c.growth < 0.5:
        raise StudyError(_("The growth rate is a share a year, e.g. 0.015."), "growth")
    others = CustomerClass.objects.filter(study=c.study, name=c.name).exclude(pk=c.pk)
    if others.exists():
        raise StudyError(_("The study has a class of this name already."), "name")
    return _save_in_study(actor, c, c.study.classes)


def _save_in_study(actor, instance, siblings):
    """Save a class or scenario of a study in one audited transaction; a new one goes last."""
    before = snapshot(type(instance).objects.get(pk=instance.pk)) if instance.pk else None
    with transaction.atomic():
        if not instance.pk:
            instance.order = siblings.count()
        instance.save()
        _audit("update" if before else "create", instance, actor, before)
    return instance


def delete_class(actor, customer_class: CustomerClass) -> None:
    with transaction.atomic():
        before = snapshot(customer_class)
        record("delete", customer_class, actor=actor, before=before, via="form")
        customer_class.delete()


def check_scenario(scenario: Scenario) -> None:
    s = scenario
    study = s.study
    if not 1 <= s.years <= 40:
        raise StudyError(_("A scenario covers 1 to 40 years."), "years")
    if not -0.5 < s.inflation <= 10:
        raise StudyError(_("Inflation is a share a year, e.g. 0.04 (above −0.5)."), "inflation")
    if not -0.5 < s.growth < 0.5:
        raise StudyError(_("The growth rate is a share a year, e.g. 0.015."), "growth")
    if not 0 < s.collection <= 1:
        raise StudyError(_("The collection rate lies between 0 and 1 (e.g. 0.92)."), "collection")
    if s.increase is None:
        if s.target is None or s.by_year is None or s.cap is None:
            raise StudyError(
                _("Give either a yearly real increase, or a cost recovery target with its year and a cap."), "increase"
            )
        if not 0 < s.target <= 10:
            raise StudyError(
                _("The cost recovery target is a ratio above zero (e.g. 1.0 for full cost recovery)."), "target"
            )
        if not study.base_year < s.by_year <= study.base_year + s.years:
            raise StudyError(
                _("The target year lies within the scenario's years (%(first)s–%(last)s).")
                % {
                    "first": numbers.format_number(study.base_year + 1, 0, grouping=False),
                    "last": numbers.format_number(study.base_year + s.years, 0, grouping=False),
                },
                "by_year",
            )
        if not 0 <= s.cap <= 1:
            raise StudyError(_("The cap is a share a year between 0 and 1 (e.g. 0.1)."), "cap")
    elif not -0.5 < s.increase <= 1:
        raise StudyError(_("The real increase is a share a year, e.g. 0.05."), "increase")


def save_scenario(actor, scenario: Scenario) -> Scenario:
    check_scenario(scenario)
    if Scenario.objects.filter(study=scenario.study, name=scenario.name).exclude(pk=scenario.pk).exists():
        raise StudyError(_("The study has a scenario of this name already."), "name")
    return _save_in_study(actor, scenario, scenario.study.scenarios)


def delete_scenario(actor, scenario: Scenario) -> None:
    if scenario.adopted:
        raise StudyError(_("An adopted scenario is the council's decision and stays on record."), "")
    with transaction.atomic():
        record("delete", scenario, actor=actor, before=snapshot(scenario), via="form")
        scenario.delete()


# -- the figures -----------------------------------------------------------------------------


@dataclass
class Figures:
    """A study's base year, as every page shows it."""

    study: Study
    costs: lib.Costs | None = None
    revenue_requirement: float | None = None
    full_cost: float | None = None
    operating_total: float | None = None
    capital_charge: float | None = None
    billed: float | None = None
    collected: float | None = None
    demand: float | None = None
    average_tariff: float | None = None
    unit_cost: float | None = None
    ratios: lib.Ratios | None = None
    classes: list[lib.ClassYear] = field(default_factory=list)
    reference_bill: float | None = None
    affordability: lib.Affordability | None = None
    erosion: float | None = None
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, message)

    @property
    def operating_rows(self) -> list[tuple[str, float]]:
        labels = dict(COST_CATEGORIES)
        return [(str(labels[k]), float(v)) for k, v in (self.costs.operating.items() if self.costs else []) if v]


def figures(study: Study) -> Figures:
    """The base year's revenue requirement, ratios, class split, reference bill,
    affordability and erosion. What cannot be computed is said in `problems`, naming the
    field, instead of failing the page."""
    out = Figures(study)
    try:
        costs = costs_of(study)
        out.costs = costs
        out.revenue_requirement = costs.revenue_requirement
        out.full_cost = costs.full_cost
        out.operating_total = costs.operating_total
        out.capital_charge = costs.capital_charge
    except TariffError as error:
        out.problems.append((error.where, error.message))
    classes = classes_of(study)
    if classes:
        try:
            row = lib.by_class(
                classes, years=0, fixed_cost=_fixed_cost(study, out), unit_cost=_unit_cost(study, out, classes)
            )[0]
            out.classes = row
            out.billed = sum(c.revenue for c in row)
            out.collected = out.billed * study.collection
            out.demand = sum(c.demand for c in classes)
            out.average_tariff = out.billed / out.demand if out.demand else None
            out.unit_cost = out.full_cost / out.demand if out.demand and out.full_cost is not None else None
            if out.costs is not None:
                out.ratios = lib.ratios(out.costs, out.billed, out.collected)
        except TariffError as error:
            out.problems.append((error.where or "classes", error.message))
    else:
        out.problems.append(
            ("classes", _("Add the customer classes: who is billed, for how much volume, at what price."))
        )
    try:
        out.reference_bill = lib.bill(structure_of(study), household_of(study))
    except TariffError as error:
        out.problems.append((error.where, error.message))
    if study.incomes and out.reference_bill is not None:
        try:
            out.affordability = lib.affordability(incomes_of(study), out.reference_bill, study.threshold)
        except TariffError as error:
            out.problems.append(("incomes", error.message))
    if study.past_inflation:
        try:
            out.erosion = lib.real_erosion(study.past_inflation)
        except TariffError as error:
            out.problems.append(("past_inflation", error.message))
    return out


def _fixed_cost(study: Study, out: Figures) -> float:
    return (out.revenue_requirement or 0.0) * (1 - study.variable_share)


def _unit_cost(study: Study, out: Figures, classes) -> float:
    demand = sum(c.demand for c in classes)
    return (out.revenue_requirement or 0.0) * study.variable_share / demand if demand else 0.0


@dataclass
class ScenarioFigures:
    scenario: Scenario
    path: lib.PhaseIn | None = None
    classes: list[list[lib.ClassYear]] = field(default_factory=list)
    bill_first: float | None = None  # the reference bill in the first year of the new tariff
    bill_last: float | None = None  # in the scenario's last year
    affordability: lib.Affordability | None = None  # of the first year's bill, incomes up with inflation
    problem: str = ""
    field: str = ""

    @property
    def first(self) -> lib.Year | None:
        return self.path.years[1] if self.path and len(self.path.years) > 1 else None

    @property
    def last(self) -> lib.Year | None:
        return self.path.years[-1] if self.path else None


def scenario_figures(scenario: Scenario, base: Figures | None = None) -> ScenarioFigures:
    """A scenario's years (the class split adds up to the totals), the phase-in when it
    solves for a target, the reference bill and its affordability in the new tariff's first
    year. Incomes are taken to rise with inflation, so the bill's share of income moves with
    the real increase alone (said on the page)."""
    study = scenario.study
    base = base or figures(study)
    out = ScenarioFigures(scenario)
    classes = classes_of(study)
    if base.revenue_requirement is None or not classes:
        out.problem = _("The study's costs and customer classes are needed first.")
        return out
    model = lib.ClassScenario(
        first_year=study.base_year,
        years=scenario.years,
        classes=classes,
        fixed_cost=_fixed_cost(study, base),
        unit_cost=_unit_cost(study, base, classes),
        inflation=scenario.inflation,
        collection=scenario.collection,
        growth=scenario.growth or None,
    )
    try:
        if scenario.increase is not None:
            out.path = lib.PhaseIn(model.run(scenario.increase), scenario.increase, True)
        else:
            # check_scenario made sure a scenario without an increase has all three.
            assert scenario.target is not None and scenario.by_year is not None and scenario.cap is not None
            out.path = lib.phase_in(model, scenario.target, scenario.by_year, scenario.cap)
            out.problem = out.path.problem
        out.classes = model.by_class(out.path.increase)
    except TariffError as error:
        out.problem, out.field = error.message, error.where
        return out
    if base.reference_bill is not None:
        real = 1 + out.path.increase
        out.bill_first = base.reference_bill * (1 + scenario.inflation) * real
        out.bill_last = base.reference_bill * ((1 + scenario.inflation) * real) ** scenario.years
        if study.incomes:
            try:
                out.affordability = lib.affordability(
                    [
                        lib.IncomeGroup(g.label, g.households, g.income * (1 + scenario.inflation))
                        for g in incomes_of(study)
                    ],
                    out.bill_first,
                    study.threshold,
                )
            except TariffError as error:
                out.problem, out.field = error.message, "incomes"
    return out


def all_scenarios(study: Study, base: Figures | None = None) -> list[ScenarioFigures]:
    base = base or figures(study)
    return [scenario_figures(s, base) for s in study.scenarios.all()]


# -- peers -----------------------------------------------------------------------------------


def _peer_figures(study: Study, base: Figures, chosen: ScenarioFigures | None) -> list[tuple[str, float | None]]:
    """The catalogue indicators a study speaks to, with the figure the chosen scenario would
    give in its first year (None where it does not move it)."""
    first = chosen.first if chosen else None
    inflation = chosen.scenario.inflation if chosen else 0.0
    proposed_billed = first.revenue / chosen.scenario.collection if first and chosen else None
    if study.service in ("water", "sewage"):
        operating = (base.operating_total or 0) * (1 + inflation)
        return [
            ("water_avg_tariff", first.tariff if first else None),
            ("water_cost_coverage", proposed_billed / operating if proposed_billed is not None and operating else None),
            ("water_unit_opex", None),
        ]
    return [
        ("waste_fee_coverage", 100 * first.revenue / first.cost if first and first.cost else None),
        ("waste_cost_per_tonne", None),
        ("waste_cost_per_capita", None),
    ]


@dataclass
class Peer:
    indicator: Indicator
    group: Group
    period: Period
    n: int
    p25: float | None
    median: float | None
    p75: float | None
    own: float | None
    proposed: float | None
    below: int | None  # peers with a lower value than the proposed figure
    values: list[float]


def peers(study: Study, user, chosen: ScenarioFigures | None = None, base: Figures | None = None) -> list[Peer]:
    """The unit's current figures against each of its groups (the latest year with a group
    statistic), read through `benchmarks.read`, and where the proposed tariff would sit."""
    base = base or figures(study)
    codes = _peer_figures(study, base, chosen)
    indicators = {i.code: i for i in Indicator.objects.filter(code__in=[c for c, _v in codes])}
    groups = list(Group.objects.filter(memberships__unit=study.unit).distinct().order_by("code"))
    out = []
    for code, proposed in codes:
        indicator = indicators.get(code)
        if indicator is None:
            continue
        for group in groups:
            public = not accounts_access.sees_unpublished(user, study.unit, group)
            stat = None
            for period in Period.objects.filter(ordinal__lte=_ordinal(study.base_year)).order_by("-ordinal")[:10]:
                stat = read.statistic(indicator, period, group, public=public)
                if stat is not None and stat.n:
                    break
            if stat is None or not stat.n:
                continue
            period = stat.period
            values = [
                v.value
                for v in read.values(indicator, period, group, public=public, with_units=False)
                if v.value is not None
            ]
            own = read.value(indicator, study.unit, period, public=public)
            out.append(
                Peer(
                    indicator,
                    group,
                    period,
                    stat.n,
                    stat.p25,
                    stat.median,
                    stat.p75,
                    own.value if own else None,
                    proposed,
                    sum(1 for v in values if v < proposed) if proposed is not None else None,
                    sorted(values),
                )
            )
    return out


def _ordinal(year: int) -> int:
    found = Period.objects.filter(code=str(year)).values_list("ordinal", flat=True).first()
    if found is not None:
        return found
    last = Period.objects.order_by("-ordinal").values_list("ordinal", flat=True).first()
    return last if last is not None else 0


# -- adoption: a what-if becomes observations ------------------------------------------------

BILL_VARIABLE = "tariff_{service}_reference_bill"
BILL_INDICATOR = "tariff_{service}_household_bill"


def _bill_entries(study: Study, actor) -> Variable:
    """The catalogue's variable (and its indicator) for the reference household's yearly
    bill under the adopted tariff, made and audited the first time a study is adopted."""
    code = BILL_VARIABLE.format(service=study.service)
    variable = Variable.objects.filter(code=code).first()
    if variable is None:
        area = (
            ServiceArea.objects.filter(code="waste" if study.service == "waste" else "water").first()
            or ServiceArea.objects.order_by("pk").first()
        )
        if area is None:
            raise StudyError(_("The catalogue has no service area to put the tariff's figure in."))
        service_names = dict(study._meta.get_field("service").flatchoices)
        variable = Variable.objects.create(
            code=code,
            service_area=area,
            name=in_every_language(
                lambda _c: (
                    _("Yearly bill of the reference household: %(service)s")
                    % {"service": str(service_names[study.service]).lower()}
                )
            ),
            unit_of_measure=in_every_language(lambda _c: _("local currency a year")),
            min_value=0,
            source=in_every_language(lambda _c: _("Tariff adopted by the council")),
        )
        record("create", variable, actor=actor, after=snapshot(variable), via="form")
        indicator = Indicator.objects.create(
            code=BILL_INDICATOR.format(service=study.service),
            service_area=area,
            name=dict(variable.name),
            formula=code,
            unit_of_measure=dict(variable.unit_of_measure),
            dimension=Indicator.Dimension.COST_EFFICIENCY,
            polarity=Indicator.Polarity.NEUTRAL,
            decimals=0,
            definition=in_every_language(
                lambda _c: _(
                    "What the reference household of a tariff study (its persons, dwelling and yearly use, stated "
                    "in the study) pays a year under the tariff the council adopted, in the unit's currency."
                )
            ),
        )
        record("create", indicator, actor=actor, after=snapshot(indicator), via="form")
    return variable


def may_adopt(user, study: Study) -> bool:
    from . import access

    return access.may_adopt(user, study)


def adopt(actor, scenario: Scenario) -> dict:
    """The council adopted this scenario: it is marked adopted (the others not), the study
    becomes adopted, and the reference household's bill in the new tariff's first year is
    written as an approved observation of the unit for that year through the write path."""
    study = scenario.study
    if not may_adopt(actor, study):
        raise StudyError(_("Only an approver of %(unit)s may record the adopted tariff.") % {"unit": study.unit.label})
    result = scenario_figures(scenario)
    if result.path is None or result.bill_first is None:
        raise StudyError(result.problem or _("The scenario has no reference bill to adopt."))
    if not result.path.reached:
        raise StudyError(result.problem)
    year = study.base_year + 1
    with transaction.atomic():
        variable = _bill_entries(study, actor)
        period = Period.objects.for_code(str(year))
        batch = ImportBatch(
            file_name=f"tariff {study.code} {scenario.name}"[:255],
            format="tariff",
            via=Via.FORM,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        row = Row(
            study.unit_id,
            variable.pk,
            period.pk,
            "",
            round(result.bill_first, 6),
            "",
            Status.APPROVED,
            f"tariff study {study.code}: {scenario.name}"[:200],
            "",
        )
        written = write_observations([row], batch=batch, actor=actor, note=f"tariff {study.pk} adopted")
        before = {
            "status": study.status,
            "adopted": list(study.scenarios.filter(adopted=True).values_list("pk", flat=True)),
        }
        study.scenarios.exclude(pk=scenario.pk).update(adopted=False)
        scenario.adopted = True
        scenario.save(update_fields=["adopted"])
        study.status = Study.Status.ADOPTED
        study.save(update_fields=["status", "updated"])
        record(
            "adopt",
            study,
            actor=actor,
            via="form",
            before=before,
            after={"status": study.status, "adopted": [scenario.pk], "year": year, "bill": result.bill_first},
        )
    return {"year": year, "bill": result.bill_first, "created": written.created, "updated": written.updated}


MAX_INCOME_FILE = 1024 * 1024


def incomes_from_file(upload) -> list[dict]:
    """An income table uploaded as CSV or Excel (first sheet): the same three columns as when
    typed. Refusals name the file and the line."""
    from municipium.lib import tabular

    data, name, size = tabular.read_source(upload, None, MAX_INCOME_FILE)
    if data is None:
        raise StudyError(
            _("%(file)s is %(size)s MB; an income table is at most 1 MB.")
            % {"file": name, "size": tabular.megabytes(size)},
            "income_file",
        )
    fmt = tabular.claimed_format(name, data)
    if fmt == "csv":
        try:
            text, _encoding = tabular.decode(data)
        except UnicodeDecodeError:
            raise StudyError(_("%(file)s cannot be read as text.") % {"file": name}, "income_file") from None
    else:
        report = tabular.ProblemReport(name)
        book = tabular.open_workbook(data, name, fmt, report)
        if book is None:
            raise StudyError(f"{name}: " + "; ".join(p.message for p in report.problems), "income_file")
        sheet = book.get_sheet_by_index(0).to_python()
        text = "\n".join(";".join(tabular.cell_text(v) or "" for v in row[:3]) for row in sheet)
    try:
        return parse_incomes(text)
    except StudyError as error:
        raise StudyError(f"{name}: {error.message}", "income_file") from None


# -- the catalogue's figures -----------------------------------------------------------------

# What the starter catalogue records of each service, by the role it plays in a study.
CATALOGUE = {
    "water": {
        "operating": "water_opex",
        "billed": "water_revenue_billed",
        "collected": "water_revenue_collected",
        "volume": "water_billed",
    },
    "sewage": {
        "operating": "water_opex",
        "billed": "water_revenue_billed",
        "collected": "water_revenue_collected",
        "volume": "water_billed",
    },
    "waste": {"operating": "waste_cost", "billed": "waste_fee_revenue", "volume": "waste_collected"},
}


ROLE_LABELS = {
    "operating": _lazy("Operating costs"),
    "billed": _lazy("Billed by the fees"),
    "collected": _lazy("Collected"),
    "volume": _lazy("Volume billed"),
    "collection": _lazy("Collection rate"),
}


@dataclass
class CatalogueFigure:
    role: str
    variable: Variable
    value: float
    status: str
    study_value: float | None  # what the study itself gives for the same figure

    @property
    def status_label(self) -> str:
        return str(Status(self.status).label)


def catalogue_figures(study: Study, base: Figures | None = None) -> list[CatalogueFigure]:
    """The unit's own observations of the base year for the figures a study uses (operating
    costs, revenue billed and collected, volume billed), beside what the study computes, so
    an officer sees where the study and the reported figures part."""
    from municipium.observations.models import Observation

    base = base or figures(study)
    codes = CATALOGUE.get(study.service, {})
    mine = {
        "operating": base.operating_total,
        "billed": base.billed,
        "collected": base.collected,
        "volume": base.demand,
    }
    rows = {
        o.variable.code: o
        for o in Observation.objects.filter(
            unit=study.unit,
            variable__code__in=codes.values(),
            period__code=str(study.base_year),
            breakdown="",
            value__isnull=False,
        ).select_related("variable")
    }
    return [
        CatalogueFigure(role, rows[code].variable, float(rows[code].value or 0.0), rows[code].status, mine.get(role))
        for role, code in codes.items()
        if code in rows
    ]


def fill_from_catalogue(actor, study: Study) -> list[str]:
    """Take what the catalogue has where the study has nothing: the operating costs (as
    "other" when no category is typed) and the collection rate (collected / billed).
    Returns the roles taken; audited as one change of the study."""
    found = {f.role: f for f in catalogue_figures(study)}
    taken = []
    if "operating" in found and not study.operating:
        study.operating = {"other": found["operating"].value}
        taken.append("operating")
    if "billed" in found and "collected" in found and found["billed"].value:
        rate = found["collected"].value / found["billed"].value
        if 0 < rate <= 1 and study.collection == 1.0:
            study.collection = round(rate, 4)
            taken.append("collection")
    if taken:
        save_study(actor, study)
    return taken


# -- the hand-off to cost sharing ------------------------------------------------------------


def facilities_for(user, study: Study):
    """The cooperation facilities of the study's unit's groups the user manages: where its
    costs can be handed as a scenario."""
    from municipium.cooperation import access as cooperation_access
    from municipium.cooperation.models import Facility

    found = Facility.objects.filter(group__memberships__unit=study.unit).distinct().order_by("code")
    return [f for f in found if cooperation_access.can_manage_facility(user, f)]


def hand_to_facility(actor, study: Study, facility) -> object:
    """Hand the study's yearly costs to a shared facility's cost sharing as a what-if
    scenario beside the facility's own figures (made, or updated when handed again): the
    operating costs split by the share that follows the volume into the fixed and variable
    parts, and the investment with its rate and lifetime when the study has one (a study
    that states depreciation instead leaves the facility's capital figures as they are).
    The cooperation app's rules and audit apply (`cooperation.services.save_scenario`)."""
    from municipium.cooperation import access as cooperation_access
    from municipium.cooperation import services as cooperation
    from municipium.cooperation.models import Scenario as SharingScenario
    from municipium.cooperation.services import CooperationError

    from . import access

    if not (access.can_read(actor, study) and cooperation_access.can_manage_facility(actor, facility)):
        raise StudyError(_("Only a coordinator of the facility's group may hand it a study's costs."))
    base = figures(study)
    if not base.operating_total:
        raise StudyError(_("The study has no operating costs to hand over."), "operating")
    name = (_("Tariff study: %(name)s") % {"name": study.name})[:120]
    scenario = SharingScenario.objects.filter(facility=facility, name=name).first() or SharingScenario(
        facility=facility, name=name
    )
    scenario.fixed_opex = base.operating_total * (1 - study.variable_share)
    scenario.variable_opex = base.operating_total * study.variable_share
    if study.depreciation is None and study.investment:
        scenario.capital_cost = study.investment
        scenario.interest_rate = study.rate
        scenario.lifetime = study.lifetime
    try:
        return cooperation.save_scenario(actor, scenario)
    except CooperationError as error:
        raise StudyError(error.message, error.field or "") from None
