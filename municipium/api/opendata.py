"""Open-data formats for indicator values: CSV, Excel, JSON-stat 2.0 and SDMX-CSV 2.0.

Pure functions over rows, so that the API, pages and exports write the same files. A row
is a mapping with

    unit, unit_name, indicator, indicator_name, unit_of_measure, decimals,
    period, breakdown, value, missing, status

where `breakdown` is "" for the total, `missing` says why `value` is None (the observations'
codes: not_collected, not_shared, confidential, not_applicable; "" for a value), `status` is
"published" or "unpublished", and the names are already in the reader's language. Who may
see which rows is the caller's business (see municipium.api.api).

Codes follow what statistical software expects: the total of a breakdown is `_T`;
observation statuses use the SDMX code list CL_OBS_STATUS and confidentiality CL_CONF_STATUS,
in JSON-stat as in SDMX-CSV, so that the files say the same thing (`obs_status`,
`obs_conf`). A missing value carries its reason in every format (DESIGN principle 2):

    value, published            A  normal value              F  free
    value, not yet published    P  provisional value         N  not for publication
    not collected               O  missing value             F/N as the row's status
    not shared                  L  missing, data exist but were not collected
    confidential                Q  missing value, suppressed C  confidential
    not applicable              M  missing, data cannot exist
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Mapping

import polars as pl
from django.utils.translation import gettext as _

TOTAL = "_T"
OBS_STATUS = {"published": "A", "unpublished": "P"}
MISSING_STATUS = {"not_collected": "O", "not_shared": "L", "confidential": "Q", "not_applicable": "M"}
OBS_CONF = {"published": "F", "unpublished": "N"}
CONFIDENTIAL = "C"
SDMX_AGENCY = "MUNICIPIUM"
SDMX_DATAFLOW = "INDICATOR_VALUES"
SDMX_VERSION = "1.0"
SDMX_STRUCTURE_ID = f"{SDMX_AGENCY}:{SDMX_DATAFLOW}({SDMX_VERSION})"
SDMX_COLUMNS = [
    "STRUCTURE",
    "STRUCTURE_ID",
    "ACTION",
    "UNIT",
    "INDICATOR",
    "TIME_PERIOD",
    "BREAKDOWN",
    "OBS_VALUE",
    "OBS_STATUS",
    "OBS_CONF",
    "UNIT_MEASURE",
]
TABLE_COLUMNS = [
    "indicator",
    "indicator_name",
    "unit_of_measure",
    "unit",
    "unit_name",
    "period",
    "breakdown",
    "value",
    "missing",
    "status",
]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "jsonstat": "application/json",
    "sdmx.csv": "application/vnd.sdmx.data+csv; version=2.0.0; charset=utf-8",
}


def obs_status(row: Mapping) -> str:
    """The row's CL_OBS_STATUS code: why a value is missing, or whether it is published."""
    if row.get("value") is None:
        return MISSING_STATUS.get(row.get("missing") or "", "O")
    return OBS_STATUS.get(row.get("status") or "published", "A")


def obs_conf(row: Mapping) -> str:
    """The row's CL_CONF_STATUS code: confidential, free, or not for publication (yet)."""
    if row.get("value") is None and row.get("missing") == "confidential":
        return CONFIDENTIAL
    return OBS_CONF.get(row.get("status") or "published", "F")


def status_labels() -> dict[str, str]:
    """What each CL_OBS_STATUS code we write means, in the active language."""
    return {
        "A": _("normal value (published)"),
        "P": _("provisional value (not yet published)"),
        "O": _("missing value: not collected"),
        "L": _("missing value: not shared"),
        "Q": _("missing value: confidential"),
        "M": _("missing value: not applicable"),
    }


def _frame(rows: Iterable[Mapping]) -> pl.DataFrame:
    schema = {c: pl.String for c in TABLE_COLUMNS} | {"value": pl.Float64}
    return pl.DataFrame([{c: row.get(c) for c in TABLE_COLUMNS} for row in rows], schema=schema)


def to_csv(rows: Iterable[Mapping]) -> bytes:
    """Plain CSV (UTF-8 with a BOM so that Excel opens it right), one row per value."""
    from municipium.lib.tabular import to_csv as write_csv

    return write_csv(_frame(rows), bom=True)


def to_xlsx(rows: Iterable[Mapping], sheet: str = "Indicators") -> bytes:
    """An Excel workbook with one sheet of values."""
    from municipium.lib.tabular import to_xlsx as write_xlsx

    return write_xlsx({sheet: _frame(rows)})


def sdmx_period(code: str) -> str:
    """Our period code as SDMX writes TIME_PERIOD: 2024, 2024-Q1, 2024-01."""
    if len(code) == 6 and code[4] in "Qq":
        return f"{code[:4]}-Q{code[5]}"
    return code


def _number(value: float) -> str:
    # repr gives the shortest text that reads back to the same double: no digits lost.
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(float(value))


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
        categories["breakdown"].setdefault(breakdown, breakdown)
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
