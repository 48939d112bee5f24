"""Reading derived figures: the one place pages, the API, exports and reports get them from
(DESIGN principle 5), so all of them show the same number.

`public=True` is what someone outside the group that shares the data sees: for a slice
(indicator × period) that has any unpublished input the engine stores "published" rows, and
a public reader gets those; elsewhere the "all" rows are the published figures too (see
municipium.benchmarks.engine). Access control (who may read public=False) is the caller's.
"""

from dataclasses import dataclass

import polars as pl
from django.db.models import Exists, OuterRef, Q, QuerySet

from municipium.catalog.models import Indicator
from municipium.lib import stats
from municipium.observations.models import Period
from municipium.places.models import Membership, Unit

from .models import Basis, GroupStatistic, IndicatorValue


def basis(indicator, period, *, public: bool) -> str:
    """The basis to read for this slice."""
    if not public:
        return Basis.ALL
    marked = IndicatorValue.objects.filter(indicator=indicator, period=period, basis=Basis.PUBLISHED).exists()
    return Basis.PUBLISHED if marked else Basis.ALL


def _members(group, period) -> QuerySet:
    """Ids of the group's members in the period (the one rule: Membership.objects.during)."""
    return Membership.objects.filter(group=group).in_period(period).values("unit_id")


def values(indicator, period, group=None, *, public: bool) -> QuerySet[IndicatorValue]:
    """The indicator's values in the period, for the group's members or every unit."""
    rows = IndicatorValue.objects.filter(
        indicator=indicator,
        period=period,
        breakdown="",
        basis=basis(indicator, period, public=public),
        value__isnull=False,
    ).select_related("unit")
    if group is not None:
        rows = rows.filter(unit_id__in=_members(group, period))
    return rows.order_by("unit__code")


def missing(indicator, period, group=None, *, public: bool) -> dict[int, str]:
    """Why units have no value in the period: {unit id: missing code} (DESIGN principle 2).
    A published row without a reason (its value rests on unpublished data) is left out, so
    outsiders get no hint of it."""
    rows = IndicatorValue.objects.filter(
        indicator=indicator,
        period=period,
        breakdown="",
        basis=basis(indicator, period, public=public),
        value__isnull=True,
    ).exclude(missing="")
    if group is not None:
        rows = rows.filter(unit_id__in=_members(group, period))
    return dict(rows.values_list("unit_id", "missing"))


def value(indicator, unit, period, *, public: bool) -> IndicatorValue | None:
    return IndicatorValue.objects.filter(
        indicator=indicator,
        unit=unit,
        period=period,
        breakdown="",
        basis=basis(indicator, period, public=public),
        value__isnull=False,
    ).first()


def series(indicator, unit, *, public: bool) -> list[IndicatorValue]:
    """One unit's values over time (profile pages, trend charts), each period on its basis."""
    rows = IndicatorValue.objects.filter(indicator=indicator, unit=unit, breakdown="", value__isnull=False)
    if public:
        marked = IndicatorValue.objects.filter(
            indicator=indicator, period=OuterRef("period"), breakdown="", basis=Basis.PUBLISHED
        )
        rows = rows.annotate(marked=Exists(marked)).filter(Q(basis=Basis.PUBLISHED) | Q(basis=Basis.ALL, marked=False))
    else:
        rows = rows.filter(basis=Basis.ALL)
    return list(rows.select_related("period").order_by("period__ordinal"))


def statistics(indicator, period, group=None, *, public: bool) -> QuerySet[GroupStatistic]:
    """Group statistics of the period: one group's, or every group's."""
    rows = GroupStatistic.objects.filter(
        indicator=indicator, period=period, breakdown="", basis=basis(indicator, period, public=public)
    )
    if group is not None:
        rows = rows.filter(group=group)
    return rows.select_related("group").order_by("group__code")


def statistic(indicator, period, group, *, public: bool) -> GroupStatistic | None:
    return statistics(indicator, period, group, public=public).first()


@dataclass(frozen=True)
class Ranked:
    unit: Unit
    value: float
    rank: int  # 1 = best, by the indicator's polarity; ties share the best rank
    n: int  # members with a value
    percentile: float  # 100 = best, 0 = worst


def ranks(indicator, period, group, *, public: bool) -> list[Ranked]:
    """The group's members with a value, best first. Derived on read from the stored values
    (a slice is at most a few thousand rows) with the same rules as `stats`."""
    rows = list(values(indicator, period, group, public=public))
    numbers = [row.value for row in rows]
    ranked = zip(
        rows,
        stats.competition_ranks(numbers, indicator.polarity),
        stats.percentiles(numbers, indicator.polarity),
        strict=True,
    )
    out = [Ranked(row.unit, row.value, rank, len(rows), percentile) for row, rank, percentile in ranked]
    return sorted(out, key=lambda r: (r.rank, r.unit.code))


def rank_frame(group, indicator_ids: list[int], period_ids: list[int], *, basis: str) -> pl.DataFrame:
    """Ranks of the group's members for many indicators and periods at once (exports):
    columns indicator_id, unit_id, period_id, breakdown, rank, rank_of, percentile."""
    schema = {
        "indicator_id": pl.Int64,
        "unit_id": pl.Int64,
        "period_id": pl.Int64,
        "breakdown": pl.String,
        "value": pl.Float64,
    }
    periods = {p.pk: p for p in Period.objects.filter(pk__in=period_ids)}
    member_periods = [
        (unit_id, pk)
        for pk, p in periods.items()
        for unit_id in Membership.objects.filter(group=group).in_period(p).values_list("unit_id", flat=True)
    ]
    members = pl.DataFrame(member_periods, schema={"unit_id": pl.Int64, "period_id": pl.Int64}, orient="row").unique()
    found = pl.DataFrame(
        list(
            IndicatorValue.objects.filter(
                indicator_id__in=indicator_ids,
                period_id__in=period_ids,
                basis=basis,
                unit_id__in=members.get_column("unit_id").unique().to_list(),
                value__isnull=False,
            )
            .values_list("indicator_id", "unit_id", "period_id", "breakdown", "value")
            .iterator(chunk_size=20_000)
        ),
        schema=schema,
        orient="row",
    ).join(members, on=["unit_id", "period_id"])
    polarity = dict(Indicator.objects.filter(pk__in=indicator_ids).values_list("id", "polarity"))
    keys = ["indicator_id", "period_id", "breakdown"]
    parts = []
    for side in sorted(set(polarity.values())):
        part = found.filter(pl.col("indicator_id").is_in([i for i, p in polarity.items() if p == side]))
        parts.append(
            part.with_columns(
                stats.rank_expr("value", side, keys).alias("rank"), pl.len().over(keys).cast(pl.Int64).alias("rank_of")
            ).with_columns(stats.percentile_expr("rank", "rank_of").alias("percentile"))
        )
    out_schema = {
        **{k: v for k, v in schema.items() if k != "value"},
        "rank": pl.Int64,
        "rank_of": pl.Int64,
        "percentile": pl.Float64,
    }
    if not parts:
        return pl.DataFrame(schema=out_schema)
    return pl.concat(parts).select([pl.col(c).cast(t) for c, t in out_schema.items()])


# --- Bulk reads: pages that show many indicators at once (unit profile, compare) ---------
# The same basis rules as `basis`, `series`, `statistic` and `ranks` above, applied per slice
# in one query instead of one query per indicator.


def _on_basis(rows: QuerySet, *, public: bool) -> QuerySet:
    """Keep each slice's rows of the basis `basis` would choose for it."""
    if not public:
        return rows.filter(basis=Basis.ALL)
    marked = Exists(
        IndicatorValue.objects.filter(indicator=OuterRef("indicator"), period=OuterRef("period"), basis=Basis.PUBLISHED)
    )
    return rows.filter(Q(basis=Basis.PUBLISHED) | (Q(basis=Basis.ALL) & ~marked))


def series_many(unit_ids, indicator_ids=None, *, public: bool) -> list[IndicatorValue]:
    """`series` for several units and indicators (all indicators when None): every period,
    each on its basis, ordered by indicator, unit and period."""
    rows = IndicatorValue.objects.filter(unit_id__in=list(unit_ids), breakdown="", value__isnull=False)
    if indicator_ids is not None:
        rows = rows.filter(indicator_id__in=list(indicator_ids))
    rows = _on_basis(rows, public=public).select_related("period")
    return list(rows.order_by("indicator_id", "unit_id", "period__ordinal"))


def statistics_many(indicator_ids, period_ids, group, *, public: bool) -> list[GroupStatistic]:
    """`statistic` of one group for several indicators and periods, each slice on its basis."""
    rows = GroupStatistic.objects.filter(
        indicator_id__in=list(indicator_ids), period_id__in=list(period_ids), group=group, breakdown=""
    )
    return list(_on_basis(rows, public=public))


@dataclass(frozen=True)
class UnitRank:
    indicator_id: int
    rank: int  # as in `ranks`: 1 = best, ties share the best rank
    n: int  # members with a value


def unit_ranks(unit, indicator_ids, period, group, *, public: bool) -> dict[int, UnitRank]:
    """The unit's rank in the group for several indicators of one period: what `ranks` gives
    for this unit, from one read of the members' values of all those indicators."""
    members = _members(group, period)
    indicator_ids = list(indicator_ids)
    slice_rows = IndicatorValue.objects.filter(
        period=period, indicator_id__in=indicator_ids, breakdown="", value__isnull=False, unit_id__in=members
    )
    if public:
        # `basis` per indicator, asked once each (an index probe) rather than per row.
        marked = list(
            Indicator.objects.filter(pk__in=indicator_ids)
            .filter(
                Exists(IndicatorValue.objects.filter(indicator=OuterRef("pk"), period=period, basis=Basis.PUBLISHED))
            )
            .values_list("pk", flat=True)
        )
        slice_rows = slice_rows.filter(
            Q(basis=Basis.PUBLISHED, indicator_id__in=marked) | (Q(basis=Basis.ALL) & ~Q(indicator_id__in=marked))
        )
    else:
        slice_rows = slice_rows.filter(basis=Basis.ALL)
    # The members' values are read (two numbers a row) and ranked here by the one rule in
    # `stats`: measured faster than ranking in SQL, where a window over tens of thousands of
    # rows sorts on disk under PostgreSQL's default work_mem.
    slices: dict[int, tuple[list[int], list[float]]] = {}
    for indicator_id, unit_id, number in slice_rows.values_list("indicator_id", "unit_id", "value"):
        units, numbers = slices.setdefault(indicator_id, ([], []))
        units.append(unit_id)
        numbers.append(number)
    polarity = dict(Indicator.objects.filter(pk__in=list(slices)).values_list("pk", "polarity"))
    out = {}
    for indicator_id, (units, numbers) in slices.items():
        if unit.pk in units:
            rank = stats.competition_ranks(numbers, polarity[indicator_id])[units.index(unit.pk)]
            out[indicator_id] = UnitRank(indicator_id, rank, len(numbers))
    return out
