"""Small hostile files never take a process down nor get in (issue 20, item 4): a workbook
whose one cell sits at XFD1048576, a zip bomb, a CSV with a million columns, a NUL byte
after the first 4 KB. Each is refused with a located message before it is read, and nothing
is stored."""

import io
import zipfile

import pytest
import xlsxwriter

from municipium.lib.tabular import MAX_COLUMNS, workbook_too_large
from municipium.observations.imports import dry_run, read_table
from municipium.observations.models import Observation

pytestmark = pytest.mark.django_db


def _workbook_with_a_cell_at(row: int, column: int) -> bytes:
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True})
    sheet = book.add_worksheet("data")
    sheet.write_row(0, 0, ["unit", "variable", "period", "value"])
    sheet.write(row, column, 1)
    book.close()
    return out.getvalue()


def test_a_tiny_workbook_with_a_cell_at_the_last_row_and_column_is_refused_unread():
    data = _workbook_with_a_cell_at(1048575, 16383)  # XFD1048576
    assert len(data) < 10_000
    table, report = read_table(data, name="tiny.xlsx")
    assert table is None
    [problem] = report.problems
    assert "column XFD and row 1048576" in problem.message and problem.file == "tiny.xlsx"


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as book:
        book.writestr("[Content_Types].xml", "<Types/>")
        book.writestr("xl/worksheets/sheet1.xml", b"<worksheet>" + b" " * (300 * 1024**2) + b"</worksheet>")
    data = out.getvalue()
    assert len(data) < 2 * 1024**2
    assert "unpacks to" in workbook_too_large(data)
    table, report = read_table(data, name="bomb.xlsx")
    assert table is None and "unpacks to" in report.problems[0].message


def test_a_csv_with_a_million_columns_is_refused_with_the_count():
    data = (",".join(f"c{i}" for i in range(1_000_000)) + "\n").encode()
    table, report = read_table(data, name="wide.csv")
    assert table is None
    assert "1,000,000 columns, more than the 5,000" in report.problems[0].message and report.problems[0].row == 1
    assert MAX_COLUMNS == 5_000


def test_a_nul_byte_after_the_first_4_kb_is_refused_and_nothing_is_stored():
    header = "unit,variable,period,value,comment\n"
    data = (header + "X,water,2024,1,ok\n" * 300).encode() + b"X,water,2024,1,bad\x00comment\n"
    assert data.index(b"\x00") > 4096
    report = dry_run(data, name="nul.csv")
    assert not report.ok and "binary data" in report.problems[0].message
    assert not Observation.objects.exists()


def test_an_ordinary_workbook_is_read():
    table, report = read_table(_workbook_with_a_cell_at(3, 3), name="fine.xlsx")
    assert table is not None, report.problems
