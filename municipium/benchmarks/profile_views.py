"""The unit profile (every indicator of a unit against its group) and the compare page
(chosen units side by side). Figures come from `read`'s bulk functions, a few queries per
page whatever the number of indicators; who sees unpublished figures is `access`'s call."""

import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, cached_property
from html import escape
from urllib.parse import urlencode

from django.db.models import Q
from django.shortcuts import get_object_or_404, render
from django.template.defaultfilters import urlencode as urlencode_filter
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, get_language_bidi, ngettext
from django.utils.translation import gettext as _

from municipium.accounts import access
from municipium.catalog.models import Indicator, IndicatorSet, ServiceArea, Variable
from municipium.lib import numbers, texts
from municipium.lib.texts import pick
from municipium.observations.models import Observation, Period, Status
from municipium.places.models import Group, Membership, Succession, Unit

from . import bands, charts, engine, read

# More units than this and a side-by-side table stops being readable.
MAX_COMPARED = 12
SPARK_WIDTH, SPARK_HEIGHT, SPARK_PAD = 90, 24, 3


# -- shared helpers ------------------------------------------------------------------------


def _periods_of(rows) -> list[Period]:
    """The periods the rows have values for, oldest first."""
    found = {row.period_id: row.period for row in rows}
    return sorted(found.values(), key=lambda p: (p.end, p.kind == "year", p.ordinal))


def _chosen_period(request, periods: list[Period]) -> Period | None:
    """The period asked for (GET `period`) if it has values, else the latest that has."""
    asked = request.GET.get("period", "")
    for period in periods:
        if period.code == asked:
            return period
    return periods[-1] if periods else None


# A profile opened without a chosen period shows the latest one whose figures cover at
# least this share of what the unit's best-covered period has: the newest year usually has
# only the first few figures in, and a page of "no value" helps nobody.
ENOUGH_FIGURES = 0.5


def _default_period(rows, periods: list[Period]) -> tuple[Period | None, dict | None]:
    """The period a profile opens on, and a note when that is not the latest one.

    The note says which later period was passed over and how many figures it has, so the
    reader knows the newer figures exist (issue 19: Kruševac opened on 2025 with 38 of 54
    rows empty)."""
    if not periods:
        return None, None
    counts: dict[int, int] = defaultdict(int)
    for row in rows:
        if row.value is not None:
            counts[row.period_id] += 1
    best = max(counts.values(), default=0)
    chosen = next((p for p in reversed(periods) if counts[p.pk] >= best * ENOUGH_FIGURES), periods[-1])
    if chosen == periods[-1]:
        return chosen, None
    return chosen, {"latest": periods[-1], "latest_count": counts[periods[-1].pk]}


def _catalogue_place(area, order: int, code: str) -> tuple:
    """Where an indicator stands in the catalogue: its service area's place, then its own."""
    return (area.order, area.code, order, code)


def _ordered(indicators) -> list[Indicator]:
    return sorted(indicators, key=lambda i: _catalogue_place(i.service_area, i.order, i.code))


@dataclass
class Spark:
    """A small trend line: SVG points and a textual equivalent."""

    points: str
    dot: tuple[float, float] | None
    label: str

    def svg(self) -> str:
        """Inline SVG, classes only (strict CSP: no style attributes); built here rather
        than in a template include because a profile has a hundred of them."""
        line = format_html('<polyline points="{}"/>', self.points) if self.points else ""
        dot = format_html('<circle cx="{}" cy="{}" r="2.5"/>', *self.dot) if self.dot else ""
        return format_html(
            '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            'aria-label="{label}" focusable="false">{line}{dot}</svg>',
            w=SPARK_WIDTH,
            h=SPARK_HEIGHT,
            label=self.label,
            line=line,
            dot=dot,
        )


def sparkline(
    series, decimals: int, current: Period | None = None, *, rtl: bool = False, language: str | None = None
) -> Spark | None:
    """SVG polyline points for a unit's values over time (from `read.series` rows, oldest
    first); the dot marks the chosen period, or the last one. Right to left, time runs from
    right to left, as on the time charts. `language`: the reader's, when the caller knows it
    (a profile draws a hundred sparklines of twenty numbers each)."""
    if not series:
        return None
    language = language or get_language()
    ordinals = [row.period.ordinal for row in series]
    values = [row.value for row in series]
    lo_x, hi_x = min(ordinals), max(ordinals)
    lo_y, hi_y = min(values), max(values)
    inner_w, inner_h = SPARK_WIDTH - 2 * SPARK_PAD, SPARK_HEIGHT - 2 * SPARK_PAD

    def xy(ordinal, value):
        x = SPARK_PAD + (inner_w * (ordinal - lo_x) / (hi_x - lo_x) if hi_x > lo_x else inner_w / 2)
        if rtl:
            x = SPARK_WIDTH - x
        y = SPARK_PAD + (inner_h * (hi_y - value) / (hi_y - lo_y) if hi_y > lo_y else inner_h / 2)
        return round(x, 1), round(y, 1)

    coords = [xy(o, v) for o, v in zip(ordinals, values, strict=True)]
    marked = next((i for i, row in enumerate(series) if current and row.period_id == current.pk), len(series) - 1)
    label = _("Trend: %(values)s") % {
        "values": "; ".join(
            f"{numbers.localise_digits(row.period.code, language)}: {numbers.format_number(row.value, decimals, language)}"
            for row in series
        )
    }
    return Spark(
        points=" ".join(f"{x},{y}" for x, y in coords) if len(coords) > 1 else "", dot=coords[marked], label=label
    )


def assessment_cell(band: bands.Band, label: str = "", language: str | None = None) -> str:
    """A table cell with an assessment (benchmarks/assessment_cell.html; `label` names its
    column on a phone), rendered once per band, label and language: a profile has two a
    row, an indicator page two for each member, and the template engine's include was most
    of a row's time (issue 18)."""
    return _assessment_cell(band, label, language or get_language())


@cache
def _assessment_cell(band: bands.Band, label: str, language: str) -> str:
    return render_to_string("benchmarks/assessment_cell.html", {"assessment": band, "cell_label": label})


# A code of these characters comes out of `reverse` as it went in (the URL converter takes it,
# quoting leaves it alone): its link is the pattern's with the code put in.
_PLAIN_CODE = re.compile(r"[A-Za-z0-9_.~-]+")
_CODE_SLOT = "0code0"


def links(name: str) -> Callable[[str], str]:
    """`reverse(name, args=[code])` for many codes (a link per row of a table of hundreds):
    reversed once, the code put in; a code with other characters is reversed itself."""
    pattern = reverse(name, args=[_CODE_SLOT])
    head, _slot, tail = pattern.rpartition(_CODE_SLOT)

    def link(code: str) -> str:
        if _PLAIN_CODE.fullmatch(code):
            return head + code + tail
        return reverse(name, args=[code])

    return link


# -- unit profile --------------------------------------------------------------------------


@dataclass
class ProfileRow:
    indicator: Indicator
    value: object  # read.Figure | None
    statistic: object  # GroupStatistic | None
    rank: read.UnitRank | None
    band: bands.Band
    spark: Spark | None
    previous: object = None  # the series row of the period before, when it has a value
    similar: read.Reference | None = None  # the median of the similar units (read.similar_units)
    national: read.Reference | None = None  # the national figure (read.national)
    href: str = ""  # the indicator's page

    @cached_property
    def change(self) -> dict | None:
        """The change since the period before, in the indicator's unit, with an arrow:
        {"arrow", "text", "direction"} (direction "up", "down" or "same")."""
        if self.value is None or self.previous is None or self.value.value is None or self.previous.value is None:
            return None
        decimals = self.indicator.decimals
        change = round(self.value.value - self.previous.value, decimals)
        period = numbers.localise_digits(self.previous.period.code)
        if change == 0:
            return {"arrow": "→", "text": _("unchanged since %(period)s") % {"period": period}, "direction": "same"}
        sign = "+" if change > 0 else "\u2212"
        return {
            "arrow": "↑" if change > 0 else "↓",
            "text": _("%(change)s since %(period)s")
            % {"change": sign + numbers.format_number(abs(change), decimals), "period": period},
            "direction": "up" if change > 0 else "down",
        }

    @cached_property
    def standard(self) -> bands.Band:
        """The assessment against the set thresholds or target (none when there is none)."""
        return bands.standard_band(self.value.value if self.value else None, self.indicator)

    @cached_property
    def peer(self) -> bands.Band:
        """The assessment among the group's members (quartiles)."""
        return bands.peer_band(self.value.value if self.value else None, self.indicator, self.statistic)

    @property
    def standard_cell(self) -> str:
        return assessment_cell(self.standard, _("By the standard"))

    @property
    def peer_cell(self) -> str:
        return assessment_cell(self.peer, _("In the group"))

    @property
    def rank_text(self) -> str:
        """The rank in the direction of polarity ("best of 6"): `bands.rank_text`."""
        if self.rank is None:
            return "–"
        return bands.rank_text(self.rank.rank, self.rank.n, self.indicator.polarity)


@dataclass
class Dimension:
    code: str
    label: str
    rows: list[ProfileRow] = field(default_factory=list)
    rows_html: str = ""  # the rows of its table (`profile_rows`)


# One row of a profile's table (benchmarks/profile_table.html), as its `{% for %}` loop wrote it.
PROFILE_ROW = (
    '\n    <tr>\n      <th scope="row" class="fw-normal"><a href="{href}">{name}</a></th>'
    '\n      <td class="number {css}" data-label="{l_value}">{value}</td>'
    "\n      {standard}\n      {peer}"
    '\n      <td class="number" data-label="{l_median}">{median}</td>'
    '\n      <td class="number" data-label="{l_middle}">{middle}</td>'
    "\n      {similar}\n      {national}"
    '\n      <td class="number" data-label="{l_rank}">{rank}</td>'
    '\n      <td class="profile-change change-{direction}" data-label="{l_change}">{change}</td>'
    '\n      <td data-label="{l_trend}">{spark}</td>\n    </tr>\n    '
)


def profile_rows(rows: list[ProfileRow], *, similar, country, indicator_query: str, language: str) -> str:
    """A dimension's rows of the profile's table: what the template's loop wrote, character
    for character (the texts escaped as it escaped them, `html.escape`), written here because
    the loop's hundred rows of a dozen lookups and filters each were a fifth of a profile's
    time (issue 18). `similar` and `country`: whether those columns are shown."""
    labels = {
        "l_value": escape(_("Value")),
        "l_median": escape(_("Group median")),
        "l_middle": escape(_("Middle half of the group (25th–75th percentile)")),
        "l_rank": escape(_("Rank in the group")),
        "l_change": escape(_("Change")),
        "l_trend": escape(_("Trend")),
    }
    l_similar = escape(_("Similar units (median)"))
    l_national = _("%(country)s (national figure)") % {"country": escape(country.label)} if country else ""
    no_value = f'<span class="text-body-secondary">{escape(_("no value"))}</span>'
    query = escape(indicator_query)

    def number(value, decimals: int) -> str:
        return escape(numbers.format_number(value, decimals, language))

    out = []
    for row in rows:
        indicator, decimals, statistic = row.indicator, row.indicator.decimals, row.statistic
        if row.value:
            value = (
                f"{number(row.value.value, decimals)} "
                f'<span class="uom">{escape(texts.plain(indicator.unit_of_measure))}</span>'
            )
        else:
            value = no_value
        median = number(statistic.median, decimals) if statistic and statistic.median is not None else "–"
        middle = (
            f"{number(statistic.p25, decimals)} – {number(statistic.p75, decimals)}"
            if statistic and statistic.p25 is not None
            else "–"
        )
        similar_cell = national_cell = ""
        if similar:
            figure = number(row.similar.value, decimals) if row.similar else "–"
            similar_cell = f'<td class="number" data-figure="similar" data-label="{l_similar}">{figure}</td>'
        if country:
            figure = "–"
            if row.national:
                figure = number(row.national.value, decimals)
                if row.national.n:
                    count = ngettext("median of %(n)s", "median of %(n)s", row.national.n) % {
                        "n": number(row.national.n, 0)
                    }
                    figure += f' <span class="d-block small text-body-secondary">{count}</span>'
            national_cell = f'<td class="number" data-figure="national" data-label="{l_national}">{figure}</td>'
        change = row.change
        out.append(
            PROFILE_ROW.format(
                href=f"{escape(row.href)}?{query}",
                name=conditional_escape(texts.marked(indicator.name, indicator.code)),
                css=escape(row.band.css),
                value=value,
                standard=row.standard_cell,
                peer=row.peer_cell,
                median=median,
                middle=middle,
                similar=similar_cell,
                national=national_cell,
                rank=escape(row.rank_text),
                direction=escape(change["direction"]) if change else "",
                change=(
                    f'<span aria-hidden="true">{escape(change["arrow"])}</span> {escape(change["text"])}'
                    if change
                    else "–"
                ),
                spark=row.spark.svg() if row.spark else "",
                **labels,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every text in it escaped above


@dataclass
class Area:
    area: object
    dimensions: list[Dimension] = field(default_factory=list)


# A unit whose groups have no indicator set may have figures for a whole country's
# catalogue (1,700 indicators in a real one, issue 18): its profile opens on the few most
# reported indicators of each service area, with a search and the full list page by page.
SHORT_LIST = 5
LIST_PAGE = 100


@dataclass
class Listing:
    """Which of the unit's indicators a profile without an indicator set shows."""

    total: int  # indicators the unit has figures for
    areas: list  # their service areas
    query: str = ""
    area: str = ""
    everything: bool = False
    matching: int = 0
    page: int = 1
    pages: int = 1
    params: dict = field(default_factory=dict)  # group and period, kept by the links

    @property
    def short(self) -> bool:
        """The short list: no search, no area, not the full list."""
        return not (self.query or self.area or self.everything)

    @property
    def first(self) -> int:
        return (self.page - 1) * LIST_PAGE + 1 if self.matching else 0

    @property
    def last(self) -> int:
        return min(self.page * LIST_PAGE, self.matching)

    def link(self, page: int) -> str:
        query = {**self.params, "q": self.query, "area": self.area, "all": "1" if self.everything else ""}
        return "?" + urlencode({k: v for k, v in {**query, "page": str(page)}.items() if v})

    @property
    def link_all(self) -> str:
        return "?" + urlencode({**self.params, "all": "1"})

    @property
    def link_short(self) -> str:
        return "?" + urlencode(self.params)

    @property
    def previous_link(self) -> str | None:
        return self.link(self.page - 1) if self.page > 1 else None

    @property
    def next_link(self) -> str | None:
        return self.link(self.page + 1) if self.page < self.pages else None


def _without_a_set(request, unit, group, *, public: bool, group_public: bool) -> tuple[list[Indicator], Listing]:
    """The indicators a profile without an indicator set shows: the SHORT_LIST of each
    service area that most members of the compared group report (ties by catalogue order);
    or, asked for, those matching a search (code or name in any language) or an area, or
    all of them, LIST_PAGE at a time.

    Chosen on light rows (id, area, order, code) and loaded whole only for those shown: a
    country's 1,000 indicators as model objects with all their texts were 60-130 ms of a
    profile that shows five of them (issue 18)."""
    found = read.indicators_of(unit, public=public)
    area_of = {area.pk: area for area in ServiceArea.objects.all()}
    candidates = sorted(
        Indicator.objects.filter(pk__in=found).order_by().values_list("pk", "service_area_id", "order", "code"),
        key=lambda row: _catalogue_place(area_of[row[1]], row[2], row[3]),
    )
    areas = [area_of[pk] for pk in dict.fromkeys(row[1] for row in candidates)]
    listing = Listing(
        total=len(candidates),
        areas=areas,
        query=request.GET.get("q", "").strip()[:100],
        area=request.GET.get("area", "").strip(),
        everything=request.GET.get("all") == "1",
        params={k: request.GET[k] for k in ("group", "period") if request.GET.get(k)},
    )
    if listing.short:
        reported = read.reported_by(group, found, public=group_public) if group else {}
        shown: list[int] = []
        for area in areas:
            own = [row[0] for row in candidates if row[1] == area.pk]
            shown += sorted(own, key=lambda pk: -reported.get(pk, 0))[:SHORT_LIST]
        listing.matching = len(candidates)
        return _whole(shown), listing
    matching = candidates
    if listing.area:
        matching = [row for row in matching if area_of[row[1]].code == listing.area]
    if listing.query:
        needle = listing.query.casefold()
        names = dict(Indicator.objects.filter(pk__in=[row[0] for row in matching]).values_list("pk", "name"))
        matching = [
            row
            for row in matching
            if needle in row[3].casefold()
            or any(needle in str(text).casefold() for text in (names[row[0]] or {}).values())
        ]
    listing.matching = len(matching)
    listing.pages = max(1, -(-len(matching) // LIST_PAGE))
    try:
        listing.page = min(max(1, int(request.GET.get("page", "1"))), listing.pages)
    except ValueError:
        listing.page = 1
    return _whole([row[0] for row in matching[(listing.page - 1) * LIST_PAGE : listing.page * LIST_PAGE]]), listing


def _whole(ids: list[int]) -> list[Indicator]:
    """These indicators as model objects, in this order."""
    loaded = Indicator.objects.filter(pk__in=ids).select_related("service_area").in_bulk()
    return [loaded[pk] for pk in ids]


def _completeness(unit, indicators, period, public) -> dict | None:
    """Share of the variables behind the indicators that the unit has an observation for in
    the period (a value or an explicit missing code), and the ones it lacks. The public
    counts published observations only: a draft is not yet the unit's data for them."""
    if period is None or not indicators:
        return None
    context = engine.Context()
    wanted = set()
    for indicator in indicators:
        wanted |= set(context.spec(indicator.pk).variable_ids)
    variables = list(Variable.objects.filter(pk__in=wanted, period_kind=period.kind))
    if not variables:
        return None
    found = Observation.objects.filter(unit=unit, period=period, variable_id__in=[v.pk for v in variables])
    if public:
        found = found.filter(status=Status.PUBLISHED)
    have = set(found.values_list("variable_id", flat=True).distinct())
    missing = [v for v in variables if v.pk not in have]
    return {
        "total": len(variables),
        "have": len(variables) - len(missing),
        "share": 100.0 * (len(variables) - len(missing)) / len(variables),
        "missing": missing,
    }


def _history(unit: Unit) -> list[dict]:
    """The unit's mergers, splits and renames, both ways, each with the other units linked to
    their profiles (issue 19: Strelcha's merger into Panagyurishte was shown on neither):
    [{"kind", "outgoing" (this unit is the predecessor), "date", "units" (HTML)}], by date."""
    found: dict[tuple, list[Unit]] = defaultdict(list)
    successions = (
        Succession.objects.filter(Q(predecessor=unit) | Q(successor=unit))
        .select_related("predecessor", "successor")
        .order_by("date", "pk")
    )
    for succession in successions:
        outgoing = succession.predecessor_id == unit.pk
        other = succession.successor if outgoing else succession.predecessor
        found[(succession.kind, outgoing, succession.date)].append(other)
    return [
        {
            "kind": kind,
            "outgoing": outgoing,
            "date": date,
            "units": format_html_join(
                numbers.comma(), '<a href="{}">{}</a>', ((reverse("unit", args=[u.code]), u.label) for u in others)
            ),
        }
        for (kind, outgoing, date), others in found.items()
    ]


def unit_profile(request, code):
    unit = get_object_or_404(Unit, code=code)
    public = not access.sees_unpublished(request.user, unit=unit)
    groups = list(Group.objects.filter(memberships__unit=unit).distinct().order_by("code"))
    sets = list(IndicatorSet.objects.filter(group__in=groups).order_by("code"))
    with_sets = {s.group_id for s in sets}
    group = next((g for g in groups if g.code == request.GET.get("group")), None)
    if group is None and groups:
        group = next((g for g in groups if g.pk in with_sets), groups[0])
    # The group's statistics and ranks hold its other members' figures: drafts only when
    # the group shares them with this user, even on the page of their own unit.
    group_public = public or (group is not None and not access.sees_unpublished(request.user, group=group))
    listing = None
    if sets:
        indicators = list(Indicator.objects.filter(sets__in=sets).distinct().select_related("service_area"))
    else:
        indicators, listing = _without_a_set(request, unit, group, public=public, group_public=group_public)
    rows = read.series_many([unit.pk], [i.pk for i in indicators], public=public)
    indicators = _ordered(indicators)

    periods = _periods_of(rows)
    if "period" in request.GET:
        period, period_note = _chosen_period(request, periods), None
    else:
        period, period_note = _default_period(rows, periods)
    series = defaultdict(list)
    for row in rows:
        series[row.indicator_id].append(row)
    ids = [i.pk for i in indicators]
    statistics, ranks = {}, {}
    if period is not None and group is not None:
        statistics = {s.indicator_id: s for s in read.statistics_many(ids, [period.pk], group, public=group_public)}
        ranks = read.unit_ranks(unit, ids, period, group, public=group_public)
    comparisons = comparisons_beside(unit, ids, period)

    rtl, language = get_language_bidi(), get_language()
    link = links("indicator")
    areas: list[Area] = []
    dimension_labels = dict(Indicator.Dimension.choices)
    for indicator in indicators:
        if not areas or areas[-1].area.pk != indicator.service_area_id:
            areas.append(Area(indicator.service_area))
        own = series[indicator.pk]
        value = next((r for r in own if period and r.period_id == period.pk), None)
        statistic = statistics.get(indicator.pk)
        row = ProfileRow(
            indicator,
            value,
            statistic,
            ranks.get(indicator.pk),
            bands.band(value.value if value else None, indicator, statistic),
            sparkline(own, indicator.decimals, period, rtl=rtl, language=language),
            next(
                (r for r in own if period and r.period.kind == period.kind and r.period.ordinal == period.ordinal - 1),
                None,
            ),
            comparisons["similar_figures"].get(indicator.pk),
            comparisons["national_figures"].get(indicator.pk),
            link(indicator.code),
        )
        dimensions = areas[-1].dimensions
        dimension = next((d for d in dimensions if d.code == indicator.dimension), None)
        if dimension is None:
            dimension = Dimension(indicator.dimension, dimension_labels.get(indicator.dimension, indicator.dimension))
            dimensions.append(dimension)
        dimension.rows.append(row)
    order = list(dimension_labels)
    for area in areas:
        area.dimensions.sort(key=lambda d: order.index(d.code) if d.code in order else len(order))

    group_sets = [s for s in sets if group and s.group_id == group.pk]
    # Each row links its indicator's page for this unit, group and period.
    indicator_query = "&".join(
        f"{name}={urlencode_filter(value.code)}"
        for name, value in (("group", group), ("period", period), ("unit", unit))
        if value
    )
    for area in areas:
        for dimension in area.dimensions:
            dimension.rows_html = profile_rows(
                dimension.rows,
                similar=comparisons["similar"],
                country=comparisons["country"],
                indicator_query=indicator_query,
                language=language,
            )
    context = {
        "indicator_query": indicator_query,
        "unit": unit,
        "groups": groups,
        "group": group,
        "periods": periods,
        "period": period,
        "period_note": period_note,
        "areas": areas,
        "public": public,
        "completeness": _completeness(unit, indicators, period, public),
        "can_enter": access.can_enter(request.user, unit),
        "compare_set": group_sets[0] if group_sets else (sets[0] if sets else None),
        "fallback": not sets,
        "listing": listing,
        "history": _history(unit),
        **comparisons,
    }
    return render(request, "benchmarks/profile.html", context)


def comparisons_beside(unit, indicator_ids, period) -> dict:
    """The comparisons beside the group's (issue 19, as Kolada's readers know them): the
    similar units (`read.similar_units`) with how they were chosen, their median per
    indicator, and the national figure per indicator. Published figures only."""
    family = read.kin(unit)
    similar = read.similar_units(unit, family=family) if family else None
    country, national = read.national(indicator_ids, period, unit, family=family) if period and family else (None, {})
    medians = read.medians(indicator_ids, period, [u.pk for u, _p in similar.units]) if similar and period else {}
    return {
        "similar": similar,
        "similar_how": similar.how() if similar else "",
        "similar_figures": medians,
        "country": country,
        "national_figures": national,
    }


# -- compare -------------------------------------------------------------------------------


def _asked_units(request) -> list[str]:
    codes = []
    for item in request.GET.getlist("units"):
        codes += [c.strip() for c in item.split(",") if c.strip()]
    return list(dict.fromkeys(codes))


@dataclass
class CompareRow:
    indicator: Indicator
    cells: list  # (unit, read.Figure | None, Band, standard Band, peer Band) per chosen unit
    chart_id: str
    spec: dict
    table: list  # (period, [read.Figure | None per unit])


def compare(request):
    codes = _asked_units(request)
    found = {u.code: u for u in Unit.objects.filter(code__in=codes)}
    units = [found[c] for c in codes if c in found][:MAX_COMPARED]
    groups = list(Group.objects.order_by("code"))
    group = next((g for g in groups if g.code == request.GET.get("group")), None)
    if group is None and units:
        first = Membership.objects.filter(unit=units[0]).order_by("group__code").values_list("group_id", flat=True)
        group = next((g for g in groups if g.pk in set(first)), None)
    if group is None and groups:
        group = groups[0]
    members = list(Unit.objects.filter(memberships__group=group).distinct().order_by("code")) if group else []
    others = [u for u in units if u not in members]
    # The unit whose profile the reader came from (`?unit=`), when it is one of the chosen.
    highlighted = next((u for u in units if u.code == request.GET.get("unit")), None)

    sets = list(IndicatorSet.objects.order_by("code"))
    indicator_set = next((s for s in sets if s.code == request.GET.get("set")), None)
    if indicator_set is None:
        indicator_set = next((s for s in sets if group and s.group_id == group.pk), sets[0] if sets else None)
    indicators = []
    if indicator_set is not None:
        indicators = [
            entry.indicator
            for entry in indicator_set.entries.select_related("indicator__service_area").order_by(
                "order", "indicator__code"
            )
        ]

    # Unpublished figures only for someone inside every chosen unit's groups (and the group).
    public = not (
        units
        and all(access.sees_unpublished(request.user, unit=u) for u in units)
        and (group is None or access.sees_unpublished(request.user, group=group))
    )
    rows = read.series_many([u.pk for u in units], [i.pk for i in indicators], public=public) if units else []
    periods = _periods_of(rows)
    period = _chosen_period(request, periods)
    statistics = {}
    if period is not None and group is not None:
        statistics = {
            s.indicator_id: s
            for s in read.statistics_many([i.pk for i in indicators], [period.pk], group, public=public)
        }
    by_key = {(r.indicator_id, r.unit_id, r.period_id): r for r in rows}
    # Each indicator's points, grouped once: picked from every row for each indicator, 100
    # indicators of 8 units over 20 years were 1.6 million comparisons (0.2 s, issue 18).
    rows_of = defaultdict(list)
    for r in rows:
        rows_of[r.indicator_id].append(r)
    labels = {u.pk: u.label for u in units}
    rtl, language = get_language_bidi(), get_language()

    table_rows: list[CompareRow] = []
    for indicator in indicators:
        cells = []
        for unit in units:
            value = by_key.get((indicator.pk, unit.pk, period.pk)) if period else None
            number, statistic = (value.value if value else None), statistics.get(indicator.pk)
            # The colour is the one band; the words keep the two assessments apart, labelled.
            cells.append(
                (
                    unit,
                    value,
                    bands.band(number, indicator, statistic),
                    bands.standard_band(number, indicator),
                    bands.peer_band(number, indicator, statistic),
                )
            )
        own = rows_of[indicator.pk]
        own_periods = _periods_of(own)
        points = [
            {
                "period": numbers.localise_digits(r.period.code, language),
                "order": r.period.ordinal,
                "unit": labels[r.unit_id],
                "value": round(r.value, indicator.decimals + 3),
                "value_text": numbers.format_number(r.value, indicator.decimals, language),
                "highlight": highlighted is not None and r.unit_id == highlighted.pk,
            }
            for r in own
        ]
        unit_of_measure = pick(indicator.unit_of_measure).text
        spec = charts.compare_small_multiple(
            indicator.label,
            points,
            unit_title=_("Unit"),
            period_title=_("Period"),
            value_title=unit_of_measure,
            decimals=indicator.decimals,
            rtl=rtl,
        )
        table = [(p, [by_key.get((indicator.pk, u.pk, p.pk)) for u in units]) for p in own_periods]
        table_rows.append(CompareRow(indicator, cells, f"chart-{indicator.code}", spec, table))

    context = {
        "units": units,
        "highlighted": highlighted,
        "groups": groups,
        "group": group,
        "members": members,
        "others": others,
        "chosen": {u.code for u in units},
        "sets": sets,
        "indicator_set": indicator_set,
        "periods": periods,
        "period": period,
        "rows": table_rows,
        "public": public,
        "max_compared": MAX_COMPARED,
        "too_many": len([c for c in codes if c in found]) > MAX_COMPARED,
    }
    return render(request, "benchmarks/compare.html", context)
