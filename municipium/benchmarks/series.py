"""How derived indicator values are stored: one row per indicator, unit and basis (a
`ValueSeries`), holding every period's figures of that unit as arrays, not one row per value.

A country's full recompute stores 50 million values; as rows that was 53 million inserts
into a table and its indexes, 230 s at the least on PostgreSQL whatever the engine did
(ARCHITECTURE, "What a full recompute costs"). As series it is 2.6 million rows.

Element i of a series is the period of the indicator's kind whose ordinal is `first` + i.
`missing` holds one signed byte an element: `NO_ROW` (-1) where the series has no value nor
reason for that period (the rows' store had no row there), 0 where there is a row without a
missing code, else the code's place in `MISSING_CODES`. Each stored figure
(`STORED_FIGURES`: the value and a ratio's parts) is a float64 array (native byte order,
NaN: null), or None where every element is null. The engine writes nothing else into a
figure that is NaN: a formula's NaN is a null value.

A value's change against the previous period (in its unit and in %) and its trend are not
stored: `decode` derives them (`derive`) from the values the reader sees, as the engine
computes them, to the bit. Stored, they were two thirds of a rebuild's bytes and of the
server's work for them (issue 18); derived, they can never disagree with the values.

A published row with neither value nor reason (the published data give no row where all
data give one: the value rests on unpublished inputs, and the public must not see it) is
not a series of its own: its "all" twin's missing byte carries `HIDDEN`, and `decode` gives
the published row back. In a collection round, when the latest year is in draft for most
units, those rows are one for every unit of every indicator: as series of their own they
were half of a rebuild's series (issue 18). So a unit's series of one indicator are stored
and rewritten together, both bases (`engine._sync_values`). `count` counts the rows a
series gives back, its hidden twins among them.

`encode` and `decode` turn rows (one a value, as the engine computes them and readers read
them) into series and back; they, `derive` and the SQL of one period's elements
(`element_sql`, `window_sql`) are the only code that knows the layout.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from municipium.lib import arrays, stats
from municipium.observations.models import Missing

from .models import Basis

# The figures stored, and those a reader gets besides, derived from the values on reading
# (`derive`): the change against the previous period, in the indicator's unit and in %, and
# the trend. Stored, those were two thirds of a rebuild's bytes (issue 18).
STORED_FIGURES = ("value", "numerator", "denominator")
DERIVED = ("change", "change_pct", "trend")
FIGURES = (*STORED_FIGURES, *DERIVED)
MISSING_CODES = ["", *(code.value for code in Missing)]  # missing byte k ≥ 0 means MISSING_CODES[k]
NO_ROW = -1
# Added to an "all" element's missing byte: its published twin is a row with neither value
# nor reason (module doc). Far above any code's place.
HIDDEN = 64
ALL, PUBLISHED = Basis.ALL.value, Basis.PUBLISHED.value
# Periods a series spans at most (a century of months): an API value's id is its series'
# id × MAX_ELEMENTS + its place in the series (`read.value_page`).
MAX_ELEMENTS = 4096
# Series one SQLite statement inserts at most (`Encoded.sqlite_inserts`): its blobs stay a
# few megabytes.
SQLITE_RUN = 10_000

# The columns of a stored series after its key (indicator, unit, basis), in the order
# `encode` gives them and `decode` reads them.
STORED = ("first", "count", "missing", *STORED_FIGURES)
# A stored series' columns as the writers give them (`Encoded.copy_binary`, `sqlite_inserts`).
COLUMNS = ("indicator_id", "unit_id", "basis", *STORED, "computed_at")

ROW_SCHEMA = {
    "indicator_id": pl.Int64,
    "unit_id": pl.Int64,
    "basis": pl.String,
    "ordinal": pl.Int64,
    **{name: pl.Float64 for name in STORED_FIGURES},
    "missing": pl.String,
}


@dataclass(frozen=True)
class Encoded:
    """Series made from rows, ordered by the key: for each series its key, `first`, `count`
    (elements with a row), `length` and `offset` into the flat arrays of all series' elements
    (`codes`: the missing bytes; `numbers`: each figure's floats, NaN for null), and whether it
    has each figure at all (`has`)."""

    indicator_ids: np.ndarray
    unit_ids: np.ndarray
    bases: list[str]
    first: np.ndarray
    count: np.ndarray
    length: np.ndarray
    offset: np.ndarray
    codes: np.ndarray
    numbers: dict[str, np.ndarray]
    has: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.first)

    def rows(self) -> list[tuple]:
        """One tuple a series: indicator, unit, basis, then `STORED` (the arrays as bytes;
        None for a figure the series has none of)."""
        bounds = list(zip(self.offset.tolist(), (self.offset + self.length).tolist(), strict=True))
        code_buffer = self.codes.tobytes()
        figures = []
        for name in STORED_FIGURES:
            buffer, has = self.numbers[name].tobytes(), self.has[name].tolist()
            figures.append([buffer[a * 8 : b * 8] if h else None for (a, b), h in zip(bounds, has, strict=True)])
        return list(
            zip(
                self.indicator_ids.tolist(),
                self.unit_ids.tolist(),
                self.bases,
                self.first.tolist(),
                self.count.tolist(),
                [code_buffer[a:b] for a, b in bounds],
                *figures,
                strict=True,
            )
        )

    def _layout_keys(self) -> tuple[np.ndarray, np.ndarray]:
        """Each series' basis as a small integer, and which figures it has as bits (bit k:
        `STORED_FIGURES[k]`): with its length, what fixes the layout of its stored row."""
        _, basis_index = np.unique(np.array(self.bases, dtype=str), return_inverse=True)
        pattern = np.zeros(len(self), dtype=np.int64)
        for bit, name in enumerate(STORED_FIGURES):
            pattern |= self.has[name].astype(np.int64) << bit
        return basis_index.astype(np.int64), pattern

    def _groups(self, *keys: np.ndarray) -> list[np.ndarray]:
        """The series' indices in runs of equal `keys` (one array a series each), in the
        series' order within a run: one stable sort, where a scan of every series for each
        distinct key was quadratic in a batch's layouts."""
        if not len(self):
            return []
        order = np.lexsort(keys[::-1])  # the first key sorts first; stable
        ordered = np.stack([key[order] for key in keys])
        bounds = np.flatnonzero(np.r_[True, (ordered[:, 1:] != ordered[:, :-1]).any(axis=0), True])
        return [order[a:b] for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist(), strict=True)]

    def sqlite_inserts(self, table: str, computed_at: str) -> list[tuple[str, list]]:
        """The series as SQLite `INSERT ... SELECT` statements with their parameters
        (Django's "%s" marks), for the columns (indicator_id, unit_id, basis, `STORED`,
        computed_at) of `table` (quoted):
        one for each run of series that share their indicator, basis, `first`, `count`,
        length and figures (at most `SQLITE_RUN` series). The run's units come as one JSON
        array, which `json_each` turns into rows (`key` is a unit's place in it), and each
        stored array is cut from one blob of the run's arrays laid end to end (`substr`
        counts a blob's bytes). SQLite then makes and inserts the rows in one step that does
        not hold the interpreter's lock; `executemany` made and bound a Python tuple a
        series while holding it, the largest part of a rebuild's storing on SQLite, which
        the computing thread waited for (issue 18)."""
        basis_index, pattern = self._layout_keys()
        columns = ", ".join(f'"{name}"' for name in COLUMNS)
        statements = []
        groups = self._groups(self.indicator_ids, basis_index, self.first, self.count, self.length, pattern)
        for group in groups:
            for start in range(0, len(group), SQLITE_RUN):
                which = group[start : start + SQLITE_RUN]
                one = which[0]
                length, bits = int(self.length[one]), int(pattern[one])
                elements = self.offset[which][:, None] + np.arange(length)
                selected = ["%s", "u.value", "%s", "%s", "%s", f"substr(%s, u.key * {length} + 1, {length})"]
                params: list = [int(self.indicator_ids[one]), self.bases[one], int(self.first[one])]
                params += [int(self.count[one]), self.codes[elements].tobytes()]
                for bit, name in enumerate(STORED_FIGURES):
                    if bits >> bit & 1:
                        selected.append(f"substr(%s, u.key * {8 * length} + 1, {8 * length})")
                        params.append(self.numbers[name][elements].tobytes())
                    else:
                        selected.append("NULL")
                selected.append("%s")
                params += [computed_at, json.dumps(self.unit_ids[which].tolist())]
                statements.append(
                    (f"INSERT INTO {table} ({columns}) SELECT {', '.join(selected)} FROM json_each(%s) AS u", params)
                )
        return statements

    def copy_binary(self, computed_at: dt.datetime) -> bytes:
        """The series as PostgreSQL's binary COPY data for the columns (indicator_id,
        unit_id, basis, `STORED`, computed_at), built by numpy without a Python step per
        series: the series are grouped by what fixes a row's layout (basis, length, which
        figures it has), and each group is one structured array whose fields are the
        format's (a field count, then each field's length and big-endian bytes; -1 for NULL;
        the figures' and codes' bytes are the stored arrays as they are). A `write_row` a
        series was a third of a rebuild's storing (issue 18)."""
        header = b"PGCOPY\n\xff\r\n\x00" + b"\x00" * 8
        stamp = int((computed_at - PG_EPOCH) / dt.timedelta(microseconds=1))
        basis_index, pattern = self._layout_keys()
        pieces = [header]
        for which in self._groups(basis_index, self.length, pattern):
            basis, length, figures_bits = self.bases[which[0]], int(self.length[which[0]]), int(pattern[which[0]])
            name_bytes = basis.encode()
            fields = [("n", ">i2"), ("l_indicator", ">i4"), ("indicator", ">i8"), ("l_unit", ">i4"), ("unit", ">i8")]
            fields += [("l_basis", ">i4"), ("basis", f"S{len(name_bytes)}"), ("l_first", ">i4"), ("first", ">i4")]
            fields += [("l_count", ">i4"), ("count", ">i4"), ("l_missing", ">i4"), ("missing", "i1", (length,))]
            present = [name for bit, name in enumerate(STORED_FIGURES) if figures_bits >> bit & 1]
            for name in STORED_FIGURES:
                fields.append((f"l_{name}", ">i4"))
                if name in present:
                    fields.append((name, "<f8", (length,)))
            fields += [("l_at", ">i4"), ("at", ">i8")]
            out = np.zeros(len(which), dtype=np.dtype(fields))
            out["n"] = 7 + len(STORED_FIGURES)  # indicator, unit, basis, first, count, missing, figures, time
            out["l_indicator"], out["indicator"] = 8, self.indicator_ids[which]
            out["l_unit"], out["unit"] = 8, self.unit_ids[which]
            out["l_basis"], out["basis"] = len(name_bytes), name_bytes
            out["l_first"], out["first"] = 4, self.first[which]
            out["l_count"], out["count"] = 4, self.count[which]
            elements = self.offset[which][:, None] + np.arange(length)
            out["l_missing"], out["missing"] = length, self.codes[elements]
            for name in STORED_FIGURES:
                if name in present:
                    out[f"l_{name}"], out[name] = 8 * length, self.numbers[name][elements]
                else:
                    out[f"l_{name}"] = -1
            out["l_at"], out["at"] = 8, stamp
            pieces.append(out.tobytes())
        pieces.append(b"\xff\xff")
        return b"".join(pieces)


PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)  # PostgreSQL's binary timestamps count from it


def encode(rows: pl.DataFrame) -> Encoded:
    """Series of `rows` (`ROW_SCHEMA`'s columns; at most one row a key and ordinal): every
    (indicator, unit, basis) that has a row is one series spanning its first to its last
    row's period. No Python loop over rows: one sort, then numpy scatters into one flat
    array a column."""
    empty = np.zeros(0, dtype=np.int64)
    if rows.is_empty():
        return Encoded(
            empty,
            empty,
            [],
            empty,
            empty,
            empty,
            empty,
            np.zeros(0, dtype=np.int8),
            {name: np.zeros(0) for name in STORED_FIGURES},
            {name: np.zeros(0, dtype=bool) for name in STORED_FIGURES},
        )
    rows, hidden = _folded(rows)
    # The rows' order by (indicator, unit, basis, ordinal) as one integer key of their dense
    # places, sorted by numpy, and every column taken in that order as an array: sorting the
    # frame by four columns, one of them text, was half of a rebuild's encoding (issue 18).
    # Rows come mostly in order already (an indicator's units and periods), which the
    # stable sort's runs take quickly.
    indicators, indicator_place = arrays.places(rows.get_column("indicator_id").to_numpy())
    units, unit_place = arrays.places(rows.get_column("unit_id").to_numpy())
    names = sorted(set(rows.get_column("basis").unique().to_list()))
    basis_place = rows.get_column("basis").replace_strict(names, list(range(len(names))), return_dtype=pl.Int64)
    ordinal = rows.get_column("ordinal").to_numpy()
    low = int(ordinal.min())
    series_key = (indicator_place * len(units) + unit_place) * len(names) + basis_place.to_numpy()
    order = np.argsort(series_key * (int(ordinal.max()) - low + 1) + (ordinal - low), kind="stable")
    series_key, ordinal = series_key[order], ordinal[order]
    starts_mask = np.r_[True, series_key[1:] != series_key[:-1]]
    starts = np.flatnonzero(starts_mask)
    ends = np.r_[starts[1:], len(order)]
    first = ordinal[starts]
    last = ordinal[ends - 1]
    length = last - first + 1
    if length.max() > MAX_ELEMENTS:
        raise ValueError(f"a series spans more than {MAX_ELEMENTS} periods")
    offset = np.r_[0, np.cumsum(length)[:-1]]
    series_of_row = np.cumsum(starts_mask) - 1
    place = offset[series_of_row] + (ordinal - first[series_of_row])
    total = int(length.sum())
    codes = np.full(total, NO_ROW, dtype=np.int8)
    code_of = {code: k for k, code in enumerate(MISSING_CODES)}
    missing = rows.get_column("missing").fill_null("").replace_strict(code_of, return_dtype=pl.Int8).to_numpy()
    codes[place] = missing[order]
    indicator_ids = indicators[indicator_place[order[starts]]]
    unit_ids = units[unit_place[order[starts]]]
    bases = np.array(names, dtype=object)[basis_place.to_numpy()[order[starts]]]
    count = ends - starts
    if not hidden.is_empty():
        # Each hidden twin's mark on its "all" series' element (found by key among the
        # series, not among the rows: a join of the few twins, not of every row).
        alls = np.flatnonzero(bases == ALL)
        owners = pl.DataFrame({"indicator_id": indicator_ids[alls], "unit_id": unit_ids[alls], "series": alls})
        found = hidden.join(owners, on=["indicator_id", "unit_id"], how="inner")
        which = found.get_column("series").to_numpy()
        codes[offset[which] + found.get_column("ordinal").to_numpy() - first[which]] += HIDDEN
        count = count + np.bincount(which, minlength=len(starts))
    numbers, has = {}, {}
    for name in STORED_FIGURES:
        column = rows.get_column(name).cast(pl.Float64).to_numpy()[order]  # a null is NaN here
        present = ~np.isnan(column)
        flat = np.full(total, np.nan)
        flat[place[present]] = column[present]
        # A series whose figure is null throughout stores none (most series of most
        # indicators have no numerator, and the first periods no change or trend).
        holds = np.zeros(len(starts), dtype=bool)
        holds[series_of_row[present]] = True
        numbers[name], has[name] = flat, holds
    return Encoded(
        indicator_ids=indicator_ids,
        unit_ids=unit_ids,
        bases=bases.tolist(),
        first=first,
        count=count,
        length=length,
        offset=offset,
        codes=codes,
        numbers=numbers,
        has=has,
    )


def _folded(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`rows` without the published rows that fold into their "all" twin's `HIDDEN` mark
    (neither a figure nor a reason, and an "all" row at the same key), and the keys
    (indicator_id, unit_id, ordinal) of those. The published rows are few beside the "all"
    ones: the joins build on them, and the "all" rows are only probed."""
    key = ["indicator_id", "unit_id", "ordinal"]
    everyone = pl.col("basis") == ALL
    nothing = pl.all_horizontal(pl.col(name).is_null() | pl.col(name).is_nan() for name in STORED_FIGURES)
    others = rows.filter(~everyone)
    candidates = others.filter(nothing & (pl.col("missing").fill_null("") == "")).select(key)
    if candidates.is_empty():
        return rows, candidates
    hidden = rows.filter(everyone).select(key).join(candidates, on=key, how="semi")
    if hidden.is_empty():
        return rows, hidden
    return pl.concat([rows.filter(everyone), others.join(hidden, on=key, how="anti")]), hidden


def read_columns(figures: tuple[str, ...] = FIGURES) -> tuple[str, ...]:
    """The stored figures a reader selects for these `figures`, in `decode`'s order: those
    asked for, and the value for a derived one."""
    wanted = set(figures) | ({"value"} if set(figures) & set(DERIVED) else set())
    return tuple(name for name in STORED_FIGURES if name in wanted)


def decode(stored: list[tuple], figures: tuple[str, ...] = FIGURES, *, with_id: bool = False) -> pl.DataFrame:
    """The rows of stored series: each item (id if `with_id`, indicator, unit, basis,
    first, missing, then `read_columns(figures)`, as bytes or None), one row an element
    that has one (`ROW_SCHEMA`'s keys with the `figures` asked for, the derived ones
    computed by `derive` over the series read, and the series' `series_id` if `with_id`,
    and its place in the series, `element`), in the series' order and each series' periods
    in order. No Python loop over elements: the blobs are joined and read as one array a
    column."""
    skip = 1 if with_id else 0
    read = read_columns(figures)
    columns = {
        "indicator_id": pl.Int64,
        "unit_id": pl.Int64,
        "basis": pl.String,
        "ordinal": pl.Int64,
        **{name: pl.Float64 for name in read},
        "missing": pl.String,
    }
    if with_id:
        columns = {"series_id": pl.Int64, "element": pl.Int64, **columns}
    if not stored:
        frame = pl.DataFrame(schema=columns)
    else:
        blobs = [bytes(item[skip + 4]) for item in stored]
        length = np.array([len(blob) for blob in blobs], dtype=np.int64)
        codes, hidden = _unmarked(np.frombuffer(b"".join(blobs), dtype=np.int8))
        kept = codes != NO_ROW
        n = len(stored)
        which = np.repeat(np.arange(n), length)
        offset = np.r_[0, np.cumsum(length)[:-1]]
        first = np.array([item[skip + 3] for item in stored], dtype=np.int64)
        ordinal = first[which] + (np.arange(len(codes)) - offset[which])
        out: dict[str, object] = {}
        if with_id:
            out["series_id"] = np.array([item[0] for item in stored], dtype=np.int64)[which][kept]
            out["element"] = (np.arange(len(codes)) - offset[which])[kept]
        out["indicator_id"] = np.array([item[skip] for item in stored], dtype=np.int64)[which][kept]
        out["unit_id"] = np.array([item[skip + 1] for item in stored], dtype=np.int64)[which][kept]
        bases = np.array([item[skip + 2] for item in stored], dtype=object)
        out["basis"] = bases[which][kept]
        out["ordinal"] = ordinal[kept]
        nan = np.full(int(length.max()), np.nan).tobytes()
        for k, name in enumerate(read):
            parts = [
                bytes(item[skip + 5 + k]) if item[skip + 5 + k] is not None else nan[: 8 * size]
                for item, size in zip(stored, length.tolist(), strict=True)
            ]
            out[name] = np.frombuffer(b"".join(parts), dtype=np.float64)[kept]
        out["missing"] = np.array(MISSING_CODES, dtype=object)[codes[kept]]
        frame = with_twins(pl.DataFrame(out, schema=columns), hidden[kept], read)
        frame = frame.with_columns(pl.col(name).fill_nan(None) for name in read)
    derived = tuple(name for name in DERIVED if name in figures)
    if derived:
        frame = derive(frame, derived)
    keys = [c for c in columns if c not in read and c != "missing"]
    return frame.select(*keys, *(name for name in FIGURES if name in figures), "missing")


def derive(rows: pl.DataFrame, names: tuple[str, ...] = DERIVED) -> pl.DataFrame:
    """Decoded `rows` (indicator_id, unit_id, basis, ordinal, value ...: every row of the
    series read, of one basis or both) with the derived figures `names` of each row: what
    the engine computes (`stats.change_exprs`, `stats.trend_array`), over the values its
    reader sees along the unit's periods. On all data those are the "all" rows. The public
    sees a published row where there is one (a hidden one among them: no value), else the
    "all" row (`read._as_seen`): where no published row is stored, the published figure is
    the "all" one, so these are the published basis' own values (issue 18).

    Element by element as the engine's grid: each (indicator, unit)'s periods laid side by
    side from its first row's to its last's, no value where it has no row; the previous
    period's value is the element before, so the figures are the engine's to the bit."""
    if rows.is_empty():
        return rows.with_columns(pl.lit(None, dtype=pl.Float64).alias(name) for name in names)
    indicators = arrays.places(rows.get_column("indicator_id").to_numpy())[1]
    units = arrays.places(rows.get_column("unit_id").to_numpy())[1]
    ordinal = rows.get_column("ordinal").to_numpy()
    value = rows.get_column("value").cast(pl.Float64).to_numpy()  # a null is NaN here
    pair = indicators * (int(units.max()) + 1) + units
    everyone = (rows.get_column("basis") == ALL).to_numpy()
    out = {name: np.full(rows.height, np.nan) for name in names}
    alls = np.flatnonzero(everyone)
    published = np.flatnonzero(~everyone)
    # The public's values: each published row, and each "all" row without one at its key.
    key = pair * (int(ordinal.max()) - int(ordinal.min()) + 1) + (ordinal - int(ordinal.min()))
    shown = alls[~np.isin(key[alls], key[published])] if len(published) else alls
    for rows_of, taken in ((alls, alls), (np.r_[shown, published], published)):
        if not len(taken):
            continue
        figures = _along_periods(pair[rows_of], ordinal[rows_of], value[rows_of], names)
        for name in names:
            out[name][taken] = figures[name][len(rows_of) - len(taken) :]
    return rows.with_columns(pl.Series(name, out[name], nan_to_null=True) for name in names)


def _along_periods(pair: np.ndarray, ordinal: np.ndarray, value: np.ndarray, names) -> dict[str, np.ndarray]:
    """The derived figures of rows (their (indicator, unit) `pair`, ordinal and value, NaN
    for none; one row a pair and ordinal), in the rows' order: each pair's elements from its
    first to its last ordinal side by side, as the engine's grid lays a unit's periods."""
    order = np.lexsort((ordinal, pair))
    pair, ordinal = pair[order], ordinal[order]
    starts_mask = np.r_[True, pair[1:] != pair[:-1]]
    starts = np.flatnonzero(starts_mask)
    ends = np.r_[starts[1:], len(pair)]
    low = ordinal[starts]
    span = ordinal[ends - 1] - low + 1
    offset = np.r_[0, np.cumsum(span)[:-1]]
    segment = np.cumsum(starts_mask) - 1
    place = offset[segment] + (ordinal - low[segment])
    flat = np.full(int(span.sum()), np.nan)
    flat[place] = value[order]
    previous = np.r_[np.nan, flat[:-1]]
    previous[offset] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        change = flat - previous
        computed = {
            "change": change,
            "change_pct": np.where(previous != 0, 100.0 * change / np.abs(previous), np.nan),
            "trend": stats.trend_array(flat, np.repeat(np.arange(len(starts)), span)) if "trend" in names else None,
        }
    result = {}
    for name in names:
        back = np.empty(len(order))
        back[order] = computed[name][place]
        result[name] = back
    return result


def with_twins(rows: pl.DataFrame, hidden: np.ndarray, figures: tuple[str, ...] = FIGURES) -> pl.DataFrame:
    """Decoded `rows` (one an element), then the hidden published twins of those `hidden`
    marks (`HIDDEN`): the same key, basis published, no figure, no reason."""
    if not hidden.any():
        return rows
    twins = rows.filter(pl.Series(hidden)).with_columns(
        pl.lit(PUBLISHED).alias("basis"),
        *(pl.lit(None, dtype=pl.Float64).alias(name) for name in figures),
        pl.lit("").alias("missing"),
    )
    return pl.concat([rows, twins])


def _unmarked(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Missing bytes without their `HIDDEN` marks, and where they had one."""
    hidden = codes >= HIDDEN
    return np.where(hidden, codes - HIDDEN, codes).astype(np.int8), hidden


def with_period_ids(rows: pl.DataFrame, periods: pl.DataFrame) -> pl.DataFrame:
    """Decoded rows that carry their indicator's period `kind` beside each element's
    `ordinal`, with the id of that period (`periods`: kind, ordinal, period_id) in place of
    both: the one rule that says which period an element is. Elements of no period (one
    deleted since) are dropped."""
    found = periods.select("kind", "ordinal", "period_id")
    return rows.join(found, on=["kind", "ordinal"], how="inner", maintain_order="left").drop("kind", "ordinal")


ORDINAL = "CAST(%s AS integer)"  # a parameter: a period's ordinal (PostgreSQL's substr takes integers)


def element_sql(column: str, ordinal_mark: str = ORDINAL) -> str:
    """SQL for one element of a stored column (`missing` or a figure) of each series: the
    element of the period whose ordinal the parameter gives, as its bytes (substr works on
    blobs in SQLite and on bytea in PostgreSQL alike; NULL for a figure stored as none). The
    caller keeps to series that span the period (`spans_sql`)."""
    width = 1 if column == "missing" else 8
    return f'substr("{column}", ({ordinal_mark} - "first") * {width} + 1, {width})'


# Periods back a derived figure reads (the trend's K − 1; the change reads one).
LOOK_BACK = stats.TREND_PERIODS - 1


def window_sql(ordinal: int) -> tuple[str, str, str]:
    """SQL for the elements a reader needs to derive the figures of period `ordinal` (an
    integer, written into the SQL): the ordinal of the first element read, then the
    `missing` bytes and the `value` floats from there to the period (LOOK_BACK periods back,
    or from the series' first). `decode` reads them as series that start there."""
    at = int(ordinal)
    start = f'CASE WHEN "first" <= {at - LOOK_BACK} THEN {at - LOOK_BACK} ELSE "first" END'
    return (
        start,
        f'substr("missing", {start} - "first" + 1, {at} - ({start}) + 1)',
        f'substr("value", ({start} - "first") * 8 + 1, ({at} - ({start}) + 1) * 8)',
    )


def spans_sql(ordinal_mark: str = ORDINAL) -> str:
    """SQL: the series spans the period whose ordinal the parameter gives (twice)."""
    return f'"first" <= {ordinal_mark} AND "first" + length("missing") > {ordinal_mark}'


NAN = np.full(1, np.nan).tobytes()


def decode_elements(codes: list[bytes], figures: dict[str, list[bytes | None]]) -> tuple[np.ndarray, dict]:
    """The elements `element_sql` read, one a series: (the series that have a row there,
    as a boolean mask; each figure's numbers with NaN for null), the missing texts, and
    `hidden`: the element has a hidden published twin (`HIDDEN`), which the caller adds."""
    code, hidden = _unmarked(np.frombuffer(b"".join(bytes(c) for c in codes), dtype=np.int8))
    has = code != NO_ROW
    out: dict[str, np.ndarray] = {}
    for name, items in figures.items():
        out[name] = np.frombuffer(b"".join(bytes(x) if x is not None else NAN for x in items), dtype=np.float64)
    out["missing"] = np.array(MISSING_CODES, dtype=object)[np.where(has, code, 0)]
    out["hidden"] = hidden
    return has, out
