"""The shape of an input file once read: a Table of strings with the canonical columns,
and the report of one import. Shared by the long-format importer (`imports`) and the wide
Excel workbooks (`workbooks`), so that neither imports the other's internals."""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from municipium.lib.tabular import ProblemReport

from .models import ImportBatch

COLUMNS = ("unit", "variable", "period", "breakdown", "value", "missing", "status", "source", "comment")


@dataclass
class Table:
    """A file read into strings: one frame with the canonical columns, `_row` (the row
    number the person sees, header included) and `_sheet`; optionally `_cell_value`,
    `_label_value`, `_cell_missing` and `_label_missing` per row, where the value sits in a
    different column on every row (wide templates)."""

    file: str
    format: str
    frame: pl.DataFrame
    # sheet -> canonical column -> header as written in the file
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    # sheet -> canonical column -> spreadsheet column letter (workbooks only)
    letters: dict[str, dict[str, str]] = field(default_factory=dict)
    encoding: str = ""
    delimiter: str = ""
    # how numbers that read either way (1,234) are taken: "." or ","
    decimal: str = "."
    data: bytes = b""


@dataclass
class ImportReport(ProblemReport):
    """A file's problems (lib.tabular.ProblemReport) and, once committed, what was written."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    batch: ImportBatch | None = None
    committed: bool = False


def clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Strip every field, make blanks null (calamine's '' and CSV's empty alike) and drop
    rows left with nothing in them: spreadsheets carry blank lines at the end."""
    frame = frame.with_columns(pl.col(c).str.strip_chars().replace("", None) for c in COLUMNS)
    return frame.filter(pl.any_horizontal(pl.col(c).is_not_null() for c in COLUMNS))


def fmt(number: float) -> str:
    """A bound as people write it in a message: 0, 1.5 (no trailing .0)."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))
