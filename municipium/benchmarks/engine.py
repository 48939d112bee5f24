"""The compute engine: indicator values and group statistics, derived from observations.

One code path computes everything (DESIGN principle 5): `_compute_batch` turns the
observations of a batch of indicators into their values side by side on one wide frame
(`_compute` is a batch of one), and `_refresh_indicator` turns those into the rows that are
stored, writing only what differs from what is stored: the group statistics as rows, the
values as one series per indicator, unit and basis (`_sync_values`, laid out by
`municipium.benchmarks.series`). A save recomputes only the
affected slices (`recompute_changed` task → `affected` → `refresh`), and of a save of a few
units only what they can move: their values and their groups' statistics, from the
observations of those units and the groups' members (`Scope`); a full rebuild runs the
same code for every indicator, unit and period (`recompute_all`), so an incremental result
is the full result by construction.

Rules, beyond those of the formula language (municipium.lib.formulas.evaluate):

- An indicator has a value for a unit and period only if the unit reported at least one of
  the formula's variables for that period (a value or a missing code). Without the rule,
  `coalesce(x, 0)` would give every unit in the country a 0 for every year.
- A missing code reads as null. A variable with a breakdown read as a total (`pop`) is the
  "" (total) observation; `pop["F"]` one category; `sum(pop)` the sum over its categories
  and `sum(pop, "65-79", "80+")` over the listed ones. A sum is missing only if every
  summed category is missing or absent: a partial sum is a sum of what is known (an
  indicator that must not under-count writes the total, or uses min()/if() on counts).
- A unit that reported something but gets no value has a stored row with a null value and
  the reason it is missing (`missing`, the observations' codes): the strongest of its
  inputs' missing codes (MISSING_ORDER); else not collected when an input was not reported;
  else not applicable (every input is there and the formula gives nothing: 0 / 0).
  Pages, ranks and statistics read only rows with a value; open data and the API carry the
  others too, so that a blank is never a silent zero (DESIGN principle 2).
- change = value − previous period's value; change_pct = 100 × change ÷ |previous|;
  trend = least-squares slope per period over the current and 4 earlier periods, when at
  least 3 of them have a value (municipium.lib.stats).
- Group statistics count the members whose membership overlaps the period and whose unit
  is valid at some time in it: `members` of them, `n` with a value. Only (group, period)
  rows with n ≥ 1 are stored. Ranks are not stored: `read.ranks` derives them on read
  with the same `stats` expressions; the values are stored once more per indicator and
  period, every unit's in one array (`RankSlice`, `_write_slices`), for the pages that
  rank one unit in many indicators.

Basis. "all" rows are computed from every observation. "published" rows are computed from
published observations only, as if the others did not exist, and stored only where they are
not the "all" row: in the slices (indicator × period) whose input window (the period, the
lags and the 4 earlier periods the change and trend read) holds any unpublished observation
of the formula's variables, for the units whose own window holds one (their published value,
its change or trend, or its reason differ, or the published data give no row: then a row
with neither value nor reason, which readers hide) and the groups with such a member. Where
no published row is stored, the "all" row is the published one, bit for bit; a reader on
published figures takes a unit's or group's published row where there is one, else its
"all" row (municipium.benchmarks.read). So a save touches the published rows of the units
it changes and of their groups only, never a whole slice (issue 18: the first draft in a
year whose data were all published wrote a published row for every unit of ~25 indicators
× 5 periods, 312,000 rows, 4.4 s at the full scale).
"""

from __future__ import annotations

import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Collection, Iterable
from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np
import polars as pl
from django.db import connection, connections, transaction
from django.db.models import Max, Q
from django.utils import timezone

from municipium.catalog.models import Indicator, Variable
from municipium.lib import arrays, bulk, frames, stats
from municipium.lib.formulas import Formula, FormulaError, Ref, dependency_order, parse
from municipium.observations.models import Missing, Observation, Period, Status
from municipium.places.models import Membership

from . import series
from .models import Basis, GroupStatistic, InputFingerprint, RankSlice, ValueSeries

log = logging.getLogger(__name__)

K = stats.TREND_PERIODS
BASES = (Basis.ALL.value, Basis.PUBLISHED.value)
LOCK_NAMESPACE = 0x4D55  # pg_advisory_xact_lock(namespace, indicator id)

IV_TABLE = ValueSeries._meta.db_table  # the indicator values, as series (`series`)
GS_TABLE = GroupStatistic._meta.db_table
OBS_TABLE = Observation._meta.db_table

VALUE_COLUMNS = ["value", "numerator", "denominator", "change", "change_pct", "trend"]
STAT_COLUMNS = ["members", "n", "min", *stats.QUANTILES, "max", "mean", "pooled"]

VALUE_SCHEMA = (
    {"unit_id": pl.Int64, "period_id": pl.Int64, "ordinal": pl.Int64}
    | {c: pl.Float64 for c in VALUE_COLUMNS}
    | {"missing": pl.String}
)
# Why a value is missing, when its inputs give more than one reason: a value that cannot
# exist is not applicable whatever else holds; one that exists but is withheld is
# confidential before it is merely not shared; not collected is the weakest, and also what
# an input nobody reported means.
MISSING_ORDER = [Missing.NOT_COLLECTED, Missing.NOT_SHARED, Missing.CONFIDENTIAL, Missing.NOT_APPLICABLE]
MISSING_RANK = {code.value: rank for rank, code in enumerate(MISSING_ORDER, start=1)}
STAT_SCHEMA = {"group_id": pl.Int64, "period_id": pl.Int64, "members": pl.Int64, "n": pl.Int64} | {
    c: pl.Float64 for c in STAT_COLUMNS[2:]
}


# -- what every indicator's computation shares ---------------------------------------------


@dataclass(frozen=True)
class Spec:
    """An indicator ready to compute: its formula with referenced indicators inlined."""

    id: int
    code: str
    polarity: str
    kind: str
    formula: Formula | None
    variable_ids: tuple[int, ...] = ()
    error: str | None = None

    @property
    def lag(self) -> int:
        """How many periods back the value itself reads: the formula's lags."""
        return self.formula.max_lag if self.formula else 0

    @property
    def window(self) -> int:
        """How many periods back a value's row reads: lags, and the K − 1 periods of the trend."""
        return (K - 1) + self.lag


class Context:
    """The catalogue, periods and memberships, read once per refresh and shared by all
    the indicators it computes (a full recompute reads them once, not 1,000 times)."""

    def __init__(self):
        self.indicators = {
            row["id"]: row for row in Indicator.objects.values("id", "code", "formula", "polarity", "period_kind")
        }
        self.by_code = {row["code"]: row for row in self.indicators.values()}
        self.variables = dict(Variable.objects.values_list("code", "id"))
        self.variable_codes = {pk: code for code, pk in self.variables.items()}
        self._expanded: dict[str, Formula | FormulaError] = {}
        self._specs: dict[int, Spec] = {}
        self._periods: dict[str, pl.DataFrame] = {}
        self._members: dict[tuple[str, tuple[int, ...], tuple[int, ...] | None], pl.DataFrame] = {}
        self._period_members: dict[tuple[str, int, tuple[int, ...] | None], list[tuple[int, int]]] = {}
        self.cache: VariableCache | None = None  # set by recompute_all
        rows = list(Period.objects.values_list("id", "kind", "ordinal", "start", "end"))
        self.period_frame = pl.DataFrame(
            rows,
            schema={"period_id": pl.Int64, "kind": pl.String, "ordinal": pl.Int64, "start": pl.Date, "end": pl.Date},
            orient="row",
        ).sort("kind", "ordinal")
        self.period_kind = {pk: kind for pk, kind, *_ in rows}
        self.period_ordinal = {pk: ordinal for pk, _k, ordinal, *_ in rows}

    def periods(self, kind: str) -> pl.DataFrame:
        if kind not in self._periods:
            self._periods[kind] = self.period_frame.filter(pl.col("kind") == kind).drop("kind")
        return self._periods[kind]

    def expanded(self, code: str) -> Formula:
        """The indicator's formula over variables only; raises FormulaError for an unknown
        name, a cycle, or a bad formula anywhere in what it references."""
        if code not in self._expanded:
            try:
                closure: dict[str, Formula] = {}
                todo = [code]
                while todo:
                    current = todo.pop()
                    if current not in closure:
                        closure[current] = parse(self.by_code[current]["formula"])
                        todo += [name for name in closure[current].names if name in self.by_code]
                done: dict[str, Formula] = {}
                for current in dependency_order(closure, set(self.variables)):
                    formula = closure[current]
                    inlined = {name: done[name] for name in formula.names if name in closure}
                    done[current] = formula.substitute(inlined) if inlined else formula
                self._expanded.update({c: f for c, f in done.items() if c not in self._expanded})
            except FormulaError as error:
                self._expanded[code] = error
        found = self._expanded[code]
        if isinstance(found, FormulaError):
            raise found
        return found

    def spec(self, indicator_id: int) -> Spec:
        if indicator_id not in self._specs:
            row = self.indicators[indicator_id]
            try:
                formula = self.expanded(row["code"])
            except FormulaError as error:
                spec = Spec(indicator_id, row["code"], row["polarity"], row["period_kind"], None, error=str(error))
            else:
                ids = tuple(sorted(self.variables[name] for name in formula.names))
                spec = Spec(indicator_id, row["code"], row["polarity"], row["period_kind"], formula, ids)
            self._specs[indicator_id] = spec
        return self._specs[indicator_id]

    def members(
        self, kind: str, ordinals: Iterable[int] | None = None, groups: Iterable[int] | None = None
    ) -> pl.DataFrame:
        """(group_id, unit_id, ordinal) for every period of `kind` (or those with these
        ordinals) in which the unit is a member, by the one rule (`Membership.objects.during`:
        the membership overlaps the period and the unit exists at some time in it), of every
        group or of these `groups`. One query per period, each read once per Context: a
        save's recompute reads the few periods it refreshes, not every year (issue 18: 1 of
        its 1.5 s with 20 years of 5,000 memberships), and of a few units only their groups."""
        periods = self.periods(kind)
        if ordinals is not None:
            periods = periods.filter(pl.col("ordinal").is_in(sorted(set(ordinals))))
        only = None if groups is None else tuple(sorted(set(groups)))
        key = (kind, tuple(periods["ordinal"].to_list()), only)
        if key not in self._members:
            rows = []
            for ordinal, start, end in periods.select("ordinal", "start", "end").iter_rows():
                if (kind, ordinal, only) not in self._period_members:
                    during = Membership.objects.during(start, end)
                    if only is not None:
                        during = during.filter(group_id__in=only)
                    self._period_members[kind, ordinal, only] = list(during.values_list("group_id", "unit_id"))
                rows += [
                    (group_id, unit_id, ordinal) for group_id, unit_id in self._period_members[kind, ordinal, only]
                ]
            self._members[key] = (
                pl.DataFrame(
                    rows, orient="row", schema={"group_id": pl.Int64, "unit_id": pl.Int64, "ordinal": pl.Int64}
                )
                .unique()
                # A fixed order makes sums (mean, pooled) add up the same way every time.
                .sort("group_id", "ordinal", "unit_id")
            )
        return self._members[key]

    def groups_of(self, kind: str, ordinals: Iterable[int], units: Iterable[int]) -> list[int]:
        """The groups of which any of `units` is a member in any of these periods (the one rule)."""
        periods = self.periods(kind).filter(pl.col("ordinal").is_in(sorted(set(ordinals))))
        units = sorted(set(units))
        found: set[int] = set()
        for start, end in periods.select("start", "end").iter_rows():
            found.update(
                Membership.objects.during(start, end).filter(unit_id__in=units).values_list("group_id", flat=True)
            )
        return sorted(found)


# -- computing ---------------------------------------------------------------------------


@dataclass
class Computed:
    """One indicator over some periods, per basis: values (rows for units that reported
    something) and group statistics; and the periods whose inputs are not all published."""

    values: dict[str, pl.DataFrame]  # the published basis: see `_compute_batch`
    statistics: dict[str, pl.DataFrame]
    unpublished: set[int]  # ordinals


def _column_name(refs: Iterable[Ref]) -> dict[Ref, str]:
    return {ref: f"r{i}" for i, ref in enumerate(sorted(refs, key=repr))}


OBS_SCHEMA = {
    "unit_id": pl.Int64,
    "variable_id": pl.Int64,
    "period_id": pl.Int64,
    "breakdown": pl.String,
    "value": pl.Float64,
    "published": pl.Int64,
    "missing": pl.String,
}
OBS_COLUMNS = "unit_id, variable_id, period_id, breakdown, value, CASE WHEN status = %s THEN 1 ELSE 0 END, missing"
OBS_SELECT = f"SELECT {OBS_COLUMNS} FROM {bulk.quote(OBS_TABLE)} "
# A full recompute on SQLite reads its variables in one pass over the table when they are at
# least this share of its rows (`VariableCache.preload`).
SCAN_SHARE = 0.05
SCAN_CHUNK = 250_000


def _read_observations(
    variable_ids, period_ids: list[int], cache: VariableCache | None = None, units: Iterable[int] | None = None
) -> pl.DataFrame:
    """The observations of these variables in these periods, of every unit or of `units`."""
    if not variable_ids or not period_ids:
        return pl.DataFrame(schema=OBS_SCHEMA)
    if cache is not None:
        found = cache.get(variable_ids).filter(pl.col("period_id").is_in(period_ids))
        return found if units is None else found.filter(pl.col("unit_id").is_in(list(units)))
    # One query per computation, served by the (variable, period) index; of a few hundred
    # units, by the (unit, variable, period) one: a unit's rows lie side by side, where a
    # period's of every unit are spread over the whole table.
    sql = (
        OBS_SELECT + f"WHERE variable_id IN ({', '.join(['%s'] * len(variable_ids))}) "
        f"AND period_id IN ({', '.join(['%s'] * len(period_ids))})"
    )
    params = [Status.PUBLISHED.value, *variable_ids, *period_ids]
    if units is not None:
        units = sorted(set(units))
        if not units:
            return pl.DataFrame(schema=OBS_SCHEMA)
        sql += f" AND unit_id IN ({', '.join(['%s'] * len(units))})"
        params += units
    return frames.read_sql(sql, params, schema=OBS_SCHEMA)


def _scan_observations(variable_ids: list[int]) -> pl.DataFrame:
    """SQLite: the observations of these variables (`OBS_SCHEMA`), read in one pass over
    the table (NOT INDEXED: the planner would otherwise take the variable index, a row at a
    time), a chunk at a time.

    SQLite's cursor makes a Python object of each column of each row, which was most of
    the time: the common rows (no breakdown, no missing code) come as two columns, their
    unit, variable, period and whether published as one integer (`_packed`) and the value,
    and numpy takes the integer apart; the others (and any whose ids would not fit the
    integer) come as they are stored, in a second pass (`frames.read_chunks`). 5 million observations: 12.5 s as
    seven columns, 10.1 s so (issue 18)."""
    q = bulk.quote
    among = f"variable_id IN ({', '.join(['%s'] * len(variable_ids))})"
    packed, fits, decode = _packed()
    common = f"breakdown = '' AND missing = '' AND {fits}"
    published = Status.PUBLISHED.value
    chunks = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {packed}, value FROM {q(OBS_TABLE)} NOT INDEXED WHERE {among} AND {common}",
            [published, *variable_ids],
        )
        while rows := cursor.fetchmany(SCAN_CHUNK):
            keys, values = zip(*rows, strict=True)
            chunks.append(
                pl.DataFrame(decode(np.array(keys, dtype=np.int64)))
                .with_columns(
                    pl.lit("").alias("breakdown"),
                    pl.Series("value", values, pl.Float64),
                    pl.lit("").alias("missing"),
                )
                .select([pl.col(name).cast(dtype) for name, dtype in OBS_SCHEMA.items()])
            )
    chunks += frames.read_chunks(
        f"SELECT {OBS_COLUMNS} FROM {q(OBS_TABLE)} NOT INDEXED WHERE {among} AND NOT ({common})",
        [published, *variable_ids],
        schema=OBS_SCHEMA,
        size=SCAN_CHUNK,
    )
    return pl.concat(chunks) if chunks else pl.DataFrame(schema=OBS_SCHEMA)


def _packed() -> tuple[str, str, Callable[[np.ndarray], dict[str, np.ndarray]]]:
    """An observation's unit, variable, period and whether it is published (its status
    is the one `%s` mark) as one SQL integer below 2**63, the SQL condition under which it
    fits (ids below the tables' largest + 1: an id beyond them, which the write path never
    makes, goes to the unpacked pass), and the numpy function that takes such integers
    apart into those columns."""
    from municipium.places.models import Unit

    spans = [1 + (model.objects.aggregate(top=Max("id"))["top"] or 0) for model in (Unit, Variable, Period)]
    if spans[0] * spans[1] * spans[2] * 2 >= 2**63:
        # Nothing fits: every row takes the unpacked pass (the status mark stays, as the
        # caller passes its value).
        return "(status = %s)", "0", lambda keys: {}
    units, variables, periods = spans
    packed = f"((unit_id * {variables} + variable_id) * {periods} + period_id) * 2 + (status = %s)"
    fits = " AND ".join(
        f"{column} >= 0 AND {column} < {span}"
        for column, span in zip(("unit_id", "variable_id", "period_id"), spans, strict=True)
    )

    def decode(keys: np.ndarray) -> dict[str, np.ndarray]:
        rest, published = np.divmod(keys, 2)
        rest, period = np.divmod(rest, periods)
        unit, variable = np.divmod(rest, variables)
        return {"unit_id": unit, "variable_id": variable, "period_id": period, "published": published}

    return packed, fits, decode


def _prepared(ctx: Context, obs: pl.DataFrame) -> pl.DataFrame:
    """Observations as read (`OBS_SCHEMA`) with what the evaluation reads beside them: each
    one's period `ordinal`, its `variable` code and its missing code's `missing_rank`
    (`MISSING_RANK`, 0 for none). Frames prepared already are returned as they are (a full
    recompute's cache keeps its variables prepared)."""
    if "ordinal" in obs.columns:
        return obs
    return obs.with_columns(
        # None for a period made since the context was read: outside every window it reads.
        pl.col("period_id").replace_strict(ctx.period_ordinal, default=None, return_dtype=pl.Int64).alias("ordinal"),
        pl.col("variable_id").replace_strict(ctx.variable_codes, return_dtype=pl.String).alias("variable"),
        pl.col("missing").replace_strict(MISSING_RANK, default=0, return_dtype=pl.Int64).alias("missing_rank"),
    )


class VariableCache:
    """All periods of recently read variables, for a full recompute.

    A thousand indicators read perhaps a hundred variables, each many times over; reading a
    variable once and keeping it while it is reused took a full recompute's reads from one
    per indicator to about one per variable. Bounded by rows (least recently used first out)
    so that memory stays well under the 4 GiB budget whatever the installation's size.
    """

    def __init__(self, ctx: Context, max_rows: int = 8_000_000):
        self.ctx, self.max_rows = ctx, max_rows
        self.frames: dict[int, pl.DataFrame] = {}

    def preload(self, variable_ids: Collection[int], counts: dict[int, int]) -> bool:
        """On SQLite, read these variables' observations ahead, all in one pass over the
        table (`_scan_observations`), when they fit the cache and are at least `SCAN_SHARE`
        of its rows (`counts`: the rows of each variable); otherwise `get` reads them as
        they are needed. Returns whether it read them.

        SQLite reads a variable's rows through its index, a B-tree descent into the table
        for each row, scattered over the whole file, and makes a Python object of each
        column of each row while holding the interpreter's lock the storing thread needs:
        a country's 5 million observations took 29 s read a variable set at a time against
        10–12 s in one pass, the largest part of the computing thread of a rebuild
        (issue 18). PostgreSQL's server does the reading; each read there is one text
        value (`frames.read_sql`)."""
        wanted = sorted(set(variable_ids) - set(self.frames))
        rows = sum(counts.get(v, 0) for v in wanted)
        if (
            connection.vendor != "sqlite"
            or not rows
            or rows > self.max_rows
            or rows < SCAN_SHARE * sum(counts.values())
        ):
            return False
        self._keep(_scan_observations(wanted), wanted)
        return True

    def _keep(self, found: pl.DataFrame, variable_ids: list[int]) -> None:
        """Keep the observations `found` of these variables, prepared once a variable, not
        once a batch (each is read by some thirty batches); a variable without any gets an
        empty frame."""
        parts = _prepared(self.ctx, found).partition_by("variable_id", as_dict=True)
        for v in variable_ids:
            self.frames[v] = parts.get((v,), _prepared(self.ctx, pl.DataFrame(schema=OBS_SCHEMA)))

    def get(self, variable_ids) -> pl.DataFrame:
        wanted = list(variable_ids)
        missing = [v for v in wanted if v not in self.frames]
        if missing:
            found = frames.read_sql(
                OBS_SELECT + f"WHERE variable_id IN ({', '.join(['%s'] * len(missing))})",
                [Status.PUBLISHED.value, *missing],
                schema=OBS_SCHEMA,
            )
            self._keep(found, missing)
        for v in wanted:  # most recently used last
            self.frames[v] = self.frames.pop(v)
        result = pl.concat([self.frames[v] for v in wanted])
        rows = sum(f.height for f in self.frames.values())
        for v in list(self.frames):
            if rows <= self.max_rows or v in wanted:
                break
            rows -= self.frames.pop(v).height
        return result


def _grid(obs: pl.DataFrame, lo: int, hi: int, columns: dict[Ref, str], variable_ids: Iterable[int]) -> pl.DataFrame:
    """The dense (unit × ordinal lo..hi) grid of the units in `obs`, sorted by unit and
    ordinal, with for each ref of `columns` its value (`r…`, null where it has none) and the
    strongest missing code among the observations it reads (`mr…`, 0 where none), and for
    each variable whether the unit reported it (a value or a missing code) in the period
    (`p<id>`).

    A plain ref reads the total (breakdown ""), a category ref its category; a sum reads
    its listed categories, or every category, and is the sum of their values, null if none
    has one. Values are scattered into arrays by grid position instead of pivoted: an
    observation is unique per (unit, variable, period, breakdown), so a plain or category
    ref is a lookup, and only sums need grouping."""
    units, slot = arrays.places(obs.get_column("unit_id").to_numpy())
    width = hi - lo + 1
    size = len(units) * width
    obs = obs.with_columns(pl.Series("cell", slot * width + (obs.get_column("ordinal").to_numpy() - lo)))
    by_variable = _by_variable(obs)
    nothing = obs.clear()
    data: dict[str, np.ndarray | pl.Series] = {
        "unit_id": np.repeat(units, width),
        "ordinal": np.tile(np.arange(lo, hi + 1, dtype=np.int64), len(units)),
    }

    def scatter(rows: pl.DataFrame, name: str) -> None:
        values = np.full(size, np.nan)
        reasons = np.zeros(size, dtype=np.int64)
        cells = rows["cell"].to_numpy()
        values[cells] = rows["value"].fill_null(np.nan).to_numpy()
        reasons[cells] = rows["missing_rank"].to_numpy()
        data[name] = pl.Series(name, values, nan_to_null=True)
        data["m" + name] = reasons

    for ref, name in columns.items():
        rows = by_variable.get((ref.name,), nothing)
        if ref.summed is None:
            scatter(_where(rows, pl.col("breakdown") == (ref.category or "")), name)
        else:
            wanted = pl.col("breakdown").is_in(list(ref.summed)) if ref.summed else pl.col("breakdown") != ""
            scatter(
                rows.filter(wanted)
                .group_by("cell")
                .agg(
                    pl.when(pl.col("value").count() > 0).then(pl.col("value").sum()).alias("value"),
                    pl.col("missing_rank").max(),
                ),
                name,
            )
    codes = {part.get_column("variable_id")[0]: code for (code,), part in by_variable.items() if part.height}
    for variable_id in variable_ids:
        reported = np.zeros(size, dtype=bool)
        code = codes.get(variable_id)
        if code is not None:
            reported[by_variable[(code,)]["cell"].to_numpy()] = True
        data[f"p{variable_id}"] = reported
    return pl.DataFrame(data)


def _by_variable(obs: pl.DataFrame) -> dict[tuple[str], pl.DataFrame]:
    """`obs`'s rows by variable code, as `partition_by(..., as_dict=True)` gives them. A
    full recompute's observations come variable by variable (the cache's frames one after
    another, and filters keep the order): then each part is a slice of the frame, found
    where the variable changes, not a copy (partitioning was a quarter of the grid's time,
    issue 18). Otherwise (a save's two reads) the frame is partitioned."""
    ids = obs.get_column("variable_id").to_numpy()
    starts = np.flatnonzero(np.r_[True, ids[1:] != ids[:-1]])  # [0] of no rows: partitioned below
    if len(starts) != len(set(ids[starts].tolist())):
        return obs.partition_by("variable", as_dict=True)
    ends = np.r_[starts[1:], len(ids)]
    codes = obs.get_column("variable").gather(starts).to_list()
    return {(code,): obs.slice(a, b - a) for code, a, b in zip(codes, starts.tolist(), ends.tolist(), strict=True)}


def _evaluate(
    specs: list[Spec],
    obs: pl.DataFrame,
    lo: int,
    hi: int,
    columns: dict[Ref, str],
    passes: list[list[pl.Expr]],
    periods: pl.DataFrame,
    trends_at: dict[int, Collection[int]] | None = None,
) -> dict[int, pl.DataFrame]:
    """Values of each spec (`VALUE_SCHEMA`) on the dense (unit × ordinal lo..hi) grid of
    the units in `obs`, in the `periods` asked for (ordinal, period_id; the others are the
    lags and trends they read), only the rows where the unit reported one of the spec's
    variables. A spec's trends only in its ordinals of `trends_at`, where given (null elsewhere).

    The specs are computed side by side on one wide frame: one column per input (ref) they
    read, shared by all that read it, and one per output column of each spec, all in a few
    Polars passes. A full recompute hands it a batch of indicators; a save's refresh one.
    The result of a spec does not depend on the others in its batch: the grid's extra
    units have none of its inputs, so they are not present and are dropped."""
    if obs.is_empty():
        return {spec.id: pl.DataFrame(schema=VALUE_SCHEMA) for spec in specs}
    grid = _grid(obs, lo, hi, columns, sorted({v for spec in specs for v in spec.variable_ids}))
    for exprs in passes:
        grid = grid.with_columns(exprs)
    # The trends in numpy, on the grid sorted by unit and ordinal (`stats.trend_array`): a
    # value's trend, like its change, belongs to it, so it is NaN (null) where it has none.
    units, ordinals = grid["unit_id"].to_numpy(), grid["ordinal"].to_numpy()

    def rows(spec: Spec):
        return None if trends_at is None else np.flatnonzero(np.isin(ordinals, list(trends_at[spec.id])))

    grid = grid.with_columns(
        pl.Series(
            f"o{spec.id}_trend",
            stats.trend_array(grid[f"o{spec.id}_value"].to_numpy(), units, at=rows(spec)),
            nan_to_null=True,
        )
        for spec in specs
    )
    # Each grid row's period where it is one asked for, else -1: one column for every spec,
    # where a join of each spec's rows with the periods was a tenth of the computing.
    width = hi - lo + 1
    period_of = np.full(width, -1, dtype=np.int64)
    inside = periods.filter(pl.col("ordinal").is_between(lo, hi))
    period_of[inside.get_column("ordinal").to_numpy() - lo] = inside.get_column("period_id").to_numpy()
    grid = grid.with_columns(pl.Series("period_id", np.tile(period_of, grid.height // width)))
    asked = pl.col("period_id") >= 0
    out = {}
    for spec in specs:
        o = f"o{spec.id}_"
        # Selected before filtered: the filter then copies ten columns, not the grid.
        out[spec.id] = (
            grid.select(
                "unit_id",
                "period_id",
                "ordinal",
                pl.col(o + "present"),
                *(pl.col(o + c).alias(c) for c in list(VALUE_SCHEMA)[3:]),
            )
            .filter(pl.col(o + "present") & asked)
            .drop(o + "present")
        )
    return out


def _passes(specs: list[Spec], columns: dict[Ref, str]) -> list[list[pl.Expr]]:
    """The expressions `_evaluate` adds to the grid, in three passes (each reads the
    columns of the one before). They depend only on the specs and the grid's column names,
    so a batch builds them once for both bases: building them is a good part of a save's
    recompute (issue 18)."""
    column = columns.__getitem__
    first, second, third = [], [], []
    for spec in specs:
        o = f"o{spec.id}_"
        # A value only where the unit reported one of the formula's variables (no variables:
        # nowhere), see the module doc.
        present = (
            pl.any_horizontal([pl.col(f"p{v}") for v in spec.variable_ids]) if spec.variable_ids else pl.lit(False)
        )
        first.append(present.alias(o + "present"))
    for spec in specs:
        o = f"o{spec.id}_"
        present = pl.col(o + "present")

        def only_present(expr: pl.Expr, present=present) -> pl.Expr:
            return pl.when(present).then(expr)

        ratio = spec.formula.ratio()
        second += [
            only_present(spec.formula.to_polars(column, over="unit_id")).alias(o + "value"),
            only_present(ratio[0].to_polars(column, over="unit_id")).alias(o + "num")
            if ratio
            else pl.lit(None, dtype=pl.Float64).alias(o + "num"),
            only_present(ratio[1].to_polars(column, over="unit_id")).alias(o + "den")
            if ratio
            else pl.lit(None, dtype=pl.Float64).alias(o + "den"),
        ]
    for spec in specs:
        o = f"o{spec.id}_"
        value = pl.col(o + "value")
        has_value = value.is_not_null()
        change, change_pct = stats.change_exprs(o + "value", "unit_id")
        names = [column(ref) for ref in spec.formula.refs]
        # A missing value says why (DESIGN principle 2): the strongest reason among its
        # inputs' missing codes (MISSING_ORDER); else not collected when an input was not
        # reported; else (every input there, the formula gives nothing: a division by
        # zero) not applicable.
        strongest = pl.max_horizontal([pl.col(f"m{n}") for n in names]) if names else pl.lit(None, dtype=pl.Int64)
        absent = pl.any_horizontal([pl.col(n).is_null() for n in names]) if names else pl.lit(True)
        reason = (
            pl.when(strongest > 0)
            .then(strongest)
            .when(absent)
            .then(MISSING_RANK[Missing.NOT_COLLECTED])
            .otherwise(MISSING_RANK[Missing.NOT_APPLICABLE])
        )
        third += [
            # The parts belong to a value; without one they would pool into group figures.
            pl.when(has_value).then(pl.col(o + "num")).alias(o + "numerator"),
            pl.when(has_value).then(pl.col(o + "den")).alias(o + "denominator"),
            # A change or trend belongs to a value; a missing one has neither.
            pl.when(has_value).then(change).alias(o + "change"),
            pl.when(has_value).then(change_pct).alias(o + "change_pct"),
            pl.when(~has_value)
            .then(reason.cast(pl.Int64).replace_strict({r: c for c, r in MISSING_RANK.items()}, return_dtype=pl.String))
            .alias(o + "missing"),
        ]
    return [first, second, third]


# Member rows of one grouping in `_group` (members x indicators): its memory, about 60
# bytes a row (three figures gathered, and the value sorted within its groups).
GROUP_ROWS = 1_000_000


@dataclass(frozen=True)
class _Layout:
    """`members` laid out for grouping: each (group, ordinal) pair's members side by side
    (in `members`' order within it, so that sums add up the same way every time), the pair
    of each run (`group_ids`, `ordinals`, `starts`), and each member's cell in a dense
    (unit × ordinal lo..) array of `units` (`cells`)."""

    group_ids: np.ndarray
    ordinals: np.ndarray
    starts: np.ndarray
    cells: np.ndarray
    units: arrays.Index
    lo: int
    width: int

    @classmethod
    def of(cls, members: pl.DataFrame) -> _Layout:
        ordinals = members.get_column("ordinal").to_numpy()
        group_ids = members.get_column("group_id").to_numpy()
        order = np.lexsort((ordinals, group_ids))  # stable: members' order within a pair
        units, ordinals, group_ids = members.get_column("unit_id").to_numpy()[order], ordinals[order], group_ids[order]
        starts = np.flatnonzero(np.r_[True, (group_ids[1:] != group_ids[:-1]) | (ordinals[1:] != ordinals[:-1])])
        present, place = arrays.places(units)
        lo = int(ordinals.min()) if len(ordinals) else 0
        width = int(ordinals.max()) - lo + 1 if len(ordinals) else 1
        starts = starts if len(units) else starts[:0]
        return cls(
            group_ids[starts],
            ordinals[starts],
            starts,
            place * width + (ordinals - lo),
            arrays.Index(present),
            lo,
            width,
        )

    def gather(self, frame: pl.DataFrame, names: Iterable[str]) -> dict[str, np.ndarray]:
        """Each member's figures (`names`) from an indicator's values (unit_id, ordinal,
        the figures), NaN where it has none: scattered into the dense array by cell and
        gathered back by the members' cells, where joining on three keys was half of the
        grouping's time (issue 18). A formula's figures are never NaN, so NaN is an absence."""
        at = self.units(frame.get_column("unit_id").to_numpy())
        ordinal = frame.get_column("ordinal").to_numpy() - self.lo
        inside = (at >= 0) & (ordinal >= 0) & (ordinal < self.width)
        where = (at * self.width + ordinal)[inside]
        out = {}
        for name in names:
            dense = np.full(len(self.units.distinct) * self.width, np.nan)
            dense[where] = frame.get_column(name).cast(pl.Float64).fill_null(np.nan).to_numpy()[inside]
            out[name] = dense[self.cells]
        return out


def _group(values: dict[int, pl.DataFrame], members: pl.DataFrame, periods: pl.DataFrame) -> dict[int, pl.DataFrame]:
    """Group statistics of each indicator's `values` for the (group, ordinal) pairs of
    `members`: the members' figures gathered into one matrix a figure, an indicator a row
    (`_Layout`), and every statistic of every group from it at once (`stats.summary_arrays`:
    one sort of each group; Polars' grouping sorted it again for each quantile, a third of a
    full recompute's computing, issue 18); as many indicators together as keep the matrices
    within GROUP_ROWS (a full recompute's members are 100,000 rows at a country's scale).
    `periods` (ordinal, period_id) names the period of each of `members`' ordinals."""
    layout = _Layout.of(members)
    ids = list(values)
    step = max(1, GROUP_ROWS // max(1, members.height))
    period_of = dict(zip(*periods.select("ordinal", "period_id").get_columns(), strict=True))
    keys = {
        "group_id": pl.Series(layout.group_ids, dtype=pl.Int64),
        "period_id": pl.Series([period_of[o] for o in layout.ordinals.tolist()], dtype=pl.Int64),
        "members": pl.Series(np.diff(np.r_[layout.starts, len(layout.cells)]), dtype=pl.Int64),
    }
    figures = ("value", "numerator", "denominator")
    out: dict[int, pl.DataFrame] = {}
    for start in range(0, len(ids), step):
        chunk = ids[start : start + step]
        gathered = [layout.gather(values[i], figures) for i in chunk]
        summary = stats.summary_arrays(*(np.stack([g[name] for g in gathered]) for name in figures), layout.starts)
        for row, indicator_id in enumerate(chunk):
            out[indicator_id] = pl.DataFrame(
                {
                    **keys,
                    "n": pl.Series(summary["n"][row], dtype=pl.Int64),
                    **{
                        name: pl.Series(summary[name][row], dtype=pl.Float64, nan_to_null=True)
                        for name in stats.SUMMARY_COLUMNS[1:]
                    },
                }
            )
    return out


def _unpublished(spec: Spec, ordinals: Iterable[int], raw: set[int]) -> set[int]:
    """The ordinals whose window reads one of the `raw` ordinals (those with unpublished
    observations of the spec's variables): their slices get published rows (module doc)."""
    # Compared against the periods read, never ranged over the window: the window comes
    # from a formula someone typed (lib/formulas bounds it too).
    return {p for p in ordinals if any(0 <= p - r <= spec.window for r in raw)}


def _compute(ctx: Context, spec: Spec, ordinals: list[int] | None) -> Computed:
    return _compute_batch(ctx, [spec], ordinals)[spec.id]


@dataclass(frozen=True)
class Scope:
    """The part of some slices that a change of a few units' observations can move: those
    units' own values, and the statistics of the groups they are members of in the slices'
    periods, which read every member's value. Computing these reads the observations of the
    units and the groups' members only, not of every unit (`recompute_changed`). That holds
    for the published rows too: a unit's published row differs from its "all" row only
    through its own observations, a group's only through its members' (module doc)."""

    units: tuple[int, ...]  # whose values are stored again
    groups: tuple[int, ...]  # whose statistics are stored again
    read: tuple[int, ...]  # whose observations are read: the units and every member of the groups
    # The ordinals whose group statistics the change can move: a statistic reads its members'
    # values, and a value reads its period and the formula's lags, not the K - 1 periods its
    # trend reads, so a change in period p moves statistics of p ... p + max lag only. The
    # other members' observations are read for these and their lags only (issue 18: a save
    # read 121,000 observations of 600 members over 11 periods, instead of over 2 or 3).
    statistics: tuple[int, ...] = ()
    lag: int = 0  # the specs' longest lag (`Spec.lag`): how far back those values read


# A scope of more units than this is not worth it: reading them one by one through the
# (unit, variable, period) index costs about what reading every unit costs.
SCOPE_MAX_UNITS = 2000


def _scope(
    ctx: Context, kind: str, ordinals: list[int], units: Iterable[int], changed: Iterable[int], lag: int
) -> Scope | None:
    """The scope of a change of these `units`' observations in the `changed` ordinals, for
    specs whose formulas reach `lag` periods back, refreshed in `ordinals`."""
    units = tuple(sorted(set(units)))
    groups = tuple(ctx.groups_of(kind, ordinals, units))
    members = ctx.members(kind, ordinals, groups) if groups else pl.DataFrame(schema={"unit_id": pl.Int64})
    read = tuple(sorted(set(units) | set(members["unit_id"].to_list())))
    changed = set(changed)
    statistics = tuple(o for o in ordinals if any(0 <= o - c <= lag for c in changed))
    return Scope(units, groups, read, statistics, lag) if len(read) <= SCOPE_MAX_UNITS else None


def _compute_batch(
    ctx: Context,
    specs: list[Spec],
    ordinals: list[int] | None,
    scope: Scope | None = None,
    *,
    published_everywhere: bool = False,
) -> dict[int, Computed]:
    """Each spec (all of one period kind) over the same periods (None = all): one read of
    their variables and one wide evaluation (`_evaluate`) per basis shared by all of them.

    The published basis is evaluated only for the periods some spec of the batch has
    unpublished inputs for (`Computed.unpublished`), unless `published_everywhere`: those are
    the only published rows that are stored (`_stored_rows`), and elsewhere the published
    figures are the "all" ones. In a real installation that is the latest year or two, so a
    full recompute evaluates the published basis over a window of a few periods instead of
    every period again (issue 18: it was a third of the computing). `compute_indicator`
    asks for every period, since its caller wants the published figures themselves.

    With a `scope`, the values of its `read` units and the statistics of its groups only
    (the other units and groups are left out, not given other figures); `unpublished` then
    says which periods' windows hold unpublished observations of those units.

    The "all" values' trends are computed only in each spec's periods with unpublished
    inputs (they are not stored: a store compares them there with the published ones),
    unless `published_everywhere`."""
    kinds = {spec.kind for spec in specs}
    assert len(kinds) <= 1, "one period kind a batch"
    results: dict[int, Computed] = {spec.id: Computed({}, {}, set()) for spec in specs}
    if not specs:
        return results
    periods = ctx.periods(specs[0].kind)
    if ordinals is None:
        ordinals = periods["ordinal"].to_list()
    ordinals = sorted(set(ordinals))
    live = [spec for spec in specs if spec.formula is not None] if ordinals else []
    live_ids = {spec.id for spec in live}
    for spec in specs:
        if spec.id not in live_ids:
            for basis in BASES:
                results[spec.id].values[basis] = pl.DataFrame(schema=VALUE_SCHEMA)
                results[spec.id].statistics[basis] = pl.DataFrame(schema=STAT_SCHEMA)
    if not live:
        return results
    lo, hi = ordinals[0] - max(spec.window for spec in live), ordinals[-1]
    window = periods.filter(pl.col("ordinal").is_between(lo, hi))
    variable_ids = sorted({v for spec in live for v in spec.variable_ids})
    if scope is None:
        obs = _read_observations(variable_ids, window["period_id"].to_list(), ctx.cache)
    else:
        # The scope's units over the whole window; the other members of its groups over the
        # periods of the statistics it moves and their lags (`Scope.statistics`).
        obs = _read_observations(variable_ids, window["period_id"].to_list(), ctx.cache, scope.units)
        others = sorted(set(scope.read) - set(scope.units))
        if others and scope.statistics:
            lags = window.filter(pl.col("ordinal").is_between(scope.statistics[0] - scope.lag, scope.statistics[-1]))
            obs = pl.concat([obs, _read_observations(variable_ids, lags["period_id"].to_list(), ctx.cache, others)])
    obs = _prepared(ctx, obs)
    # A period's published row is needed if anything its window reads is not published.
    raw_by_variable = {
        v: set(found)
        for v, found in obs.filter(pl.col("published") == 0)
        .group_by("variable_id")
        .agg(pl.col("ordinal").unique())
        .iter_rows()
    }
    out = pl.DataFrame({"ordinal": ordinals}, schema={"ordinal": pl.Int64}).join(
        periods.select("ordinal", "period_id"), on="ordinal"
    )
    members = (
        ctx.members(specs[0].kind, ordinals if scope is None else scope.statistics, scope and scope.groups)
        .join(out, on="ordinal")
        .drop("period_id")
    )
    columns = _column_name({ref for spec in live for ref in spec.formula.refs})
    passes = _passes(live, columns)
    for spec in live:
        raw = set().union(*(raw_by_variable.get(v, set()) for v in spec.variable_ids))
        results[spec.id].unpublished = _unpublished(spec, ordinals, raw)
    for basis in BASES:
        if basis == Basis.ALL:
            source, wanted, first, basis_out, basis_members = obs, ordinals, lo, out, members
        else:
            if published_everywhere:
                wanted = ordinals
            else:
                wanted = sorted(set().union(*(results[spec.id].unpublished for spec in live)))
            if not wanted:
                for spec in live:
                    results[spec.id].values[basis] = pl.DataFrame(schema=VALUE_SCHEMA)
                    results[spec.id].statistics[basis] = pl.DataFrame(schema=STAT_SCHEMA)
                continue
            # The wanted periods and the window before them that their values read.
            first = wanted[0] - max(spec.window for spec in live)
            source = obs.filter((pl.col("published") == 1) & (pl.col("ordinal") >= first))
            basis_out = out.filter(pl.col("ordinal").is_in(wanted))
            basis_members = members.filter(pl.col("ordinal").is_in(wanted))
        # A value's trend is not stored (readers derive it, `series.derive`): a store needs
        # the "all" ones only where a published row may be stored, to compare them.
        trends_at = None
        if basis == Basis.ALL and not published_everywhere:
            trends_at = {spec.id: results[spec.id].unpublished for spec in live}
        values = _evaluate(live, source, first, hi, columns, passes, basis_out, trends_at)
        statistics = _group(values, basis_members, basis_out)
        for spec in live:
            results[spec.id].values[basis] = values[spec.id]
            results[spec.id].statistics[basis] = statistics[spec.id]
    return results


def compute_indicator(
    indicator: Indicator | int,
    periods: Iterable | None = None,
    *,
    basis: str = Basis.ALL,
    context: Context | None = None,
) -> pl.DataFrame:
    """The indicator for the given periods (Period objects or ids; None = every period of
    its kind), one row per unit that reported any of its variables in the period.

    Columns unit_id, period_id, ordinal, value, numerator, denominator (for a formula that
    is a division at the top), change, change_pct, trend; null where missing. The lag and
    earlier periods the values need are read as inputs but not returned. Raises
    FormulaError if the formula (or one it references) cannot be computed.
    """
    ctx = context or Context()
    spec = ctx.spec(indicator if isinstance(indicator, int) else indicator.pk)
    if spec.error:
        ctx.expanded(spec.code)  # raises the FormulaError
    computed = _compute_batch(ctx, [spec], _ordinals(ctx, spec, periods), published_everywhere=True)[spec.id]
    return computed.values[basis].sort("period_id", "unit_id")


def _ordinals(ctx: Context, spec: Spec, periods: Iterable | None) -> list[int] | None:
    if periods is None:
        return None
    ids = [getattr(p, "pk", p) for p in periods]
    return [ctx.period_ordinal[pk] for pk in ids if ctx.period_kind.get(pk) == spec.kind]


# -- what is stored ------------------------------------------------------------------------


def _stored_rows(ctx: Context, specs: list[Spec], computed: dict[int, Computed]) -> dict[str, pl.DataFrame]:
    """The rows that should be stored for these indicators, per table, with `indicator_id`
    and `basis` columns (see module doc): every "all" row, and a published row only where
    the published data give another row than the "all" one (or none: a hidden row) in a
    slice with unpublished inputs.

    One pass of each frame operation over the batch's rows together, keyed by indicator:
    an indicator at a time, the dozen small Polars passes each took were a tenth of a
    rebuild's storing, most of it what a pass costs whatever its size (issue 18)."""

    ids = [spec.id for spec in specs]

    def together(table: str, basis: str) -> pl.DataFrame:
        """Every indicator's computed `values` or `statistics` of `basis`, keyed by indicator."""
        return pl.concat(
            [
                getattr(computed[i], table)[basis].with_columns(pl.lit(i, dtype=pl.Int64).alias("indicator_id"))
                for i in ids
            ],
            how="vertical_relaxed",
        )

    # The (indicator, ordinal) slices with unpublished inputs: the only ones where a
    # published row can differ from the "all" one.
    unpublished = pl.DataFrame(
        [(i, ordinal) for i in ids for ordinal in sorted(computed[i].unpublished)],
        schema={"indicator_id": pl.Int64, "ordinal": pl.Int64},
        orient="row",
    )

    def flagged(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.join(unpublished, on=["indicator_id", "ordinal"], how="semi")

    def differing(all_rows: pl.DataFrame, pub_rows: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
        """The published rows (`pub_rows`, of the flagged slices; one for each key of either
        frame, nulls where the published data give none) that are not the "all" row
        (`all_rows`, of the same slices) of their key, compared bit for bit: where they are
        the same, a reader takes the "all" row."""
        compared = [c for c in pub_rows.columns if c not in keys]
        old = all_rows.select(*keys, *(pl.col(c).alias(f"{c}_all") for c in compared), pl.lit(True).alias("_all"))
        joined = pub_rows.join(old, on=keys, how="full", coalesce=True)
        differs = pl.col("_all").is_null() | pl.any_horizontal(
            [pl.col(c).ne_missing(pl.col(f"{c}_all")) for c in compared]
        )
        return joined.filter(differs).select(pub_rows.columns)

    # A value, or a missing value with its reason. A published row that the published
    # inputs do not give (the value rests on unpublished ones) has neither: readers hide it,
    # so that outsiders get no hint that such a value exists.
    kept = pl.col("value").is_not_null() | pl.col("missing").is_not_null()
    # The change and the trend are not stored (`series.derive` gives them on reading), but a
    # published row is stored where they differ too: the public then reads the published
    # values they come from. Where no published row is, the public reads the "all" row and
    # its change and trend, derived from the "all" values: they must be the published ones.
    values_all = _where(together("values", Basis.ALL), kept).with_columns(pl.col("missing").fill_null(""))
    stats_all = _where(together("statistics", Basis.ALL), pl.col("n") > 0)
    if unpublished.is_empty():
        # Every input of the batch published: no published row differs from its "all" one.
        values_all = values_all.drop("ordinal", *series.DERIVED)
        return {
            IV_TABLE: _with_basis(values_all, values_all.clear()),
            GS_TABLE: _with_basis(stats_all, stats_all.clear()),
        }
    values_pub = (
        differing(
            flagged(values_all).drop("ordinal"),
            flagged(together("values", Basis.PUBLISHED).filter(kept))
            .drop("ordinal")
            .with_columns(pl.col("missing").fill_null("")),
            ["indicator_id", "unit_id", "period_id"],
        )
        .with_columns(pl.col("missing").fill_null(""))
        .drop(*series.DERIVED)
    )
    values_all = values_all.drop("ordinal", *series.DERIVED)

    period_ordinal = ctx.period_frame.select("period_id", "ordinal")  # period ids are unique across kinds

    def flagged_by_period(frame: pl.DataFrame) -> pl.DataFrame:
        return flagged(frame.join(period_ordinal, on="period_id")).drop("ordinal")

    # A group's published statistics where either basis has a member with a value (n = 0
    # where only the "all" one has: the public sees that none is published).
    stats_all_flagged = flagged_by_period(stats_all)
    stats_pub = flagged_by_period(together("statistics", Basis.PUBLISHED))
    keys = ["indicator_id", "group_id", "period_id"]
    keep = stats_all_flagged.select(keys).join(
        stats_pub.filter(pl.col("n") > 0).select(keys), on=keys, how="full", coalesce=True
    )
    stats_pub = differing(stats_all_flagged, keep.join(stats_pub, on=keys, how="left"), keys)

    return {
        IV_TABLE: _with_basis(values_all, values_pub),
        GS_TABLE: _with_basis(stats_all, stats_pub),
    }


def _where(frame: pl.DataFrame, condition: pl.Expr) -> pl.DataFrame:
    """`frame.filter(condition)`, but the frame itself where every row holds (most of a
    batch's values): a filter copies every column, a tenth of a rebuild's storing."""
    mask = frame.select(condition.fill_null(False)).to_series()
    return frame if mask.all() else frame.filter(mask)


def _with_basis(all_rows: pl.DataFrame, pub_rows: pl.DataFrame) -> pl.DataFrame:
    """Both bases' rows in one frame, with their `basis`."""
    return pl.concat(
        [
            all_rows.with_columns(pl.lit(Basis.ALL.value).alias("basis")),
            pub_rows.select(all_rows.columns).with_columns(pl.lit(Basis.PUBLISHED.value).alias("basis")),
        ]
    )


TABLES = {
    # table: (key columns besides the indicator, compared columns); their types: `_types`
    # The values' stored figures: the change and the trend are derived on reading (`series.derive`).
    IV_TABLE: (["unit_id", "period_id", "basis"], [*series.STORED_FIGURES, "missing"]),
    GS_TABLE: (["group_id", "period_id", "basis"], STAT_COLUMNS),
}
INTEGER_COLUMNS = {"unit_id", "period_id", "group_id", "members", "n", "id"}
STRING_COLUMNS = {"basis", "missing"}


def _types(columns: Iterable[str]) -> dict[str, pl.DataType]:
    """The frame types of stored columns (ids and counts, texts, else figures)."""
    return {c: pl.Int64 if c in INTEGER_COLUMNS else pl.String if c in STRING_COLUMNS else pl.Float64 for c in columns}


def _differs(a: pl.Expr, b: pl.Expr, text: bool = False) -> pl.Expr:
    if text:
        return a.ne_missing(b)
    # Relative tolerance: sums in another order may differ in the last bit; rewriting a
    # row for that would be churn, not news.
    close = (a - b).abs() <= 1e-12 * pl.max_horizontal(a.abs(), b.abs())
    return (a.is_null() != b.is_null()) | (a.is_not_null() & b.is_not_null() & ~close)


def _sync(
    table: str,
    indicator_ids: list[int],
    wanted: pl.DataFrame,
    period_ids: list[int] | None,
    now,
    result: RefreshResult,
    scope: Scope | None = None,
) -> None:
    """Make the stored rows (group statistics; the values are series, `_sync_values`) of
    these indicators (their locks held by the caller) in these periods (None = all) what
    `wanted` (their rows, with `indicator_id`) says: compare, then write what changed and
    delete what is no longer wanted. Several indicators are one read and one write (a
    save's refresh of 20 indicators: 40 round trips fewer, issue 18)."""
    keys, compared = TABLES[table]
    schema = {"id": pl.Int64, "indicator_id": pl.Int64} | _types([*keys, *compared])
    if not indicator_ids:
        return
    sql = (
        f"SELECT {', '.join(bulk.quote(c) for c in schema)} FROM {bulk.quote(table)} "
        f"WHERE indicator_id IN ({', '.join(['%s'] * len(indicator_ids))}) AND breakdown = ''"
    )
    params: list = list(indicator_ids)
    if period_ids is not None:
        if not period_ids:
            return
        sql += f" AND period_id IN ({', '.join(['%s'] * len(period_ids))})"
        params += period_ids
    wanted = wanted.select("indicator_id", *keys, *compared)
    if scope is not None:
        # Only the rows the scope can move are compared, written or deleted.
        owner, ids = keys[0], list(scope.units if keys[0] == "unit_id" else scope.groups)
        if not ids:
            return
        wanted = wanted.filter(pl.col(owner).is_in(ids))
        sql += f" AND {owner} IN ({', '.join(['%s'] * len(ids))})"
        params += ids
    stored = frames.read_sql(sql, params, schema=schema)
    key = ["indicator_id", *keys]
    wanted = wanted.select([pl.col(c).cast(schema[c]) for c in [*key, *compared]]).with_columns(
        pl.lit(True).alias("_new")
    )
    joined = wanted.join(stored, on=key, how="full", coalesce=True, suffix="_old")
    differs = pl.any_horizontal([_differs(pl.col(c), pl.col(f"{c}_old"), c in STRING_COLUMNS) for c in compared])
    # Written slice by slice (period, basis, then unit or group): a rebuild lays each slice's
    # rows side by side in the table, so that a page reading one period of a group's members
    # for a hundred indicators reads a few thousand pages of it, not one page per row
    # (measured on PostgreSQL: the unit profile's ranks 1.5 s -> 0.1 s, issue 18).
    changed = (
        joined.filter(pl.col("_new").fill_null(False) & (pl.col("id").is_null() | differs))
        .select(key + compared)
        .sort("indicator_id", keys[1], keys[2], keys[0])
    )
    gone_rows = joined.filter(pl.col("_new").is_null())
    gone = gone_rows["id"].to_list()
    if gone:
        bulk.delete_where_in(table, "id", gone)
    constants = {"breakdown": "", "computed_at": connection.ops.adapt_datetimefield_value(now)}
    if stored.is_empty():
        # Nothing stored for these periods (a rebuild, a new indicator): no key can meet a
        # stored one, since the caller holds the indicators' locks, so the rows are
        # appended without the upsert's conflict handling (issue 18: a rebuild's writes).
        frames.insert(table, changed, constants=constants)
    elif not changed.is_empty():
        frames.upsert(
            table,
            changed,
            conflict=["indicator_id", *keys[:-1], "breakdown", "basis"],
            update=[*compared, "computed_at"],
            constants=constants,
        )
    result.written[table] = result.written.get(table, 0) + changed.height
    result.deleted[table] = result.deleted.get(table, 0) + len(gone)


SERIES_READ = ("id", "indicator_id", "unit_id", "basis", "first", "missing", *series.STORED_FIGURES)


def _stored_values(ctx: Context, indicator_ids: list[int], unit_ids: list[int] | None) -> pl.DataFrame:
    """Every stored value of these indicators (of these units), as rows: the series'
    elements (`series.decode`) with their period ids and `series_id`."""
    q = bulk.quote
    sql = (
        f"SELECT {', '.join(q(c) for c in SERIES_READ)} FROM {q(IV_TABLE)} "
        f"WHERE indicator_id IN ({', '.join(['%s'] * len(indicator_ids))})"
    )
    params: list = list(indicator_ids)
    if unit_ids is not None:
        sql += f" AND unit_id IN ({', '.join(['%s'] * len(unit_ids))})"
        params += unit_ids
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    return _with_period_ids(ctx, series.decode(found, series.STORED_FIGURES, with_id=True))


def _with_period_ids(ctx: Context, rows: pl.DataFrame) -> pl.DataFrame:
    """Decoded rows (indicator_id, ordinal, ...) with their period ids (`series.with_period_ids`)."""
    kinds = pl.DataFrame(
        [(i, ctx.indicators[i]["period_kind"]) for i in rows.get_column("indicator_id").unique().to_list()],
        schema={"indicator_id": pl.Int64, "kind": pl.String},
        orient="row",
    )
    return series.with_period_ids(rows.join(kinds, on="indicator_id", how="left"), ctx.period_frame)


def _encoded(ctx: Context, rows: pl.DataFrame) -> series.Encoded:
    """The series of `rows` (indicator_id, unit_id, period_id, basis, the figures, missing:
    every element of each series), as `series.encode` lays them out."""
    # Each row's ordinal by lookup, not a join with the periods (a join was a quarter of the
    # encoding); a period deleted since has none, and its rows go.
    ordinal = pl.col("period_id").replace_strict(ctx.period_ordinal, default=None, return_dtype=pl.Int64)
    return series.encode(
        rows.with_columns(ordinal.alias("ordinal"))
        .filter(pl.col("ordinal").is_not_null())
        .select(list(series.ROW_SCHEMA))
    )


def _write_series(ctx: Context, rows: pl.DataFrame, now, encoded: series.Encoded | None = None) -> int:
    """Append the series of `rows` (`_encoded`; or `encoded`, made from them already) to
    the store; returns how many. PostgreSQL takes them by a binary COPY built by numpy
    (`Encoded.copy_binary`: no text, no Python step a series), SQLite by an INSERT ...
    SELECT a run of like series (`Encoded.sqlite_inserts`)."""
    if encoded is None:
        encoded = _encoded(ctx, rows)
    if not len(encoded):
        return 0
    marks = ", ".join(bulk.quote(c) for c in series.COLUMNS)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {bulk.quote(IV_TABLE)} ({marks}) FROM STDIN (FORMAT BINARY)") as copy:
                copy.write(encoded.copy_binary(now))
    else:
        at = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            for sql, params in encoded.sqlite_inserts(bulk.quote(IV_TABLE), at):
                cursor.execute(sql, params)
    return len(encoded)


def _sync_values(
    ctx: Context,
    indicator_ids: list[int],
    wanted: pl.DataFrame,
    period_ids: list[int] | None,
    now,
    result: RefreshResult,
    scope: Scope | None = None,
    prepared: _Prepared | None = None,
) -> None:
    """`_sync` for the indicator values, which are stored as series (`ValueSeries`): the
    stored series of these indicators (of the scope's units) are read and decoded into
    rows, compared with what is wanted in these periods (None = all) as rows are, and each
    series with a changed, new or gone value is written anew (its elements outside these
    periods kept); the ranks' slices of the periods where a value changed with them.
    `result` counts values, not series. `prepared`: what a full recompute's batch made of
    `wanted` (every unit and period) before its transaction, for when nothing is stored."""
    keys, compared = TABLES[IV_TABLE]
    key = ["indicator_id", *keys]
    if not indicator_ids or (period_ids is not None and not period_ids):
        return
    wanted = _as_compared(wanted)
    units = None
    if scope is not None:
        # Only the values the scope can move are compared, written or deleted.
        units = sorted(scope.units)
        if not units:
            return
        wanted = wanted.filter(pl.col("unit_id").is_in(units))
    if period_ids is not None:
        wanted = wanted.filter(pl.col("period_id").is_in(period_ids))
    everything = _stored_values(ctx, indicator_ids, units)
    if everything.is_empty():
        # Nothing stored (a rebuild, a new indicator): every wanted value is new, and no key
        # can meet a stored one, since the caller holds the indicators' locks.
        ready = prepared if prepared is not None and prepared.encoded is not None else None
        ready = ready if scope is None and period_ids is None else None
        _write_slices(
            wanted.select("indicator_id", "period_id", "unit_id", "basis", "value"),
            None,  # every pair of them
            units,
            now,
            found=None if ready is None else ready.runs,
        )
        _write_series(ctx, wanted, now, None if ready is None else ready.encoded)
        result.written[IV_TABLE] = result.written.get(IV_TABLE, 0) + wanted.height
        result.deleted.setdefault(IV_TABLE, 0)
        return
    inside = pl.lit(True) if period_ids is None else pl.col("period_id").is_in(period_ids)
    stored = everything.filter(inside)
    joined = wanted.with_columns(pl.lit(True).alias("_new")).join(
        stored.select("series_id", *key, *compared), on=key, how="full", coalesce=True, suffix="_old"
    )
    differs = pl.any_horizontal([_differs(pl.col(c), pl.col(f"{c}_old"), c in STRING_COLUMNS) for c in compared])
    fresh = pl.col("_new").fill_null(False)
    is_changed = fresh & (pl.col("series_id").is_null() | differs)
    changed = joined.filter(is_changed)
    gone = joined.filter(pl.col("_new").is_null())
    # What is stored once this is done, in these periods: a compared value keeps its stored
    # figures where it did not change (as rows kept their stored value).
    now_rows = joined.filter(fresh).select(
        *key,
        *[pl.when(is_changed).then(pl.col(c)).otherwise(pl.col(f"{c}_old")).alias(c) for c in compared],
    )
    slice_key = ["indicator_id", "period_id"]
    touched = pl.concat([changed.select(slice_key), gone.select(slice_key)]).unique()
    if not touched.is_empty():  # a recompute that changed nothing writes no slice
        _write_slices(now_rows.select(*slice_key, "unit_id", "basis", "value"), touched, units, now)
    # A unit's series of an indicator are rewritten together, both bases: a hidden published
    # row lives in its "all" twin's series (`series.HIDDEN`).
    series_key = ["indicator_id", "unit_id"]
    dirty = pl.concat([changed.select(series_key), gone.select(series_key)]).unique()
    if not dirty.is_empty():
        kept = everything.filter(~inside).join(dirty, on=series_key, how="semi").select(*key, *compared)
        rewritten = pl.concat([now_rows.join(dirty, on=series_key, how="semi"), kept])
        old_ids = everything.join(dirty, on=series_key, how="semi").get_column("series_id").unique().to_list()
        if old_ids:
            bulk.delete_where_in(IV_TABLE, "id", old_ids)
        _write_series(ctx, rewritten, now)
    result.written[IV_TABLE] = result.written.get(IV_TABLE, 0) + changed.height
    result.deleted[IV_TABLE] = result.deleted.get(IV_TABLE, 0) + gone.height


# A slice's columns as `_write_slices` appends them, and their PostgreSQL types.
SLICE_COLUMNS = ("indicator_id", "period_id", "public", "first_unit", "numbers", "computed_at")
SLICE_TYPES = ("int8", "int8", "bool", "int4", "bytea", "timestamptz")


def _write_slices(
    stored: pl.DataFrame,
    touched: pl.DataFrame | None,
    units: list[int] | None,
    now,
    found: dict[bool, dict] | None = None,
) -> None:
    """Bring the ranks' slices (`RankSlice`) of the `touched` (indicator, period) pairs
    (None: every pair `stored` has) in line with the indicator values `stored` holds for
    them (indicator_id, period_id, unit_id, basis, value): every unit's row when `units` is
    None, else the rows of those units only, whose places in the stored slices are rewritten
    and the others' kept (a slice that comes out as it was is left alone). One reading, one
    DELETE and one INSERT for all the pairs. `found`: `_slice_runs(stored)`, made already.

    The "all" slice holds every unit's "all" value. The public sees a unit's published row
    where it has one, else its "all" row (`read.seen`), which in a slice without unpublished
    inputs is the "all" slice, bit for bit: its public slice is stored only where it
    differs (`EMPTY` where the public sees no value at all), and readers take the "all" one
    where there is none (`read._slices`). Every period's public slice beside the "all" one
    was half of what a rebuild wrote for the ranks (issue 18)."""
    if touched is not None:
        stored = stored.join(touched, on=["indicator_id", "period_id"], how="semi")
    if found is None:
        found = _slice_runs(stored)
    # Every pair the rows have, from their runs (a `unique` of the rows was a tenth of a
    # rebuild's slices), else the pairs asked for, which may have no row left.
    pairs = sorted(found[False].keys() | found[True].keys()) if touched is None else touched.rows()
    if not pairs:
        return
    by_indicator: dict[int, list[int]] = {}
    for indicator_id, period_id in pairs:
        by_indicator.setdefault(indicator_id, []).append(period_id)
    where = Q()
    for indicator_id, period_ids in by_indicator.items():
        where |= Q(indicator_id=indicator_id, period_id__in=period_ids)
    before: dict[tuple[int, int, bool], tuple[int, bytes]] = {}
    if units is not None:
        for indicator_id, period_id, public, first, blob in RankSlice.objects.filter(where).values_list(
            "indicator_id", "period_id", "public", "first_unit", "numbers"
        ):
            before[(indicator_id, period_id, public)] = (first, bytes(blob))
    places = np.array(units if units is not None else [], dtype=np.int64)
    nothing = (np.empty(0, dtype=np.int64), None)
    at = connection.ops.adapt_datetimefield_value(now)
    out: list[tuple] = []
    replaced: dict[tuple[int, bool], list[int]] = {}  # (indicator, public) -> periods, of `before`
    for indicator_id, period_id in pairs:
        made = {}
        for public in (False, True):
            if public and found[True] is found[False] and (indicator_id, period_id, True) not in before:
                made[True] = made[False]  # the same values over the same slice: the same slice
                continue
            ids, values = found[public].get((indicator_id, period_id), nothing)
            # What this reader saw: the public one, where no public slice is stored, the "all" one.
            seen = before.get((indicator_id, period_id, public))
            if seen is None and public:
                seen = before.get((indicator_id, period_id, False))
            first, blob = seen or (0, None)
            made[public] = _merged(first, None if not blob else RankSlice.unpack(blob), ids, values, places)
        wanted = {False: made[False], True: None if made[True] == made[False] else made[True] or RankSlice.EMPTY}
        for public, slice_ in wanted.items():
            old = before.get((indicator_id, period_id, public))
            if slice_ == old:
                # A save's slice that holds what it held: most of the periods a save touches
                # change only in their change or trend columns, never in a rank's values
                # (issue 18: rewriting them was a fifth of a first draft's refresh).
                continue
            if old is not None:
                replaced.setdefault((indicator_id, public), []).append(period_id)
            if slice_ is not None:
                out.append((indicator_id, period_id, public, slice_[0], slice_[1], at))
    if units is None:
        RankSlice.objects.filter(where).delete()  # not read: whatever was there is made anew
    elif replaced:
        gone = Q()
        for (indicator_id, public), period_ids in replaced.items():
            gone |= Q(indicator_id=indicator_id, public=public, period_id__in=period_ids)
        RankSlice.objects.filter(gone).delete()
    # One COPY (binary on PostgreSQL): the ORM's INSERTs sent each slice's 20 KB as hex text.
    bulk.append_rows(RankSlice._meta.db_table, SLICE_COLUMNS, out, types=SLICE_TYPES)


def _slice_runs(stored: pl.DataFrame) -> dict[bool, dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]]:
    """The values of `stored` (indicator_id, period_id, unit_id, basis, value) each reader
    sees, as `_runs` by (indicator, period): False, on all data, the "all" rows; True, the
    public, a unit's published row where it has one, else its "all" row."""
    everyone = stored.filter(pl.col("basis") == Basis.ALL.value).drop("basis")
    published = stored.filter(pl.col("basis") == Basis.PUBLISHED.value).drop("basis")
    found = {False: _runs(everyone)}
    # Without published rows (every input published) the public sees the "all" values: the
    # same runs, not made twice.
    key = ["indicator_id", "period_id", "unit_id"]
    found[True] = (
        found[False]
        if published.is_empty()
        else _runs(pl.concat([everyone.join(published, on=key, how="anti"), published]))
    )
    return found


def _merged(
    first: int, old: np.ndarray | None, ids: np.ndarray, values: np.ndarray | None, places: np.ndarray
) -> tuple[int, bytes] | None:
    """A slice made anew: the stored one (`old`, starting at unit `first`; None: none) with
    the `places` of the units refreshed cleared, then `values` at `ids`; packed as stored
    (`RankSlice.pack`), None when no unit has a value."""
    ends = [int(ids.min()), int(ids.max())] if len(ids) else []
    if old is not None:
        ends += [first, first + len(old) - 1]
    if not ends:
        return None
    lo = min(ends)
    numbers = np.full(max(ends) - lo + 1, np.nan)
    if old is not None:
        numbers[first - lo : first - lo + len(old)] = old
        gone = places - lo
        numbers[gone[(gone >= 0) & (gone < len(numbers))]] = np.nan
    if values is not None:
        numbers[ids - lo] = values
    return RankSlice.pack(lo, numbers)


def _runs(frame: pl.DataFrame) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
    """(indicator, period) -> (unit ids, values, a null as NaN) of `frame`'s rows
    (indicator_id, period_id, unit_id, value), the units in no particular order (a slice is
    made by placing each at its id, `_merged`): one stable argsort of a single integer key
    and views into the arrays, where sorting the frame by three columns was most of the
    slices' client time (issue 18), and splitting it by key a frame a slice before that."""
    if frame.is_empty():
        return {}
    indicators = frame.get_column("indicator_id").to_numpy()
    periods = frame.get_column("period_id").to_numpy()
    low = int(periods.min())
    span = int(periods.max()) - low + 1
    key = (indicators - int(indicators.min())) * span + (periods - low)
    order = np.argsort(key, kind="stable")
    key = key[order]
    units = frame.get_column("unit_id").to_numpy()[order]
    values = frame.get_column("value").cast(pl.Float64).fill_null(np.nan).to_numpy()[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    ends = np.r_[starts[1:], len(units)]
    indicators, periods = indicators[order], periods[order]
    return {
        (int(indicators[a]), int(periods[a])): (units[a:b], values[a:b])
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
    }


def rebuild_slices(indicator_ids: Iterable[int] | None = None) -> int:
    """The ranks' slices of these indicators (None: every indicator with stored values)
    made anew from the indicator values stored, one indicator a transaction: for a database
    whose values were stored before the slices existed (migration 0004). Returns how many
    indicators it did."""
    if indicator_ids is None:
        indicator_ids = list(Indicator.objects.order_by("pk").values_list("pk", flat=True))
    ctx = Context()
    done = 0
    for indicator_id in indicator_ids:
        with transaction.atomic():
            RankSlice.objects.filter(indicator_id=indicator_id).delete()
            stored = _stored_values(ctx, [indicator_id], None)
            if stored.is_empty():
                continue
            _write_slices(
                stored.select("indicator_id", "period_id", "unit_id", "basis", "value"),
                None,  # every pair of them
                None,
                timezone.now(),
            )
            done += 1
    return done


def begin_rebuild() -> bool:
    """Whether a full recompute starts from empty tables (a first load, a new installation,
    the derived rows dropped by hand), which it then fills without the secondary indexes
    (`bulk.indexes_after`); if so, the ranks' slices of such rows are stale and go now."""
    if ValueSeries.objects.exists():
        return False
    RankSlice.objects.all().delete()
    return True


@dataclass
class RefreshResult:
    indicators: int = 0
    written: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # indicator code: why it has no values
    seconds: float = 0.0
    absorbed: int = 0  # queued recomputes this full one made unnecessary
    skipped: int = 0  # indicators a full recompute left alone: nothing they read had changed

    def add(self, other: RefreshResult) -> None:
        """Count in what another part of the same pass did (a storing thread's share)."""
        self.indicators += other.indicators
        self.skipped += other.skipped
        self.errors.update(other.errors)
        for mine, theirs in ((self.written, other.written), (self.deleted, other.deleted)):
            for table, count in theirs.items():
                mine[table] = mine.get(table, 0) + count

    def summary(self) -> str:
        def count(d: dict[str, int], table: str) -> int:
            return d.get(table, 0)

        text = (
            f"{self.indicators} indicators in {self.seconds:.1f} s: "
            f"values {count(self.written, IV_TABLE)} written / {count(self.deleted, IV_TABLE)} deleted, "
            f"group statistics {count(self.written, GS_TABLE)} / {count(self.deleted, GS_TABLE)}"
        )
        if self.skipped:
            text += f"; {self.skipped} unchanged indicators skipped"
        if self.absorbed:
            text += f"; {self.absorbed} queued recomputes absorbed"
        for code, error in sorted(self.errors.items()):
            text += f"\n{code}: {error}"
        return text


def _refresh_indicator(
    ctx: Context,
    spec: Spec,
    ordinals: list[int] | None,
    result: RefreshResult,
    *,
    scope: Scope | None = None,
) -> None:
    """Store what `spec` computes for `ordinals` (None = all), in a transaction of its own
    that holds the indicator's lock (a refresh of given indicators and periods)."""
    period_ids = _period_ids(ctx, spec.kind, ordinals)
    if period_ids is not None and not period_ids:
        return
    with transaction.atomic():
        _lock([spec])
        _note_errors([spec], result)
        _store(ctx, [spec], period_ids, {spec.id: _compute(ctx, spec, ordinals)}, result, scope)
    result.indicators += 1


def _lock(specs: list[Spec]) -> None:
    """Take these indicators' locks for the caller's transaction, in id order: two workers
    refreshing one indicator would each diff against what the other is about to replace, so
    the later one must read after the earlier one committed; taken in one order by every
    caller, two refreshes can wait for each other but never deadlock."""
    if connection.vendor != "postgresql" or not specs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, i) FROM unnest(%s::int[]) AS i ORDER BY i",
            [LOCK_NAMESPACE, sorted(spec.id for spec in specs)],
        )


def _note_errors(specs: list[Spec], result: RefreshResult) -> None:
    """Report the specs whose formula cannot be computed: they get no values (`_compute`
    gives none), since stale ones would mislead."""
    for spec in specs:
        if spec.error:
            result.errors[spec.code] = spec.error


@dataclass
class _Prepared:
    """What storing a full recompute's batch makes of the batch alone, before its
    transaction (`_prepare`): the rows to store (`_stored_rows`), and, in a rebuild into
    empty tables, the values' series (`_encoded`) and the slices' runs (`_slice_runs`),
    which a store writes as they are when none of the batch's indicators is stored (else
    None: a store that finds values stored diffs them, and makes what it writes itself).
    Made on a thread of its own ahead of SQLite's one storing thread (`_Storer`)."""

    rows: dict[str, pl.DataFrame]
    encoded: series.Encoded | None = None
    runs: dict[bool, dict] | None = None


def _as_compared(values: pl.DataFrame) -> pl.DataFrame:
    """Indicator values as `_sync_values` compares and writes them: the key and the stored
    figures, typed."""
    keys, compared = TABLES[IV_TABLE]
    schema = {"indicator_id": pl.Int64} | _types([*keys, *compared])
    return values.select([pl.col(c).cast(t) for c, t in schema.items()])


def _prepare(ctx: Context, specs: list[Spec], computed: dict[int, Computed], *, whole: bool) -> _Prepared:
    rows = _stored_rows(ctx, specs, computed)
    if not whole:
        return _Prepared(rows)
    values = _as_compared(rows[IV_TABLE])
    return _Prepared(
        rows=rows,
        encoded=_encoded(ctx, values),
        runs=_slice_runs(values.select("indicator_id", "period_id", "unit_id", "basis", "value")),
    )


def _store_computed(
    ctx: Context,
    jobs: list[tuple[Spec, str]],
    computed: dict[int, Computed],
    result: RefreshResult,
    prepared: _Prepared | None = None,
) -> None:
    """Store a full recompute's batch of indicators (`jobs`: each spec with the digest of its
    inputs), computed already, every period, in one transaction that holds their locks: one
    diff, one write of series, slices and statistics for the batch, and their fingerprints
    (what each was computed from and how many derived figures it now has). Stored one
    indicator a transaction, a rebuild spent a fifth of its storing on what every
    transaction, statement and COPY costs whatever its size (issue 18)."""
    specs = [spec for spec, _ in jobs]
    with transaction.atomic():
        _lock(specs)
        _note_errors(specs, result)
        # Every period and unit stored: each indicator now has exactly the rows it was
        # given, so they are counted here, not read back (reading back a batch's 60,000
        # series took the server 0.1 s a batch, issue 18).
        now, counts = _store(ctx, specs, None, computed, result, prepared=prepared)
        InputFingerprint.objects.bulk_create(
            [
                InputFingerprint(
                    indicator_id=spec.id,
                    digest=digest,
                    values_stored=counts[spec.id][0],
                    statistics_stored=counts[spec.id][1],
                    computed_at=now,
                )
                for spec, digest in jobs
            ],
            update_conflicts=True,
            unique_fields=["indicator"],
            update_fields=["digest", "values_stored", "statistics_stored", "computed_at"],
        )
    result.indicators += len(specs)


def _period_ids(ctx: Context, kind: str, ordinals: list[int] | None) -> list[int] | None:
    if ordinals is None:
        return None
    return ctx.periods(kind).filter(pl.col("ordinal").is_in(ordinals))["period_id"].to_list()


def _store(
    ctx: Context,
    specs: list[Spec],
    period_ids: list[int] | None,
    computed: dict[int, Computed],
    result: RefreshResult,
    scope: Scope | None = None,
    prepared: _Prepared | None = None,
):
    """Store what `computed` holds for these specs in these periods (None = all), inside the
    caller's transaction, which holds their locks; one `_sync` a table for all of them.
    Returns the time stamped on the rows written, and how many rows of each table each
    indicator was given (after a store of every period and unit, what it has stored).
    `prepared`: what `_prepare` made of `computed` already."""
    now = timezone.now()
    indicator_ids = sorted(spec.id for spec in specs)
    given: dict[int, list[int]] = {i: [0, 0] for i in indicator_ids}
    rows = prepared.rows if prepared is not None else _stored_rows(ctx, specs, computed)
    for table, wanted in rows.items():
        for indicator_id, count in wanted.group_by("indicator_id").len().iter_rows():
            given[indicator_id][0 if table == IV_TABLE else 1] = count
        ids = period_ids
        if table == IV_TABLE:
            _sync_values(ctx, indicator_ids, wanted, ids, now, result, scope, prepared)
            continue
        if scope is not None:
            ids = _period_ids(ctx, specs[0].kind, list(scope.statistics))  # those it computed
        _sync(table, indicator_ids, wanted, ids, now, result, scope)
    return now, {i: (v, g) for i, (v, g) in given.items()}


def refresh(
    indicator_ids: Iterable[int], period_ids: Iterable[int] | None = None, *, context: Context | None = None
) -> RefreshResult:
    """Recompute these indicators for these periods (None = all) and store what changed.

    Periods of another kind than an indicator's are ignored for it. Each indicator is one
    transaction, so readers never see half of one.
    """
    started = time.perf_counter()
    ctx = context or Context()
    result = RefreshResult()
    period_ids = None if period_ids is None else list(period_ids)
    for indicator_id in indicator_ids:
        if indicator_id not in ctx.indicators:
            continue
        spec = ctx.spec(indicator_id)
        _refresh_indicator(ctx, spec, _ordinals(ctx, spec, period_ids), result)
    result.seconds = time.perf_counter() - started
    return result


# -- what a change affects ----------------------------------------------------------------


def affected_indicators(variable_ids: Iterable[int], *, context: Context | None = None) -> list[int]:
    """Indicators that read any of these variables, directly or through the indicators they
    reference (and those whose formula cannot be expanded, so their errors are refreshed)."""
    ctx = context or Context()
    codes = {ctx.variable_codes[v] for v in variable_ids if v in ctx.variable_codes}
    found = []
    for indicator_id in ctx.indicators:
        spec = ctx.spec(indicator_id)
        if spec.formula is None or codes & spec.formula.names:
            found.append(indicator_id)
    return sorted(found)


def affected_periods(
    indicator: Indicator | int, period_ids: Iterable[int], *, context: Context | None = None
) -> list[int]:
    """The periods of the indicator whose stored rows a change in `period_ids` can alter:
    a changed period p reaches p + max_lag through lags, p + 1 through the change, and
    p + K − 1 (beyond the lags) through the trend and the published-basis window."""
    ctx = context or Context()
    spec = ctx.spec(indicator if isinstance(indicator, int) else indicator.pk)
    changed = {ctx.period_ordinal[p] for p in period_ids if ctx.period_kind.get(p) == spec.kind}
    periods = ctx.periods(spec.kind)
    # The periods that exist, filtered by distance, never a range as long as the window:
    # the window comes from a formula someone typed (lib/formulas bounds it too).
    reached = [
        period_id
        for period_id, ordinal in periods.select("period_id", "ordinal").iter_rows()
        if any(0 <= ordinal - p <= spec.window for p in changed)
    ]
    return reached


# Indicators a save's refresh computes side by side: its frames span a few periods (of a
# few units' scope, or of every unit), not a full recompute's twenty, so a wider batch stays
# small (60 indicators x 2,500 units x 10 periods is about 25,000 rows x 700 columns).
SAVE_BATCH = 60


def recompute_changed(
    variable_ids: Iterable[int], period_ids: Iterable[int], unit_ids: Iterable[int] | None = None
) -> RefreshResult:
    """What a save of observations calls: refresh the affected slices only, and of those,
    when the save says which units it changed (`unit_ids`), only what these units' values
    can move (`_refresh_indicator`, `Scope`): a form's save of one unit reads the
    observations of that unit and of its groups' members instead of every unit's."""
    started = time.perf_counter()
    ctx = Context()
    result = RefreshResult()
    period_ids = list(period_ids)
    units = None if unit_ids is None else sorted(set(unit_ids))
    # The affected indicators of one period kind are computed side by side, as a full
    # recompute's batches are (a variable read by 24 indicators: one read of their variables
    # and one wide evaluation instead of 24), over the periods any of them is affected in:
    # an indicator without a lag is then also refreshed in the one period after its own
    # that a lagged one reaches, which changes nothing there, instead of being a batch of
    # its own (issue 18: two batches were most of a save's computing).
    batches: dict[str, tuple[set[int], list[Spec]]] = {}
    for indicator_id in affected_indicators(variable_ids, context=ctx):
        spec = ctx.spec(indicator_id)
        ordinals = [ctx.period_ordinal[p] for p in affected_periods(indicator_id, period_ids, context=ctx)]
        if spec.error:
            _refresh_indicator(ctx, spec, None, result)
        elif ordinals:
            wanted, specs = batches.setdefault(spec.kind, (set(), []))
            wanted.update(ordinals)
            specs.append(spec)
    for kind, (wanted, specs) in batches.items():
        changed = sorted({ctx.period_ordinal[p] for p in period_ids if ctx.period_kind.get(p) == kind})
        for start in range(0, len(specs), SAVE_BATCH):
            _refresh_changed(ctx, specs[start : start + SAVE_BATCH], sorted(wanted), units, changed, result)
    result.seconds = time.perf_counter() - started
    return result


def _refresh_changed(
    ctx: Context,
    specs: list[Spec],
    ordinals: list[int],
    units: list[int] | None,
    changed: list[int],
    result: RefreshResult,
) -> None:
    """Refresh these specs (one kind) for these ordinals after a save, computed side by side
    in one transaction that holds all their locks (`_lock`), so that what is computed is read
    after any other refresh of them committed. Of a
    save of a few `units`, only what they can move (`Scope`)."""
    with transaction.atomic():
        _lock(specs)
        period_ids = _period_ids(ctx, specs[0].kind, ordinals)
        if not period_ids:
            return
        scope = None
        if units is not None:
            lag = max(spec.lag for spec in specs)
            scope = _scope(ctx, specs[0].kind, ordinals, units, changed, lag)
        computed = _compute_batch(ctx, specs, ordinals, scope)
        _store(ctx, specs, period_ids, computed, result, scope)
        result.indicators += len(specs)


# -- what a full recompute can skip -----------------------------------------------------------
#
# A full recompute that finds nothing to change used to cost most of a real one: every
# indicator computed and every stored row read back and compared. Now each indicator's
# inputs are summarised in a digest before it is computed, and stored with the number of
# derived rows it then has (InputFingerprint). A later full recompute skips an indicator
# whose digest and row counts are the same. The digest is taken before anything is read,
# so a change that lands during the recompute only makes the next one recompute more.
#
# What goes in: the source of the code that computes (this module, lib/stats, lib/formulas,
# lib/frames), every indicator's definition (a catalogue change recomputes everything: it
# is rare and queues a full recompute anyway), the variables' codes, the periods, the
# units' validity and the memberships (read whole: they are small), and for each of the
# indicator's variables an aggregate of its observations that every write changes: the
# write path bumps `version` and sets `updated_at` on every change, inserts add rows and
# ids, deletes remove them.

_CODE_DIGEST: str | None = None


def _code_digest() -> str:
    global _CODE_DIGEST
    if _CODE_DIGEST is None:
        from pathlib import Path

        here = Path(__file__).resolve().parent
        lib = here.parent / "lib"
        files = [here / "engine.py", lib / "frames.py", *sorted((lib / "stats").glob("**/*.py"))]
        files += sorted((lib / "formulas").glob("**/*.py"))
        if (lib / "stats.py").exists():
            files.append(lib / "stats.py")
        digest = hashlib.sha256()
        for path in files:
            if path.exists():
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        _CODE_DIGEST = digest.hexdigest()
    return _CODE_DIGEST


def _rows_digest(sql: str) -> str:
    digest = hashlib.sha256()
    with connection.cursor() as cursor:
        cursor.execute(sql)
        for row in cursor.fetchall():
            digest.update(repr(row).encode())
    return digest.hexdigest()


class Fingerprints:
    """The digests of a full recompute's inputs, read once at its start."""

    def __init__(self):
        q = bulk.quote
        from municipium.places.models import Unit

        shared = hashlib.sha256(_code_digest().encode())
        for sql in (
            f"SELECT id, code, formula, polarity, period_kind FROM {q(Indicator._meta.db_table)} ORDER BY id",
            f"SELECT id, code FROM {q(Variable._meta.db_table)} ORDER BY id",
            f"SELECT id, kind, ordinal, start, {q('end')} FROM {q(Period._meta.db_table)} ORDER BY id",
            f"SELECT id, valid_from, valid_to FROM {q(Unit._meta.db_table)} ORDER BY id",
            f"SELECT id, group_id, unit_id, valid_from, valid_to FROM {q(Membership._meta.db_table)} ORDER BY id",
        ):
            shared.update(_rows_digest(sql).encode())
        self.shared = shared.hexdigest()
        with connection.cursor() as cursor:
            # Served by the (variable, period, updated_at) index alone, never the table: at
            # 5 million observations the sums of ids and versions this used to take read the
            # whole table (25 s on SQLite). What it misses nothing of: an insert raises
            # MAX(id) (ids are never reused), a delete lowers COUNT(*) unless an insert
            # raises MAX(id) with it, and every change through the write path sets
            # updated_at to its time, so it raises MAX(updated_at).
            cursor.execute(
                f"SELECT variable_id, COUNT(*), MAX(id), MAX(updated_at) FROM {q(OBS_TABLE)} GROUP BY variable_id"
            )
            found = cursor.fetchall()
            self.variables = {row[0]: repr(tuple(row[1:])) for row in found}
            self.rows = {row[0]: int(row[1]) for row in found}  # each variable's observations
            # How many derived rows there are, against what the fingerprints say was stored:
            # when the totals agree, each indicator's stored counts are taken as they are
            # instead of counted (two counts per indicator were 20 s of a no-op recompute at
            # 1,000 indicators); when not (rows deleted or added behind the engine's back),
            # every indicator is counted and those that differ are recomputed.
            totals = []
            for table in (IV_TABLE, GS_TABLE):
                cursor.execute(f"SELECT {_COUNTED[table]} FROM {q(table)}")
                totals.append(int(cursor.fetchone()[0]))
        self.stored = {
            row[0]: row[1:]
            for row in InputFingerprint.objects.values_list(
                "indicator_id", "digest", "values_stored", "statistics_stored"
            )
        }
        self.totals_agree = totals == [
            sum(row[1] for row in self.stored.values()),
            sum(row[2] for row in self.stored.values()),
        ]
        self.counted: dict[int, tuple[int, int]] | None = None  # every indicator's, read once when needed

    def digest(self, spec: Spec) -> str:
        parts = [self.shared, str(spec.id), *(f"{v}:{self.variables.get(v, '-')}" for v in spec.variable_ids)]
        return hashlib.sha256("\n".join(parts).encode()).hexdigest()

    def unchanged(self, spec: Spec, digest: str) -> bool:
        stored = self.stored.get(spec.id)
        if stored is None or stored[0] != digest:
            return False
        if self.totals_agree:
            return True
        if self.counted is None:
            # Counted for every indicator in one query a table, at the first one that needs
            # it: an indicator's rows change only when it is itself stored, after its check.
            self.counted = _derived_counts(list(self.stored))
        return stored[1:] == self.counted[spec.id]


# How many derived figures a table holds (a table's rows where `where` holds): a series
# holds `count` values, a statistics row one.
_COUNTED = {IV_TABLE: 'COALESCE(SUM("count"), 0)', GS_TABLE: "COUNT(*)"}


def _derived_counts(indicator_ids: list[int]) -> dict[int, tuple[int, int]]:
    """How many derived figures each of these indicators has stored: values, statistics."""
    counts: dict[int, list[int]] = {i: [0, 0] for i in indicator_ids}
    if not indicator_ids:
        return {}
    with connection.cursor() as cursor:
        for place, table in enumerate((IV_TABLE, GS_TABLE)):
            cursor.execute(
                f"SELECT indicator_id, {_COUNTED[table]} FROM {bulk.quote(table)} "
                f"WHERE indicator_id IN ({', '.join(['%s'] * len(indicator_ids))}) GROUP BY indicator_id",
                list(indicator_ids),
            )
            for indicator_id, count in cursor.fetchall():
                counts[indicator_id][place] = int(count)
    return {i: (c[0], c[1]) for i, c in counts.items()}


# Indicators computed side by side in a full recompute: enough to share their variables'
# reads and Polars passes, few enough that the wide frame stays small (a batch of 25 at
# 2,500 units × 20 years is about 60,000 rows × a few hundred columns).
BATCH = 25

# Threads that store a full recompute's batches while the next batch is computed
# (`_Storer`), by database. Two on PostgreSQL: while one waits for the server to take its
# COPY, the other diffs and packs on the client, and the server's work runs on the
# machine's other core (the full scale: 712 -> 475 s, issue 18). One on SQLite, which takes
# one writer at a time: stored one indicator a transaction it was no faster (650 and 669 s,
# handing SQLite the rows held the interpreter's lock the computing needs); a batch a
# transaction, SQLite's own work (it lets go of that lock while it steps) overlaps the
# computing: 142.1 -> 128.8 s at the full scale.
WRITERS = {"postgresql": 2, "sqlite": 1}
# Where a thread of its own prepares each batch for the storing threads (`_Storer`): SQLite
# takes one writer, so one storing thread, whose preparing then runs beside its writing
# (a country's rebuild 63.7 → 59.4 s); PostgreSQL's two storing threads overlap them already.
PREPARE_AHEAD = {"sqlite": True}


def writers() -> int:
    """How many threads store a full recompute here (`WRITERS`); none (the calling thread
    stores each batch) inside a caller's transaction, whose connection must do all the
    work, nor on an in-memory SQLite database (the tests'), whose shared cache locks whole
    tables: the computing thread's reads would fail while a batch is written."""
    if connection.in_atomic_block:
        return 0
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        return 0
    return WRITERS.get(connection.vendor, 0)


class StoreFailed(RuntimeError):
    """A storing thread's error, raised in the thread that computes."""


class _Storer:
    """Stores the batches of indicators a full recompute has computed (`_store_computed`,
    each batch in its own transaction) on `threads` threads of their own, while the calling
    thread computes the next batch: a rebuild's storing (the diff, the COPY the server
    takes, the ranks' slices) was seven tenths of its time and the computing waited for it
    (issue 18). With 0 threads `put` stores in the calling thread. What was stored is
    counted per thread (no lock on the hot path) and summed by `close`.

    The queue holds one batch, so memory is the batch being computed, one waiting and the
    ones being stored. Each thread uses its own database connection (Django's are per
    thread), closed when it ends. The first error stops the pass: the threads drop what is
    still queued, and it is raised in the computing thread at its next `put` or at the
    end; every batch stored before it stays (its own transaction), the rest keep what
    they had, as when a one-thread pass fails.

    On SQLite a thread of its own copies the WAL into the database after each batch (a
    PASSIVE checkpoint, `_checkpoints`): in the storing thread's commits that copy and its
    wait for the disk were a tenth of a country's rebuild, and the computing thread waited
    for it (issue 18). The WAL then never starts over while batches follow one another
    (SQLite starts it over only when a writer begins after a checkpoint copied all of it)
    and grows by what the rebuild writes, about 2 GB for a country, which slows the reads
    of whoever reads meanwhile: a rebuild itself reads its observations before it stores
    anything (`VariableCache.preload`; an earlier try, when the reads came batch by batch,
    was dropped for that), and its last checkpoint empties the WAL."""

    def __init__(
        self,
        ctx: Context,
        threads: int,
        on_done: Callable[[int], None],
        *,
        checkpoints: bool = False,
        prepare_ahead: bool = False,
        whole: bool = False,
    ):
        self.ctx, self.on_done, self.whole = ctx, on_done, whole
        self.results: list[RefreshResult] = [] if threads else [RefreshResult()]
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.queue: queue.Queue = queue.Queue(maxsize=1)
        self.threads = [threading.Thread(target=self._work, name=f"store-{i}", daemon=True) for i in range(threads)]
        # A thread of its own that makes what a batch's storing makes of the batch alone
        # (`_prepare`; `whole`: the tables were empty, so its series and slices too) while
        # the storing thread writes the one before: the storing threads then take their
        # batches from `ready`.
        self.preparer = None
        self.ready = self.queue
        if threads and prepare_ahead:
            self.ready = queue.Queue(maxsize=1)
            self.preparer = threading.Thread(target=self._prepare_ahead, name="prepare", daemon=True)
            self.preparer.start()
        # SQLite: the storing threads' commits leave the WAL's copy into the database to a
        # thread of its own (`bulk.checkpoints_elsewhere`), woken after each stored batch.
        self.stored = threading.Event()
        self.ended = False
        self.checkpointer = None
        if threads and checkpoints and connection.vendor == "sqlite":
            self.checkpointer = threading.Thread(target=self._checkpoints, name="checkpoint", daemon=True)
            self.checkpointer.start()
        for thread in self.threads:
            thread.start()

    def put(self, jobs: list[tuple[Spec, str]], computed: dict[int, Computed]) -> None:
        if not self.threads:
            _store_computed(self.ctx, jobs, computed, self.results[0])
            self.on_done(len(jobs))
            return
        self._raise()
        self.queue.put((jobs, computed, None))

    def _prepare_ahead(self) -> None:
        while (job := self.queue.get()) is not None:
            if self.stop.is_set():
                continue  # a thread failed: drop the rest, keep taking until the end
            jobs, computed, _ = job
            try:
                prepared = _prepare(self.ctx, [spec for spec, _ in jobs], computed, whole=self.whole)
            except BaseException as error:
                self._fail(error)
                continue
            self.ready.put((jobs, computed, prepared))
        for _thread in self.threads:
            self.ready.put(None)

    def _work(self) -> None:
        result = RefreshResult()
        self.results.append(result)
        try:
            with bulk.checkpoints_elsewhere() if self.checkpointer else nullcontext():
                self._take(result)
        finally:
            connections.close_all()

    def _checkpoints(self) -> None:
        """Copy the WAL into the database after each stored batch, and once more at the end
        (`bulk.checkpoint`), while the other threads compute and store."""
        try:
            while True:
                self.stored.wait()
                self.stored.clear()
                if self.ended:
                    # The last one also empties the WAL, which grew meanwhile: SQLite starts
                    # it over only when a writer begins after a checkpoint copied all of it,
                    # never while batches follow one another.
                    bulk.checkpoint(truncate=True)
                    break
                bulk.checkpoint()
        except BaseException as error:
            self._fail(error)
        finally:
            connections.close_all()

    def _take(self, result: RefreshResult) -> None:
        while (job := self.ready.get()) is not None:
            if self.stop.is_set():
                continue  # a thread failed: drop the rest, keep taking until the end
            jobs, computed, prepared = job
            try:
                _store_computed(self.ctx, jobs, computed, result, prepared)
            except BaseException as error:
                self._fail(error)
                continue
            self.stored.set()
            self.on_done(len(jobs))

    def _fail(self, error: BaseException) -> None:
        """A thread's error: the first one is kept (raised by `_raise`), and the pass stops."""
        self.error = self.error or error
        self.stop.set()

    def _raise(self) -> None:
        if self.error is not None:
            raise StoreFailed(f"storing the recompute failed: {self.error!r}") from self.error

    def close(self, failing: bool) -> list[RefreshResult]:
        """Wait for the threads to store what is queued (or, `failing`, to drop it) and end;
        raise a thread's error; return their results."""
        if failing:
            self.stop.set()
        if self.preparer is not None:
            self.queue.put(None)  # the preparing thread hands one on to each storing thread
            self.preparer.join()
        else:
            for _thread in self.threads:
                self.queue.put(None)
        for thread in self.threads:
            thread.join()
        if self.checkpointer is not None:
            self.ended = True
            self.stored.set()
            self.checkpointer.join()
        if not failing:
            self._raise()
        return self.results


def recompute_all(
    progress: Callable[[int, int], None] | None = None,
    *,
    force: bool = False,
    only: Iterable[int] | None = None,
    absorb: bool = True,
) -> RefreshResult:
    """Recompute every indicator for every period, a batch of indicators at a time (`BATCH`)
    so memory stays bounded by one batch's frames; stores only what differs, each batch
    in its own transaction. `progress(done, total)`.

    The recomputes waiting in the task queue when it starts are absorbed (done by this pass,
    `tasks.absorb_queued`), and queued again if it fails. `only` limits it to these
    indicators: one part of a recompute that several workers share (`tasks.recompute_in_parts`,
    which absorbs the queue once for all parts, so its parts pass `absorb=False`)."""
    from . import tasks

    absorbed = tasks.absorb_queued() if absorb else []
    try:
        # SQLite's default 2 MB page cache is smaller than the index pages a rebuild keeps
        # writing to (each slice's 2,500 units land on as many leaf pages of the unit index):
        # with the bulk cache a rebuild of 2,500 units x 100 indicators x 20 years took
        # 126 s instead of 147 s (issue 18, load 6).
        with bulk.bulk_cache():
            if only is None:  # a part's coordinator does it (tasks.recompute_in_parts)
                bulk.restore_indexes(ValueSeries)  # were a rebuild killed before it rebuilt them
            # A rebuild into an empty table (a first load, a new installation) builds the
            # secondary indexes once at the end instead of row by row (`bulk.indexes_after`).
            # Not for a part of a shared recompute: the other parts write beside it.
            rebuild = only is None and begin_rebuild()
            with bulk.indexes_after(ValueSeries) if rebuild else nullcontext():
                result = _recompute_all(progress, force=force, only=None if only is None else set(only), empty=rebuild)
    except BaseException:
        tasks.unabsorb(absorbed)
        raise
    result.absorbed = len(absorbed)
    if only is None and (any(result.written.values()) or any(result.deleted.values())):
        analyze()  # a part's coordinator does it once for all parts (tasks.recompute_in_parts)
    return result


def analyze() -> None:
    """Fresh planner statistics after a full pass that changed rows: a rebuild rewrites
    millions of derived rows, often after loads of units, memberships and observations, and
    until autovacuum gets to them (if it runs at all) PostgreSQL plans a page's reads as if
    the tables were empty: the profile's ranks took 3 s instead of 0.1 s (issue 18). ANALYZE
    samples a fixed number of rows a table, about a second here whatever the size.

    The project's own tables only: a bare ANALYZE also takes the server's shared catalogs
    (pg_database, pg_authid ...), whose lock another database's ANALYZE then waits for until
    this transaction ends (seen with parallel test databases on one server)."""
    if connection.vendor == "postgresql":
        tables = connection.introspection.django_table_names(only_existing=True, include_views=False)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(bulk.quote(t) for t in sorted(tables))}")


def full_order(ctx: Context | None = None) -> list[int]:
    """Every indicator in the order a full recompute takes them: by period kind (a batch is
    of one kind), then by the variables they read, so that neighbours share their reads."""
    ctx = ctx or Context()
    return sorted(ctx.indicators, key=lambda i: (ctx.spec(i).kind, ctx.spec(i).variable_ids, i))


def _recompute_all(
    progress: Callable[[int, int], None] | None,
    *,
    force: bool = False,
    only: set[int] | None = None,
    empty: bool = False,
) -> RefreshResult:
    started = time.perf_counter()
    fingerprints = Fingerprints()  # before anything is read: see "what a full recompute can skip"
    ctx = Context()
    ctx.cache = VariableCache(ctx)
    result = RefreshResult()
    # Indicators that read the same variables one after another, so the cache serves them.
    ids = [i for i in full_order(ctx) if only is None or i in only]
    if progress:
        progress(0, len(ids))
    for table in (IV_TABLE, GS_TABLE):
        result.written.setdefault(table, 0)
        result.deleted.setdefault(table, 0)
    # Indicators to compute go in batches of one period kind, evaluated side by side
    # (`_compute_batch`): one read of their variables and a few wide Polars passes instead
    # of a dozen small ones per indicator. The batch is then stored in one transaction (`_store_computed`).
    batch: list[tuple[Spec, str]] = []
    done = 0
    counting = threading.Lock()  # the storing threads report too

    def one_done(count: int = 1) -> None:
        nonlocal done
        with counting:
            done += count
            if progress:
                progress(done, len(ids))

    def flush() -> None:
        storer.put(list(batch), _compute_batch(ctx, [spec for spec, _ in batch], None))
        batch.clear()

    todo = []
    for indicator_id in ids:
        spec = ctx.spec(indicator_id)
        digest = fingerprints.digest(spec)
        if not force and fingerprints.unchanged(spec, digest):
            result.skipped += 1
            result.indicators += 1
            if spec.error:
                result.errors[spec.code] = spec.error
            one_done()
            continue
        todo.append((spec, digest))
    read_ahead = ctx.cache.preload({v for spec, _ in todo for v in spec.variable_ids}, fingerprints.rows)
    # The indicators are stored while the next batch is computed (`_Storer`); on SQLite with
    # the WAL copied by a thread of its own once nothing is read batch by batch any more.
    storer = _Storer(
        ctx,
        writers(),
        one_done,
        checkpoints=read_ahead,
        prepare_ahead=PREPARE_AHEAD.get(connection.vendor, False),
        whole=empty,
    )
    failing = True
    try:
        for spec, digest in todo:
            if batch and (batch[0][0].kind != spec.kind or len(batch) >= BATCH):
                flush()
            batch.append((spec, digest))
        if batch:
            flush()
        failing = False
    finally:
        for stored in storer.close(failing):
            result.add(stored)
    result.seconds = time.perf_counter() - started
    log.info("recompute_all: %s", result.summary())
    return result
