"""Exporting observations and derived indicator values as CSV or Excel.

Observations are written in the long format the importer reads (unit, variable, period,
breakdown, value, missing, status, source, comment), so an exported file can be edited and
imported back; the name columns beside the codes are for people and the importer ignores
them. Indicator values are read from what the engine stored (IndicatorValue,
GroupStatistic; ranks through benchmarks.read), never recomputed here: one number, one code path.

Who may see what is the caller's business (access checks live with the views and the API);
these functions export exactly what the filters select.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

import polars as pl
import xlsxwriter
from django.utils.translation import gettext as _

from municipium.benchmarks import read
from municipium.benchmarks.models import Basis, GroupStatistic, IndicatorValue
from municipium.catalog.models import Indicator, ServiceArea, Variable
from municipium.lib.texts import pick
from municipium.places.models import Group, Unit, member_in_own_period

from .models import Observation, Period

OBSERVATION_COLUMNS = [
    "unit",
    "unit_name",
    "variable",
    "variable_name",
    "unit_of_measure",
    "period",
    "breakdown",
    "value",
    "missing",
    "status",
    "source",
    "comment",
]
INDICATOR_COLUMNS = [
    "indicator",
    "indicator_name",
    "unit_of_measure",
    "unit",
    "unit_name",
    "period",
    "breakdown",
    "value",
    "change",
    "change_pct",
    "trend",
]
STATISTIC_COLUMNS = [
    "group",
    "members",
    "n",
    "min",
    "p10",
    "p25",
    "median",
    "p75",
    "p90",
    "max",
    "mean",
    "pooled",
    "rank",
    "rank_of",
    "percentile",
]


def _codes(items, model) -> list | None:
    """Accept objects, codes or ids; None means 'no filter'."""
    if items is None:
        return None
    if isinstance(items, (str, model)):
        items = [items]
    return [item.code if isinstance(item, model) else str(item) for item in items]


def _unit_filter(queryset, units, group, prefix="unit"):
    if units is not None:
        queryset = queryset.filter(**{f"{prefix}__code__in": _codes(units, Unit)})
    if group is not None:
        group = group if isinstance(group, Group) else Group.objects.get(code=group)
        # Members in each row's own period, as the group's statistics count them.
        queryset = queryset.filter(member_in_own_period([group.pk], unit_field=prefix))
    return queryset


def _period_filter(queryset, periods):
    if periods is None:
        return queryset
    codes = [
        p.code if isinstance(p, Period) else str(p)
        for p in ([periods] if isinstance(periods, (str, Period)) else periods)
    ]
    return queryset.filter(period__code__in=codes)


def observations_frame(
    *,
    units=None,
    group=None,
    variables=None,
    service_area=None,
    periods=None,
    status: str | Iterable[str] | None = None,
    language: str | None = None,
) -> pl.DataFrame:
    """The selected observations, one row each, ordered by unit, variable, period, category."""
    queryset = _period_filter(_unit_filter(Observation.objects.all(), units, group), periods)
    if variables is not None:
        queryset = queryset.filter(variable__code__in=_codes(variables, Variable))
    if service_area is not None:
        queryset = queryset.filter(variable__service_area__code__in=_codes(service_area, ServiceArea))
    if status is not None:
        queryset = queryset.filter(status__in=[status] if isinstance(status, str) else list(status))
    rows = queryset.order_by(
        "unit__code", "variable__code", "period__kind", "period__ordinal", "breakdown"
    ).values_list(
        "unit_id", "variable_id", "period__code", "breakdown", "value", "missing", "status", "source", "comment"
    )
    frame = pl.DataFrame(
        list(rows.iterator(chunk_size=20_000)),
        orient="row",
        schema={
            "unit_id": pl.Int64,
            "variable_id": pl.Int64,
            "period": pl.String,
            "breakdown": pl.String,
            "value": pl.Float64,
            "missing": pl.String,
            "status": pl.String,
            "source": pl.String,
            "comment": pl.String,
        },
    )
    units_frame = _names(Unit.objects.filter(pk__in=frame.get_column("unit_id").unique().to_list()), "unit", language)
    variables_frame = _names(
        Variable.objects.filter(pk__in=frame.get_column("variable_id").unique().to_list()),
        "variable",
        language,
        with_measure=True,
    )
    return (
        frame.join(units_frame, on="unit_id", how="left", maintain_order="left")
        .join(variables_frame, on="variable_id", how="left", maintain_order="left")
        .select(OBSERVATION_COLUMNS)
    )


def _names(queryset, prefix: str, language: str | None, with_measure: bool = False) -> pl.DataFrame:
    records = [
        {
            f"{prefix}_id": obj.pk,
            prefix: obj.code,
            f"{prefix}_name": pick(obj.name, language).text,
            **({"unit_of_measure": pick(obj.unit_of_measure, language).text} if with_measure else {}),
        }
        for obj in queryset
    ]
    schema = {f"{prefix}_id": pl.Int64, prefix: pl.String, f"{prefix}_name": pl.String}
    if with_measure:
        schema["unit_of_measure"] = pl.String
    return pl.DataFrame(records, schema=schema)


def indicator_values_frame(
    *,
    indicators=None,
    units=None,
    group=None,
    service_area=None,
    periods=None,
    basis: str = Basis.ALL,
    language: str | None = None,
) -> pl.DataFrame:
    """Stored indicator values; with a group, each row also carries the group's statistics
    for that indicator and period (n says how many members they stand on) and the unit's
    rank in the group."""
    queryset = _period_filter(_unit_filter(IndicatorValue.objects.filter(basis=basis), units, group), periods)
    if indicators is not None:
        queryset = queryset.filter(indicator__code__in=_codes(indicators, Indicator))
    if service_area is not None:
        queryset = queryset.filter(indicator__service_area__code__in=_codes(service_area, ServiceArea))
    values = pl.DataFrame(
        list(
            queryset.order_by("indicator__code", "unit__code", "period__kind", "period__ordinal", "breakdown")
            .values_list(
                "indicator_id",
                "unit_id",
                "period_id",
                "period__code",
                "breakdown",
                "value",
                "change",
                "change_pct",
                "trend",
            )
            .iterator(chunk_size=20_000)
        ),
        orient="row",
        schema={
            "indicator_id": pl.Int64,
            "unit_id": pl.Int64,
            "period_id": pl.Int64,
            "period": pl.String,
            "breakdown": pl.String,
            "value": pl.Float64,
            "change": pl.Float64,
            "change_pct": pl.Float64,
            "trend": pl.Float64,
        },
    )
    indicator_names = _names(
        Indicator.objects.filter(pk__in=values.get_column("indicator_id").unique().to_list()),
        "indicator",
        language,
        with_measure=True,
    )
    unit_names = _names(Unit.objects.filter(pk__in=values.get_column("unit_id").unique().to_list()), "unit", language)
    frame = values.join(indicator_names, on="indicator_id", how="left", maintain_order="left").join(
        unit_names, on="unit_id", how="left", maintain_order="left"
    )
    if group is None:
        return frame.select(INDICATOR_COLUMNS)
    group = group if isinstance(group, Group) else Group.objects.get(code=group)
    keys = {
        "indicator_id__in": values.get_column("indicator_id").unique().to_list(),
        "period_id__in": values.get_column("period_id").unique().to_list(),
    }
    statistics = pl.DataFrame(
        list(
            GroupStatistic.objects.filter(group=group, basis=basis, **keys).values_list(
                "indicator_id",
                "period_id",
                "breakdown",
                "members",
                "n",
                "min",
                "p10",
                "p25",
                "median",
                "p75",
                "p90",
                "max",
                "mean",
                "pooled",
            )
        ),
        orient="row",
        schema={
            "indicator_id": pl.Int64,
            "period_id": pl.Int64,
            "breakdown": pl.String,
            "members": pl.Int64,
            "n": pl.Int64,
            **{c: pl.Float64 for c in ("min", "p10", "p25", "median", "p75", "p90", "max", "mean", "pooled")},
        },
    )
    ranks = read.rank_frame(group, keys["indicator_id__in"], keys["period_id__in"], basis=basis)
    return (
        frame.join(statistics, on=["indicator_id", "period_id", "breakdown"], how="left", maintain_order="left")
        .join(ranks, on=["indicator_id", "unit_id", "period_id", "breakdown"], how="left", maintain_order="left")
        .with_columns(pl.lit(group.code).alias("group"))
        .select(INDICATOR_COLUMNS + STATISTIC_COLUMNS)
    )


def to_csv(frame: pl.DataFrame, *, delimiter: str = ",", decimal: str = ".", bom: bool = False) -> bytes:
    """CSV bytes in UTF-8. `bom=True` for Excel users (Excel reads BOM-less UTF-8 as the
    local code page); `delimiter=';', decimal=','` for Polish or Lithuanian Excel."""
    if decimal == "," and delimiter == ",":
        raise ValueError(_("a decimal comma needs another delimiter than the comma, such as ';'"))
    # Empty text and no text read the same to people; polars would quote the former.
    frame = frame.with_columns(pl.col(pl.String).replace("", None))
    text = frame.write_csv(separator=delimiter, decimal_comma=decimal == ",", include_bom=False, null_value="")
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def to_xlsx(sheets: dict[str, pl.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame: numbers as numbers, header bold and
    frozen, columns wide enough to read."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False, "nan_inf_to_errors": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDE5F0"})
    for name, frame in sheets.items():
        sheet = book.add_worksheet(name[:31])
        sheet.write_row(0, 0, frame.columns, bold)
        for column, series in enumerate(frame.iter_columns()):
            numeric = series.dtype.is_numeric()
            width = max([len(series.name), *(len(str(v)) for v in series.head(200).to_list() if v is not None)]) + 2
            sheet.set_column(column, column, min(width, 50))
            for row, value in enumerate(series.to_list(), start=1):
                if value is None or value == "":
                    continue
                if not numeric:
                    sheet.write_string(row, column, value)
                elif float(f"{value:.16G}") == value:
                    sheet.write_number(row, column, value)
                else:
                    # Workbooks keep 16 significant digits; a value that needs 17 goes as
                    # its exact text so that an export imports back unchanged.
                    sheet.write_string(row, column, repr(value))
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, frame.height, max(frame.width - 1, 0))
    book.close()
    return buffer.getvalue()


def export_observations(
    format: str = "csv",
    *,
    delimiter: str = ",",
    decimal: str = ".",
    bom: bool = False,
    language: str | None = None,
    **filters,
) -> bytes:
    """Observations as CSV or xlsx bytes; `filters` as for `observations_frame`."""
    frame = observations_frame(language=language, **filters)
    if format == "xlsx":
        return to_xlsx({_("Observations"): frame})
    return to_csv(frame, delimiter=delimiter, decimal=decimal, bom=bom)


def export_indicator_values(
    format: str = "csv",
    *,
    delimiter: str = ",",
    decimal: str = ".",
    bom: bool = False,
    language: str | None = None,
    **filters,
) -> bytes:
    """Indicator values (with group statistics and ranks when a group is given) as CSV or
    xlsx bytes; `filters` as for `indicator_values_frame`."""
    frame = indicator_values_frame(language=language, **filters)
    if format == "xlsx":
        return to_xlsx({_("Indicators"): frame})
    return to_csv(frame, delimiter=delimiter, decimal=decimal, bom=bom)
