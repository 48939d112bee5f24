"""Reading derived figures: the one place pages, the API, exports and reports get them from
(DESIGN principle 5), so all of them show the same number.

`public=True` is what someone outside the group that shares the data sees: where the
published data give a unit (or group) another figure than all data do, or none, the engine
stores a "published" row beside the "all" one, and a public reader gets that one (`twin`);
elsewhere the "all" row is the published figure too, bit for bit (see
municipium.benchmarks.engine). A published row with neither value nor reason stands for a
value that rests on unpublished data: it hides the "all" row and is not shown itself. Access
control (who may read public=False) is the caller's.
"""

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np
import polars as pl
from django.db import connection
from django.db.models import BooleanField, Case, Exists, Max, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import ngettext

from municipium.catalog.models import Indicator
from municipium.lib import frames, numbers, stats
from municipium.observations.models import Observation, Period, Status
from municipium.places.models import Membership, Unit, member_in_own_period

from .models import Basis, GroupStatistic, IndicatorValue, RankSlice


def twin(model=IndicatorValue, same: tuple[str, ...] = ()) -> Exists:
    """For a row of `model` (indicator values or group statistics): the engine stored a
    published row for the same indicator, unit (or group), period and breakdown, because the
    published data give another figure there than all data do, or none. Where there is none,
    the "all" row is the published figure (see municipium.benchmarks.engine). With `same`,
    a twin that also has these figures of the row (`same_as_public`). One probe of the
    table's unique key per row."""
    member = "unit" if model is IndicatorValue else "group"
    keys = ("indicator", member, "period", "breakdown", *same)
    return Exists(model.objects.filter(basis=Basis.PUBLISHED, **{key: OuterRef(key) for key in keys}))


def _public(model) -> Q:
    """The rows the public reads: published rows, and "all" rows without a published twin."""
    return Q(basis=Basis.PUBLISHED) | (Q(basis=Basis.ALL) & ~twin(model))


def _on_slice(rows: QuerySet, indicator, period, *, public: bool) -> QuerySet:
    """Keep the rows of one slice (indicator × period) that the reader sees: `on_basis`,
    with the twins probed only when the slice has a published row at all (one index probe;
    most slices have none)."""
    if public and rows.model.objects.filter(indicator=indicator, period=period, basis=Basis.PUBLISHED).exists():
        return rows.filter(_public(rows.model))
    return rows.filter(basis=Basis.ALL)


def _members(group, period) -> QuerySet:
    """Ids of the group's members in the period (the one rule: Membership.objects.during)."""
    return Membership.objects.filter(group=group).in_period(period).values("unit_id")


def _shown() -> Q:
    """A value, or a missing one with its reason: a published row with neither stands for a
    value that rests on unpublished data and is shown to no one (no hint of it to outsiders)."""
    return Q(value__isnull=False) | ~Q(missing="")


def _valued(unit) -> QuerySet[IndicatorValue]:
    return IndicatorValue.objects.filter(unit=unit, value__isnull=False)


def periods_of(unit) -> QuerySet[Period]:
    """The periods in which the unit has a derived value on either basis (what a report on
    the unit, written inside its groups, can be about)."""
    return Period.objects.filter(pk__in=_valued(unit).values("period_id"))


def indicators_valued(unit) -> QuerySet[Indicator]:
    """The indicators the unit has a derived value of on either basis, in some period (what
    a report on the unit can show); `indicators_of` is the same for one reader's basis."""
    return Indicator.objects.filter(pk__in=_valued(unit).values("indicator_id"))


def any_published(indicator_ids, period) -> bool:
    """Whether any of these indicators has a published row in the period: some unit's or
    group's published figure differs from its figure on all data (`twin`), so outsiders read
    other figures there than the groups that share the data."""
    return IndicatorValue.objects.filter(indicator_id__in=indicator_ids, period=period, basis=Basis.PUBLISHED).exists()


@dataclass(frozen=True, slots=True)
class Figure:
    """One stored indicator value as a reader gets it: the figures pages, reports and plans
    show, not the storage model (whose layout is the engine's and read.py's alone: a row a
    value today, ARCHITECTURE "What a full recompute costs"). `unit` and `period` are set
    where the function says so."""

    indicator_id: int
    unit_id: int
    period_id: int
    value: float | None
    missing: str
    numerator: float | None
    denominator: float | None
    change: float | None
    change_pct: float | None
    trend: float | None
    computed_at: dt.datetime
    unit: Unit | None = None
    period: Period | None = None


FIGURE_FIELDS = ("indicator_id", "unit_id", "period_id", "value", "missing", "numerator", "denominator")
FIGURE_FIELDS += ("change", "change_pct", "trend", "computed_at")


def _records(rows: QuerySet, *, units: bool = False, periods: bool = False) -> list[Figure]:
    """`rows` as `Figure`s, with their units (read once each, without boundaries) or periods."""
    found = list(rows.values_list(*FIGURE_FIELDS))
    unit_of = Unit.objects.defer("boundary").in_bulk({row[1] for row in found}) if units and found else {}
    period_of = Period.objects.in_bulk({row[2] for row in found}) if periods and found else {}
    return [Figure(*row, unit=unit_of.get(row[1]), period=period_of.get(row[2])) for row in found]


def values(indicator, period, group=None, *, public: bool, with_units: bool = True) -> list[Figure]:
    """The indicator's values in the period, for the group's members or every unit: each
    with its unit, by the units' codes; `with_units` False, by the units' ids without them
    (a caller that has read the members already)."""
    rows = IndicatorValue.objects.filter(indicator=indicator, period=period, breakdown="", value__isnull=False)
    rows = _on_slice(rows, indicator, period, public=public)
    if group is not None:
        rows = rows.filter(unit_id__in=_members(group, period))
    found = _records(rows.order_by("unit_id"), units=with_units)
    if with_units:
        found.sort(key=lambda v: v.unit.code)
    return found


def missing(indicator, period, group=None, *, public: bool) -> dict[int, str]:
    """Why units have no value in the period: {unit id: missing code} (DESIGN principle 2).
    A published row without a reason (its value rests on unpublished data) is left out, so
    outsiders get no hint of it."""
    rows = IndicatorValue.objects.filter(indicator=indicator, period=period, breakdown="", value__isnull=True)
    rows = _on_slice(rows, indicator, period, public=public).exclude(missing="")
    if group is not None:
        rows = rows.filter(unit_id__in=_members(group, period))
    return dict(rows.values_list("unit_id", "missing"))


def value(indicator, unit, period, *, public: bool) -> Figure | None:
    rows = IndicatorValue.objects.filter(
        indicator=indicator, unit=unit, period=period, breakdown="", value__isnull=False
    )
    found = _records(on_basis(rows, public=public)[:1])
    return found[0] if found else None


def series(indicator, unit, *, public: bool) -> list[Figure]:
    """One unit's values over time (profile pages, trend charts), each period on its basis,
    oldest first, each with its period."""
    rows = IndicatorValue.objects.filter(indicator=indicator, unit=unit, breakdown="", value__isnull=False)
    found = _records(on_basis(rows, public=public), periods=True)
    found.sort(key=lambda v: v.period.ordinal)
    return found


def statistics(indicator, period, group=None, *, public: bool) -> QuerySet[GroupStatistic]:
    """Group statistics of the period: one group's, or every group's."""
    rows = _on_slice(
        GroupStatistic.objects.filter(indicator=indicator, period=period, breakdown=""),
        indicator,
        period,
        public=public,
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


def rank_frame(group, indicator_ids: list[int], period_ids: list[int], *, public: bool) -> pl.DataFrame:
    """Ranks of the group's members for many indicators and periods at once (exports), each
    slice on its basis: columns indicator_id, unit_id, period_id, breakdown, rank, rank_of,
    percentile."""
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
            on_basis(
                IndicatorValue.objects.filter(
                    indicator_id__in=indicator_ids,
                    period_id__in=period_ids,
                    unit_id__in=members.get_column("unit_id").unique().to_list(),
                    value__isnull=False,
                ),
                public=public,
            )
            .values_list("indicator_id", "unit_id", "period_id", "breakdown", "value")
            .iterator(chunk_size=20_000)
        ),
        schema=schema,
        orient="row",
    ).join(members, on=["unit_id", "period_id"])
    return ranks_of(found)


RANKED_SCHEMA = {
    "indicator_id": pl.Int64,
    "unit_id": pl.Int64,
    "period_id": pl.Int64,
    "breakdown": pl.String,
    "rank": pl.Int64,
    "rank_of": pl.Int64,
    "percentile": pl.Float64,
}


def ranks_of(found: pl.DataFrame) -> pl.DataFrame:
    """`rank_frame`'s ranks of rows already read: `found` (indicator_id, unit_id, period_id,
    breakdown, value) must hold every member with a value of each (indicator, period,
    breakdown) slice it has, as the reader sees it. An export that has read a group's rows
    ranks them here instead of reading them again (a third of a group's export, issue 18)."""
    ids = found.get_column("indicator_id").unique().to_list()
    polarity = dict(Indicator.objects.filter(pk__in=ids).values_list("id", "polarity")) if ids else {}
    keys = ["indicator_id", "period_id", "breakdown"]
    parts = []
    for side in sorted(set(polarity.values())):
        part = found.filter(pl.col("indicator_id").is_in([i for i, p in polarity.items() if p == side]))
        parts.append(
            part.with_columns(
                stats.rank_expr("value", side, keys).alias("rank"), pl.len().over(keys).cast(pl.Int64).alias("rank_of")
            ).with_columns(stats.percentile_expr("rank", "rank_of").alias("percentile"))
        )
    if not parts:
        return pl.DataFrame(schema=RANKED_SCHEMA)
    return pl.concat(parts).select([pl.col(c).cast(t) for c, t in RANKED_SCHEMA.items()])


# --- Bulk reads: pages that show many indicators at once (unit profile, compare) ---------
# The same basis rules as `basis`, `series`, `statistic` and `ranks` above, applied per slice
# in one query instead of one query per indicator.


def on_basis(rows: QuerySet, *, public: bool) -> QuerySet:
    """Keep the rows (indicator values or group statistics) the reader sees: the "all" rows,
    or for the public each published row and each "all" row without a published twin."""
    if not public:
        return rows.filter(basis=Basis.ALL)
    return rows.filter(_public(rows.model))


def seen(basis: str, has_twin: bool, *, public: bool) -> bool:
    """`on_basis` for rows already read into Python (both bases of a slice in one query):
    whether the reader sees a row of this basis, given whether its unit or group has a
    published row in that indicator and period."""
    if not public:
        return basis == Basis.ALL
    return basis == Basis.PUBLISHED or not has_twin


# --- Listings and open-data downloads: every value a reader may see ------------------------


def marked_periods(indicator) -> set[int]:
    """The periods in which the indicator has published rows (some unit's published figures
    differ from those on all data), read once: an index probe. Elsewhere no row has a twin,
    so `twin` need not be probed per row."""
    return set(
        IndicatorValue.objects.filter(indicator=indicator, basis=Basis.PUBLISHED)
        .values_list("period_id", flat=True)
        .distinct()
    )


def statistic_same_as_public() -> Exists:
    """For an "all" group statistic: its published twin has the same n and median, so the
    figure is public although the published data give another row."""
    return twin(GroupStatistic, same=("n", "median"))


def same_as_public() -> Exists:
    """For an "all" indicator value: its published twin has the same value, so the value is
    public although the published data give another row (its change or trend differ)."""
    return twin(IndicatorValue, same=("value",))


def _visible(rows: QuerySet, *, admin: bool, inside: Q, is_marked: Q, agrees: Exists) -> QuerySet:
    """The common rule of `visible_values` and `visible_statistics`: `rows` annotated with
    `marked` (is_marked: an "all" row with a published twin), filtered to what the reader
    sees, and annotated with `same_as_public`."""
    rows = rows.annotate(
        marked=Case(When(is_marked, then=Value(True)), default=Value(False), output_field=BooleanField())
    )
    if admin:
        rows = rows.filter(basis=Basis.ALL)
    else:
        public = Q(basis=Basis.PUBLISHED) | Q(basis=Basis.ALL, marked=False)
        rows = rows.filter((inside & Q(basis=Basis.ALL)) | (~inside & public))
    # Probed only where it decides: an "all" row with a twin.
    return rows.annotate(
        same_as_public=Case(
            When(Q(basis=Basis.ALL, marked=True), then=agrees),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


@dataclass(frozen=True)
class Selection:
    """Which stored indicator values a listing, a download or an export asks for, as ids
    the caller resolved (and refused where a code is unknown); None: no filter."""

    indicators: tuple[int, ...] | None = None  # read in the order of their codes
    units: tuple[int, ...] | None = None
    groups: tuple[int, ...] | None = None  # members of one of them in the value's own period
    periods: tuple[int, ...] | None = None
    start: dt.date | None = None  # periods that start on or after
    end: dt.date | None = None  # periods that end on or before
    changed_since: dt.datetime | None = None  # computed after


@dataclass(frozen=True)
class Reader:
    """Whose values a listing, download or export gives: an administrator (`admin`) reads
    every "all" row; anyone else the "all" rows of `insider_units` (the units whose figures
    their groups share) and the public's rows (`on_basis`) of every other unit."""

    admin: bool = False
    insider_units: frozenset[int] = frozenset()


PUBLIC = Reader()
EVERY_ALL_ROW = Reader(admin=True)  # the groups' view of every unit: an export on all data


def _selected(rows: QuerySet, selection: Selection) -> QuerySet:
    if selection.indicators is not None:
        rows = rows.filter(indicator_id__in=selection.indicators)
    if selection.units is not None:
        rows = rows.filter(unit_id__in=selection.units)
    if selection.groups is not None:
        # A member in the row's own period: a unit that joined in 2023 is no member for 2022.
        rows = rows.filter(member_in_own_period(list(selection.groups)))
    if selection.periods is not None:
        rows = rows.filter(period_id__in=selection.periods)
    if selection.start is not None:
        rows = rows.filter(period__start__gte=selection.start)
    if selection.end is not None:
        rows = rows.filter(period__end__lte=selection.end)
    if selection.changed_since is not None:
        rows = rows.filter(computed_at__gt=selection.changed_since)
    return rows


def _visible_values(rows: QuerySet, reader: Reader, periods_marked: set[int] | None = None) -> QuerySet:
    """The rule of the listings and downloads: of `rows`, the values `reader` may see (a
    value, or a missing one with its reason: a published row with neither stands for a
    value resting on unpublished data and is not shown, no hint of it to outsiders),
    annotated with `marked` (the row has a published twin) and `same_as_public` (an "all"
    row with a twin of the same value, which the public sees too), which together say
    whether a row is published (`is_published`). `periods_marked`: for rows of one
    indicator, its `marked_periods`, read once, so that only rows of those periods probe for
    a twin (a download reads a country indicator by indicator)."""
    rows = rows.filter(_shown())
    is_marked = Q(twin(IndicatorValue))
    if periods_marked is not None:
        is_marked = Q(period_id__in=sorted(periods_marked)) & twin(IndicatorValue)
    return _visible(
        rows,
        admin=reader.admin,
        inside=Q(unit_id__in=sorted(reader.insider_units)),
        is_marked=is_marked,
        agrees=same_as_public(),
    )


def _in_code_order(selection: Selection) -> list[int]:
    """The selection's indicators (every one without a filter) in the order of their codes."""
    chosen = Indicator.objects.order_by("code")
    if selection.indicators is not None:
        chosen = chosen.filter(pk__in=selection.indicators)
    return list(chosen.values_list("pk", flat=True))


def value_page(selection: Selection, reader: Reader, *, after: int, limit: int) -> list[dict]:
    """The API's listing: at most `limit` of the values `reader` may see in `selection`,
    by id after `after` (keyset paging: a page costs the same anywhere in a country's
    table). Each a mapping of id, indicator, unit and period codes, breakdown, the figures,
    computed_at and `published` (`is_published`)."""
    rows = _visible_values(_selected(IndicatorValue.objects.all(), selection), reader)
    found = (
        rows.filter(id__gt=after)
        .order_by("id")[:limit]
        .values(
            "id",
            "indicator__code",
            "unit__code",
            "period__code",
            "breakdown",
            "value",
            "missing",
            "change",
            "change_pct",
            "trend",
            "computed_at",
            "basis",
            "marked",
            "same_as_public",
        )
    )
    return [
        {
            "id": row["id"],
            "indicator": row["indicator__code"],
            "unit": row["unit__code"],
            "period": row["period__code"],
            "breakdown": row["breakdown"],
            "value": row["value"],
            "missing": row["missing"],
            "change": row["change"],
            "change_pct": row["change_pct"],
            "trend": row["trend"],
            "computed_at": row["computed_at"],
            "published": is_published(row["basis"], row["marked"], row["same_as_public"]),
        }
        for row in found
    ]


# What `value_frames` gives for each value.
VALUE_FRAME = {
    "indicator_id": pl.Int64(),
    "unit_id": pl.Int64(),
    "period_id": pl.Int64(),
    "period": pl.String(),
    "breakdown": pl.String(),
    "value": pl.Float64(),
    "missing": pl.String(),
    "change": pl.Float64(),
    "change_pct": pl.Float64(),
    "trend": pl.Float64(),
    "published": pl.Boolean(),
}
_FRAME_READ = {
    **{c: t for c, t in VALUE_FRAME.items() if c not in ("indicator_id", "published")},
    "basis": pl.String(),
    "marked": pl.Boolean(),
    "same_as_public": pl.Boolean(),
}


def _indicator_values(indicator_id: int, selection: Selection, reader: Reader) -> QuerySet:
    """One indicator's values `reader` may see in `selection`, its marked periods read once."""
    rows = _selected(IndicatorValue.objects.filter(indicator_id=indicator_id), replace(selection, indicators=None))
    return _visible_values(rows, reader, periods_marked=marked_periods(indicator_id))


def value_count(selection: Selection, reader: Reader, *, most: int) -> int:
    """How many values `reader` may see in `selection`, counted no further than `most` + 1:
    a download's refusal does not wait for the whole selection to be counted (a country's
    fifty million values took 22-37 s to count, issue 18), it reads one row more than the
    limit."""
    total = 0
    for indicator_id in _in_code_order(selection):
        total += _indicator_values(indicator_id, selection, reader)[: most + 1 - total].count()
        if total > most:
            break
    return total


def value_frames(selection: Selection, reader: Reader, *, size: int) -> Iterator[pl.DataFrame]:
    """The values `reader` may see in `selection` (`VALUE_FRAME`), in the order of the
    indicator, unit and period codes (periods by kind and place), as frames of at most
    `size` rows of one indicator: the open-data downloads and the exports, at any size.

    One indicator at a time, read through a chunked cursor (`frames.read_chunks`; a
    server-side cursor on PostgreSQL): read over the whole selection at once, the order
    made the database sort everything before the first row, and a country's five million
    values took longer than a web worker's timeout before the first byte (issue 18). Each
    indicator's marked periods are read once (an index probe) instead of probed per row.
    A frame of columns, not a Python object a row: that took 8 µs a row (issue 18)."""
    for indicator_id in _in_code_order(selection):
        rows = (
            _indicator_values(indicator_id, selection, reader)
            .order_by("unit__code", "period__kind", "period__ordinal", "breakdown")
            .values_list(*[c if c != "period" else "period__code" for c in _FRAME_READ])
        )
        sql, params = rows.query.get_compiler(rows.db).as_sql()
        for chunk in frames.read_chunks(sql, params, schema=_FRAME_READ, size=size):
            published = (pl.col("basis") == Basis.PUBLISHED.value) | ~pl.col("marked") | pl.col("same_as_public")
            yield chunk.with_columns(
                pl.lit(indicator_id, dtype=pl.Int64).alias("indicator_id"), published.alias("published")
            ).select(list(VALUE_FRAME))


def visible_statistics(rows: QuerySet | None = None, *, admin: bool, insider_groups) -> QuerySet:
    """The group statistics a reader may see (the API's listing), by the rule of
    `visible_values`: the "all" rows of `insider_groups`, for outsiders each published row
    and each "all" row without a published twin; annotated the same way."""
    rows = GroupStatistic.objects.all() if rows is None else rows
    return _visible(
        rows,
        admin=admin,
        inside=Q(group_id__in=insider_groups),
        is_marked=Q(twin(GroupStatistic)),
        agrees=statistic_same_as_public(),
    )


def is_published(basis: str, marked: bool, same_as_public: bool) -> bool:
    """Whether a row `visible_values` gave (or a group statistic with the same annotations)
    is a published figure."""
    return basis == Basis.PUBLISHED or not marked or same_as_public


class Point:
    """One stored value of a unit's series as `series_many` gives it: the fields pages use, not
    a model instance (a profile reads two thousand; building IndicatorValue objects with
    their periods was a third of its time, issue 18). The periods are shared objects."""

    __slots__ = ("pk", "indicator_id", "unit_id", "period_id", "period", "value")

    def __init__(self, pk: int, indicator_id: int, unit_id: int, period: Period, value: float):
        self.pk, self.indicator_id, self.unit_id, self.value = pk, indicator_id, unit_id, value
        self.period, self.period_id = period, period.pk

    def __repr__(self) -> str:
        return (
            f"Point(indicator={self.indicator_id}, unit={self.unit_id}, period={self.period.code}, value={self.value})"
        )


def series_many(unit_ids, indicator_ids=None, *, public: bool) -> list[Point]:
    """`series` for several units and indicators (all indicators when None): every period,
    each on its basis, ordered by indicator, unit and period.

    For the public, both bases are read in one pass and `seen` picks each period's row
    here: a published row wins over its "all" twin, and one without a value (it rests on
    unpublished data) hides it. Asking the database to probe each "all" row for a twin
    (`on_basis`) was 2,000 probes and half the read for a profile of 100 indicators."""
    rows = IndicatorValue.objects.filter(unit_id__in=list(unit_ids), breakdown="")
    if indicator_ids is not None:
        rows = rows.filter(indicator_id__in=list(indicator_ids))
    if public:
        rows = rows.filter(Q(value__isnull=False) | Q(basis=Basis.PUBLISHED))
    else:
        rows = rows.filter(basis=Basis.ALL, value__isnull=False)
    found = list(rows.order_by().values_list("pk", "indicator_id", "unit_id", "period_id", "basis", "value"))
    twins = {(i, u, p) for _pk, i, u, p, basis, _v in found if basis == Basis.PUBLISHED}
    periods = Period.objects.in_bulk({p for _pk, _i, _u, p, _b, _v in found})  # one object a period
    out = [
        Point(pk, indicator_id, unit_id, periods[period_id], number)
        for pk, indicator_id, unit_id, period_id, basis, number in found
        if number is not None and seen(basis, (indicator_id, unit_id, period_id) in twins, public=public)
    ]
    out.sort(key=lambda point: (point.indicator_id, point.unit_id, point.period.ordinal))
    return out


def statistics_many(indicator_ids, period_ids, group, *, public: bool) -> list[GroupStatistic]:
    """`statistic` of one group for several indicators and periods, each slice on its basis."""
    rows = GroupStatistic.objects.filter(
        indicator_id__in=list(indicator_ids), period_id__in=list(period_ids), group=group, breakdown=""
    )
    return list(on_basis(rows, public=public))


def indicators_of(unit, *, public: bool) -> set[int]:
    """The indicators the unit has a value for in some period (each row on its basis). Asked
    indicator by indicator, which stops at the unit's first row that counts (one row and one
    probe for its twin an indicator), where reading every row of the unit probed a twin for
    each (20,000 at a country's 1,000 indicators, issue 18)."""
    rows = IndicatorValue.objects.filter(indicator=OuterRef("pk"), unit=unit, breakdown="", value__isnull=False)
    return set(Indicator.objects.filter(Exists(on_basis(rows, public=public))).order_by().values_list("pk", flat=True))


def reported_by(group, indicator_ids, *, public: bool) -> dict[int, int]:
    """How many of the group's members report each indicator: the most members with a
    value (the statistics' `n`) in any period, each row on its basis. Counted by the
    database in one pass over the group's rows of both bases, one row an indicator back:
    `seen` in SQL, a slice's published row's `n` where it has one, else its "all" row's.
    (A probe for a twin per row was 20,000 probes at a country's 1,000 indicators; reading
    the rows into Python to apply `seen` there 30-40 ms of a profile, issue 18.)"""
    indicator_ids = list(indicator_ids)
    if not indicator_ids:
        return {}
    rows = GroupStatistic.objects.filter(group=group, breakdown="", indicator_id__in=indicator_ids).order_by()
    if not public:
        most = rows.filter(basis=Basis.ALL).values("indicator_id").annotate(most=Max("n"))
        return dict(most.values_list("indicator_id", "most"))
    slices = rows.values("indicator_id", "period_id").annotate(
        published=Max(Case(When(basis=Basis.PUBLISHED, then="n"))),
        everyone=Max(Case(When(basis=Basis.ALL, then="n"))),
    )
    sql, params = slices.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.indicator_id, MAX(COALESCE(s.published, s.everyone)) FROM ({sql}) s GROUP BY s.indicator_id",
            params,
        )
        return {indicator_id: int(most) for indicator_id, most in cursor.fetchall() if most is not None}


@dataclass(frozen=True)
class UnitRank:
    indicator_id: int
    rank: int  # as in `ranks`: 1 = best, ties share the best rank
    n: int  # members with a value


def unit_ranks(unit, indicator_ids, period, group, *, public: bool) -> dict[int, UnitRank]:
    """The unit's rank in the group for several indicators of one period: what `ranks` gives
    for this unit (`stats.competition_ranks`: 1 + the members with a better value, ties
    sharing the best place), counted from the ranks' slices (`RankSlice`: every unit's
    value of an indicator and period as the reader sees it, in one array), so that a page
    of a hundred indicators in a group of thousands reads a hundred rows, not every
    member's value (issue 18: 55-60 ms of a 120 ms profile read 242,500 rows)."""
    indicator_ids = list(indicator_ids)
    if not indicator_ids:
        return {}
    members = set(_members(group, period).values_list("unit_id", flat=True))
    if unit.pk not in members:
        return {}
    member = np.array(sorted(members), dtype=np.int64)
    out = {}
    for indicator_id, first, held, polarity in _slices(indicator_ids, period, public=public):
        own = _of(first, held, np.array([unit.pk]))
        if not len(own):
            continue
        own, peers = own[0], _of(first, held, member)
        better = peers < own if polarity == stats.LOWER_IS_BETTER else peers > own
        out[indicator_id] = UnitRank(indicator_id, 1 + int(better.sum()), len(peers))
    return out


# --- Comparisons beyond the group: similar units and the national figure -----------------
# Kolada's "liknande kommuner": the units of the same kind in the same country whose
# population is closest. One rule here, for the profile, the indicator page and the API.
# These comparisons cross groups, so they are always on published figures.

POPULATION = "population"  # the catalogue variable a unit's size is read from
SIMILAR_COUNT = 10  # how many similar units are compared


@dataclass(frozen=True)
class Kin:
    """A unit's country and the country's units of the unit's kind (the unit included)."""

    country: Unit
    unit_ids: list[int]


def kin(unit: Unit) -> Kin | None:
    """The unit's country (the unit of kind country above it, at any depth) and its units
    of the same kind that have not ended; None for a unit without a country or a country itself. Two queries:
    the units' tree is read once and walked here (not at all for a unit without a parent)."""
    if unit.parent_id is None:
        return None  # a country itself, or a unit in no country
    rows = list(Unit.objects.values_list("pk", "parent_id", "kind", "valid_to"))
    tree = {pk: (parent, kind) for pk, parent, kind, _to in rows}
    # A unit that has ended (merged into another) is no comparison any more.
    ended = {pk for pk, _parent, _kind, to in rows if to is not None and to < dt.date.today()}
    countries: dict[int, int | None] = {}

    def country_id(pk: int | None) -> int | None:
        path, found = [], None
        while pk is not None and pk not in countries and pk not in path:
            path.append(pk)
            parent, kind = tree.get(pk, (None, ""))
            if kind == Unit.Kind.COUNTRY:
                found = pk
                break
            pk = parent
        else:
            found = countries.get(pk) if pk is not None else None
        for step in path:
            countries[step] = found
        return found

    mine = country_id(unit.pk)
    if mine is None or mine == unit.pk:
        return None
    same = [
        pk
        for pk, (_parent, kind) in tree.items()
        if kind == unit.kind and (pk == unit.pk or pk not in ended) and country_id(pk) == mine
    ]
    return Kin(Unit.objects.defer("boundary").get(pk=mine), sorted(same))


def populations(unit_ids) -> dict[int, tuple[float, str]]:
    """Each unit's latest published population: {unit id: (inhabitants, period code)}. Two
    numbers and a code a row (a country's units over many years are tens of thousands)."""
    rows = (
        Observation.objects.filter(
            unit_id__in=list(unit_ids),
            variable__code=POPULATION,
            breakdown="",
            status=Status.PUBLISHED,
            value__isnull=False,
        )
        .order_by("unit_id", "period__end", "period__ordinal")
        .values_list("unit_id", "value", "period__code")
    )
    out: dict[int, tuple[float, str]] = {}
    for unit_id, number, period in rows.iterator(chunk_size=10_000):
        out[unit_id] = (float(number), period)  # the last one, by period, stays
    return out


@dataclass(frozen=True)
class Similar:
    """The units most like `unit` by size and kind, and how they were chosen."""

    unit: Unit
    country: Unit
    population: float  # the unit's own latest published population
    period: str  # the code of the period of that population figure
    units: list[tuple[Unit, float]]  # the similar units with their populations, closest first
    candidates: int  # how many units of the kind in the country have a population

    @property
    def low(self) -> float:
        return min(p for _u, p in self.units)

    @property
    def high(self) -> float:
        return max(p for _u, p in self.units)

    def how(self) -> str:
        """How the similar units were chosen, in the reader's language (pages and API)."""
        count = len(self.units)
        how = ngettext(
            "The %(count)s unit of the same kind (%(kind)s) in %(country)s closest in population to %(unit)s, "
            "by the latest published population (%(unit)s: %(population)s in %(period)s); "
            "it has %(inhabitants)s inhabitants.",
            "The %(count)s units of the same kind (%(kind)s) in %(country)s closest in population to %(unit)s, "
            "by the latest published population (%(unit)s: %(population)s in %(period)s); "
            "they have %(inhabitants)s inhabitants.",
            count,
        ) % {
            "count": numbers.format_number(count, 0),
            "kind": self.unit.get_kind_display(),
            "country": self.country.label,
            "unit": self.unit.label,
            "population": numbers.format_number(self.population, 0),
            "period": numbers.localise_digits(self.period),
            "inhabitants": numbers.format_number(self.low, 0)
            + ("" if self.low == self.high else "–" + numbers.format_number(self.high, 0)),
        }
        return how


def similar_units(unit: Unit, count: int = SIMILAR_COUNT, *, family: Kin | None = None) -> Similar | None:
    """The `count` units of the same kind in the same country closest to `unit` in
    population (on a log scale: 10,000 is as far from 20,000 as 50,000 from 100,000), each
    by its latest published population; ties by code. None when the unit has no country, no
    published population or no such neighbour. `family`: `kin(unit)`, when already read."""
    family = family or kin(unit)
    if family is None:
        return None
    sizes = populations(family.unit_ids)
    own = sizes.get(unit.pk)
    if own is None or own[0] <= 0:
        return None
    others = {u.pk: u for u in Unit.objects.filter(pk__in=[pk for pk in sizes if pk != unit.pk]).defer("boundary")}
    sized = [(u, sizes[pk][0]) for pk, u in others.items() if sizes[pk][0] > 0]
    sized.sort(key=lambda pair: (abs(math.log(pair[1] / own[0])), pair[0].code))
    if not sized:
        return None
    return Similar(unit, family.country, own[0], own[1], sized[:count], len(sized))


@dataclass(frozen=True)
class Reference:
    """A comparison figure for one indicator: a median over `n` units, or (n None) the
    figure stored for a unit itself (a country's own aggregate)."""

    value: float
    n: int | None = None


def _slices(indicator_ids, period, *, public: bool) -> Iterator[tuple[int, int, np.ndarray, str]]:
    """(indicator id, first unit id, values, polarity) of one period's ranks' slices of
    these indicators (`RankSlice`), as the reader sees them: values[i] is the unit
    first + i's (NaN: no value)."""
    rows = RankSlice.objects.filter(indicator_id__in=list(indicator_ids), period=period, public=public)
    for indicator_id, first, blob, polarity in rows.values_list(
        "indicator_id", "first_unit", "numbers", "indicator__polarity"
    ):
        yield indicator_id, first, RankSlice.unpack(blob), polarity


def _of(first: int, held: np.ndarray, unit_ids: np.ndarray) -> np.ndarray:
    """The values of these units in a slice (`_slices`), of those that have one."""
    at = unit_ids - first
    found = held[at[(at >= 0) & (at < len(held))]]
    return found[~np.isnan(found)]


def medians(indicator_ids, period, unit_ids) -> dict[int, Reference]:
    """The median of the units' published values, per indicator, in one period, from the
    ranks' slices (one row an indicator, however many units; `stats.quantile`, the one
    rule)."""
    indicator_ids, unit_ids = list(indicator_ids), np.array(sorted(set(unit_ids)), dtype=np.int64)
    if not indicator_ids or not len(unit_ids):
        return {}
    out = {}
    for indicator_id, first, held, _polarity in _slices(indicator_ids, period, public=True):
        found = _of(first, held, unit_ids)
        median = stats.quantile(found.tolist(), 0.5)
        if median is not None:
            out[indicator_id] = Reference(median, len(found))
    return out


def national(
    indicator_ids, period, unit: Unit, *, family: Kin | None = None
) -> tuple[Unit | None, dict[int, Reference]]:
    """The national figure beside `unit`'s, per indicator: the country's own published value
    where it has one (the national aggregate), else the median of the country's units of
    the unit's kind. Returns the country (None when the unit has none) and the figures.
    `family`: `kin(unit)`, when already read."""
    family = family or kin(unit)
    if family is None:
        return None, {}
    indicator_ids = list(indicator_ids)
    out = medians(indicator_ids, period, family.unit_ids)
    own = on_basis(
        IndicatorValue.objects.filter(
            indicator_id__in=indicator_ids, period=period, unit=family.country, breakdown="", value__isnull=False
        ),
        public=True,
    ).values_list("indicator_id", "value")
    out.update({indicator_id: Reference(number) for indicator_id, number in own})
    return family.country, out
