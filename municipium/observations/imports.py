"""Importing observations in long format (one row per unit × variable × period × category)
from CSV and Excel files.

The path is: read the file into a table of strings (`read_table`), check every row against
the catalogue and the units (`check`), and only when nothing is wrong hand the rows to the
one write path (`services.write_staged`), inside a single transaction. A UTF-8 CSV file on
disk is never held whole: it is read, checked and staged in pieces (`_stream_csv`, `_run`),
so its memory is that of one piece at any length. A dry run stops before the write. Every problem names the file, sheet, row and column as the person sees
them in their spreadsheet, says what is wrong and what would be right.

Checks are vectorised with Polars (joins against small lookup frames of units, variables
and periods) because a country's yearly data is a million rows and a per-row Python loop
would make the person wait minutes instead of seconds.
"""

from __future__ import annotations

import codecs
import contextlib
import csv
import difflib
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, override

from municipium.catalog.models import Category, Variable
from municipium.lib import bulk
from municipium.lib.numbers import format_number
from municipium.lib.tabular import (
    EXCEL_FORMATS,
    MAX_COLUMNS,
    MAX_PROBLEMS,
    Problem,
    cell_text,
    claimed_format,
    column_letter,
    decimal_evidence,
    decode,
    guess_decimal,
    megabytes,
    open_workbook,
    parse_numbers,
    read_ahead,
    read_source,
    record_chunks,
    sniff_delimiter,
)
from municipium.places.models import Succession, Unit

from . import services
from .models import ImportBatch, Missing, Period, PeriodCodeError, Status, Via, parse_period
from .services import locked_changes, stored_states
from .table import COLUMNS, ImportReport, Table, clean, fmt

# The canonical columns of a long-format file, in the order problems are sorted by.
REQUIRED = ("unit", "variable", "period")
# One of these must be present too: a file may carry only missing codes, or only values.
VALUE_COLUMNS = ("value", "missing")

# Header names people actually write, in the six working languages. Matched after
# `_header_key` (lower case, no accents, spaces and hyphens as underscores).
ALIASES = {
    "unit": [
        "unit",
        "unit_code",
        "code_unit",
        "municipality",
        "jednostka",
        "kod_jednostki",
        "gmina",
        "teryt",
        "jedinica",
        "opstina",
        "единица",
        "јединица",
        "општина",
        "община",
        "vienetas",
        "savivaldybe",
        "واحد",
        "شهرداری",
    ],
    "variable": [
        "variable",
        "variable_code",
        "zmienna",
        "kod_zmiennej",
        "promenljiva",
        "променљива",
        "променлива",
        "kintamasis",
        "متغیر",
    ],
    "period": ["period", "year", "okres", "rok", "период", "година", "godina", "laikotarpis", "metai", "دوره", "سال"],
    "value": ["value", "wartosc", "vrednost", "вредност", "стойност", "reiksme", "مقدار"],
    "missing": [
        "missing",
        "missing_code",
        "missing_reason",
        "brak",
        "brak_danych",
        "nedostaje",
        "недостаје",
        "липсва",
        "truksta",
        "trukstama_reiksme",
        "گمشده",
        "مفقود",
    ],
    "breakdown": ["breakdown", "category", "kategoria", "kategorija", "категорија", "категория", "دسته"],
    "source": ["source", "zrodlo", "izvor", "извор", "източник", "saltinis", "منبع"],
    "comment": [
        "comment",
        "comments",
        "komentarz",
        "uwagi",
        "komentar",
        "коментар",
        "komentaras",
        "pastaba",
        "توضیحات",
    ],
    "status": ["status", "статус", "busena", "وضعیت"],
}

MISSING_SPELLINGS = {
    "n/a": Missing.NOT_APPLICABLE,
    "na": Missing.NOT_APPLICABLE,
    "not_applicable": Missing.NOT_APPLICABLE,
    "nc": Missing.NOT_COLLECTED,
    "conf": Missing.CONFIDENTIAL,
    "secret": Missing.CONFIDENTIAL,
    "ns": Missing.NOT_SHARED,
}

# More than this many problems are counted but not listed: nobody reads the ten-thousandth.

# Thousands separators people and spreadsheets put into numbers: spaces of every width and
# the apostrophe (Swiss). Removed before a number is read.
# A number written with a decimal point, optionally grouped with commas (1,234.5), or in
# the exponent notation spreadsheets fall back to (1.5E+20).
# ... or with a decimal comma, optionally grouped with dots (1.234,5).


@dataclass
class ImportOptions:
    decimal: str = "auto"  # ".", "," or "auto"
    delimiter: str | None = None  # None: detect
    encoding: str | None = None  # None: detect
    status: str = Status.DRAFT  # for rows without a status
    source: str = ""  # for rows without a source


class ImportRefused(Exception):
    """Raised inside the commit transaction to roll everything back."""


# ----------------------------------------------------------------------------------------
# Reading


# Letters that carry their accent inside the letter and so survive NFKD.
_UNDECOMPOSABLE = str.maketrans({"ł": "l", "đ": "d", "ø": "o", "ß": "ss"})


def _header_key(text) -> str:
    text = unicodedata.normalize("NFKD", str(text or "").replace("\ufeff", "").strip().lower())
    # Drop accents (wartość -> wartosc): people type headers with and without them.
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).translate(_UNDECOMPOSABLE)
    text = unicodedata.normalize("NFC", text)
    return re.sub(r"[\s\-./]+", "_", text).strip("_")


_ALIAS_LOOKUP = {_header_key(alias): column for column, aliases in ALIASES.items() for alias in aliases}


def canonical_column(header) -> str | None:
    return _ALIAS_LOOKUP.get(_header_key(header))


def read_table(
    source, *, name: str | None = None, options: ImportOptions | None = None
) -> tuple[Table | None, ImportReport]:
    """Read a CSV or workbook into a Table of strings. Problems that stop reading (too
    large, empty, unreadable, no usable header) are in the report and the table is None."""
    options = options or ImportOptions()
    data, name, size = read_source(source, name, settings.MAX_IMPORT_BYTES)
    report = ImportReport(file=name, size=size)
    if data is None:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is %(size)s MB, larger than the %(limit)s MB this installation accepts")
                % {"size": megabytes(size), "limit": megabytes(settings.MAX_IMPORT_BYTES)},
                _(
                    "a smaller file (split it by year or by service area), or a larger limit: "
                    "set MAX_IMPORT_BYTES (in bytes, now %(bytes)s) in the environment of the server and the command line"
                )
                % {"bytes": settings.MAX_IMPORT_BYTES},
            )
        )
        return None, report
    report.sha256 = hashlib.sha256(data).hexdigest()
    report.format = claimed_format(name, data)
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf"):
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is empty"),
                _("a header row (unit, variable, period, value) and one row per figure"),
            )
        )
        return None, report
    if report.format in EXCEL_FORMATS:
        table = _read_workbook(data, name, report.format, report)
    else:
        table = _read_csv(data, name, options, report)
    if table is not None:
        table.data = data
        report.encoding, report.delimiter, report.decimal = table.encoding, table.delimiter, table.decimal
        if table.frame.height == 0:
            report.add(
                Problem(
                    name,
                    None,
                    None,
                    None,
                    _("the file has a header but no data rows"),
                    _("one row per unit, variable and period under the header"),
                )
            )
            return None, report
    return table, report


def _read_csv(data: bytes, name: str, options: ImportOptions, report: ImportReport) -> Table | None:
    if data[:4] == b"PK\x03\x04" or data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is an Excel workbook, not a CSV text file"),
                _("the same file named .xlsx, or saved from Excel as 'CSV (UTF-8)'"),
            )
        )
        return None
    if b"\x00" in data:  # anywhere: a NUL after the first 4 KB used to reach the database
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is not a text file (it contains binary data)"),
                _("a CSV file saved as text, or an Excel workbook named .xlsx"),
            )
        )
        return None
    try:
        text, encoding = decode(data, options.encoding)
    except (UnicodeDecodeError, LookupError) as error:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file cannot be read as %(encoding)s text: %(error)s")
                % {"encoding": options.encoding, "error": error},
                _("the encoding the file was saved in (utf-8, cp1250, cp1251 or cp1257)"),
            )
        )
        return None
    delimiter = options.delimiter or sniff_delimiter(text)
    first_line = text[: text.find("\n") if "\n" in text else len(text)]
    if first_line.count(delimiter) >= MAX_COLUMNS:
        report.add(
            Problem(
                name,
                None,
                1,
                None,
                ngettext(
                    "the header has %(count)s column, more than the %(limit)s a file of figures can have",
                    "the header has %(count)s columns, more than the %(limit)s a file of figures can have",
                    first_line.count(delimiter) + 1,
                )
                % {
                    "count": format_number(first_line.count(delimiter) + 1, 0),
                    "limit": format_number(MAX_COLUMNS, 0),
                },
                _("one row per figure with the columns unit, variable, period, value"),
            )
        )
        return None
    utf8 = text.encode("utf-8")
    try:
        raw = _read_records(utf8, delimiter)
    except pl.exceptions.PolarsError as error:
        _report_ragged(io.StringIO(text), delimiter, name, report, error)
        return None
    if raw.height == 0:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is empty"),
                _("a header row (unit, variable, period, value) and one row per figure"),
            )
        )
        return None
    header = [str(v) if v is not None else "" for v in raw.row(0)]
    mapping = _map_header(header, name, None, report)
    if mapping is None:
        return None
    names = raw.columns
    columns = {canonical: pl.col(names[index]) for canonical, index in mapping.items()}
    frame = (
        raw.slice(1)
        .with_row_index("_row", offset=2)
        .select(
            pl.col("_row").cast(pl.Int64),
            pl.lit(None, pl.String).alias("_sheet"),
            *[(columns[c] if c in columns else pl.lit(None, pl.String)).alias(c) for c in COLUMNS],
        )
    )
    headers = {"": {c: header[i] for c, i in mapping.items()}}
    frame = clean(frame)
    decimal = (
        options.decimal
        if options.decimal in {".", ","}
        else ("," if delimiter == ";" else guess_decimal(frame.get_column("value")))
    )
    return Table(name, "csv", frame, headers=headers, encoding=encoding, delimiter=delimiter, decimal=decimal)


@dataclass
class _Source:
    """A file to check and write batch by batch: `table` carries what the problems need
    (file, headers, decimal; its frame is the whole file only when it was read whole), and
    `batches()` yields its rows as frames of the canonical columns. `streamed`: read from
    disk in pieces, so repeated rows are found in the stage rather than in memory."""

    table: Table
    batches: Callable[[], Iterator[pl.DataFrame]]
    streamed: bool = False
    path: Path | None = None


class _Unparsable(Exception):
    """A piece of a streamed CSV file that Polars cannot parse (a ragged row)."""


UTF8_NAMES = {"utf-8", "utf8", "utf_8", "utf-8-sig", "utf_8_sig"}


def _stream_csv(path: Path, name: str | None, options: ImportOptions) -> tuple[_Source | None, ImportReport] | None:
    """A UTF-8 CSV file on disk as a `_Source` read in pieces of IMPORT_BATCH_BYTES: memory
    stays that of a piece at any length. None when the file is not that (a workbook, another
    encoding, binary, empty, too large): `read_table` then reads it whole and says what is
    wrong with the same messages as for an upload."""
    name = name or path.name
    size = path.stat().st_size
    if size > settings.MAX_IMPORT_BYTES or size == 0:
        return None
    if options.encoding and options.encoding.lower() not in UTF8_NAMES:
        return None
    digest = hashlib.sha256()
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as file:
        head = file.read(1 << 16)
        if claimed_format(name, head) != "csv" or head[:4] == b"PK\x03\x04" or head.startswith(b"\xd0\xcf\x11\xe0"):
            return None
        if not head.strip(b" \t\r\n\x00\xef\xbb\xbf"):
            return None
        block = head
        while block:
            digest.update(block)
            if b"\x00" in block:
                return None
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                return None
            block = file.read(8 << 20)
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return None
    bom = 3 if head.startswith(b"\xef\xbb\xbf") else 0
    report = ImportReport(file=name, size=size, sha256=digest.hexdigest(), format="csv")
    text = head[bom:].decode("utf-8", errors="ignore")
    delimiter = options.delimiter or sniff_delimiter(text)
    first_line = text[: text.find("\n") if "\n" in text else len(text)]
    if first_line.count(delimiter) >= MAX_COLUMNS:
        return None  # read_table says so
    first = next(record_chunks(path, 1 << 20, skip=bom))
    try:
        raw = pl.read_csv(
            io.BytesIO(first), separator=delimiter, has_header=False, infer_schema=False, quote_char='"', n_rows=1
        )
    except pl.exceptions.PolarsError:
        return None
    header = [str(v) if v is not None else "" for v in raw.row(0)]
    width = len(header)
    encoding = "utf-8-sig" if bom else "utf-8"
    report.encoding, report.delimiter = encoding, delimiter
    mapping = _map_header(header, name, None, report)
    if mapping is None:
        return None, report
    schema = {f"column_{i}": pl.String for i in range(width)}
    columns = {canonical: pl.col(f"column_{index}") for canonical, index in mapping.items()}

    def batches() -> Iterator[pl.DataFrame]:
        seen = 0  # records read, the header included
        for piece in record_chunks(path, settings.IMPORT_BATCH_BYTES, skip=bom):
            if not piece.strip(b"\r\n"):
                seen += piece.count(b"\n")
                continue
            try:
                raw = _read_records(piece, delimiter, schema)
            except pl.exceptions.PolarsError as error:
                raise _Unparsable(error) from None
            frame = raw.with_row_index("_row", offset=seen + 1).select(
                pl.col("_row").cast(pl.Int64),
                pl.lit(None, pl.String).alias("_sheet"),
                *[(columns[c] if c in columns else pl.lit(None, pl.String)).alias(c) for c in COLUMNS],
            )
            if seen == 0:
                frame = frame.slice(1)  # the header
            seen += raw.height
            yield clean(frame)

    if options.decimal in {".", ","}:
        decimal = options.decimal
    elif delimiter == ";":
        decimal = ","
    else:
        # Numbers that read either way are read as the whole file's others are: one more
        # pass, over the values only.
        only_comma = only_dot = 0
        try:
            for frame in batches():
                comma, dot = decimal_evidence(frame.get_column("value"))
                only_comma, only_dot = only_comma + comma, only_dot + dot
        except _Unparsable:
            pass  # the checking pass reports it
        decimal = "," if only_comma and not only_dot else "."
    report.decimal = decimal
    table = Table(
        name,
        "csv",
        pl.DataFrame(schema={"_row": pl.Int64, "_sheet": pl.String, **dict.fromkeys(COLUMNS, pl.String)}),
        headers={"": {c: header[i] for c, i in mapping.items()}},
        encoding=encoding,
        delimiter=delimiter,
        decimal=decimal,
    )
    return _Source(table, batches, streamed=True, path=path), report


def _read_records(data: bytes, delimiter: str, schema=None) -> pl.DataFrame:
    """CSV records as strings, exactly as written: no header (the caller mapped it), no type
    guessing, an empty cell an empty string. A whole file and a streamed piece read alike."""
    return pl.read_csv(
        io.BytesIO(data),
        separator=delimiter,
        has_header=False,
        infer_schema=False,
        quote_char='"',
        empty_string_is_null=False,
        raise_if_empty=False,
        schema=schema,
    )


def _report_ragged(lines: Iterable[str], delimiter: str, name: str, report: ImportReport, error) -> None:
    """Polars stops at the first malformed line without saying which; find them all in
    the file's `lines` (its text, or the open file when it is read in pieces)."""
    reader = csv.reader(lines, delimiter=delimiter)
    width = None
    found = False
    try:
        for number, fields in enumerate(reader, start=1):
            if width is None:
                width = len(fields)
            elif fields and len(fields) > width:
                found = True
                report.add(
                    Problem(
                        name,
                        None,
                        number,
                        None,
                        ngettext(
                            "the row has %(count)s field but the header has %(width)s",
                            "the row has %(count)s fields but the header has %(width)s",
                            len(fields),
                        )
                        % {"count": format_number(len(fields), 0), "width": format_number(width, 0)},
                        _("as many fields as header columns; put text containing '%(delimiter)s' in double quotes")
                        % {"delimiter": delimiter},
                    )
                )
    except csv.Error as csv_error:
        found = True
        report.add(
            Problem(
                name,
                None,
                reader.line_num,
                None,
                _("the file is not valid CSV here: %(error)s") % {"error": csv_error},
                _("fields separated by '%(delimiter)s', text with quotes in double quotes") % {"delimiter": delimiter},
            )
        )
    if not found:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file is not valid CSV: %(error)s") % {"error": error},
                _("fields separated by '%(delimiter)s', text with quotes in double quotes") % {"delimiter": delimiter},
            )
        )


def _map_header(header: list[str], name: str, sheet: str | None, report: ImportReport | None) -> dict[str, int] | None:
    """canonical column -> index; None (with a problem) when required columns are missing."""
    mapping: dict[str, int] = {}
    for index, text in enumerate(header):
        canonical = canonical_column(text)
        if canonical is None:
            continue  # extra columns (unit names, notes) are allowed and ignored
        if canonical in mapping:
            if report is not None:
                report.add(
                    Problem(
                        name,
                        sheet,
                        1,
                        text,
                        _("the column '%(column)s' appears twice (as '%(first)s' and '%(second)s')")
                        % {"column": canonical, "first": header[mapping[canonical]], "second": text},
                        _("one column per field"),
                    )
                )
            return None
        mapping[canonical] = index
    lacking = [c for c in REQUIRED if c not in mapping]
    if not any(c in mapping for c in VALUE_COLUMNS):
        lacking.append("value")
    if lacking:
        if report is not None:
            found = ", ".join(f"'{h}'" for h in header if str(h).strip()) or _("none")
            report.add(
                Problem(
                    name,
                    sheet,
                    1,
                    None,
                    _("required columns are missing: %(missing)s; the columns found are %(found)s")
                    % {"missing": ", ".join(lacking), "found": found},
                    _(
                        "a header row with unit, variable, period, value and optionally missing, "
                        "breakdown, source, comment, status"
                    ),
                )
            )
        return None
    return mapping


def _read_workbook(data: bytes, name: str, format: str, report: ImportReport) -> Table | None:
    workbook = open_workbook(data, name, format, report)
    if workbook is None:
        return None
    from .workbooks import META_SHEET, read_template

    if META_SHEET in workbook.sheet_names:
        return read_template(data, name=name, report=report, workbook=workbook)
    frames, headers, letters = [], {}, {}
    first_failure = None
    visible = [
        m.name
        for m in workbook.sheets_metadata
        if str(m.visible).endswith("Visible") and str(m.typ).endswith("WorkSheet")
    ]
    for sheet_name in visible:
        try:
            rows = workbook.get_sheet_by_name(sheet_name).to_python(skip_empty_area=False)
        except Exception as error:
            report.add(
                Problem(
                    name,
                    sheet_name,
                    None,
                    None,
                    _("the sheet cannot be read: %(error)s") % {"error": error},
                    _("a workbook saved by Excel or LibreOffice"),
                )
            )
            return None
        # The header is the first row that names the required columns (a title may sit above).
        for header_index, row in enumerate(rows[:10]):  # noqa: B007 (read after the break)
            header = [cell_text(v) or "" for v in row]
            mapping = _map_header(header, name, sheet_name, None)
            if mapping is not None:
                break
        else:
            if first_failure is None and any(any(v != "" for v in row) for row in rows):
                first_failure = (sheet_name, rows)
            continue
        columns = {c: [] for c in mapping}
        numbers = []
        for offset, row in enumerate(rows[header_index + 1 :], start=header_index + 2):
            numbers.append(offset)
            for canonical, index in mapping.items():
                columns[canonical].append(cell_text(row[index]) if index < len(row) else None)
        frame = pl.DataFrame(
            {
                "_row": pl.Series(numbers, dtype=pl.Int64),
                "_sheet": pl.Series([sheet_name] * len(numbers), dtype=pl.String),
                **{c: pl.Series(columns.get(c, [None] * len(numbers)), dtype=pl.String) for c in COLUMNS},
            }
        )
        frames.append(frame)
        headers[sheet_name] = {c: header[i] for c, i in mapping.items()}
        letters[sheet_name] = {c: column_letter(i) for c, i in mapping.items()}
    if not frames:
        if first_failure is None:
            report.add(
                Problem(
                    name,
                    None,
                    None,
                    None,
                    _("the file is empty"),
                    _("a header row (unit, variable, period, value) and one row per figure"),
                )
            )
        else:
            sheet_name, rows = first_failure
            first = next(row for row in rows if any(v != "" for v in row))
            _map_header([cell_text(v) or "" for v in first], name, sheet_name, report)
        return None
    frame = clean(pl.concat(frames))
    return Table(
        name, format, frame, headers=headers, letters=letters, decimal=guess_decimal(frame.get_column("value"))
    )


# ----------------------------------------------------------------------------------------
# Checking


def _lookups() -> dict[str, pl.DataFrame]:
    units = pl.DataFrame(
        list(Unit.objects.values_list("id", "code", "valid_from", "valid_to")),
        schema={"unit_id": pl.Int64, "unit": pl.String, "unit_from": pl.Date, "unit_to": pl.Date},
        orient="row",
    )
    variables = pl.DataFrame(
        list(Variable.objects.values_list("id", "code", "period_kind", "breakdown_id", "min_value", "max_value")),
        schema={
            "variable_id": pl.Int64,
            "variable": pl.String,
            "variable_kind": pl.String,
            "breakdown_id": pl.Int64,
            "min_value": pl.Float64,
            "max_value": pl.Float64,
        },
        orient="row",
    )
    categories = pl.DataFrame(
        list(Category.objects.values_list("breakdown_id", "code")),
        schema={"breakdown_id": pl.Int64, "breakdown": pl.String},
        orient="row",
    ).with_columns(pl.lit(True).alias("category_known"))
    return {"units": units, "variables": variables, "categories": categories}


def _missing_lookup() -> dict[str, str]:
    spellings = {_header_key(text): code for text, code in MISSING_SPELLINGS.items()}
    for code, _label in Missing.choices:
        spellings[code] = code
    # Labels in every working language, so a Polish file may say "Poufne".
    for language in settings.LANGUAGE_CODES:
        with override(language):
            for code, label in Missing.choices:
                spellings.setdefault(_header_key(str(label)), code)
    return spellings


def _status_lookup() -> dict[str, str]:
    spellings = {}
    for language in settings.LANGUAGE_CODES:
        with override(language):
            for code, label in Status.choices:
                spellings[_header_key(str(label))] = code
    for code, _label in Status.choices:
        spellings[code] = code
    return spellings


class _Checker:
    """The per-row checks of one file, run batch by batch: the lookups, spellings and
    parsed periods are read once and kept for every batch."""

    def __init__(self, table: Table, options: ImportOptions):
        self.table, self.options = table, options
        self.lookups = _lookups()
        self.missing_map = _missing_lookup()
        self.status_map = _status_lookup()
        self.default_status = self.status_map.get(_header_key(options.status), Status.DRAFT)
        self.periods: dict[str, tuple] = {}
        self.checks = _checks(options)

    def _period_frame(self, frame: pl.DataFrame) -> pl.DataFrame:
        texts = frame.get_column("period").drop_nulls().unique().to_list()
        for text in texts:
            if text not in self.periods:
                self.periods[text] = _parse_period(text)
        return _period_frame([self.periods[text] for text in texts])

    def run(
        self, frame: pl.DataFrame, room: int = MAX_PROBLEMS
    ) -> tuple[pl.DataFrame, list[tuple[int, int, Problem]], int]:
        """The batch joined to the lookups with `_ok` (the row passed every check), the
        first `room` failures of each check as (row, column index, problem), and how many
        failures there are in all. A later batch of a file with MAX_PROBLEMS listed already
        only counts: its rows come after them."""
        joined = (
            frame.join(self.lookups["units"], on="unit", how="left")
            .join(self.lookups["variables"], on="variable", how="left")
            .join(self._period_frame(frame), on="period", how="left")
            .join(self.lookups["categories"], on=["breakdown_id", "breakdown"], how="left")
            .with_columns(
                number=parse_numbers(pl.col("value"), self.table.decimal),
                missing_code=_translate(frame, "missing", self.missing_map),
                status_code=_translate(frame, "status", self.status_map),
            )
        )
        # Every rule's mask in one pass; only the rules that fail somewhere are filtered.
        flags = joined.select(mask.fill_null(False).alias(f"_m{i}") for i, (mask, _c, _b) in enumerate(self.checks))
        counts = flags.sum().row(0)
        failures: list[tuple[int, int, Problem]] = []
        total = 0
        for i, (_mask, column, build) in enumerate(self.checks):
            if not counts[i]:
                continue
            total += counts[i]
            if room <= 0:
                continue
            failing = joined.filter(flags.get_column(f"_m{i}"))
            for row in failing.head(room).iter_rows(named=True):
                message, expected = build(_shortened(row))
                failures.append(
                    (
                        row["_row"],
                        COLUMNS.index(column) if column in COLUMNS else -1,
                        _problem(self.table, row, column, message, expected),
                    )
                )
        ok = ~pl.any_horizontal(flags.columns) if flags.width else pl.lit(True)
        joined = joined.with_columns(flags.select(ok.alias("_ok")))
        return joined, failures, total

    def resolved(self, joined: pl.DataFrame) -> pl.DataFrame:
        """The rows that passed, as the write path takes them (period by its code), with
        their `_row` and `_sheet`."""
        return joined.filter(pl.col("_ok")).select(
            "unit_id",
            "variable_id",
            "period_code",
            pl.col("breakdown").fill_null(""),
            pl.col("number").alias("value"),
            pl.col("missing_code").fill_null("").alias("missing"),
            pl.col("status_code").fill_null(self.default_status).alias("status"),
            pl.col("source").fill_null(self.options.source),
            pl.col("comment").fill_null(""),
            "_row",
            "_sheet",
        )


def _repeated(table: Table, row: dict) -> Problem:
    return _problem(
        table,
        row,
        None,
        _("this row repeats row %(first)s: same unit, variable, period and breakdown") % {"first": row["_first"]},
        _("one row per unit, variable, period and breakdown; delete one of them"),
    )


def _sorted_failures(failures: list[tuple[int, int, Problem]]) -> list[tuple[int, int, Problem]]:
    failures.sort(key=lambda item: (item[2].sheet or "", item[0], item[1]))
    return failures[:MAX_PROBLEMS]


def check(
    table: Table, options: ImportOptions | None = None, report: ImportReport | None = None
) -> tuple[pl.DataFrame, ImportReport]:
    """Validate every row of `table` (in memory: the pages' preview, the API). Returns the
    rows resolved to database ids (empty when anything is wrong) and the report with the
    problems. `commit` and `dry_run` run the same checks batch by batch (`_run`)."""
    options = options or ImportOptions()
    report = report or ImportReport(file=table.file, format=table.format)
    checker = _Checker(table, options)
    frame, failures, total = checker.run(table.frame)
    duplicates = _duplicates(frame)
    total += duplicates.height
    for row in duplicates.head(MAX_PROBLEMS).iter_rows(named=True):
        failures.append((row["_row"], len(COLUMNS), _repeated(table, row)))
    for _row, _col, problem in _sorted_failures(failures):
        report.problems.append(problem)
    report.problem_count += total
    report.rows = frame.height
    if total:
        return frame.clear(), report
    return checker.resolved(frame).select(RESOLVED), report


# The columns of a resolved row, in `services.locked_changes`' order.
RESOLVED = ("unit_id", "variable_id", "period_code", "breakdown", "value", "missing", "status", "source", "comment")


def _translate(frame: pl.DataFrame, column: str, spellings: dict[str, str]) -> pl.Expr:
    """Map the few distinct spellings in `column` to codes; unknown ones become null."""
    distinct = frame.get_column(column).drop_nulls().unique().to_list()
    mapping = {text: spellings[_header_key(text)] for text in distinct if _header_key(text) in spellings}
    return pl.col(column).replace_strict(mapping, default=None, return_dtype=pl.String)


def _parse_period(raw: str) -> tuple:
    try:
        code, kind, _ordinal, start, end = parse_period(raw)
        return (raw, code, kind, start, end, None)
    except PeriodCodeError as error:
        return (raw, None, None, None, None, str(error))


def _period_frame(records: list[tuple]) -> pl.DataFrame:
    """Parsed form of each distinct period text (`_parse_period`). Few distinct values, so
    Python is fine."""
    return pl.DataFrame(
        records,
        orient="row",
        schema={
            "period": pl.String,
            "period_code": pl.String,
            "period_kind": pl.String,
            "period_start": pl.Date,
            "period_end": pl.Date,
            "period_error": pl.String,
        },
    )


SHOWN_CHARACTERS = 60


def _shortened(row: dict) -> dict:
    """The row with long texts cut, so that a cell holding a whole page of garbage makes a
    readable message rather than a megabyte one."""
    return {
        k: (v[:SHOWN_CHARACTERS].rstrip() + "…" if isinstance(v, str) and len(v) > SHOWN_CHARACTERS else v)
        for k, v in row.items()
    }


def _checks(options: ImportOptions):
    """(mask, column, build(row) -> (message, expected)) for every per-row rule."""

    def suggestions(value: str, known: list[str]) -> str:
        close = difflib.get_close_matches(value or "", known, n=3, cutoff=0.6)
        return ", ".join(close)

    known: dict[str, list[str]] = {}

    def unknown(column: str, model, message: str, such_as: str, otherwise: str):
        """An unknown code, with the closest known codes as the suggestion."""

        def build(row):
            if column not in known:
                known[column] = list(model.objects.values_list("code", flat=True))
            close = suggestions(row[column], known[column])
            return message % {"code": row[column]}, (such_as % {"codes": close} if close else otherwise)

        return build

    unknown_unit = unknown(
        "unit",
        Unit,
        _("unknown unit '%(code)s'"),
        _("a unit code such as %(codes)s"),
        _("a unit code registered in Municipium"),
    )
    unknown_variable = unknown(
        "variable",
        Variable,
        _("unknown variable '%(code)s'"),
        _("a variable code such as %(codes)s"),
        _("a variable code from the catalogue"),
    )

    kind_example = {"year": "2024", "quarter": "2024Q1", "month": "2024-01"}
    has_value = pl.col("value").is_not_null()
    has_missing = pl.col("missing").is_not_null()
    number_ok = pl.col("number").is_not_null() & pl.col("number").is_finite()
    unit_ok = pl.col("unit_id").is_not_null()
    period_ok = pl.col("period_code").is_not_null()

    def successors_of(code):
        names = list(Succession.objects.filter(predecessor__code=code).values_list("successor__code", flat=True))
        return ", ".join(names)

    def unit_not_valid(row):
        successors = successors_of(row["unit"])
        message = _("unit '%(unit)s' did not exist in %(period)s (it existed from %(start)s to %(end)s)") % {
            "unit": row["unit"],
            "period": row["period_code"],
            "start": row["unit_from"] or "…",
            "end": row["unit_to"] or "…",
        }
        expected = (
            (_("the successor unit %(codes)s") % {"codes": successors})
            if successors
            else _("a period when the unit existed")
        )
        return message, expected

    def range_text(row):
        low, high = row["min_value"], row["max_value"]
        if low is not None and high is not None:
            return _("a number from %(min)s to %(max)s") % {"min": fmt(low), "max": fmt(high)}
        if low is not None:
            return _("a number of at least %(min)s") % {"min": fmt(low)}
        return _("a number of at most %(max)s") % {"max": fmt(high)}

    categories = None

    def category_list(row):
        nonlocal categories
        if categories is None:
            categories = {}
            for breakdown_id, code in Category.objects.values_list("breakdown_id", "code"):
                categories.setdefault(breakdown_id, []).append(code)
        return ", ".join(categories.get(row["breakdown_id"], []))

    missing_codes = ", ".join(code for code, _label in Missing.choices)
    status_codes = ", ".join(code for code, _label in Status.choices)
    return [
        (pl.col("unit").is_null(), "unit", lambda r: (_("the unit is empty"), _("a unit code"))),
        (pl.col("unit").is_not_null() & ~unit_ok, "unit", unknown_unit),
        (pl.col("variable").is_null(), "variable", lambda r: (_("the variable is empty"), _("a variable code"))),
        (pl.col("variable").is_not_null() & pl.col("variable_id").is_null(), "variable", unknown_variable),
        (
            pl.col("period").is_null(),
            "period",
            lambda r: (_("the period is empty"), _("a year (2024), a quarter (2024Q1) or a month (2024-01)")),
        ),
        (
            pl.col("period").is_not_null() & ~period_ok,
            "period",
            lambda r: (r["period_error"], _("a year (2024), a quarter (2024Q1) or a month (2024-01)")),
        ),
        (
            period_ok & pl.col("variable_kind").is_not_null() & (pl.col("period_kind") != pl.col("variable_kind")),
            "period",
            lambda r: (
                _("'%(period)s' is a %(kind)s, but variable '%(variable)s' is reported per %(expected_kind)s")
                % {
                    "period": r["period"],
                    "kind": _kind_label(r["period_kind"]),
                    "variable": r["variable"],
                    "expected_kind": _kind_label(r["variable_kind"]),
                },
                _("a period such as %(example)s") % {"example": kind_example.get(r["variable_kind"], "2024")},
            ),
        ),
        (
            unit_ok
            & period_ok
            & (
                (pl.col("unit_from").is_not_null() & (pl.col("unit_from") > pl.col("period_end")))
                | (pl.col("unit_to").is_not_null() & (pl.col("unit_to") < pl.col("period_start")))
            ),
            "unit",
            unit_not_valid,
        ),
        (
            pl.col("breakdown").is_not_null() & pl.col("variable_id").is_not_null() & pl.col("breakdown_id").is_null(),
            "breakdown",
            lambda r: (
                _("variable '%(variable)s' has no breakdown, but the row gives category '%(category)s'")
                % {"variable": r["variable"], "category": r["breakdown"]},
                _("an empty breakdown cell"),
            ),
        ),
        (
            pl.col("breakdown").is_not_null()
            & pl.col("breakdown_id").is_not_null()
            & pl.col("category_known").is_null(),
            "breakdown",
            lambda r: (
                _("unknown category '%(category)s' for variable '%(variable)s'")
                % {"category": r["breakdown"], "variable": r["variable"]},
                _("one of %(codes)s, or empty for the total") % {"codes": category_list(r)},
            ),
        ),
        (
            has_value & has_missing,
            "missing",
            lambda r: (
                _("the row gives both a value (%(value)s) and a missing code (%(missing)s)")
                % {"value": r["value"], "missing": r["missing"]},
                _("either a value or a missing code, not both"),
            ),
        ),
        (
            ~has_value & ~has_missing,
            "value",
            lambda r: (
                _("the row has neither a value nor a missing code"),
                _("a number, or a missing code (%(codes)s)") % {"codes": missing_codes},
            ),
        ),
        (
            has_missing & pl.col("missing_code").is_null(),
            "missing",
            lambda r: (
                _("unknown missing code '%(code)s'") % {"code": r["missing"]},
                _("one of %(codes)s") % {"codes": missing_codes},
            ),
        ),
        (
            has_value & ~number_ok,
            "value",
            lambda r: (
                _("'%(value)s' is not a number") % {"value": r["value"]},
                _("a number such as 1234.5 or 1 234,5, or an empty cell and a missing code"),
            ),
        ),
        (
            number_ok
            & (
                (pl.col("min_value").is_not_null() & (pl.col("number") < pl.col("min_value")))
                | (pl.col("max_value").is_not_null() & (pl.col("number") > pl.col("max_value")))
            ),
            "value",
            lambda r: (
                _("%(value)s is outside the range allowed for variable '%(variable)s'")
                % {"value": fmt(r["number"]), "variable": r["variable"]},
                range_text(r),
            ),
        ),
        (
            pl.col("status").is_not_null() & pl.col("status_code").is_null(),
            "status",
            lambda r: (
                _("unknown status '%(status)s'") % {"status": r["status"]},
                _("one of %(codes)s, or empty for %(default)s") % {"codes": status_codes, "default": options.status},
            ),
        ),
    ]


def _kind_label(kind: str | None) -> str:
    from municipium.catalog.models import PeriodKind

    try:
        return str(PeriodKind(kind).label).lower()
    except ValueError:
        return kind or ""


def _duplicates(frame: pl.DataFrame) -> pl.DataFrame:
    key = [
        pl.col("_sheet").fill_null(""),
        pl.col("unit"),
        pl.col("variable"),
        pl.coalesce("period_code", "period"),
        pl.col("breakdown").fill_null(""),
    ]
    # Hashing the key once is cheap; the window that finds each first row only runs on
    # the (usually zero) duplicated rows.
    repeated = frame.filter(pl.struct(key).is_duplicated())
    if repeated.height == 0:
        return repeated.with_columns(_first=pl.col("_row"))
    keyed = repeated.with_columns(_key=pl.struct(key))
    keyed = keyed.with_columns(_first=pl.col("_row").min().over("_key"))
    return keyed.filter(pl.col("_row") != pl.col("_first"))


def _problem(table: Table, row: dict, column: str | None, message: str, expected: str) -> Problem:
    sheet = row.get("_sheet")
    headers = table.headers.get(sheet or "", {})
    label = headers.get(column, column) if column else None
    cell = ""
    # Wide templates keep the value and the missing code of each row in cells of their own.
    per_row = f"_cell_{column or 'value'}"
    if row.get(per_row):
        cell = row[per_row]
        label = row.get(f"_label_{column or 'value'}") or label
    elif column and column in table.letters.get(sheet or "", {}):
        cell = f"{table.letters[sheet][column]}{row['_row']}"
    return Problem(table.file, sheet, row["_row"], label, message, expected, cell)


# ----------------------------------------------------------------------------------------
# Dry run and commit


def dry_run(source, *, name: str | None = None, options: ImportOptions | None = None) -> ImportReport:
    """Read and check a file; write nothing."""
    options = options or ImportOptions()
    src, report = _open(source, name, options)
    if src is not None:
        _run(src, report, options, write=False)
    return report


def _load(source, name, options) -> tuple[Table | None, ImportReport]:
    if isinstance(source, Table):
        report = ImportReport(
            file=source.file,
            format=source.format,
            size=len(source.data),
            sha256=hashlib.sha256(source.data).hexdigest(),
            encoding=source.encoding,
            delimiter=source.delimiter,
            decimal=source.decimal,
        )
        return source, report
    return read_table(source, name=name, options=options)


def _open(source, name, options: ImportOptions) -> tuple[_Source | None, ImportReport]:
    """The file as a `_Source`: a UTF-8 CSV file on disk streamed, anything else read whole."""
    if isinstance(source, (str, Path)):
        streamed = _stream_csv(Path(source), name, options)
        if streamed is not None:
            return streamed
    table, report = _load(source, name, options)
    if table is None:
        return None, report
    whole = table
    return _Source(table, lambda: iter([whole.frame])), report


def refuse_unwritable(resolved: pl.DataFrame, actor, report: ImportReport, *, lock: bool = False) -> None:
    """Add a problem for every row `actor` may not write: a unit they do not enter figures
    for (then the whole file is refused), a figure already submitted, approved or published
    that the row would change (the workflow's lock, `services.locked`), and a status that
    only the workflow sets (`status_problems`).

    `commit` runs this inside its transaction with `lock=True`, so the stored rows it read
    stay as they are until the write: a figure submitted or approved between a person's
    check and their commit is refused, never overwritten. Pages run it for the preview too,
    with the same messages. `actor` None is the operator at the command line, who answers
    for the whole installation."""
    if actor is None or resolved.height == 0:
        return
    for problem in _unit_problems(set(resolved.get_column("unit_id").unique().to_list()), actor, report.file):
        report.add(problem)
    if report.problem_count:
        return
    for problem in _locked_problems(resolved, actor, report.file, lock=lock):
        report.add(problem)
    for problem in status_problems(resolved, actor, report.file):
        report.add(problem)


def _unit_problems(unit_ids: set[int], actor, file: str) -> list[Problem]:
    """A problem for each unit `actor` does not enter figures for: then nothing is imported."""
    from municipium.accounts import access

    return [
        Problem(
            file,
            None,
            None,
            "unit",
            _("you may not enter figures for unit %(unit)s, so nothing of this file is imported") % {"unit": unit.code},
            _("only the units you enter data for; ask the group coordinator for a role"),
        )
        for unit in sorted(Unit.objects.filter(pk__in=unit_ids), key=lambda u: u.code)
        if not access.can_enter(actor, unit)
    ]


def _locked_problems(resolved: pl.DataFrame, actor, file: str, *, lock: bool) -> list[Problem]:
    """A problem for each row of `resolved` (one batch) that would change a figure the
    workflow has locked for `actor`; `lock` holds the stored rows until the transaction ends."""
    rows = list(resolved.iter_rows())
    stored = stored_states((row[:4] for row in rows), lock=lock)
    refused = [figure for _position, figure in locked_changes(rows, actor, stored, keep_blank=True)]
    if not refused:
        return []
    units = dict(Unit.objects.filter(pk__in={f.unit_id for f in refused}).values_list("pk", "code"))
    variables = dict(Variable.objects.filter(pk__in={f.variable_id for f in refused}).values_list("pk", "code"))
    return [
        Problem(
            file,
            None,
            None,
            None,
            _("%(unit)s, %(variable)s, %(period)s is already %(status)s and can no longer be changed by an import")
            % {
                "unit": units[figure.unit_id],
                "variable": variables[figure.variable_id],
                "period": figure.period_code,
                "status": str(Status(figure.status).label).lower(),
            },
            _("leave this figure out, or ask the coordinator to reopen it"),
        )
        for figure in refused
    ]


def status_problems(resolved: pl.DataFrame, actor, file: str) -> list[Problem]:
    """The workflow's rule for figures that come in from outside it (the import page, the
    API, any caller of `commit`): they come in as draft or submitted. Approving and
    publishing are steps of the workflow (`workflow.approve`, and `workflow.publish` with
    its publication record and embargo), not a status a row may carry, whatever roles the
    sender holds. Administrators may bring figures in as approved or published (restoring,
    moving installations); `actor` None is the operator at the command line."""
    if actor is None or resolved.height == 0:
        return []
    from municipium.accounts import access

    if access.is_admin(actor):
        return []
    raised = set(resolved.get_column("status").unique().to_list()) - {Status.DRAFT, Status.SUBMITTED}
    return [
        Problem(
            file,
            None,
            None,
            "status",
            _("figures cannot be imported as %(status)s") % {"status": str(Status(status).label).lower()},
            _("draft or submitted; approval happens in the workflow"),
        )
        for status in sorted(raised, key=list(Status).index)
    ]


def commit(
    source,
    *,
    name: str | None = None,
    options: ImportOptions | None = None,
    actor=None,
    via: str = Via.IMPORT,
    new_only: Iterable[tuple] = (),
) -> ImportReport:
    """Read, check and, when nothing is wrong, write all rows as one batch: all or nothing.

    With any problem the report lists them and nothing is stored (not even periods).
    `new_only` are (unit_id, variable_id, period_code, breakdown) keys whose figures must not
    be stored yet (`write_observations` raises `AlreadyStored` otherwise).
    """
    options = options or ImportOptions()
    src, report = _open(source, name, options)
    if src is None:
        return report
    return _run(src, report, options, write=True, actor=actor, via=via, new_only=new_only)


# The importer's own columns in the write path's stage: where each row came from.
STAGE_SOURCE = (("src_row", "BIGINT"), ("src_sheet", "TEXT"))
KEY = ["unit_id", "variable_id", "period_id", "breakdown"]


def _run(
    src: _Source,
    report: ImportReport,
    options: ImportOptions,
    *,
    write: bool,
    actor=None,
    via: str = Via.IMPORT,
    new_only: Iterable[tuple] = (),
) -> ImportReport:
    """Check every batch of `src` and write the rows that pass when nothing in the whole file
    is wrong (`write`), else roll back with every problem reported.

    All of it runs in one transaction, the checks included, so that the catalogue cannot
    change between the check and the write, and the rows the rights and locks were checked
    against stay locked until the write (issue 10). Memory holds a batch or two: a file of
    new figures (every (variable, period) slice it touches empty before it, no key repeated)
    is written batch by batch as it is checked (`services.NewRows`); any other file waits in
    the write path's stage, where repeated rows are found, until `services.write_staged`. A
    first-load write that meets a stored slice, a repeated key or another writer's row after
    writing rolls back to before its first batch and the file is read again through the
    stage (`_Restart`)."""
    table = src.table
    new_only = list(new_only)

    def new_batch() -> ImportBatch:
        return ImportBatch(
            file_name=table.file[:255],
            sha256=report.sha256,
            size=report.size,
            format=table.format,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            via=via,
        )

    try:
        with bulk.bulk_cache(), transaction.atomic():
            checker = _Checker(table, options)
            done = None
            if write and not new_only:
                try:
                    with transaction.atomic():
                        writer = services.NewRows(batch=new_batch(), actor=actor)
                        done = _pass(src, checker, report, write=write, actor=actor, writer=writer)
                except _Restart:
                    done = None
            if done is None:
                done = _pass(src, checker, report, write=write, actor=actor, writer=None)
            failures, total = done.failures, done.total
            if src.streamed:
                if done.rows == 0:
                    report.add(
                        Problem(
                            table.file,
                            None,
                            None,
                            None,
                            _("the file has a header but no data rows"),
                            _("one row per unit, variable and period under the header"),
                        )
                    )
                    raise ImportRefused
                # A file written batch by batch never repeats a key (`_Restart` otherwise).
                count, repeated = _staged_duplicates(table) if done.ranges.may_repeat else (0, [])
                total += count
                failures = _sorted_failures(failures + repeated)
            for _row, _col, problem in failures:
                report.problems.append(problem)
            report.problem_count += total
            report.rows = done.rows
            if report.problem_count:
                raise ImportRefused
            if actor is not None:
                # Rights and locks inside the same transaction as the write, the stored rows
                # locked: what was checked is still true when it is written (issue 10).
                for problem in _unit_problems(done.unit_ids, actor, report.file):
                    report.add(problem)
                if not report.problem_count:
                    for problem in done.locked:
                        report.add(problem)
                    for problem in status_problems(
                        pl.DataFrame({"status": sorted(done.statuses)}, schema={"status": pl.String}),
                        actor,
                        report.file,
                    ):
                        report.add(problem)
                if report.problem_count:
                    raise ImportRefused
            if not write:
                raise ImportRefused  # a dry run: the stage goes with the transaction
            if done.written:
                result = done.writer.finish()
            else:
                period_ids = done.period_ids
                result = services.write_staged(
                    done.staged,
                    batch=new_batch(),
                    actor=actor,
                    new_only=[(u, v, period_ids[p], b) for u, v, p, b in new_only if p in period_ids],
                    keep_blank=True,
                    references=done.references,
                )
    except ImportRefused:
        return report
    except _Unparsable as error:
        report.problems.clear()
        report.problem_count = 0
        assert src.path is not None  # only a streamed file is parsed in pieces
        with src.path.open(encoding=table.encoding, newline="") as lines:
            _report_ragged(lines, table.delimiter, table.file, report, error.args[0])
        return report
    report.rows, report.created, report.updated, report.unchanged = (
        result.rows,
        result.created,
        result.updated,
        result.unchanged,
    )
    report.batch = result.batch
    report.committed = True
    return report


class _Restart(Exception):
    """A first-load write (`services.NewRows`) cannot go on after writing: a batch meets a
    stored slice or repeats an earlier batch's key, or another writer stored one of its keys.
    `_run` rolls back to before its first batch and reads the file again through the stage."""


@dataclass
class _Pass:
    """What one pass over a file's batches found, and what it wrote or staged."""

    writer: services.NewRows | None
    written: bool = False  # batches went straight into the tables through `writer`
    rows: int = 0
    total: int = 0
    staged: int = 0
    failures: list[tuple[int, int, Problem]] = field(default_factory=list)
    period_ids: dict[str, int] = field(default_factory=dict)
    unit_ids: set[int] = field(default_factory=set)
    references: dict[str, set[int]] = field(
        default_factory=lambda: {"unit_id": set(), "variable_id": set(), "period_id": set()}
    )
    statuses: set[str] = field(default_factory=set)
    locked: list[Problem] = field(default_factory=list)
    ranges: _KeyRanges = field(default_factory=lambda: _KeyRanges())


def _pass(
    src: _Source, checker: _Checker, report: ImportReport, *, write: bool, actor, writer: services.NewRows | None
) -> _Pass:
    """Check every batch of `src`; write the rows that pass through `writer` while every
    batch so far is new figures without a problem, else stage them (`services.open_stage`).
    After a problem a writer writes no more and nothing is staged: the file is refused, and
    its problems are all known from the batches alone unless a key repeats (`_Restart`)."""
    table = src.table
    done = _Pass(writer)
    services.open_stage(STAGE_SOURCE)
    pieces = src.batches()
    if src.streamed:
        # Closed on the way out, whatever way that is: its thread stops with it.
        pieces = read_ahead(pieces)
    with contextlib.closing(pieces) if isinstance(pieces, Generator) else contextlib.nullcontext():
        for frame in pieces:
            joined, found, count = checker.run(frame, MAX_PROBLEMS - len(done.failures))
            done.rows += frame.height
            done.total += count
            done.failures += found
            if not src.streamed:
                duplicates = _duplicates(joined)
                done.total += duplicates.height
                done.failures += [
                    (r["_row"], len(COLUMNS), _repeated(table, r))
                    for r in duplicates.head(MAX_PROBLEMS).iter_rows(named=True)
                ]
            done.failures = _sorted_failures(done.failures)
            resolved = checker.resolved(joined)
            if not src.streamed:
                # The same figure on two sheets: the last one is written, as always.
                resolved = resolved.unique(
                    ["unit_id", "variable_id", "period_code", "breakdown"], keep="last", maintain_order=True
                )
            if resolved.height == 0:
                continue
            for code in sorted(set(resolved.get_column("period_code").unique().to_list()) - done.period_ids.keys()):
                done.period_ids[code] = _period_id(code, write, len(done.period_ids))
            rows_out = resolved.select(
                "unit_id",
                "variable_id",
                pl.col("period_code").replace_strict(done.period_ids, return_dtype=pl.Int64).alias("period_id"),
                "breakdown",
                *services.CONTENT,
                pl.col("_row").alias("src_row"),
                pl.col("_sheet").alias("src_sheet"),
            ).sort(KEY)
            done.ranges.add(rows_out)
            if done.writer is not None:
                if done.written and (done.ranges.may_repeat or (not done.total and not done.writer.fits(rows_out))):
                    raise _Restart
                if done.written and done.total:
                    continue  # refused: nothing more is written, and no key repeats
                if done.total or done.ranges.may_repeat or not done.writer.fits(rows_out):
                    done.writer = None  # nothing written yet: the whole file goes through the stage
                else:
                    try:
                        done.writer.append(rows_out.drop("src_row", "src_sheet"))
                    except IntegrityError:
                        raise _Restart from None
                    done.written = True
            if done.writer is None:
                done.staged += bulk.append_frame(services.STAGE, rows_out)
                for column, ids in done.references.items():
                    ids.update(rows_out.get_column(column).unique().to_list())
            if actor is not None and not done.total:
                done.unit_ids.update(resolved.get_column("unit_id").unique().to_list())
                done.statuses.update(resolved.get_column("status").unique().to_list())
                done.locked += _locked_problems(resolved.select(RESOLVED), actor, report.file, lock=write)
    return done


def _period_id(code: str, write: bool, known: int) -> int:
    """The id of the period `code`, created for a write; a dry run creates none and stages
    an unstored period under a stand-in (negative) id."""
    if write:
        return Period.objects.for_code(code).pk
    stored = Period.objects.filter(code=code).values_list("pk", flat=True).first()
    return stored if stored is not None else -(known + 1)


class _KeyRanges:
    """Whether a streamed file's staged pieces may hold a key twice, from each piece alone:
    a piece (sorted by key) repeats a key inside itself when two neighbours are equal, and
    two pieces can share a key only when their ranges from first to last key overlap. A file
    written in key order (most are: by unit, variable, period) has neither, and then the
    search of the whole stage (`_staged_duplicates`, a GROUP BY over every staged row: half a
    second of a million-row import) is spared; any other file is searched as before."""

    def __init__(self):
        self.seen: list[tuple[tuple, tuple]] = []
        self.may_repeat = False

    def add(self, piece: pl.DataFrame) -> None:
        if self.may_repeat or piece.height == 0:
            return
        key = piece.select(KEY)
        same = pl.all_horizontal([pl.col(c) == pl.col(c).shift() for c in KEY])
        if key.select(same.fill_null(False).any()).item():
            self.may_repeat = True
            return
        first, last = key.row(0), key.row(-1)
        if any(first <= high and low <= last for low, high in self.seen):
            self.may_repeat = True
            return
        self.seen.append((first, last))


def _staged_duplicates(table: Table) -> tuple[int, list[tuple[int, int, Problem]]]:
    """Rows of the stage that repeat an earlier row's unit, variable, period and breakdown:
    how many, and the first MAX_PROBLEMS as failures. The stage is on disk, so a file of
    any length is compared whole without holding its keys in memory."""
    q = bulk.quote
    stage = q(services.STAGE)
    key = ", ".join(KEY)
    match = " AND ".join(f"s.{c} = d.{c}" for c in KEY)
    repeated = (
        f"FROM {stage} s JOIN (SELECT {key}, MIN(src_row) AS first_row FROM {stage} GROUP BY {key} "
        f"HAVING COUNT(*) > 1) d ON {match} WHERE s.src_row <> d.first_row"
    )
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM (SELECT {key} FROM {stage} GROUP BY {key} HAVING COUNT(*) > 1) r")
        if not cursor.fetchone()[0]:
            return 0, []
        cursor.execute(f"SELECT COUNT(*) {repeated}")
        count = cursor.fetchone()[0]
        cursor.execute(f"SELECT s.src_sheet, s.src_row, d.first_row {repeated} ORDER BY s.src_row LIMIT {MAX_PROBLEMS}")
        found = [
            (row, len(COLUMNS), _repeated(table, {"_sheet": sheet, "_row": row, "_first": first}))
            for sheet, row, first in cursor.fetchall()
        ]
    return count, found
