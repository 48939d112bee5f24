"""Reading derived figures: the one place pages, the API, exports and reports get them from
(DESIGN principle 5), so all of them show the same number.

`public=True` is what someone outside the group that shares the data sees: where the
published data give a unit (or group) another figure than all data do, or none, the engine
stores a "published" figure beside the "all" one, and a public reader gets that one (`twin`);
elsewhere the "all" figure is the published figure too, bit for bit (see
municipium.benchmarks.engine). A published figure with neither value nor reason stands for
a value that rests on unpublished data: it hides the "all" one and is not shown itself.
Access control (who may read public=False) is the caller's.

Indicator values are stored as series (`ValueSeries`, one row per indicator, unit and basis,
laid out by `municipium.benchmarks.series`): this module reads them and gives records and
frames of one value each (`Figure`, `Point`, `value_frames`), so that no caller knows the
layout. Group statistics are rows (`GroupStatistic`), read as QuerySets.
"""

import datetime as dt
import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl
from django.db import connection
from django.db.models import BooleanField, Case, Exists, Max, OuterRef, Q, QuerySet, Value, When
from django.utils.translation import ngettext

from municipium.catalog.models import Indicator
from municipium.lib import numbers, stats
from municipium.observations.models import Observation, Period, Status
from municipium.places.models import Membership, Unit

from . import series as layout
from .models import Basis, GroupStatistic, RankSlice, ValueSeries

SERIES_TABLE = ValueSeries._meta.db_table


def twin(model=GroupStatistic, same: tuple[str, ...] = ()) -> Exists:
    """For a group statistic: the engine stored a published row for the same indicator,
    group, period and breakdown, because the published data give another figure there than
    all data do, or none. Where there is none, the "all" row is the published figure (see
    municipium.benchmarks.engine). With `same`, a twin that also has these figures of the
    row (`statistic_same_as_public`). One probe of the table's unique key per row. (Indicator
    values are series: `_as_seen` applies the same rule to their rows.)"""
    keys = ("indicator", "group", "period", "breakdown", *same)
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


# --- Reading the series -------------------------------------------------------------------

_KEY = ["indicator_id", "unit_id", "period_id"]


def _ids(items) -> list[int]:
    """Ids of model objects or ids."""
    return [getattr(item, "pk", item) for item in items]


def _where(indicator_ids=None, unit_ids=None, basis: str | None = None, prefix: str = "") -> tuple[str, list]:
    parts, params = [], []
    for column, ids in (("indicator_id", indicator_ids), ("unit_id", unit_ids)):
        if ids is not None:
            ids = _ids(ids)
            if not ids:
                return "1 = 0", []
            parts.append(f"{prefix}{column} IN ({', '.join(['%s'] * len(ids))})")
            params += ids
    if basis is not None:
        parts.append(f"{prefix}basis = %s")
        params.append(str(basis))
    return " AND ".join(parts) or "1 = 1", params


def _period_ids(rows: pl.DataFrame) -> pl.DataFrame:
    """Decoded rows (kind, ordinal, ...) with their period ids (`layout.with_period_ids`)."""
    periods = pl.DataFrame(
        list(Period.objects.values_list("kind", "ordinal", "pk")) if not rows.is_empty() else [],
        schema={"kind": pl.String, "ordinal": pl.Int64, "period_id": pl.Int64},
        orient="row",
    )
    return layout.with_period_ids(rows, periods)


def _read(
    indicator_ids=None,
    unit_ids=None,
    *,
    basis: str | None = None,
    figures: tuple[str, ...] = layout.FIGURES,
    with_id: bool = False,
    computed_at: bool = False,
) -> pl.DataFrame:
    """Every stored element of these indicators' (these units', this basis') series as one
    row each: indicator_id, unit_id, basis, period_id, the `figures` asked for, missing;
    `series_id` and `element` (its place in the series) with `with_id`; the series'
    `computed_at` with `computed_at`."""
    # A hidden published row lives in its "all" twin's series (`layout.HIDDEN`): only "all"
    # rows can be asked of SQL; the decoded rows are kept to the basis below.
    where, params = _where(indicator_ids, unit_ids, basis if basis == Basis.ALL else None, prefix="s.")
    q = connection.ops.quote_name
    columns = ["id", "indicator_id", "unit_id", "basis", "first", "missing", *layout.read_columns(figures)]
    if computed_at:
        columns.append("computed_at")
    # The indicator's period kind comes with each series: an element's period is the one of
    # that kind whose ordinal is the series' first + its place.
    sql = (
        f"SELECT {', '.join('s.' + q(c) for c in columns)}, i.period_kind FROM {SERIES_TABLE} s "
        f"JOIN {Indicator._meta.db_table} i ON i.id = s.indicator_id WHERE {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = layout.decode([item[: 6 + len(layout.read_columns(figures))] for item in found], figures, with_id=True)
    extras = {"series_id": [item[0] for item in found], "kind": [item[-1] for item in found]}
    schema = {"series_id": pl.Int64, "kind": pl.String}
    if computed_at:
        extras["computed_at"] = [_aware(item[-2]) for item in found]
        schema["computed_at"] = pl.Datetime("us", "UTC")
    rows = rows.join(pl.DataFrame(extras, schema=schema), on="series_id", how="left", maintain_order="left")
    rows = _period_ids(rows)
    if basis is not None:
        rows = rows.filter(pl.col("basis") == str(basis))
    return rows if with_id else rows.drop("series_id", "element")


def _aware(moment):
    """A stored time as an aware datetime (SQLite's cursor gives text or naive values)."""
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)


def _at_period(
    indicator_ids, period, unit_ids=None, *, computed_at: bool = False, derived: bool = True
) -> pl.DataFrame:
    """The elements of one period of these indicators' series (of these units), both bases:
    each series' element read in SQL (`layout.element_sql`), not the whole series — an
    indicator page reads one period of every unit — and the few values before it that its
    derived figures read (`layout.window_sql`, `layout.derive`; without `derived`, those
    are null: for a caller that reads none of them)."""
    ordinal = period.ordinal
    where, params = _where(indicator_ids, unit_ids)
    q = connection.ops.quote_name
    mark = f"CAST({int(ordinal)} AS integer)"
    columns = [q("id"), q("indicator_id"), q("unit_id"), q("basis"), layout.element_sql("missing", mark)]
    columns += [layout.element_sql(name, mark) for name in layout.STORED_FIGURES]
    columns += list(layout.window_sql(ordinal)) if derived else ["NULL", "NULL", "NULL"]
    if computed_at:
        columns.append(q("computed_at"))
    sql = (
        f"SELECT {', '.join(columns)} FROM {SERIES_TABLE} "
        f"WHERE {where} AND {layout.spans_sql(mark)} AND {q('indicator_id')} IN "
        f"(SELECT id FROM {Indicator._meta.db_table} WHERE period_kind = %s)"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, period.kind])
        found = cursor.fetchall()
    schema = {"indicator_id": pl.Int64, "unit_id": pl.Int64, "basis": pl.String, "period_id": pl.Int64}
    schema |= {name: pl.Float64 for name in layout.FIGURES} | {"missing": pl.String}
    if computed_at:
        schema["computed_at"] = pl.Datetime("us", "UTC")
    if not found:
        return pl.DataFrame(schema=schema)
    stored = layout.STORED_FIGURES
    has, figures = layout.decode_elements(
        [item[4] for item in found], {name: [item[5 + k] for item in found] for k, name in enumerate(stored)}
    )
    window = 5 + len(stored)
    data = {
        "indicator_id": np.array([item[1] for item in found], dtype=np.int64)[has],
        "unit_id": np.array([item[2] for item in found], dtype=np.int64)[has],
        "basis": np.array([item[3] for item in found], dtype=object)[has],
        "period_id": np.full(int(has.sum()), period.pk, dtype=np.int64),
        **{name: figures[name][has] for name in stored},
        "missing": figures["missing"][has],
    }
    if computed_at:
        data["computed_at"] = [_aware(item[-1]) for item, h in zip(found, has.tolist(), strict=True) if h]
    frame = layout.with_twins(
        pl.DataFrame(data, schema={k: v for k, v in schema.items() if k not in layout.DERIVED}),
        figures["hidden"][has],
        stored,
    )
    frame = frame.with_columns(pl.col(name).fill_nan(None) for name in stored)
    if not derived:
        return frame.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in layout.DERIVED).select(
            list(schema)
        )
    # The derived figures, from each series' values up to the period, both bases together.
    derived_rows = layout.decode(
        [(item[1], item[2], item[3], item[window], item[window + 1], item[window + 2]) for item in found],
        ("value", *layout.DERIVED),
    ).filter(pl.col("ordinal") == ordinal)
    frame = frame.join(
        derived_rows.select("indicator_id", "unit_id", "basis", *layout.DERIVED),
        on=["indicator_id", "unit_id", "basis"],
        how="left",
        maintain_order="left",
    )
    return frame.select(list(schema))


def _as_seen(rows: pl.DataFrame, *, public: bool) -> pl.DataFrame:
    """`on_basis` for decoded rows of both bases: the "all" rows, or for the public each
    published row and each "all" row without a published twin (then a published row with
    neither value nor reason hides its "all" row, and is itself left out by the caller's
    `valued` or `_shown_rows`)."""
    everyone = rows.filter(pl.col("basis") == Basis.ALL.value)
    if not public:
        return everyone
    published = rows.filter(pl.col("basis") == Basis.PUBLISHED.value)
    if published.is_empty():
        return everyone
    return pl.concat([everyone.join(published.select(_KEY), on=_KEY, how="anti"), published])


def _valued(rows: pl.DataFrame) -> pl.DataFrame:
    return rows.filter(pl.col("value").is_not_null())


def _shown_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """A value, or a missing one with its reason: a published figure with neither stands for
    a value that rests on unpublished data and is shown to no one."""
    return rows.filter(pl.col("value").is_not_null() | (pl.col("missing") != ""))


def periods_of(unit) -> QuerySet[Period]:
    """The periods in which the unit has a derived value on either basis (what a report on
    the unit, written inside its groups, can be about)."""
    found = _valued(_read(unit_ids=[unit], figures=("value",)))
    return Period.objects.filter(pk__in=found.get_column("period_id").unique().to_list())


def indicators_valued(unit) -> QuerySet[Indicator]:
    """The indicators the unit has a derived value of on either basis, in some period (what
    a report on the unit can show); `indicators_of` is the same for one reader's basis."""
    found = _valued(_read(unit_ids=[unit], figures=("value",)))
    return Indicator.objects.filter(pk__in=found.get_column("indicator_id").unique().to_list())


def any_published(indicator_ids, period) -> bool:
    """Whether any of these indicators has a published figure in the period: some unit's
    or group's published figure differs from its figure on all data (`twin`), so outsiders
    read other figures there than the groups that share the data."""
    indicator_ids = list(indicator_ids)
    if GroupStatistic.objects.filter(indicator_id__in=indicator_ids, period=period, basis=Basis.PUBLISHED).exists():
        return True
    found = _at_period(indicator_ids, period, derived=False)
    return not found.filter(pl.col("basis") == Basis.PUBLISHED.value).is_empty()


@dataclass(frozen=True, slots=True)
class Figure:
    """One stored indicator value as a reader gets it: the figures pages, reports and plans
    show, not the storage (a series a unit, `ValueSeries`). `unit` and `period` are set where
    the function says so."""

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


def _figures(rows: pl.DataFrame, *, units: bool = False, periods: bool = False) -> list[Figure]:
    """Rows as `Figure`s, with their units (read once each, without boundaries) or periods."""
    found = rows.select(FIGURE_FIELDS).rows()
    unit_of = Unit.objects.defer("boundary").in_bulk({row[1] for row in found}) if units and found else {}
    period_of = Period.objects.in_bulk({row[2] for row in found}) if periods and found else {}
    return [Figure(*row, unit=unit_of.get(row[1]), period=period_of.get(row[2])) for row in found]


def _member_ids(group, period) -> list[int]:
    return list(_members(group, period).values_list("unit_id", flat=True))


def values(indicator, period, group=None, *, public: bool, with_units: bool = True) -> list[Figure]:
    """The indicator's values in the period, for the group's members or every unit: each
    with its unit, by the units' codes; `with_units` False, by the units' ids without them
    (a caller that has read the members already)."""
    units = None if group is None else _member_ids(group, period)
    rows = _valued(_as_seen(_at_period([indicator], period, units, computed_at=True), public=public))
    found = _figures(rows.sort("unit_id"), units=with_units)
    if with_units:
        found.sort(key=lambda v: v.unit.code)
    return found


def missing(indicator, period, group=None, *, public: bool) -> dict[int, str]:
    """Why units have no value in the period: {unit id: missing code} (DESIGN principle 2).
    A published figure without a reason (its value rests on unpublished data) is left out,
    so outsiders get no hint of it."""
    units = None if group is None else _member_ids(group, period)
    rows = _as_seen(_at_period([indicator], period, units, derived=False), public=public)
    rows = rows.filter(pl.col("value").is_null() & (pl.col("missing") != ""))
    return dict(rows.select("unit_id", "missing").rows())


def value(indicator, unit, period, *, public: bool) -> Figure | None:
    rows = _valued(_as_seen(_at_period([indicator], period, [unit], computed_at=True), public=public))
    found = _figures(rows)
    return found[0] if found else None


def series(indicator, unit, *, public: bool) -> list[Figure]:
    """One unit's values over time (profile pages, trend charts), each period on its basis,
    oldest first, each with its period."""
    rows = _valued(_as_seen(_read([indicator], [unit], computed_at=True), public=public))
    found = _figures(rows, periods=True)
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
    (a slice is at most a few thousand values) with the same rules as `stats`."""
    rows = values(indicator, period, group, public=public)
    numbers = [row.value for row in rows]
    ranked = zip(
        rows,
        stats.competition_ranks(numbers, indicator.polarity),
        stats.percentiles(numbers, indicator.polarity),
        strict=True,
    )
    out = [Ranked(row.unit, row.value, rank, len(rows), percentile) for row, rank, percentile in ranked]
    return sorted(out, key=lambda r: (r.rank, r.unit.code))


def _member_periods(group_ids, period_ids) -> pl.DataFrame:
    """(unit_id, period_id) of the members of these groups in each of these periods (the
    one rule: Membership.objects.during)."""
    pairs = [
        (unit_id, period.pk)
        for period in Period.objects.filter(pk__in=list(period_ids))
        for unit_id in Membership.objects.filter(group_id__in=list(group_ids))
        .in_period(period)
        .values_list("unit_id", flat=True)
    ]
    return pl.DataFrame(pairs, schema={"unit_id": pl.Int64, "period_id": pl.Int64}, orient="row").unique()


def rank_frame(group, indicator_ids: list[int], period_ids: list[int], *, public: bool) -> pl.DataFrame:
    """Ranks of the group's members for many indicators and periods at once (exports), each
    slice on its basis: columns indicator_id, unit_id, period_id, breakdown, rank, rank_of,
    percentile."""
    members = _member_periods([group.pk], period_ids)
    rows = _read(indicator_ids, members.get_column("unit_id").unique().to_list(), figures=("value",))
    found = (
        _valued(_as_seen(rows.filter(pl.col("period_id").is_in(list(period_ids))), public=public))
        .join(members, on=["unit_id", "period_id"])
        .select("indicator_id", "unit_id", "period_id", pl.lit("").alias("breakdown"), "value")
    )
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


def on_basis(rows: QuerySet, *, public: bool) -> QuerySet:
    """Keep the group statistics the reader sees: the "all" rows, or for the public each
    published row and each "all" row without a published twin."""
    if not public:
        return rows.filter(basis=Basis.ALL)
    return rows.filter(_public(rows.model))


def seen(basis: str, has_twin: bool, *, public: bool) -> bool:
    """`on_basis` for figures already read into Python (both bases of a slice at once):
    whether the reader sees a figure of this basis, given whether its unit or group has a
    published figure in that indicator and period."""
    if not public:
        return basis == Basis.ALL
    return basis == Basis.PUBLISHED or not has_twin


# --- Listings and open-data downloads: every value a reader may see ------------------------


def statistic_same_as_public() -> Exists:
    """For an "all" group statistic: its published twin has the same n and median, so the
    figure is public although the published data give another row."""
    return twin(GroupStatistic, same=("n", "median"))


def _visible(rows: QuerySet, *, admin: bool, inside: Q, is_marked: Q, agrees: Exists) -> QuerySet:
    """The rule of `visible_statistics` (and, for values' rows in Python, `_visible_rows`):
    `rows` annotated with `marked` (is_marked: an "all" row with a published twin),
    filtered to what the reader sees, and annotated with `same_as_public`."""
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
    changed_since: dt.datetime | None = None  # computed after


@dataclass(frozen=True)
class Reader:
    """Whose values a listing, download or export gives: an administrator (`admin`) reads
    every "all" figure; anyone else the "all" figures of `insider_units` (the units whose
    figures their groups share) and the public's (`_as_seen`) of every other unit."""

    admin: bool = False
    insider_units: frozenset[int] = frozenset()


PUBLIC = Reader()
EVERY_ALL_ROW = Reader(admin=True)  # the groups' view of every unit: an export on all data


def _visible_rows(rows: pl.DataFrame, reader: Reader) -> pl.DataFrame:
    """The rule of the listings and downloads, on decoded rows of both bases: the values
    `reader` may see (a value, or a missing one with its reason), each with `published`
    (`is_published`: a published figure; an "all" one without a published twin; or one
    whose twin has the same value, which the public sees too)."""
    twins = rows.filter(pl.col("basis") == Basis.PUBLISHED.value).select(*_KEY, pl.col("value").alias("_twin"))
    rows = rows.join(twins.with_columns(pl.lit(True).alias("_marked")), on=_KEY, how="left", maintain_order="left")
    everyone = pl.col("basis") == Basis.ALL.value
    marked = everyone & pl.col("_marked").fill_null(False)
    if reader.admin:
        keep = everyone
    else:
        inside = pl.col("unit_id").is_in(sorted(reader.insider_units))
        keep = (inside & everyone) | (~inside & ~marked)
    same = marked & pl.col("value").is_not_null() & (pl.col("value") == pl.col("_twin")).fill_null(False)
    return _shown_rows(rows.filter(keep).with_columns((~marked | same).alias("published")).drop("_twin", "_marked"))


def _group_members(selection: Selection) -> pl.DataFrame | None:
    """(unit_id, period_id) of the members of the selection's groups in each of its periods
    (every period without a period filter); None without a group filter. Read once for a
    whole listing, download or export, not once an indicator."""
    if selection.groups is None:
        return None
    periods = selection.periods
    if periods is None:
        periods = tuple(Period.objects.values_list("pk", flat=True))
    return _member_periods(selection.groups, periods)


def _selected(rows: pl.DataFrame, selection: Selection, members: pl.DataFrame | None) -> pl.DataFrame:
    """Of decoded rows, those in the selection (its indicators and units are applied by the
    read; `members`: `_group_members(selection)`)."""
    if selection.periods is not None:
        rows = rows.filter(pl.col("period_id").is_in(list(selection.periods)))
    if selection.changed_since is not None:
        rows = rows.filter(pl.col("computed_at") > selection.changed_since)
    if members is not None:
        # A member in the value's own period: a unit that joined in 2023 is no member for 2022.
        rows = rows.join(members, on=["unit_id", "period_id"], how="semi", maintain_order="left")
    return rows


def _in_code_order(selection: Selection) -> list[int]:
    """The selection's indicators (every one without a filter) in the order of their codes."""
    chosen = Indicator.objects.order_by("code")
    if selection.indicators is not None:
        chosen = chosen.filter(pk__in=selection.indicators)
    return list(chosen.values_list("pk", flat=True))


def _indicator_rows(
    indicator_id: int, selection: Selection, reader: Reader, members: pl.DataFrame | None, **read
) -> pl.DataFrame:
    """One indicator's values `reader` may see in `selection` (both bases read, the rule
    applied here; `members`: `_group_members(selection)`)."""
    rows = _read([indicator_id], selection.units, computed_at=True, **read)
    # The rule first: a published twin decides whether its "all" figure is seen, whatever
    # the selection (a twin computed before `changed_since` still hides it).
    return _selected(_visible_rows(rows, reader), selection, members)


# A value's id in the API: its series' id × ID_SPAN + its place in the series (a series
# spans fewer periods: `layout.encode` refuses more), so that ids grow along the series.
ID_SPAN = layout.MAX_ELEMENTS


def value_page(selection: Selection, reader: Reader, *, after: int, limit: int) -> list[dict]:
    """The API's listing: at most `limit` of the values `reader` may see in `selection`,
    by id after `after` (keyset paging: a page reads the series from the one `after` is in,
    a few at a time, not the table). Each a mapping of id, indicator, unit and period codes,
    breakdown, the figures, computed_at and `published` (`is_published`)."""
    out: list[dict] = []
    series_after = max(after, 0) // ID_SPAN
    step = max(20, limit // 4)
    members = _group_members(selection)
    # The next series by id, then their units' series of both bases (for the twins).
    where, params = _where(selection.indicators, selection.units)
    sql = f"SELECT id, indicator_id, unit_id FROM {SERIES_TABLE} WHERE {where}"
    if selection.changed_since is not None:
        sql += f" AND {connection.ops.quote_name('computed_at')} > %s"
        params.append(selection.changed_since)
    sql += f" AND id >= %s ORDER BY id LIMIT {int(step)}"
    while len(out) < limit:
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, series_after])
            batch = cursor.fetchall()
        if not batch:
            break
        ids = [row[0] for row in batch]
        pairs = {(row[1], row[2]) for row in batch}
        rows = _read(
            sorted({i for i, _u in pairs}),
            sorted({u for _i, u in pairs}),
            with_id=True,
            computed_at=True,
        )
        rows = rows.join(
            pl.DataFrame(sorted(pairs), schema={"indicator_id": pl.Int64, "unit_id": pl.Int64}, orient="row"),
            on=["indicator_id", "unit_id"],
            how="semi",
        )
        rows = _selected(_visible_rows(rows, reader), selection, members).filter(pl.col("series_id").is_in(ids))
        rows = rows.with_columns((pl.col("series_id") * ID_SPAN + pl.col("element")).alias("id"))
        rows = rows.filter(pl.col("id") > after).sort("id")
        out += _listed(rows.head(limit - len(out)))
        series_after = ids[-1] + 1
    return out


def _listed(rows: pl.DataFrame) -> list[dict]:
    if rows.is_empty():
        return []
    codes = {
        "indicator": dict(
            Indicator.objects.filter(pk__in=rows["indicator_id"].unique().to_list()).values_list("pk", "code")
        ),
        "unit": dict(Unit.objects.filter(pk__in=rows["unit_id"].unique().to_list()).values_list("pk", "code")),
        "period": dict(Period.objects.filter(pk__in=rows["period_id"].unique().to_list()).values_list("pk", "code")),
    }
    return [
        {
            "id": row["id"],
            "indicator": codes["indicator"][row["indicator_id"]],
            "unit": codes["unit"][row["unit_id"]],
            "period": codes["period"][row["period_id"]],
            "breakdown": "",
            "value": row["value"],
            "missing": row["missing"],
            "change": row["change"],
            "change_pct": row["change_pct"],
            "trend": row["trend"],
            "computed_at": row["computed_at"],
            "published": row["published"],
        }
        for row in rows.iter_rows(named=True)
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


def value_count(selection: Selection, reader: Reader, *, most: int) -> int:
    """How many values `reader` may see in `selection`, counted no further than `most` + 1:
    a download's refusal does not wait for the whole selection to be read, it stops at the
    indicator that passes the limit."""
    total, members = 0, _group_members(selection)
    for indicator_id in _in_code_order(selection):
        total += _indicator_rows(indicator_id, selection, reader, members, figures=("value",)).height
        if total > most:
            break
    return min(total, most + 1)


def value_frames(selection: Selection, reader: Reader, *, size: int) -> Iterator[pl.DataFrame]:
    """The values `reader` may see in `selection` (`VALUE_FRAME`), in the order of the
    indicator, unit and period codes (periods by kind and place), as frames of at most
    `size` rows of one indicator: the open-data downloads and the exports, at any size.
    One indicator's series at a time (a country's: 5,000 series, 50,000 values), so memory
    holds one indicator whatever the selection, and the first frame comes at once."""
    units = pl.DataFrame(
        list(Unit.objects.values_list("pk", "code")), schema={"unit_id": pl.Int64, "unit_code": pl.String}, orient="row"
    )
    periods = pl.DataFrame(
        list(Period.objects.values_list("pk", "code", "kind", "ordinal")),
        schema={"period_id": pl.Int64, "period": pl.String, "kind": pl.String, "ordinal": pl.Int64},
        orient="row",
    )
    members = _group_members(selection)
    for indicator_id in _in_code_order(selection):
        rows = _indicator_rows(indicator_id, selection, reader, members)
        if rows.is_empty():
            continue
        rows = (
            rows.join(units, on="unit_id", how="left")
            .join(periods, on="period_id", how="left")
            .sort("unit_code", "kind", "ordinal")
            .with_columns(pl.lit("").alias("breakdown"))
            .select(list(VALUE_FRAME))
        )
        for start in range(0, rows.height, size):
            yield rows.slice(start, size)


def visible_statistics(rows: QuerySet | None = None, *, admin: bool, insider_groups) -> QuerySet:
    """The group statistics a reader may see (the API's listing), by the rule of
    `value_page`: the "all" rows of `insider_groups`, for outsiders each published row and
    each "all" row without a published twin; annotated with `marked` and `same_as_public`."""
    rows = GroupStatistic.objects.all() if rows is None else rows
    return _visible(
        rows,
        admin=admin,
        inside=Q(group_id__in=insider_groups),
        is_marked=Q(twin(GroupStatistic)),
        agrees=statistic_same_as_public(),
    )


def is_published(basis: str, marked: bool, same_as_public: bool) -> bool:
    """Whether a group statistic `visible_statistics` gave is a published figure."""
    return basis == Basis.PUBLISHED or not marked or same_as_public


class Point:
    """One stored value of a unit's series as `series_many` gives it: the fields pages use, not
    a model instance (a profile reads two thousand). The periods are shared objects."""

    __slots__ = ("indicator_id", "unit_id", "period_id", "period", "value")

    def __init__(self, indicator_id: int, unit_id: int, period: Period, value: float):
        self.indicator_id, self.unit_id, self.value = indicator_id, unit_id, value
        self.period, self.period_id = period, period.pk

    def __repr__(self) -> str:
        return (
            f"Point(indicator={self.indicator_id}, unit={self.unit_id}, period={self.period.code}, value={self.value})"
        )


def series_many(unit_ids, indicator_ids=None, *, public: bool) -> list[Point]:
    """`series` for several units and indicators (all indicators when None): every period,
    each on its basis, ordered by indicator, unit and period. A unit's series of a hundred
    indicators are two hundred rows at most (both bases), decoded at once."""
    rows = _read(indicator_ids, list(unit_ids), figures=("value",), basis=None if public else Basis.ALL)
    found = _valued(_as_seen(rows, public=public)).select("indicator_id", "unit_id", "period_id", "value").rows()
    periods = Period.objects.in_bulk({p for _i, _u, p, _v in found})  # one object a period
    out = [
        Point(indicator_id, unit_id, periods[period_id], number) for indicator_id, unit_id, period_id, number in found
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
    """The indicators the unit has a value for in some period (each on its basis): the
    unit's series, two a indicator at most, decoded at once."""
    rows = _read(unit_ids=[unit], figures=("value",), basis=None if public else Basis.ALL)
    return set(_valued(_as_seen(rows, public=public)).get_column("indicator_id").unique().to_list())


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
    first + i's (NaN: no value). The public's is its own slice where one is stored, else
    the "all" one, which is then the same (`engine._write_slices`)."""
    rows = RankSlice.objects.filter(indicator_id__in=list(indicator_ids), period=period)
    if not public:
        rows = rows.filter(public=False)
    chosen: dict[int, tuple[int, bytes, str]] = {}
    for indicator_id, first, blob, polarity, own in rows.values_list(
        "indicator_id", "first_unit", "numbers", "indicator__polarity", "public"
    ):
        if own == public or indicator_id not in chosen:
            chosen[indicator_id] = (first, blob, polarity)
    for indicator_id, (first, blob, polarity) in chosen.items():
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
    own = _valued(_as_seen(_at_period(indicator_ids, period, [family.country], derived=False), public=True))
    out.update({indicator_id: Reference(number) for indicator_id, number in own.select("indicator_id", "value").rows()})
    return family.country, out
