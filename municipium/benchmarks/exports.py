"""Exporting derived indicator values (with group statistics and ranks) as CSV or Excel.

Values are read from what the engine stored (IndicatorValue, GroupStatistic; ranks through
`read`), never recomputed here: one number, one code path (DESIGN principle 5). The filters
are the observations export's, the writers `lib.tabular`'s.
"""

from __future__ import annotations

import polars as pl
from django.utils.translation import gettext as _

from municipium.catalog.models import Indicator, ServiceArea
from municipium.lib.tabular import to_csv, to_xlsx
from municipium.observations.exports import codes, names, period_filter, unit_filter
from municipium.places.models import Group, Unit

from . import read
from .models import Basis, GroupStatistic

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
    "missing",
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
    rank in the group. A missing value says why in `missing` (DESIGN principle 2)."""
    public = basis == Basis.PUBLISHED
    visible = read.shown(public=public)
    queryset = period_filter(unit_filter(visible, units, group), periods)
    if indicators is not None:
        queryset = queryset.filter(indicator__code__in=codes(indicators, Indicator))
    if service_area is not None:
        queryset = queryset.filter(indicator__service_area__code__in=codes(service_area, ServiceArea))
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
                "missing",
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
            "missing": pl.String,
            "change": pl.Float64,
            "change_pct": pl.Float64,
            "trend": pl.Float64,
        },
    )
    indicator_names = names(
        Indicator.objects.filter(pk__in=values.get_column("indicator_id").unique().to_list()),
        "indicator",
        language,
        with_measure=True,
    )
    unit_names = names(Unit.objects.filter(pk__in=values.get_column("unit_id").unique().to_list()), "unit", language)
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
            read.on_basis(GroupStatistic.objects.filter(group=group, **keys), public=public).values_list(
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
    ranks = read.rank_frame(group, keys["indicator_id__in"], keys["period_id__in"], public=public)
    return (
        frame.join(statistics, on=["indicator_id", "period_id", "breakdown"], how="left", maintain_order="left")
        .join(ranks, on=["indicator_id", "unit_id", "period_id", "breakdown"], how="left", maintain_order="left")
        .with_columns(pl.lit(group.code).alias("group"))
        .select(INDICATOR_COLUMNS + STATISTIC_COLUMNS)
    )


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
