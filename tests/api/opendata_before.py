"""The open-data downloads as they were written before they streamed (commit 78a6ec3, issue
18): every row read into a list, every file built whole in memory. Kept, unchanged but for
the imports and the reading of the rows (`opendata_rows`), as the oracle that the streamed downloads give the same bytes."""

import csv
import io
import json
from collections.abc import Iterable, Mapping

import polars as pl
import xlsxwriter
from django.utils.translation import gettext as _

from municipium.api.api import Caller, IndicatorFilters
from municipium.api.opendata import (
    SDMX_COLUMNS,
    SDMX_STRUCTURE_ID,
    TABLE_COLUMNS,
    TOTAL,
    _number,
    obs_conf,
    obs_status,
    sdmx_period,
    status_labels,
)
from municipium.benchmarks.models import Basis
from municipium.catalog.models import Indicator
from municipium.lib.tabular import SAFE_WORKBOOK, _would_run, write_number
from municipium.lib.texts import pick
from municipium.observations.models import Period
from municipium.places.models import Unit
from tests import derived


def opendata_rows(caller: Caller, filters: IndicatorFilters, language: str | None = None) -> list[dict]:
    """The visible indicator values as rows for the open-data writers, names in `language`.
    The rows are read here through the tests' door to the store (`tests/derived.py`) and
    the reader's rule applied in plain Python, not by the code under test: a value, or a
    missing one with its reason; an administrator every "all" row, anyone else the "all"
    rows of their insider units and elsewhere the published row where there is one, else
    the "all" row; published unless an "all" row has a published twin of another value."""
    assert filters == IndicatorFilters(), "the oracle knows no filters"
    stored = derived.rows(breakdown=derived.ANY)
    twins = {(r.indicator_id, r.unit_id, r.period_id, r.breakdown): r for r in stored if r.basis == Basis.PUBLISHED}
    insiders = set(caller.insider_units)
    visible = []
    for r in stored:
        if r.value is None and not r.missing:
            continue
        twin = twins.get((r.indicator_id, r.unit_id, r.period_id, r.breakdown))
        if caller.admin or r.unit_id in insiders:
            seen = r.basis == Basis.ALL
        else:
            seen = r.basis == Basis.PUBLISHED or twin is None
        if seen:
            published = r.basis == Basis.PUBLISHED or twin is None or (r.value is not None and twin.value == r.value)
            visible.append((r, published))
    indicators = {i.pk: i for i in Indicator.objects.filter(pk__in={r.indicator_id for r, _p in visible})}
    units = {u.pk: u for u in Unit.objects.filter(pk__in={r.unit_id for r, _p in visible})}
    periods = {p.pk: p for p in Period.objects.filter(pk__in={r.period_id for r, _p in visible})}
    visible.sort(
        key=lambda pair: (
            indicators[pair[0].indicator_id].code,
            units[pair[0].unit_id].code,
            periods[pair[0].period_id].kind,
            periods[pair[0].period_id].ordinal,
            pair[0].breakdown,
        )
    )
    out = []
    for v, published in visible:
        ind, unit = indicators[v.indicator_id], units[v.unit_id]
        out.append(
            {
                "unit": unit.code,
                "unit_name": pick(unit.name, language).text,
                "indicator": ind.code,
                "indicator_name": pick(ind.name, language).text,
                "unit_of_measure": pick(ind.unit_of_measure, language).text,
                "decimals": ind.decimals,
                "period": v.period_code,
                "breakdown": v.breakdown,
                "value": v.value,
                "missing": v.missing,
                "status": "published" if published else "unpublished",
            }
        )
    return out


def _frame(rows: Iterable[Mapping]) -> pl.DataFrame:
    schema = {c: pl.String for c in TABLE_COLUMNS} | {"value": pl.Float64}
    return pl.DataFrame([{c: row.get(c) for c in TABLE_COLUMNS} for row in rows], schema=schema)


def to_csv(rows: Iterable[Mapping]) -> bytes:
    """Plain CSV (UTF-8 with a BOM so that Excel opens it right), one row per value."""
    return write_csv(_frame(rows), bom=True)


def write_csv(frame: pl.DataFrame, *, delimiter: str = ",", decimal: str = ".", bom: bool = False) -> bytes:
    """CSV bytes in UTF-8. `bom=True` for Excel users (Excel reads BOM-less UTF-8 as the
    local code page); `delimiter=';', decimal=','` for Polish or Lithuanian Excel. Text that
    a spreadsheet would run as a formula is neutralised (`neutralise`)."""
    if decimal == "," and delimiter == ",":
        raise ValueError(_("a decimal comma needs another delimiter than the comma, such as ';'"))
    # Empty text and no text read the same to people; polars would quote the former.
    frame = frame.with_columns(pl.col(pl.String).replace("", None))
    frame = frame.with_columns(
        pl.when(_would_run(pl.col(pl.String)))
        .then(pl.lit("'") + pl.col(pl.String))
        .otherwise(pl.col(pl.String))
        .name.keep()
    )
    text = frame.write_csv(separator=delimiter, decimal_comma=decimal == ",", include_bom=False, null_value="")
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


def write_xlsx(sheets: dict[str, pl.DataFrame]) -> bytes:
    """An .xlsx workbook with one sheet per frame: numbers as numbers, header bold and
    frozen, columns wide enough to read."""
    buffer = io.BytesIO()
    # Text is written as text: never a formula, never a link (issue 20).
    book = xlsxwriter.Workbook(buffer, SAFE_WORKBOOK)
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
                if numeric:
                    write_number(sheet, row, column, value)
                else:
                    sheet.write_string(row, column, value)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, frame.height, max(frame.width - 1, 0))
    book.close()
    return buffer.getvalue()


def to_xlsx(rows: Iterable[Mapping], sheet: str = "Indicators") -> bytes:
    """An Excel workbook with one sheet of values."""
    return write_xlsx({sheet: _frame(rows)})


def to_sdmx_csv(rows: Iterable[Mapping], *, action: str = "I") -> bytes:
    """SDMX-CSV 2.0 data message: the fixed STRUCTURE, STRUCTURE_ID and ACTION columns, then
    the dimensions (UNIT, INDICATOR, TIME_PERIOD, BREAKDOWN), the measure OBS_VALUE and the
    attributes OBS_STATUS, OBS_CONF and UNIT_MEASURE; a missing value is OBS_VALUE NaN
    whose OBS_STATUS (and OBS_CONF) say why. ACTION "I" marks the file as information (a
    download), not an instruction to replace or delete data in the receiver's database."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")  # RFC 4180
    writer.writerow(SDMX_COLUMNS)
    for row in rows:
        value = row.get("value")
        writer.writerow(
            [
                "dataflow",
                SDMX_STRUCTURE_ID,
                action,
                row["unit"],
                row["indicator"],
                sdmx_period(row["period"]),
                row.get("breakdown") or TOTAL,
                # NaN is SDMX's intentionally missing value (an empty field would mean
                # "not reported" and fails readers' numeric conversion).
                "NaN" if value is None else _number(value),
                obs_status(row),
                obs_conf(row),
                row.get("unit_of_measure") or "",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def jsonstat_dataset(
    rows: Iterable[Mapping],
    *,
    label: str = "",
    source: str = "",
    updated: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> dict:
    """A JSON-stat 2.0 dataset with the dimensions unit, indicator, period and breakdown.

    `labels` overrides the names of the dimensions (by default in the active language). Values are a dense array in
    row-major order of `id` (JSON-stat's default), absent combinations are null; `status`
    gives each present value's SDMX status code, which for a missing value (null too) says
    why it is missing (`extension.status` labels the codes); `extension.unit_of_measure` and the
    metric dimension's `category.unit` give each indicator's unit of measure.
    """
    rows = list(rows)
    labels = {
        "unit": _("Unit"),
        "indicator": _("Indicator"),
        "period": _("Period"),
        "breakdown": _("Breakdown"),
        **(labels or {}),
    }
    categories: dict[str, dict[str, str]] = {"unit": {}, "indicator": {}, "period": {}, "breakdown": {}}
    measures: dict[str, dict] = {}
    for row in rows:
        categories["unit"].setdefault(row["unit"], row.get("unit_name") or row["unit"])
        categories["indicator"].setdefault(row["indicator"], row.get("indicator_name") or row["indicator"])
        categories["period"].setdefault(row["period"], row["period"])
        breakdown = row.get("breakdown") or TOTAL
        categories["breakdown"].setdefault(breakdown, _("Total") if breakdown == TOTAL else breakdown)
        measures.setdefault(
            row["indicator"], {"label": row.get("unit_of_measure") or "", "decimals": int(row.get("decimals") or 0)}
        )
    ids = ["unit", "indicator", "period", "breakdown"]
    order = {dim: sorted(cats) for dim, cats in categories.items()}
    # Periods sort as text correctly within a kind (2023 < 2024, 2024Q1 < 2024Q2).
    index = {dim: {code: i for i, code in enumerate(codes)} for dim, codes in order.items()}
    size = [len(order[dim]) for dim in ids]
    cells = 1
    for n in size:
        cells *= n
    values: list = [None] * cells if rows else []
    status: dict[str, str] = {}
    for row in rows:
        position = 0
        for dim in ids:
            code = (row.get(dim) or TOTAL) if dim == "breakdown" else row[dim]
            position = position * len(order[dim]) + index[dim][code]
        values[position] = row.get("value")
        status[str(position)] = obs_status(row)
    dimension = {
        dim: {
            "label": labels[dim],
            "category": {"index": index[dim], "label": {code: categories[dim][code] for code in order[dim]}},
        }
        for dim in ids
    }
    dimension["indicator"]["category"]["unit"] = {code: measures[code] for code in order["indicator"]}
    dataset = {
        "version": "2.0",
        "class": "dataset",
        "label": label,
        "source": source,
        "id": ids,
        "size": size,
        "role": {"geo": ["unit"], "metric": ["indicator"], "time": ["period"]},
        "dimension": dimension,
        "value": values,
        "status": status,
        "extension": {
            "unit_of_measure": {code: measures[code]["label"] for code in order["indicator"]},
            "status": status_labels(),
        },
    }
    if updated:
        dataset["updated"] = updated
    return dataset


def to_jsonstat(rows: Iterable[Mapping], **kwargs) -> bytes:
    """`jsonstat_dataset` as UTF-8 JSON bytes."""
    return json.dumps(jsonstat_dataset(rows, **kwargs), ensure_ascii=False, allow_nan=False).encode("utf-8")
