"""Exporting derived indicator values (with group statistics and ranks) as CSV or Excel.

Values are read from what the engine stored (ValueSeries, GroupStatistic; ranks through
`read`), never recomputed here: one number, one code path (DESIGN principle 5). The filters
are the observations export's, the writers `lib.tabular`'s.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import polars as pl
from django.utils.translation import gettext as _

from municipium.catalog.models import Indicator, ServiceArea
from municipium.lib.tabular import csv_pieces, to_xlsx
from municipium.observations.exports import codes, names
from municipium.observations.models import Period
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


# Indicators read at a time: a chunk holds at most this many indicators' rows (every unit and
# period of them without filters: 500,000 rows at a country's 2,500 units × 20 years).
CHUNK_INDICATORS = 10
READ_ROWS = 100_000  # rows read from the cursor at a time

VALUE_SCHEMA = {
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
}
STATISTIC_SCHEMA = {
    "indicator_id": pl.Int64,
    "period_id": pl.Int64,
    "breakdown": pl.String,
    "members": pl.Int64,
    "n": pl.Int64,
    **{c: pl.Float64 for c in ("min", "p10", "p25", "median", "p75", "p90", "max", "mean", "pooled")},
}


def _selection(units, group: Group | None, periods) -> read.Selection:
    """The export's filters (objects, codes or ids; None: no filter) as `read.Selection`.
    An unknown code selects nothing, as in the observations' export."""
    unit_codes, period_codes = codes(units, Unit), codes(periods, Period)
    return read.Selection(
        units=None
        if unit_codes is None
        else tuple(Unit.objects.filter(code__in=unit_codes).values_list("pk", flat=True)),
        groups=None if group is None else (group.pk,),
        periods=None
        if period_codes is None
        else tuple(Period.objects.filter(code__in=period_codes).values_list("pk", flat=True)),
    )


def _chunks(ids: list[int], selection: read.Selection, public: bool) -> Iterator[tuple[list[int], pl.DataFrame]]:
    """(indicator ids, their rows) for `CHUNK_INDICATORS` of `ids` at a time, each that has
    any, in `ids`' order, each indicator's rows by unit, period and category."""
    reader = read.PUBLIC if public else read.EVERY_ALL_ROW
    for start in range(0, len(ids), CHUNK_INDICATORS):
        chunk = ids[start : start + CHUNK_INDICATORS]
        pieces = list(read.value_frames(replace(selection, indicators=tuple(chunk)), reader, size=READ_ROWS))
        if pieces:
            yield chunk, pl.concat(pieces).select(list(VALUE_SCHEMA))


def indicator_values_frame(**selection) -> pl.DataFrame:
    """`indicator_values_frames` as one frame (a workbook, the tests)."""
    chunks = list(indicator_values_frames(**selection))
    return pl.concat(chunks) if chunks else _empty(selection.get("group") is not None)


def _empty(with_group: bool) -> pl.DataFrame:
    columns = INDICATOR_COLUMNS + (STATISTIC_COLUMNS if with_group else [])
    types = {**VALUE_SCHEMA, **STATISTIC_SCHEMA, "rank": pl.Int64, "rank_of": pl.Int64, "percentile": pl.Float64}
    return pl.DataFrame(schema={c: types.get(c, pl.String) for c in columns})


def indicator_values_frames(
    *,
    indicators=None,
    units=None,
    group=None,
    service_area=None,
    periods=None,
    basis: str = Basis.ALL,
    language: str | None = None,
) -> Iterator[pl.DataFrame]:
    """Stored indicator values, a frame for each `CHUNK_INDICATORS` indicators in the order
    of their codes, each ordered by unit, period and category; with a group, each row also
    carries the group's statistics for that indicator and period (n says how many members
    they stand on) and the unit's rank in the group. A missing value says why in `missing`
    (DESIGN principle 2).

    Read a few indicators at a time, so that memory holds a chunk, not the selection: a
    group of 500 members over 20 years of 1,000 indicators is ten million rows, which read
    whole took 9 GB and 115 s through `municipium export` at a country's scale, and the
    database sorted all of them before the first (issue 18). Each chunk reads its slices by
    the indicator index."""
    public = basis == Basis.PUBLISHED
    chosen = Indicator.objects.order_by("code")
    if indicators is not None:
        chosen = chosen.filter(code__in=codes(indicators, Indicator))
    if service_area is not None:
        chosen = chosen.filter(service_area__code__in=codes(service_area, ServiceArea))
    ids = list(chosen.values_list("pk", flat=True))
    if group is not None and not isinstance(group, Group):
        group = Group.objects.get(code=group)
    unit_names: pl.DataFrame | None = None
    for chunk, values in _chunks(ids, _selection(units, group, periods), public):
        if unit_names is None:  # read once: the units' names are the catalogue's size
            unit_names = names(Unit.objects.all(), "unit", language)
        indicator_names = names(Indicator.objects.filter(pk__in=chunk), "indicator", language, with_measure=True)
        frame = values.join(indicator_names, on="indicator_id", how="left", maintain_order="left").join(
            unit_names, on="unit_id", how="left", maintain_order="left"
        )
        if group is None:
            yield frame.select(INDICATOR_COLUMNS)
            continue
        keys = {"indicator_id__in": chunk, "period_id__in": values.get_column("period_id").unique().to_list()}
        statistics = pl.DataFrame(
            list(
                read.on_basis(GroupStatistic.objects.filter(group=group, **keys), public=public).values_list(
                    *STATISTIC_SCHEMA
                )
            ),
            orient="row",
            schema=STATISTIC_SCHEMA,
        )
        if units is None:
            # The chunk holds every member's row of its slices (the group's members in each
            # row's period, on the reader's basis): ranked as they are, not read again.
            ranked = values.filter(pl.col("value").is_not_null())
            ranks = read.ranks_of(ranked.select("indicator_id", "unit_id", "period_id", "breakdown", "value"))
        else:  # a few units' rows: their ranks are among all the group's members
            ranks = read.rank_frame(group, chunk, keys["period_id__in"], public=public)
        yield (
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
    xlsx bytes; `filters` as for `indicator_values_frames`. A large selection as CSV is
    better written piece by piece (`indicator_values_csv`)."""
    if format == "xlsx":
        return to_xlsx({_("Indicators"): indicator_values_frame(language=language, **filters)})
    return b"".join(indicator_values_csv(delimiter=delimiter, decimal=decimal, bom=bom, language=language, **filters))


def indicator_values_csv(
    *, delimiter: str = ",", decimal: str = ".", bom: bool = False, language: str | None = None, **filters
) -> Iterator[bytes]:
    """The CSV of `export_indicator_values` in pieces, a chunk of indicators each, for a
    caller that writes them as they come (`municipium export`): memory holds one chunk."""
    chunks = indicator_values_frames(language=language, **filters)
    return csv_pieces(
        chunks, delimiter=delimiter, decimal=decimal, bom=bom, empty=_empty(filters.get("group") is not None)
    )
