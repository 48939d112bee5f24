"""What a report shows for each chosen indicator, read through `municipium.benchmarks.read`
(the page and the PDF both call `sections`, so they cannot disagree)."""

from dataclasses import dataclass, field

from django.utils.translation import get_language_bidi
from django.utils.translation import gettext as _

from municipium.benchmarks import bands, read
from municipium.lib import numbers

from . import charts
from .models import Chart, Report, ReportIndicator


@dataclass
class Section:
    entry: ReportIndicator
    value: float | None
    statistic: object | None  # GroupStatistic
    rank: int | None
    rank_of: int | None
    band: bands.Band
    spec: dict
    chart_label: str
    chart_id: str
    # The data behind the chart: (header cells, rows of cells); a row's last item marks the unit.
    table_head: list[str] = field(default_factory=list)
    table_rows: list[tuple] = field(default_factory=list)

    @property
    def indicator(self):
        return self.entry.indicator

    def _statistic(self, name):
        return getattr(self.statistic, name) if self.statistic is not None else None

    @property
    def median(self):
        return self._statistic("median")

    @property
    def p25(self):
        return self._statistic("p25")

    @property
    def p75(self):
        return self._statistic("p75")


def _text(value, decimals) -> str:
    return numbers.format_number(value, decimals)


def _ranking_section(report: Report, entry: ReportIndicator, statistic, *, public: bool, rtl: bool):
    indicator = entry.indicator
    ranked = read.ranks(indicator, report.period, report.group, public=public)
    rows = []
    for r in ranked:
        band = bands.band(r.value, indicator, statistic)
        rows.append(
            {
                "unit": r.unit.code,
                "label": r.unit.label,
                "value": r.value,
                "value_text": _text(r.value, indicator.decimals),
                "rank": r.rank,
                "rank_text": bands.rank_text(r.rank, r.n, indicator.polarity),
                "band": band.band,
                "band_label": band.label,
                "highlight": r.unit.pk == report.unit_id,
            }
        )
    stat = None
    if statistic is not None and statistic.median is not None:
        stat = {
            "median": statistic.median,
            "p25": statistic.p25,
            "p75": statistic.p75,
            "median_text": _text(statistic.median, indicator.decimals),
        }
    spec = charts.ranking(
        rows, title=indicator.label, measure=indicator.unit_label or indicator.label, statistic=stat, rtl=rtl
    )
    label = _("%(indicator)s: the members of %(group)s ranked, best first, with %(unit)s marked") % {
        "indicator": indicator.label,
        "group": report.group.label,
        "unit": report.unit.label,
    }
    head = [_("Rank"), _("Unit"), _("Value")]
    table = [(numbers.localise_digits(str(r.rank)), r.unit.label, r.value, r.unit.pk == report.unit_id) for r in ranked]
    own = next((r for r in ranked if r.unit.pk == report.unit_id), None)
    return spec, label, head, table, own


def _series_section(report: Report, entry: ReportIndicator, *, public: bool, rtl: bool):
    indicator = entry.indicator
    own = [
        v
        for v in read.series(indicator, report.unit, public=public)
        if v.period.ordinal <= report.period.ordinal and v.period.kind == report.period.kind
    ]
    periods = [v.period for v in own]
    if report.period.pk not in {p.pk for p in periods}:
        periods.append(report.period)
    medians = {p.pk: read.statistic(indicator, p, report.group, public=public) for p in periods}
    rows = [
        {
            "label": report.unit.label,
            "period": v.period.code,
            "value": v.value,
            "value_text": _text(v.value, indicator.decimals),
        }
        for v in own
    ]
    median_rows = [
        {"period": p.code, "value": s.median, "value_text": _text(s.median, indicator.decimals)}
        for p in periods
        if (s := medians[p.pk]) is not None and s.median is not None
    ]
    spec = charts.series(
        rows,
        periods=[p.code for p in periods],
        title=indicator.label,
        measure=indicator.unit_label or indicator.label,
        medians=median_rows,
        rtl=rtl,
    )
    label = _("%(indicator)s: %(unit)s over time against the median of %(group)s") % {
        "indicator": indicator.label,
        "group": report.group.label,
        "unit": report.unit.label,
    }
    head = [_("Period"), report.unit.label, _("Group median")]
    values = {v.period_id: v.value for v in own}
    table = [
        (
            numbers.localise_digits(p.code),
            values.get(p.pk),
            medians[p.pk].median if medians[p.pk] is not None else None,
            False,
        )
        for p in periods
    ]
    return spec, label, head, table


def sections(report: Report, *, public: bool) -> list[Section]:
    """One section per chosen indicator, in the report's order, in the active language."""
    rtl = get_language_bidi()
    out = []
    for n, entry in enumerate(report.ordered_entries(), start=1):
        indicator = entry.indicator
        value = read.value(indicator, report.unit, report.period, public=public)
        statistic = read.statistic(indicator, report.period, report.group, public=public)
        number = value.value if value is not None else None
        if entry.chart == Chart.SERIES:
            spec, label, head, table = _series_section(report, entry, public=public, rtl=rtl)
            ranked = read.ranks(indicator, report.period, report.group, public=public)
            own = next((r for r in ranked if r.unit.pk == report.unit_id), None)
        else:
            spec, label, head, table, own = _ranking_section(report, entry, statistic, public=public, rtl=rtl)
        out.append(
            Section(
                entry=entry,
                value=number,
                statistic=statistic,
                rank=own.rank if own else None,
                rank_of=own.n if own else None,
                band=bands.band(number, indicator, statistic),
                spec=spec,
                chart_label=label,
                chart_id=f"chart-{n}",
                table_head=head,
                table_rows=table,
            )
        )
    return out
