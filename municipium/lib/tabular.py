"""Reading tabular files as people make them, and reporting what is wrong with them.

Every importer in Municipium (observations, catalogue and units, XLSForm questionnaires,
sampling frames, survey responses, and the planning modules' uploads) reads its files
through here, so that they all accept the same encodings (UTF-8 with or without BOM,
Windows-1250/-1251/-1257), the same delimiters (`;`, tab, `,`), both decimal conventions and
the same workbooks (xlsx, xls, ods via calamine), and all locate a problem the same way:
file, sheet, row or cell, column, what is wrong and what would be right (DESIGN principle 3).

Pure helpers: no Django models. Messages go through gettext like every user-visible string.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import itertools
import os
import queue
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl
import xlsxwriter
from django.utils.translation import gettext as _

from .numbers import format_number

EXCEL_FORMATS = {"xlsx", "xlsm", "xlsb", "xls", "ods"}
CSV_FORMATS = {"csv", "tsv", "txt"}
CANDIDATE_ENCODINGS = ["cp1250", "cp1251", "cp1257"]
DELIMITERS = (";", "\t", ",")
# A report lists this many problems and counts the rest: a file with a million bad rows
# must not make a million-line page.
MAX_PROBLEMS = 1000

# Thousands separators people type: spaces (plain, no-break, figure, thin, narrow) and ';
# also the direction marks a Persian number carries before its sign (copied from a page).
GROUPING_SPACES = r"[\s\u00a0\u2007\u2009\u202f'\u200e\u200f\u061c]"
# A number read with a decimal point (1,234.5 or 1234.5) or with a decimal comma (1.234,5).
DOT_NUMBER = r"^[-+]?(\d{1,3}(,\d{3})+(\.\d*)?|\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?)$"
COMMA_NUMBER = r"^[-+]?(\d{1,3}(\.\d{3})+(,\d*)?|\d+,?\d*([eE][-+]?\d+)?|,\d+)$"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, located as the person sees it."""

    file: str
    sheet: str | None
    row: int | None
    column: str | None
    message: str
    expected: str = ""
    # The spreadsheet cell ("C7") when the input was a workbook.
    cell: str = ""

    @property
    def location(self) -> str:
        parts = [self.file] if self.file else []
        if self.sheet and self.cell:
            parts.append(f"{self.sheet}, {self.cell}")
        else:
            if self.sheet:
                parts.append(_("sheet %(sheet)s") % {"sheet": self.sheet})
            if self.cell:
                parts.append(self.cell)
            elif self.row is not None:
                parts.append(_("row %(row)s") % {"row": self.row})
        if self.column and not self.cell:
            parts.append(_("column '%(column)s'") % {"column": self.column})
        return ", ".join(parts)

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.expected:
            text += " " + _("(expected: %(expected)s)") % {"expected": self.expected}
        return text


@dataclass
class ProblemReport:
    """What was read of one file and everything wrong with it. Importers extend it with
    what they count (rows written, and so on)."""

    file: str
    format: str = ""
    size: int = 0
    sha256: str = ""
    encoding: str = ""
    delimiter: str = ""
    decimal: str = ""
    problems: list[Problem] = field(default_factory=list)
    # Problems found in all, including those not listed beyond MAX_PROBLEMS.
    problem_count: int = 0
    rows: int = 0  # data rows read

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def read_source(source, name: str | None, limit: int) -> tuple[bytes | None, str, int]:
    """Bytes of the source (a path, bytes, or an open or uploaded file), its name and its
    size; bytes are None when it is larger than `limit` (which is then not read whole)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        size = path.stat().st_size
        name = name or path.name
        if size > limit:
            return None, name, size
        return path.read_bytes(), name, size
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), name or "upload", len(source)
    name = name or os.path.basename(getattr(source, "name", "") or "") or "upload"
    declared: int | None = getattr(source, "size", None)
    if declared is not None and declared > limit:
        return None, name, declared
    if hasattr(source, "seek"):
        source.seek(0)
    data = source.read(limit + 1)
    if len(data) > limit:
        return None, name, declared or len(data)
    return data, name, len(data)


def record_end(buffer: bytes) -> int:
    """Where the last whole CSV record of `buffer` ends (after its newline), or 0 when it
    holds none. `buffer` starts at a record's start; a newline inside double quotes (an
    odd number of quotes before it) belongs to a field, not between records."""
    end = buffer.rfind(b"\n")
    if end < 0:
        return 0
    quotes = buffer.count(b'"', 0, end)
    while quotes % 2:
        previous = buffer.rfind(b"\n", 0, end)
        if previous < 0:
            return 0
        quotes -= buffer.count(b'"', previous, end)
        end = previous
    return end + 1


def record_chunks(path, size: int, *, skip: int = 0):
    """A CSV file's bytes in pieces of about `size` bytes, each ending at a record's end
    (`record_end`), so that each piece parses on its own: a file of any length is read in
    the memory of one piece. `skip` bytes (a byte-order mark) are left out first."""
    with open(path, "rb") as file:
        file.seek(skip)
        rest = b""
        while True:
            block = file.read(size)
            if not block:
                if rest:
                    yield rest
                return
            buffer = rest + block if rest else block
            end = record_end(buffer)
            if end == 0:  # no whole record yet (a record longer than `size`): read on
                rest = buffer
                continue
            yield buffer[:end]
            rest = buffer[end:]


def read_ahead[T](pieces: Iterator[T], depth: int = 1) -> Iterator[T]:
    """The items of `pieces`, each made in a thread of its own while the caller works on the
    previous one: an import parses and cleans the next piece of its file (Polars, which
    releases the GIL) while the database writes this one. At most `depth` finished items wait;
    an exception in the thread reaches the caller at the item it stopped at, and a caller that
    stops early stops the thread. `pieces` must not touch the database (a thread has a
    connection of its own, outside the caller's transaction): `frames.read_ahead` is the
    form for pieces that read it."""
    waiting: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                waiting.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for piece in pieces:
                if not put((piece, None)):
                    return
            put((end, None))
        except BaseException as error:  # handed to the caller, raised there
            put((end, error))
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=run, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            item, error = waiting.get()
            if item is end:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        thread.join()


def claimed_format(name: str, data: bytes) -> str:
    """The format a file claims by its name, or, with no telling name, by its content."""
    suffix = Path(name).suffix.lower().lstrip(".")
    if suffix in EXCEL_FORMATS or suffix in CSV_FORMATS:
        return "csv" if suffix in CSV_FORMATS else suffix
    # No telling name: look at the content.
    if data[:4] == b"PK\x03\x04":
        return "xlsx"
    if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        return "xls"
    return "csv"


def megabytes(size: int) -> str:
    return f"{size / 1024 / 1024:.1f}"


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Text of a CSV file and the encoding it was read with.

    UTF-8 is tried strictly first because it is by far the most common and a strict decode
    never succeeds by accident on cp125x text with accented letters; only then does
    charset-normalizer choose among the Central and Eastern European code pages.
    """
    if encoding:
        return data.decode(encoding), encoding
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    # Detection looks at the lines that carry non-ASCII bytes only: they decide, and the
    # detector is slow on megabytes of digits.
    sample = _lines_with_high_bytes(data)
    from charset_normalizer import from_bytes

    ranked = [match.encoding for match in from_bytes(sample, cp_isolation=CANDIDATE_ENCODINGS)]
    ranked += [c for c in CANDIDATE_ENCODINGS if c not in ranked]
    # charset-normalizer often ties cp1250 and cp1257 on short files (both are Latin with
    # accents); the letters each code page exists for break the tie.
    ranked.sort(key=lambda candidate: -_letter_share(sample, candidate))
    for candidate in ranked:
        try:
            return data.decode(candidate), candidate
        except UnicodeDecodeError:
            continue
    return data.decode("cp1250", errors="replace"), "cp1250"


_LETTERS = {
    # Polish, Czech, Slovak, Slovene, Croatian, Hungarian, Romanian
    "cp1250": set("ąćęłńóśźżčďěňřšťůžáéíúýöőüűđâăîşţ"),
    # Lithuanian, Latvian, Estonian
    "cp1257": set("ąčęėįšųūžāēģīķļņōŗõäöüó"),
}


def _letter_share(sample: bytes, encoding: str) -> float:
    """Share of the non-ASCII characters of `sample` that are letters of the languages
    `encoding` is used for; 0 when it does not decode."""
    try:
        text = sample.decode(encoding)
    except UnicodeDecodeError:
        return 0.0
    high = [ch for ch in text if ord(ch) > 0x7F]
    if not high:
        return 0.0
    if encoding == "cp1251":
        good = sum(1 for ch in high if "\u0400" <= ch <= "\u04ff")
    else:
        letters = _LETTERS[encoding]
        good = sum(1 for ch in high if ch.lower() in letters)
    return good / len(high)


_HIGH = re.compile(rb"[\x80-\xff]")


def _lines_with_high_bytes(data: bytes, limit: int = 200_000) -> bytes:
    lines, size, position = [], 0, 0
    while size < limit and (match := _HIGH.search(data, position)):
        start = data.rfind(b"\n", 0, match.start()) + 1
        end = data.find(b"\n", match.end())
        end = len(data) if end < 0 else end
        lines.append(data[start:end])
        size, position = size + end - start, end + 1
    return b"\n".join(lines)


def sniff_delimiter(text: str) -> str:
    """The delimiter that splits the header and the first lines into the same, largest
    number of fields. Counting beats csv.Sniffer, which guesses wrong on short files."""
    lines = [line for line in text.splitlines()[:20] if line.strip()]
    best, best_score = ",", (-1, -1)
    for delimiter in DELIMITERS:
        try:
            counts = [len(fields) for fields in csv.reader(lines, delimiter=delimiter)]
        except csv.Error:
            continue
        if not counts or counts[0] < 2:
            continue
        consistent = sum(1 for c in counts if c == counts[0])
        score = (consistent, counts[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def cell_text(value) -> str | None:
    """A spreadsheet cell as the text a person typed: None for an empty cell (calamine
    gives ''), whole numbers without '.0', dates in ISO form."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        # Excel stores every number as a float: years come as 2024.0, codes as 1234.0.
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# What a workbook may declare or unpack to before it is read at all (issue 20): calamine
# allocates a sheet's whole range, so one cell at XFD1048576 in a 2 KB file asked for 17
# billion cells and the process died; a zip bomb of 1.5 MB unpacked to 2.5 GB. A real
# yearly file (a country's municipalities, a wide template of 500 units) is far below.
MAX_COLUMNS = 5_000
MAX_CELLS = 20_000_000
MAX_UNPACKED = 1024**3  # bytes, all parts of the workbook together
MAX_RATIO = 100  # unpacked/packed, for workbooks that unpack to more than MAX_RATIO MB
_CELL_REF = re.compile(rb'<(?:\w+:)?(?:c|dimension)\b[^>]*?\b(?:r|ref)="(?:[A-Z]+[0-9]+:)?([A-Z]{1,3})([0-9]{1,7})"')


def _column_number(letters: bytes) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + letter - 64
    return number


def workbook_too_large(data: bytes) -> str | None:
    """Why a zipped workbook (xlsx, xlsm, ods) must not be opened, or None. Reads the zip's
    directory and streams each worksheet's XML (within MAX_UNPACKED) for the largest cell
    reference, without ever unpacking more than that in memory."""
    import zipfile

    try:
        book = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        return None  # not a zip (xls, or broken): calamine reports it
    infos = book.infolist()
    unpacked = sum(info.file_size for info in infos)
    if unpacked > MAX_UNPACKED or (unpacked > MAX_RATIO * 1024**2 and unpacked > MAX_RATIO * max(len(data), 1)):
        return _("it unpacks to %(size)s MB (a compressed bomb, or far more than a workbook of figures)") % {
            "size": megabytes(unpacked)
        }
    for info in infos:
        if not (info.filename.startswith("xl/worksheets/") and info.filename.endswith(".xml")):
            continue
        rows = columns = 0
        tail = b""
        with book.open(info) as part:
            while chunk := part.read(1 << 20):
                window = tail + chunk
                for letters, digits in _CELL_REF.findall(window):
                    columns = max(columns, _column_number(letters))
                    rows = max(rows, int(digits))
                tail = window[-256:]
        if columns > MAX_COLUMNS or rows * columns > MAX_CELLS:
            return _("a sheet reaches column %(column)s and row %(row)s, more than %(cells)s cells") % {
                "column": column_letter(columns - 1),
                "row": format_number(rows, 0, grouping=False),
                "cells": format_number(MAX_CELLS, 0),
            }
    return None


def open_workbook(data: bytes, name: str, format: str, report: ProblemReport):
    """The workbook (calamine), or None with a located problem in `report`. A workbook that
    declares or unpacks to more than a workbook of figures can hold is refused unread."""
    from python_calamine import CalamineWorkbook

    reason = workbook_too_large(data)
    if reason is not None:
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the workbook is not read: %(reason)s") % {"reason": reason},
                _("the sheets with the figures only; delete empty rows and columns far below or to the right"),
            )
        )
        return None
    try:
        return CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as error:  # calamine raises several unrelated types for broken files
        report.add(
            Problem(
                name,
                None,
                None,
                None,
                _("the file cannot be read as an Excel workbook (%(format)s): %(error)s")
                % {"format": format, "error": error},
                _("a workbook saved by Excel or LibreOffice (.xlsx, .xls, .ods), or a CSV file named .csv"),
            )
        )
        return None


def parse_numbers(values: pl.Expr, decimal: str) -> pl.Expr:
    """Numbers from text in either convention. A value that reads only one way is read
    that way; one that reads both ways (1,234 or 1.234) is read with `decimal`."""
    cleaned = values.str.replace_all(GROUPING_SPACES, "").str.replace_all("\u2212", "-")
    dot = cleaned.str.contains(DOT_NUMBER)
    comma = cleaned.str.contains(COMMA_NUMBER)
    as_dot = cleaned.str.replace_all(",", "", literal=True)
    as_comma = cleaned.str.replace_all(".", "", literal=True).str.replace_all(",", ".", literal=True)
    use_comma = comma & (~dot | pl.lit(decimal == ","))
    text = pl.when(use_comma).then(as_comma).when(dot).then(as_dot).otherwise(None)
    return text.cast(pl.Float64, strict=False)


def guess_decimal(values: pl.Series) -> str:
    """Decimal separator for numbers that read either way: a comma only when some value
    can be read only with a decimal comma and none only with a decimal point."""
    only_comma, only_dot = decimal_evidence(values)
    return "," if only_comma and not only_dot else "."


def decimal_evidence(values: pl.Series) -> tuple[int, int]:
    """How many values read only with a decimal comma, and only with a decimal point:
    `guess_decimal`'s evidence, which a file read in pieces adds up piece by piece."""
    values = values.drop_nulls().str.replace_all(GROUPING_SPACES, "")
    dot = values.str.contains(DOT_NUMBER)
    comma = values.str.contains(COMMA_NUMBER)
    return int((comma & ~dot).sum()), int((dot & ~comma).sum())


# ----------------------------------------------------------------------------------------
# Writing


# A cell a spreadsheet would run as a formula: =, @, a tab or carriage return first, or + or -
# first when the rest is not simply a number ("-2+3+cmd|' /C calc'!A0" is a formula, "-2.5"
# is not). OWASP's advice: such text goes out with a leading apostrophe, which spreadsheets
# show as text and never evaluate.
RUNS_FIRST = r"^[=@\t\r]"
SIGN_FIRST = r"^[+-]"
PLAIN_NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
_RUNS_FIRST, _SIGN_FIRST, _PLAIN_NUMBER = re.compile(RUNS_FIRST), re.compile(SIGN_FIRST), re.compile(PLAIN_NUMBER)


def neutralise(text):
    """Text safe to put in a CSV cell that a spreadsheet opens (issue 20: exports wrote
    '=HYPERLINK(...)' and '@SUM(...)' cells unchanged). Anything else passes unchanged."""
    if isinstance(text, str) and (
        _RUNS_FIRST.match(text) or (_SIGN_FIRST.match(text) and not _PLAIN_NUMBER.match(text))
    ):
        return "'" + text
    return text


def _would_run(column: pl.Expr) -> pl.Expr:
    """`neutralise`'s test as a Polars expression (Rust regexes have no look-ahead)."""
    return column.str.contains(RUNS_FIRST) | (column.str.contains(SIGN_FIRST) & ~column.str.contains(PLAIN_NUMBER))


def csv_bytes(rows, *, delimiter: str = ",", bom: bool = False, lineterminator: str = "\r\n") -> bytes:
    """Rows of cells as CSV bytes in UTF-8, every text cell neutralised (`neutralise`)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator=lineterminator)
    for row in rows:
        writer.writerow([neutralise(cell) for cell in row])
    return ("\ufeff" if bom else "").encode("utf-8") + out.getvalue().encode("utf-8")


def to_csv(frame: pl.DataFrame, *, delimiter: str = ",", decimal: str = ".", bom: bool = False) -> bytes:
    """CSV bytes in UTF-8. `bom=True` for Excel users (Excel reads BOM-less UTF-8 as the
    local code page); `delimiter=';', decimal=','` for Polish or Lithuanian Excel. Text that
    a spreadsheet would run as a formula is neutralised (`neutralise`)."""
    return b"".join(csv_pieces([frame], delimiter=delimiter, decimal=decimal, bom=bom))


def csv_pieces(
    frames, *, delimiter: str = ",", decimal: str = ".", bom: bool = False, empty: pl.DataFrame | None = None
):
    """`to_csv` of the frames one after the other, as pieces of bytes: a file written frame
    by frame in the memory of one frame (the open-data downloads stream this). The header
    comes from the first frame, or from `empty` when there is none."""
    if decimal == "," and delimiter == ",":
        raise ValueError(_("a decimal comma needs another delimiter than the comma, such as ';'"))
    header = True
    for frame in frames:
        yield _csv_text(frame, delimiter, decimal, bom=bom and header, header=header)
        header = False
    if header and empty is not None:
        yield _csv_text(empty, delimiter, decimal, bom=bom, header=True)


def _csv_text(frame: pl.DataFrame, delimiter: str, decimal: str, *, bom: bool, header: bool) -> bytes:
    # Empty text and no text read the same to people; polars would quote the former.
    frame = frame.with_columns(pl.col(pl.String).replace("", None))
    frame = frame.with_columns(
        pl.when(_would_run(pl.col(pl.String)))
        .then(pl.lit("'") + pl.col(pl.String))
        .otherwise(pl.col(pl.String))
        .name.keep()
    )
    text = frame.write_csv(
        separator=delimiter, decimal_comma=decimal == ",", include_bom=False, include_header=header, null_value=""
    )
    return ("\ufeff" if bom else "").encode("utf-8") + text.encode("utf-8")


# Options for every workbook Municipium writes: text stays text (a cell reading "=..." or
# "http://..." is not turned into a formula or a link), numbers as numbers.
SAFE_WORKBOOK = {
    "in_memory": True,
    "strings_to_numbers": False,
    "strings_to_formulas": False,
    "strings_to_urls": False,
    "nan_inf_to_errors": True,
}


class _Exact(float):
    """A float that XlsxWriter writes with every digit it needs. XlsxWriter writes numbers
    with 16 significant digits ('%.16G'), which changes a double that needs 17
    (0.30000000000000004 became 0.3); the shortest round-trip text ('repr') is what Excel
    itself stores, and every reader takes it back as the same double."""

    def __format__(self, spec: str) -> str:
        if spec == ".16G":
            return repr(float(self)).upper()
        return super().__format__(spec)


def write_number(sheet, row: int, column: int, value, cell_format=None) -> None:
    """A number cell holding exactly `value`: the one way Municipium writes a number into a
    workbook (issue 11: the open-data workbook wrote values that need 17 significant digits
    as text, which Excel leaves out of sums and charts, while the indicator page rounded
    them to 15)."""
    sheet.write_number(row, column, _Exact(value), cell_format)


def to_xlsx(sheets: dict[str, pl.DataFrame]) -> bytes:
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
            sheet.set_column(column, column, _width(series.name, series.head(200).to_list()))
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


def _width(name: str, head: list) -> int:
    """A column wide enough to read its name and its first 200 values (50 at most)."""
    return min(max([len(name), *(len(str(v)) for v in head if v is not None)]) + 2, 50)


def write_sheet(target, name: str, columns: list[str], rows, *, numeric=frozenset()) -> int:
    """A one-sheet .xlsx workbook written into `target` (a path or a binary file) row by row
    in XlsxWriter's constant-memory mode, as `to_xlsx` would write the same table: numbers
    (the columns named in `numeric`) as numbers, text as text, header bold and frozen, widths
    from the first 200 rows. Memory holds a row, not the sheet; returns the number of rows."""
    book = xlsxwriter.Workbook(target, {**SAFE_WORKBOOK, "in_memory": False, "constant_memory": True})
    bold = book.add_format({"bold": True, "bg_color": "#DDE5F0"})
    sheet = book.add_worksheet(name[:31])
    rows = iter(rows)
    head = [row for _, row in zip(range(200), rows, strict=False)]
    for column, title in enumerate(columns):
        sheet.set_column(column, column, _width(title, [row[column] for row in head]))
    sheet.write_row(0, 0, columns, bold)
    numbers = [title in numeric for title in columns]
    count = 0
    for count, row in enumerate(itertools.chain(head, rows), start=1):
        for column, value in enumerate(row):
            if value is None or value == "":
                continue
            if numbers[column]:
                write_number(sheet, count, column, value)
            else:
                sheet.write_string(count, column, value)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, count, max(len(columns) - 1, 0))
    book.close()
    return count
