"""The tests' one door to the derived values the engine stores (one per indicator, unit,
period, breakdown and basis), for tests that check what was stored or feed a reader by
hand.

Tests read and write the store only through these functions, never through the storage
model, so that the store's layout (a series per indicator, unit and basis, `ValueSeries`,
laid out by `municipium.benchmarks.series`) is known in `municipium.benchmarks` and here,
not in every test. Pages, the API and exports read through
`municipium.benchmarks.read`, as ever.

Filters take a model object or its code (indicator, unit, period) and are ANDed; a filter
left out does not filter. `breakdown` defaults to "" (the engine stores no breakdown).

    derived.one(indicator=nrw, unit="A", period="2024").value
    derived.values(indicator=nrw)  # {(unit code, period code): value}, basis "all"
    derived.put(nrw, a, "2024", value=12.5, change=-1.5)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
from django.utils import timezone

from municipium.benchmarks import series
from municipium.benchmarks.models import Basis, ValueSeries
from municipium.catalog.models import Indicator
from municipium.observations.models import Period
from municipium.places.models import Unit

ANY = object()  # a filter that does not filter (`breakdown=derived.ANY`)

COLUMNS = ("value", "missing", "numerator", "denominator", "change", "change_pct", "trend")
# What a test may store by hand: the change and the trend are derived from the values on
# reading (`series.derive`), so a test gives the values they come from.
STORED_COLUMNS = ("value", "missing", "numerator", "denominator")


@dataclass(frozen=True)
class Stored:
    """One stored derived value, with its keys' codes read once."""

    indicator_id: int
    unit_id: int
    period_id: int
    indicator_code: str
    unit_code: str
    period_code: str
    breakdown: str
    basis: str
    value: float | None
    missing: str
    numerator: float | None
    denominator: float | None
    change: float | None
    change_pct: float | None
    trend: float | None
    computed_at: dt.datetime

    @property
    def indicator(self) -> Indicator:
        return Indicator.objects.get(pk=self.indicator_id)

    @property
    def unit(self) -> Unit:
        return Unit.objects.get(pk=self.unit_id)

    @property
    def period(self) -> Period:
        return Period.objects.get(pk=self.period_id)

    @property
    def key(self) -> tuple[int, int, int, str]:
        """(indicator id, unit id, period id, basis): what identifies a value."""
        return self.indicator_id, self.unit_id, self.period_id, self.basis


def _ids(model, given) -> list[int] | None:
    """Ids of a filter's model object, id, code, or list of objects or ids (None: any)."""
    if given is None:
        return None
    if isinstance(given, model):
        return [given.pk]
    if isinstance(given, int):
        return [given]
    if isinstance(given, str):
        return list(model.objects.filter(code=given).values_list("pk", flat=True))
    return [g.pk if isinstance(g, model) else g for g in given]


def _decoded(indicator=None, unit=None, basis=None) -> pl.DataFrame:
    """Every stored element of the matching series, with period_id, series_id, computed_at."""
    stored = ValueSeries.objects.all()
    indicators, units = _ids(Indicator, indicator), _ids(Unit, unit)
    if indicators is not None:
        stored = stored.filter(indicator_id__in=indicators)
    if units is not None:
        stored = stored.filter(unit_id__in=units)
    found = list(
        stored.values_list(
            "id", "indicator_id", "unit_id", "basis", "first", "missing", *series.read_columns(), "computed_at"
        )
    )
    rows = series.decode([item[:-1] for item in found], with_id=True)
    times = pl.DataFrame(
        {"series_id": [item[0] for item in found], "computed_at": [item[-1] for item in found]},
        schema={"series_id": pl.Int64, "computed_at": pl.Datetime("us", "UTC")},
    )
    kinds = pl.DataFrame(
        list(Indicator.objects.values_list("pk", "period_kind")),
        schema={"indicator_id": pl.Int64, "kind": pl.String},
        orient="row",
    )
    periods = pl.DataFrame(
        list(Period.objects.values_list("kind", "ordinal", "pk", "code")),
        schema={"kind": pl.String, "ordinal": pl.Int64, "period_id": pl.Int64, "period_code": pl.String},
        orient="row",
    )
    codes = periods.select("period_id", "period_code", "ordinal")  # kept: rows() sorts by it
    rows = rows.join(times, on="series_id", how="left").join(kinds, on="indicator_id", how="left")
    rows = series.with_period_ids(rows, periods).join(codes, on="period_id", how="left")
    # Not asked of SQL: a hidden published row lives in its "all" twin's series (series.HIDDEN).
    return rows if basis is None else rows.filter(pl.col("basis") == str(basis))


def _matching(indicator=None, unit=None, period=None, basis=None, breakdown="", valued=None) -> pl.DataFrame:
    rows = _decoded(indicator, unit, basis)
    if breakdown is not ANY and breakdown != "":
        return rows.clear()  # the engine stores no breakdown
    periods = _ids(Period, period)
    if periods is not None:
        rows = rows.filter(pl.col("period_id").is_in(periods))
    if valued is not None:
        rows = rows.filter(pl.col("value").is_not_null() == valued)
    return rows


def rows(**filters) -> list[Stored]:
    """The stored values that pass the filters (indicator, unit, period, basis, breakdown,
    valued: with a value or without), ordered by indicator, unit, period and basis."""
    found = _matching(**filters)
    codes = {
        "indicator": dict(Indicator.objects.values_list("pk", "code")),
        "unit": dict(Unit.objects.values_list("pk", "code")),
    }
    found = found.sort("indicator_id", "unit_id", "ordinal", "basis")
    return [
        Stored(
            r["indicator_id"],
            r["unit_id"],
            r["period_id"],
            codes["indicator"][r["indicator_id"]],
            codes["unit"][r["unit_id"]],
            r["period_code"],
            "",
            r["basis"],
            *(r[c] for c in COLUMNS),
            r["computed_at"],
        )
        for r in found.iter_rows(named=True)
    ]


def one(**filters) -> Stored:
    """The one stored value that passes the filters (a test's failure when none or more)."""
    found = rows(**filters)
    assert len(found) == 1, f"{len(found)} stored values pass {filters}"
    return found[0]


def exists(**filters) -> bool:
    return not _matching(**filters).is_empty()


def count(**filters) -> int:
    return _matching(**filters).height


def values(basis: str = Basis.ALL, **filters) -> dict[tuple[str, str], float]:
    """{(unit code, period code): value} of the stored values with a value."""
    return {(r.unit_code, r.period_code): r.value for r in rows(basis=basis, valued=True, **filters)}


def keyed(**filters) -> dict[tuple[int, int, int, str], tuple]:
    """{(indicator id, unit id, period id, basis): (value, missing, numerator, denominator,
    change, change_pct, trend)}: everything stored but times (snapshots)."""
    return {r.key: tuple(getattr(r, c) for c in COLUMNS) for r in rows(breakdown=ANY, **filters)}


def _rewrite(keys: pl.DataFrame, rows: pl.DataFrame, computed_at: dt.datetime | None = None) -> None:
    """Store anew the series of `keys` (indicator_id, unit_id: both bases, stored together
    as the engine stores them) as `rows` say (their elements: indicator_id, unit_id, basis,
    period_id, the figures, missing, computed_at)."""
    keys = keys.select("indicator_id", "unit_id").unique()
    for indicator_id, unit_id in keys.rows():
        ValueSeries.objects.filter(indicator_id=indicator_id, unit_id=unit_id).delete()
    ordinals = pl.DataFrame(
        list(Period.objects.values_list("pk", "ordinal")),
        schema={"period_id": pl.Int64, "ordinal": pl.Int64},
        orient="row",
    )
    mine = rows.join(keys, on=["indicator_id", "unit_id"], how="semi")
    stamps = {(r["indicator_id"], r["unit_id"], r["basis"]): r["computed_at"] for r in mine.iter_rows(named=True)}
    encoded = series.encode(mine.join(ordinals, on="period_id").select(list(series.ROW_SCHEMA)))
    ValueSeries.objects.bulk_create(
        ValueSeries(
            indicator_id=row[0],
            unit_id=row[1],
            basis=row[2],
            **dict(zip(series.STORED, row[3:], strict=True)),
            computed_at=computed_at or stamps.get(tuple(row[:3])) or timezone.now(),
        )
        for row in encoded.rows()
    )


_FRAME = ["indicator_id", "unit_id", "basis", "period_id", *series.FIGURES, "missing", "computed_at"]


def put(
    indicator: Indicator,
    unit: Unit,
    period: Period,
    *,
    basis: str = Basis.ALL,
    computed_at: dt.datetime | None = None,
    **columns,
) -> None:
    """Store one derived value by hand (a reader's test without the engine), replacing one
    stored at the same key. The ranks' slices are the engine's: a test that reads ranks or
    medians after this calls `engine.rebuild_slices`."""
    unknown = set(columns) - set(STORED_COLUMNS)
    assert not unknown, f"no such column: {sorted(unknown)}"
    stored = (
        _decoded(indicator, unit)
        .select(_FRAME)
        .filter((pl.col("period_id") != period.pk) | (pl.col("basis") != str(basis)))
    )
    row = {c: None for c in _FRAME} | {"missing": ""} | columns
    row |= {"indicator_id": indicator.pk, "unit_id": unit.pk, "basis": str(basis), "period_id": period.pk}
    row["computed_at"] = computed_at or timezone.now()
    new = pl.DataFrame([row], schema=stored.schema)
    _rewrite(new.select("indicator_id", "unit_id", "basis"), pl.concat([stored, new]), computed_at)


def update(filters: dict, **columns) -> int:
    """Change stored values in place (what a bug or a hand edit would leave): how many."""
    unknown = set(columns) - set(STORED_COLUMNS)
    assert not unknown, f"no such column: {sorted(unknown)}"
    chosen = _matching(**filters)
    if chosen.is_empty():
        return 0
    keys = chosen.select("indicator_id", "unit_id").unique()
    every = _decoded().join(keys, on=["indicator_id", "unit_id"], how="semi")
    hit = every.join(
        chosen.select("series_id", "element", "basis").with_columns(pl.lit(True).alias("_hit")),
        on=["series_id", "element", "basis"],
        how="left",
    )
    changed = hit.with_columns(
        pl.when(pl.col("_hit").fill_null(False)).then(pl.lit(v)).otherwise(pl.col(c)).alias(c)
        for c, v in columns.items()
    )
    _rewrite(keys, changed.select(_FRAME))
    return chosen.height


def _delete_whole(chosen) -> int:
    """Delete these series whole: how many values they held."""
    held = sum(chosen.values_list("count", flat=True))
    chosen.delete()
    return held


def delete(**filters) -> int:
    """Delete stored values (all of them without filters, every breakdown): how many."""
    filters.setdefault("breakdown", ANY)
    if filters == {"breakdown": ANY}:
        return _delete_whole(ValueSeries.objects.all())
    chosen = _matching(**filters)
    if chosen.is_empty():
        return 0
    keys = chosen.select("indicator_id", "unit_id").unique()
    every = _decoded().join(keys, on=["indicator_id", "unit_id"], how="semi")
    kept = every.join(chosen.select("series_id", "element", "basis"), on=["series_id", "element", "basis"], how="anti")
    _rewrite(keys, kept.select(_FRAME))
    return chosen.height


def at(stored: Stored) -> dict:
    """The filters that pick exactly this one stored value (its key and breakdown), for
    `update` or `delete` where a test once went by the row's id:
    `derived.update(derived.at(row), value=0.0)`, `derived.delete(**derived.at(row))`."""
    return {
        "indicator": stored.indicator_id,
        "unit": stored.unit_id,
        "period": stored.period_id,
        "basis": stored.basis,
        "breakdown": stored.breakdown,
    }
