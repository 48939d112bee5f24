"""The indicator page: one indicator across one group's members in one period.

Its definition (the formula in words, with the variables it reads), then a ranking, time
series, a distribution, a choropleth map and the table behind them, with downloads of the
data (CSV, Excel) and of every chart (PNG, SVG). Every figure comes from one `Slice` read
through `municipium.benchmarks.read`, so the page, the map, the downloads and the chart
images show the same numbers (DESIGN principle 5).

Visibility: a reader inside the group sees figures built on all data; anyone else the
published figures only (`public=True`). Unknown indicators, groups and periods are 404.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property
from html import escape
from urllib.parse import urlencode

import polars as pl
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import numberformat, timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import get_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_bidi, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csp import csp_override

from municipium.accounts import access
from municipium.catalog.models import Category, Indicator, Variable
from municipium.lib import numbers, stats, tabular
from municipium.lib.formulas import FormulaError
from municipium.lib.formulas.readable import readable_html, readable_text
from municipium.lib.texts import pick
from municipium.observations.models import Missing, Period, PeriodCodeError, parse_period
from municipium.places.models import Group, Unit

from . import bands, charts, read
from .models import Basis, GroupStatistic
from .profile_views import assessment_cell, comparisons_beside, links

CHARTS = ("ranking", "series", "distribution")
IMAGE_FORMATS = {"png": "image/png", "svg": "image/svg+xml"}
DATA_FORMATS = ("csv", "xlsx")
# The time series shows every member of a group this small, else the best TOP_UNITS.
FEW_MEMBERS = 8
TOP_UNITS = 5
# More lines than this cannot be told apart on one chart.
MAX_SERIES_UNITS = 12
NO_VALUE_COLOUR = "#ffffff"
# Five light-to-dark blues for indicators without a good side (neutral polarity).
SEQUENTIAL = ("#deebf7", "#9ecae1", "#6baed6", "#3182bd", "#08519c")


@dataclass
class Row:
    """One member of the group in the period; value None when it has none."""

    unit: Unit
    value: float | None = None
    numerator: float | None = None
    denominator: float | None = None
    rank: int | None = None
    percentile: float | None = None
    band: bands.Band = field(default_factory=lambda: bands.Band(bands.NONE, ""))
    colour: str = NO_VALUE_COLOUR
    missing: str = ""  # why there is no value: a Missing code, or "" when nobody said
    highlight: bool = False  # the unit the reader came from (`?unit=`)
    # The two assessments apart (the colour `band` is one of them): by the set standard and
    # among the group's members; and the rank in words ("best of 6").
    standard: bands.Band = field(default_factory=lambda: bands.Band(bands.NONE, ""))
    peer: bands.Band = field(default_factory=lambda: bands.Band(bands.NONE, ""))
    rank_text: str = "–"
    label: str = ""  # the unit's name in the reader's language
    href: str = ""  # the unit's profile
    value_text: str = "–"  # the value as shown

    @property
    def missing_label(self) -> str:
        return str(Missing(self.missing).label) if self.missing else ""

    @property
    def standard_cell(self) -> str:
        return assessment_cell(self.standard)

    @property
    def peer_cell(self) -> str:
        return assessment_cell(self.peer)


def _rank(values: list[float], polarity: str) -> list[tuple[int, float]]:
    """(rank, percentile) per value, by the one rule in `municipium.lib.stats`."""
    return list(zip(stats.competition_ranks(values, polarity), stats.percentiles(values, polarity), strict=True))


def _code(text: str) -> str:
    """A code from the address: one that no row can have (too long, or with a NUL byte,
    which PostgreSQL refuses in text) is simply not found."""
    if not text or len(text) > 64 or "\x00" in text:
        raise Http404()
    return text


def _published_for(user):
    """Whether a group's figures are public for this user: `access.sees_unpublished` for many
    groups at once (it asks the user's roles once)."""
    if access.is_admin(user):
        return lambda group_id: False
    inside = access.reached_groups(user) if user.is_authenticated else set()
    return lambda group_id: group_id not in inside


class Slice:
    """What the request selects: indicator, group, period and who looks (public or not)."""

    def __init__(self, request, code: str, *, anonymous: bool = False):
        """`anonymous`: read as someone outside every group (published figures only), as an
        embedded chart is, whoever's browser shows it."""
        self.request = request
        self.user = AnonymousUser() if anonymous else request.user
        self.indicator = get_object_or_404(Indicator.objects.select_related("service_area"), code=_code(code))
        self.language = get_language()
        self.rtl = get_language_bidi()
        # Every (group, period) slice with statistics; a published row stands where the
        # group's public figures differ from those on all data (see read.twin).
        slices = list(
            GroupStatistic.objects.filter(indicator=self.indicator, breakdown="").values_list(
                "group_id", "period_id", "basis", "n"
            )
        )
        twins = {(g, p) for g, p, b, _n in slices if b == Basis.PUBLISHED}
        public_for = _published_for(self.user)

        def shown(group_id, period_id, basis) -> bool:
            return read.seen(basis, (group_id, period_id) in twins, public=public_for(group_id))

        with_values = {(g, p) for g, p, b, n in slices if n and shown(g, p, b)}
        self.groups = list(Group.objects.filter(pk__in={g for g, _p in with_values}).order_by("code"))
        wanted = request.GET.get("group", "").strip()
        if wanted:
            self.group = Group.objects.filter(code=_code(wanted)).first()
            if self.group is None:
                raise Http404()
            if self.group not in self.groups:
                self.groups.append(self.group)
        else:
            self.group = self._default_group(request, [(g, n) for g, p, b, n in slices if n and shown(g, p, b)])
        self.public = not access.sees_unpublished(self.user, group=self.group) if self.group else True
        group_id = self.group.pk if self.group else None
        self.periods = list(
            Period.objects.filter(pk__in={p for g, p in with_values if g == group_id}).order_by("kind", "ordinal")
        )
        wanted = request.GET.get("period", "").strip()
        if wanted:
            try:
                canonical = parse_period(wanted)[0]
            except PeriodCodeError:
                raise Http404() from None
            self.period = Period.objects.filter(code=canonical).first()
            if self.period is None:
                raise Http404()
            if self.period not in self.periods:
                self.periods.append(self.period)
        else:
            self.period = self.periods[-1] if self.periods else None
        self.ready = self.group is not None and self.period is not None

    @cached_property
    def unit(self) -> Unit | None:
        """The unit the reader came from (`?unit=`, as profile links carry it): outlined in
        the table, the charts and the map when it is a member. An unknown code highlights
        nothing; the page is still the group's."""
        code = self.request.GET.get("unit", "").strip()
        return Unit.objects.filter(code=code).defer("boundary").first() if code and len(code) <= 64 else None

    def _default_group(self, request, sizes: list[tuple[int, int]]) -> Group | None:
        """The group shown when none is asked for: the largest group of the unit the reader
        came from (`?unit=`), else the largest of the reader's own groups, else the largest
        group with figures (most members with a value; ties by code). Never merely the
        first by code, which is rarely the comparison anyone wants."""
        if not self.groups:
            return None
        largest: dict[int, int] = {}
        for group_id, size in sizes:
            largest[group_id] = max(largest.get(group_id, 0), size)

        def best(candidates) -> Group | None:
            chosen = [g for g in self.groups if g.pk in candidates]
            return min(chosen, key=lambda g: (-largest.get(g.pk, 0), g.code)) if chosen else None

        unit_code = request.GET.get("unit", "").strip()
        if unit_code:
            unit = Unit.objects.filter(code=_code(unit_code)).first()
            if unit is not None:
                found = best(set(unit.memberships.values_list("group_id", flat=True)))
                if found is not None:
                    return found
        found = best(access.reached_groups(self.user))
        return found or best({g.pk for g in self.groups})

    # --- what is read -------------------------------------------------------------

    @cached_property
    def statistic(self) -> GroupStatistic | None:
        return read.statistic(self.indicator, self.period, self.group, public=self.public) if self.ready else None

    def members(self, *, boundaries: bool = False) -> list[Unit]:
        units = Unit.objects.filter(pk__in=read._members(self.group, self.period)).order_by("code")
        return list(units if boundaries else units.defer("boundary"))

    @cached_property
    def rows(self) -> list[Row]:
        """The members with a value, best first, then those without, by code; none when
        there is no group or no period with values to compare."""
        return self._rows(self.members()) if self.ready else []

    def _rows(self, members: list[Unit]) -> list[Row]:
        if not self.ready:
            return []
        # The members are read already: each value comes as numbers, with its unit's id.
        found = [
            (v.unit_id, v.value, v.numerator, v.denominator)
            for v in read.values(self.indicator, self.period, self.group, public=self.public, with_units=False)
        ]
        ranked = _rank([value for _u, value, _n, _d in found], self.indicator.polarity)
        statistic, units = self.statistic, {u.pk: u for u in members}
        strays = {unit_id for unit_id, *_rest in found} - units.keys()
        if strays:  # not among the members read (they changed in between): read them too
            units |= {u.pk: u for u in Unit.objects.filter(pk__in=strays).defer("boundary")}
        rows = []
        for (unit_id, value, numerator, denominator), (rank, percentile) in zip(found, ranked, strict=True):
            band = bands.band(value, self.indicator, statistic)
            rows.append(Row(units[unit_id], value, numerator, denominator, rank, percentile, band))
        rows.sort(key=lambda r: (r.rank, r.unit.code))
        for row in rows:
            row.standard = bands.standard_band(row.value, self.indicator)
            row.peer = bands.peer_band(row.value, self.indicator, statistic)
            row.rank_text = bands.rank_text(row.rank, len(found), self.indicator.polarity)
        with_value = {r.unit.pk for r in rows}
        reasons = read.missing(self.indicator, self.period, self.group, public=self.public)
        rows += [Row(u, missing=reasons.get(u.pk, "")) for u in members if u.pk not in with_value]
        # What the table, the charts and the map write of each row, worked out once (a group
        # of hundreds of members is a table, two charts and a map of hundreds: issue 18).
        link = links("unit")
        for row in rows:
            row.label, row.href = row.unit.label, link(row.unit.code)
            row.value_text = self.number(row.value)
            row.highlight = self.unit is not None and row.unit.pk == self.unit.pk
        self._colour(rows)
        return rows

    @property
    def sequential(self) -> bool:
        """Neutral indicators have no good side: the map shades by size instead of band."""
        return self.indicator.polarity == Indicator.Polarity.NEUTRAL

    def _colour(self, rows: list[Row]) -> None:
        present = [r.value for r in rows if r.value is not None]
        low, high = (min(present), max(present)) if present else (0, 0)
        self.classes = [
            (low + (high - low) * i / len(SEQUENTIAL), low + (high - low) * (i + 1) / len(SEQUENTIAL))
            for i in range(len(SEQUENTIAL))
        ]
        for row in rows:
            if row.value is None:
                row.colour = NO_VALUE_COLOUR
            elif self.sequential:
                step = (
                    0
                    if high == low
                    else min(int((row.value - low) / (high - low) * len(SEQUENTIAL)), len(SEQUENTIAL) - 1)
                )
                row.colour = SEQUENTIAL[step]
            else:
                row.colour = charts.COLOURS[row.band.band]

    def legend(self) -> list[dict]:
        """The map's legend: css class of the swatch and its words."""
        if self.sequential:
            self.rows  # noqa: B018 - sets self.classes
            d = self.indicator.decimals
            entries = [
                {"css": f"swatch-seq-{i}", "label": f"{self.number(a, d)} – {self.number(b, d)}"}
                for i, (a, b) in enumerate(self.classes)
            ]
        else:
            entries = [
                {"css": f"swatch-{b}", "label": str(bands.LABELS[b])}
                for b in (bands.GOOD, bands.MIDDLE, bands.POOR, bands.NONE)
            ]
        return [*entries, {"css": "swatch-empty", "label": _("No value")}]

    @cached_property
    def series_units(self) -> list[Unit]:
        """The members whose values over time are drawn: the reader's choice (`units`),
        else the best few, or all of a small group."""
        members = [r.unit for r in self.rows]
        chosen = {c.strip() for value in self.request.GET.getlist("units") for c in value.split(",") if c.strip()}
        # Members of another group (the group was just changed) are no choice here.
        picked = [u for u in members if u.code in chosen]
        if not picked:
            ranked = [r.unit for r in self.rows if r.value is not None]
            picked = ranked if len(ranked) <= FEW_MEMBERS else ranked[:TOP_UNITS]
            # The unit the reader came from is always drawn, wherever it ranks.
            if self.highlighted is not None and self.highlighted not in picked:
                picked = [*picked, self.highlighted]
        return picked[:MAX_SERIES_UNITS]

    @cached_property
    def highlighted(self) -> Unit | None:
        """The highlighted unit when it is a member of the group in the period."""
        return next((r.unit for r in self.rows if r.highlight), None)

    @cached_property
    def series(self) -> dict:
        """{"periods": [Period], "units": [(Unit, {period_id: value})], "medians": {period_id: value}}"""
        units = self.series_units
        stored = read.series_many([u.pk for u in units], [self.indicator.pk], public=self.public) if units else []
        by_unit: dict[int, dict[int, float]] = {}
        for row in stored:
            by_unit.setdefault(row.unit_id, {})[row.period_id] = row.value
        period_ids = {p.pk for p in self.periods}
        medians = {
            s.period_id: s.median
            for s in read.statistics_many([self.indicator.pk], period_ids, self.group, public=self.public)
            if s.median is not None
        }
        used = set(medians) | {p for values in by_unit.values() for p in values}
        periods = list(Period.objects.filter(pk__in=used).order_by("kind", "ordinal")) if used else []
        return {"periods": periods, "units": [(u, by_unit.get(u.pk, {})) for u in units], "medians": medians}

    # --- how it is said ------------------------------------------------------------

    def number(self, value, decimals=None) -> str:
        return numbers.format_number(value, self.indicator.decimals if decimals is None else decimals, self.language)

    def digits(self, text) -> str:
        return numbers.localise_digits(str(text), self.language)

    @property
    def measure(self) -> str:
        return self.indicator.unit_label or _("Value")

    @property
    def query(self) -> str:
        """The selection as a query string, for the map, the downloads and the chart images."""
        params = [("group", self.group.code), ("period", self.period.code)] if self.ready else []
        params += [("units", u.code) for u in self.series_units] if self.request.GET.get("units") else []
        params += [("unit", self.unit.code)] if self.unit is not None else []
        return urlencode(params)

    def title(self, name: str) -> str:
        """A chart's title (`name` one of CHARTS or "map"); "" gives the indicator's name."""
        if not name:
            return self.indicator.label
        where = {"group": self.group.label, "period": self.digits(self.period.code)}
        titles = {
            "ranking": _("Ranking in %(group)s, %(period)s") % where,
            "series": _("Over time, %(group)s") % where,
            "distribution": _("Distribution in %(group)s, %(period)s") % where,
            "map": _("Map of %(group)s, %(period)s") % where,
        }
        return f"{self.indicator.label}: {titles[name]}"

    def spec(self, name: str) -> dict:
        """The chart `name` as a Vega-Lite spec: the same function for the page and the images."""
        measure = self.measure
        statistic = None
        if self.statistic is not None and self.statistic.median is not None:
            s = self.statistic
            statistic = {"median": s.median, "p25": s.p25, "p75": s.p75, "median_text": self.number(s.median)}
        if name == "series":
            data = self.series
            periods = [self.digits(p.code) for p in data["periods"]]
            codes = {p.pk: self.digits(p.code) for p in data["periods"]}
            rows = [
                {
                    "label": unit.label,
                    "period": codes[pid],
                    "value": v,
                    "value_text": self.number(v),
                    "highlight": unit == self.highlighted,
                }
                for unit, values in data["units"]
                for pid, v in values.items()
                if pid in codes
            ]
            medians = [
                {"period": codes[pid], "value": v, "value_text": self.number(v)}
                for pid, v in data["medians"].items()
                if pid in codes
            ]
            return charts.series(
                rows, periods=periods, title=self.title("series"), measure=measure, medians=medians, rtl=self.rtl
            )
        rows = self._chart_rows
        if name == "ranking":
            return charts.ranking(rows, title=self.title("ranking"), measure=measure, statistic=statistic, rtl=self.rtl)
        return charts.distribution(
            rows, title=self.title("distribution"), measure=measure, statistic=statistic, rtl=self.rtl
        )

    @cached_property
    def _shared_labels(self) -> set[str]:
        seen = Counter(r.label for r in self.rows)
        return {label for label, count in seen.items() if count > 1}

    @cached_property
    def _chart_rows(self) -> list[dict]:
        """The members with a value as the ranking and the distribution draw them (built once
        for both)."""
        return [self.chart_row(r) for r in self.rows if r.value is not None]

    def chart_row(self, row: Row) -> dict:
        # Two members of one name would share a bar: the code tells them apart.
        label = row.label if row.label not in self._shared_labels else f"{row.label} ({row.unit.code})"
        return {
            "unit": row.unit.code,
            "label": label,
            "value": row.value,
            "value_text": row.value_text,
            "rank": row.rank,
            "rank_text": row.rank_text,
            "band": row.band.band,
            "band_label": row.band.label,
            "highlight": row.highlight,
        }


# --- the members' table and choices ------------------------------------------------------
# A group has hundreds of members, each a row of the table and a checkbox of the series'
# choice: written here as indicator_view.html wrote them in {% for %} loops, because the
# template engine's work per variable (lookups, filters, escaping) was most of the page's
# time (issue 18). The markup is the template's, character for character.

MEMBER_ROW = (
    '\n      <tr data-unit="{code}"{highlight}>'
    '\n        <td class="number" data-rank="{rank}">{rank_text}</td>'
    '\n        <th scope="row"><a href="{href}">{label}</a>{badge}</th>'
    '\n        <td class="number" data-value="{value}">{value_text}</td>'
    "\n        {cells}"
    "\n        {parts}"
    "\n      </tr>\n    "
)
MEMBER_CHOICE = (
    '\n        <div class="form-check">'
    '\n          <input class="form-check-input" type="checkbox" name="units" value="{code}" id="filter-unit-{code}"{checked}>'
    '\n          <label class="form-check-label" for="filter-unit-{code}">{label}</label>'
    "\n        </div>\n        "
)


def _localizer(language: str):
    """What a template writes for {{ number }} (`formats.localize` of an int or a float), with
    the locale's formats read once for a table of hundreds of numbers."""
    decimal, grouping, thousand = (
        get_format(name, language, use_l10n=True)
        for name in ("DECIMAL_SEPARATOR", "NUMBER_GROUPING", "THOUSAND_SEPARATOR")
    )
    return lambda value: numberformat.format(
        value, decimal, None, grouping, thousand, force_grouping=False, use_l10n=True
    )


def member_rows(rows: list[Row], *, has_parts: bool, parts_decimals: int, language: str) -> str:
    """The member table's rows: rank, member (linked, marked when highlighted), value, the
    two assessments or why there is no value, and the ratio's parts when it has them. Text
    is escaped as the template escaped it (`html.escape`, which Django's `escape` is), the
    assessment cells are HTML already."""
    highlighted = ' class="unit-highlight" aria-current="true"'
    badge = f' <span class="badge text-bg-dark">{escape(_("highlighted"))}</span>'
    no_value = escape(_("No value"))
    localize = _localizer(language)
    out = []
    for row in rows:
        if row.value is None:
            cells = f'<td colspan="2">{escape(row.missing_label) if row.missing else no_value}</td>'
        else:
            standard = assessment_cell(row.standard, language=language)
            cells = f"\n        {standard}\n        {assessment_cell(row.peer, language=language)}"
        parts = ""
        if has_parts:
            numerator = numbers.format_number(row.numerator, parts_decimals, language)
            denominator = numbers.format_number(row.denominator, parts_decimals, language)
            parts = f'<td class="number">{escape(numerator)}</td><td class="number">{escape(denominator)}</td>'
        out.append(
            MEMBER_ROW.format(
                code=escape(row.unit.code),
                highlight=highlighted if row.highlight else "",
                rank="" if row.rank is None else escape(localize(row.rank)),
                rank_text=escape(row.rank_text),
                href=escape(row.href),
                label=escape(row.label),
                badge=badge if row.highlight else "",
                value="" if row.value is None else escape(localize(row.value)),
                value_text=escape(row.value_text),
                cells=cells,
                parts=parts,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every text in it escaped above


def member_choices(rows: list[Row], chosen: set[int]) -> str:
    """The series' checkboxes, one per member, ticked for the members drawn."""
    out = [
        MEMBER_CHOICE.format(
            code=escape(row.unit.code), checked=" checked" if row.unit.pk in chosen else "", label=escape(row.label)
        )
        for row in rows
    ]
    return mark_safe("".join(out))  # noqa: S308 - every text in it escaped above


# --- the definition --------------------------------------------------------------------


def _definition(indicator: Indicator) -> dict:
    """The formula in words and the variables (and indicators) it reads, in the reader's language."""
    try:
        formula = indicator.parsed
    except FormulaError:
        return {"formula_html": indicator.formula, "formula_text": indicator.formula, "variables": [], "indicators": []}
    variables = list(Variable.objects.filter(code__in=formula.names).select_related("breakdown").order_by("code"))
    used = list(Indicator.objects.filter(code__in=formula.names).order_by("code"))
    names = {v.code: v.label for v in variables} | {i.code: i.label for i in used}
    breakdowns = {v.breakdown_id for v in variables if v.breakdown_id}
    categories_of: dict[int, list[Category]] = {}
    for category in Category.objects.filter(breakdown_id__in=breakdowns) if breakdowns else []:
        categories_of.setdefault(category.breakdown_id, []).append(category)
    categories = {(v.code, c.code): str(c) for v in variables for c in categories_of.get(v.breakdown_id, [])}
    indicator_links = {i.code: reverse("indicator", args=[i.code]) for i in used}

    def href(code: str) -> str | None:
        return indicator_links.get(code) or (f"#variable-{code}" if code in names else None)

    return {
        "formula_html": readable_html(formula, names, categories, href=href),
        "formula_text": readable_text(formula, names, categories),
        "variables": [{"variable": v, "categories": categories_of.get(v.breakdown_id, [])} for v in variables],
        "indicators": used,
    }


# --- views -----------------------------------------------------------------------------


def indicator_page(request, code: str):
    view = Slice(request, code)
    context = {
        "view": view,
        "indicator": view.indicator,
        "group": view.group,
        "period": view.period,
        "rows": view.rows,
        "statistic": view.statistic,
        "legend": view.legend() if view.ready else [],
        "member_choices": member_choices(view.rows, {u.pk for u in view.series_units}) if view.ready else "",
        # Without any member's boundary the map would be an empty box: say why instead.
        "has_boundaries": view.ready
        and Unit.objects.filter(pk__in=read._members(view.group, view.period), boundary__isnull=False).exists(),
    }
    if view.ready:
        context["specs"] = {name: view.spec(name) for name in CHARTS}
        if request.htmx:
            context["spec_json"] = {
                name: json.dumps(spec, ensure_ascii=False) for name, spec in context["specs"].items()
            }
        context["titles"] = {name: view.title(name) for name in (*CHARTS, "map")}
        parts = [x for r in view.rows for x in (r.numerator, r.denominator) if x is not None]
        context["has_parts"] = bool(parts)
        context["parts_decimals"] = 0 if all(float(x).is_integer() for x in parts) else 2
        context["member_rows"] = member_rows(
            view.rows, has_parts=context["has_parts"], parts_decimals=context["parts_decimals"], language=view.language
        )
        context["series"] = view.series
        # Share: the address that restores this view, and the code that frames its ranking.
        context["share_url"] = request.build_absolute_uri(
            reverse("indicator", args=[view.indicator.code]) + "?" + view.query
        )
        embed = request.build_absolute_uri(
            reverse("indicator-embed", args=[view.indicator.code, "ranking"]) + "?" + view.query
        )
        context["embed_code"] = format_html(
            '<iframe src="{}" title="{}" width="720" height="480" loading="lazy"></iframe>',
            embed,
            view.title("ranking"),
        )
        if view.unit is not None:
            # Beside the group: the units like the one the reader came from, and the nation.
            beside = comparisons_beside(view.unit, [view.indicator.pk], view.period)
            context |= beside
            context["similar_figure"] = beside["similar_figures"].get(view.indicator.pk)
            context["national_figure"] = beside["national_figures"].get(view.indicator.pk)
        periods, medians = view.series["periods"], view.series["medians"]
        context["series_table"] = [
            (unit.label, [view.number(values[p.pk]) if p.pk in values else "–" for p in periods])
            for unit, values in view.series["units"]
        ]
        context["series_table"].append(
            (_("Group median"), [view.number(medians[p.pk]) if p.pk in medians else "–" for p in periods])
        )
    if request.htmx:
        response = render(request, "benchmarks/indicator_view.html", context)
    else:
        context["definition"] = _definition(view.indicator)
        response = render(request, "benchmarks/indicator.html", context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def indicator_map(request, code: str):
    """The members with their boundaries as GeoJSON, each with its value in words and colour."""
    view = Slice(request, code)
    features = []
    if view.ready:
        for row in view._rows(view.members(boundaries=True)):
            if not row.unit.boundary:
                continue
            value_text = row.value_text if row.value is not None else _("No value")
            if row.value is not None and row.band.band != bands.NONE:
                value_text = f"{value_text} ({row.band.label})"
            features.append(
                {
                    "type": "Feature",
                    "id": row.unit.code,
                    "geometry": row.unit.boundary,
                    "properties": {
                        "code": row.unit.code,
                        "label": row.label,
                        "value": row.value,
                        "value_text": value_text,
                        "color": row.colour,
                        "highlight": row.highlight,
                        "url": row.href,
                    },
                }
            )
    response = JsonResponse(
        {"type": "FeatureCollection", "features": features},
        content_type="application/geo+json",
        json_dumps_params={"ensure_ascii": False},
    )
    return response


def _filename(view: Slice, suffix: str) -> str:
    return f"{view.indicator.code}-{view.group.code}-{view.period.code}{suffix}"


def _attachment(content, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- downloads ---------------------------------------------------------------------------

FULL = "full"  # ?precision=full: the stored numbers with every digit


def full_precision(request) -> bool:
    return request.GET.get("precision", "") == FULL


def source_text(view: Slice) -> str:
    """Where the figures come from: the sources of the variables the formula reads (as the
    embedded chart's source line names them), else the members' own reports."""
    return "; ".join(source_line(view)["sources"]) or _("figures reported by the members")


def source_sentence(view: Slice) -> str:
    """The source line as one sentence, for chart images and downloads: title, group, period,
    source, and the date the figures were computed (today when none is stored)."""
    line = source_line(view)
    return _("%(indicator)s, %(group)s, %(period)s. Source: %(source)s. Municipium, %(date)s.") % {
        "indicator": view.indicator.label,
        "group": line["group"],
        "period": line["period"],
        "source": "; ".join(line["sources"]) or _("figures reported by the members"),
        "date": line["computed"] or view.digits(timezone.localdate().isoformat()),
    }


def _parts_decimals(view: Slice) -> int:
    """As the page shows numerators and denominators: whole numbers, else two decimals."""
    parts = [x for r in view.rows for x in (r.numerator, r.denominator) if x is not None]
    return 0 if all(float(x).is_integer() for x in parts) else 2


def data_frame(view: Slice, *, full: bool = False) -> pl.DataFrame:
    """The table behind the charts, one row per member (an empty value where it has none,
    with the reason in `missing` where one is known). Rounded as the page shows them (the
    indicator's decimals, through `numbers.rounded`), or with every stored digit (`full`)."""
    s = view.statistic
    decimals, parts = view.indicator.decimals, _parts_decimals(view)

    def shown(value, places):
        return value if full else numbers.rounded(value, places)

    rows = [
        {
            "unit": r.unit.code,
            "unit_name": r.label,
            "indicator": view.indicator.code,
            "indicator_name": view.indicator.label,
            "unit_of_measure": view.indicator.unit_label,
            "group": view.group.code,
            "group_name": view.group.label,
            "period": view.period.code,
            "value": shown(r.value, decimals),
            "missing": r.missing,
            "rank": r.rank,
            "rank_of": sum(1 for x in view.rows if x.value is not None),
            "percentile": shown(r.percentile, 0),
            "band": r.band.label if r.value is not None else "",
            "numerator": shown(r.numerator, parts),
            "denominator": shown(r.denominator, parts),
            "group_median": shown(s.median, decimals) if s else None,
            "group_p25": shown(s.p25, decimals) if s else None,
            "group_p75": shown(s.p75, decimals) if s else None,
        }
        for r in view.rows
    ]
    schema = {
        "unit": pl.String,
        "unit_name": pl.String,
        "indicator": pl.String,
        "indicator_name": pl.String,
        "unit_of_measure": pl.String,
        "group": pl.String,
        "group_name": pl.String,
        "period": pl.String,
        "value": pl.Float64,
        "missing": pl.String,
        "rank": pl.Int64,
        "rank_of": pl.Int64,
        "percentile": pl.Float64,
        "band": pl.String,
        "numerator": pl.Float64,
        "denominator": pl.Float64,
        "group_median": pl.Float64,
        "group_p25": pl.Float64,
        "group_p75": pl.Float64,
    }
    return pl.DataFrame(rows, schema=schema)


def _sheet(rows: list[tuple[str, str]], first: str, second: str) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={first: pl.String, second: pl.String}, orient="row")


def _precision_note(view: Slice, full: bool) -> str:
    if full:
        return _("Full precision: every digit stored, not rounded.")
    return ngettext(
        "Rounded as shown on the page: %(count)s decimal place. Add ?precision=full to the address for every digit.",
        "Rounded as shown on the page: %(count)s decimal places. Add ?precision=full to the address for every digit.",
        view.indicator.decimals,
    ) % {"count": numbers.format_number(view.indicator.decimals, 0, view.language)}


def workbook(view: Slice, *, full: bool = False, address: str = "") -> bytes:
    """The Excel download: a title sheet, the data, the indicator's definition, and its
    source and notes, each sheet's texts in the reader's language."""
    indicator, line = view.indicator, source_sentence(view)
    about = [
        (_("Title"), f"{indicator.label}: {view.group.label}, {view.digits(view.period.code)}"),
        (_("Source line"), line),
        (_("Figures"), _precision_note(view, full)),
        (
            _("Based on"),
            _("Published figures only.") if view.public else _("All figures, also those not yet published."),
        ),
        (_("Retrieved"), view.digits(timezone.localdate().isoformat())),
        (_("Address"), address),
    ]
    definition = _definition(indicator)
    described = [
        (_("Indicator"), indicator.label),
        (_("Code"), indicator.code),
        (_("Definition"), pick(indicator.definition).text),
        (_("Formula"), definition["formula_text"]),
        (_("Formula as written"), indicator.formula),
        (_("Unit of measure"), indicator.unit_label),
        (_("Decimals"), numbers.format_number(indicator.decimals, 0, view.language)),
        (_("Polarity"), str(indicator.get_polarity_display())),
    ]
    for item in definition["variables"]:
        variable = item["variable"]
        text = variable.label
        if variable.unit_label:
            text += f" ({variable.unit_label})"
        described.append((_("Variable %(code)s") % {"code": variable.code}, text))
    notes = [
        (_("Source"), source_text(view)),
        (_("Source line"), line),
        (_("Rank"), _("1 is the best value in the group by the indicator's good side; equal values share a rank.")),
        (_("Percentile"), _("100 is the best member of the group, 0 the worst.")),
        (
            _("Group median"),
            _("The middle value of the members with a value; group_p25 and group_p75 bound the middle half."),
        ),
        (_("Missing"), _("An empty value is no value, never zero; the column missing says why, where it is known.")),
        *((str(label), _("missing = %(code)s") % {"code": code}) for code, label in Missing.choices),
    ]
    return tabular.to_xlsx(
        {
            _("About"): _sheet(about, _("Heading"), _("Text")),
            _("Data"): data_frame(view, full=full),
            _("Definition"): _sheet(described, _("Heading"), _("Text")),
            _("Source and notes"): _sheet(notes, _("Heading"), _("Text")),
        }
    )


def indicator_data(request, code: str):
    """The table as CSV (UTF-8 with a BOM, so Excel reads it right) or Excel, rounded as the
    page shows it unless `?precision=full`; every row of the CSV carries the source line, the
    workbook has it on its title sheet."""
    format = request.GET.get("format", "csv")
    if format not in DATA_FORMATS:
        raise Http404()
    view = Slice(request, code)
    if not view.ready:
        raise Http404()
    full = full_precision(request)
    suffix = "-full" if full else ""
    if format == "xlsx":
        return _attachment(
            workbook(view, full=full, address=request.build_absolute_uri()),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            _filename(view, f"{suffix}.xlsx"),
        )
    frame = data_frame(view, full=full).with_columns(pl.lit(source_sentence(view)).alias("source"))
    return _attachment(tabular.to_csv(frame, bom=True), "text/csv; charset=utf-8", _filename(view, f"{suffix}.csv"))


def indicator_chart(request, code: str, name: str, format: str):
    """A chart of the page as an image, drawn on the server from the same spec."""
    if name not in CHARTS or format not in IMAGE_FORMATS:
        raise Http404()
    view = Slice(request, code)
    if not view.ready:
        raise Http404()
    spec = charts.with_source(view.spec(name), source_sentence(view))
    language = view.language
    content = charts.render_png(spec, language) if format == "png" else charts.render_svg(spec, language)
    return _attachment(content, IMAGE_FORMATS[format], _filename(view, f"-{name}.{format}"))


# --- share and embed -------------------------------------------------------------------


def source_line(view: Slice) -> dict:
    """What a chart shown on its own must carry: its title, group and period, the sources of
    the figures it is computed from, and when they were computed."""
    formula_names = set()
    try:
        formula_names = set(view.indicator.parsed.names)
    except FormulaError:
        pass
    sources = sorted(
        {
            text
            for source in Variable.objects.filter(code__in=formula_names).values_list("source", flat=True)
            if source and (text := pick(source).text)
        }
    )
    computed = max(
        (
            v.computed_at
            for v in read.values(view.indicator, view.period, view.group, public=view.public, with_units=False)
        ),
        default=None,
    )
    return {
        "title": view.title(""),
        "group": view.group.label,
        "period": view.digits(view.period.code),
        "sources": sources,
        "computed": view.digits(computed.date().isoformat()) if computed else "",
    }


@xframe_options_exempt
@csp_override({**settings.SECURE_CSP, "frame-ancestors": settings.EMBED_FRAME_ANCESTORS})
def indicator_embed(request, code: str, name: str):
    """One chart of the indicator page on a page of its own, with its source line, that other
    sites may frame (the only route whose X-Frame-Options and CSP frame-ancestors allow it).
    It shows published figures only, whoever's browser opens it."""
    if name not in CHARTS:
        raise Http404()
    view = Slice(request, code, anonymous=True)
    if not view.ready:
        raise Http404()
    context = {
        "view": view,
        "indicator": view.indicator,
        "name": name,
        "spec": view.spec(name),
        "title": view.title(name),
        "source": source_line(view),
        "page_url": request.build_absolute_uri(reverse("indicator", args=[view.indicator.code]) + "?" + view.query),
    }
    return render(request, "benchmarks/embed.html", context)
