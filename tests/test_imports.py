"""Importing observations from real, messy CSV and Excel files."""

import datetime as dt

import pytest
import xlsxwriter

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.observations.imports import ImportOptions, Problem, commit, dry_run, parse_numbers
from municipium.observations.models import ImportBatch, Observation, Period, Revision
from municipium.places.models import Succession, Unit
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue():
    sex = f.breakdown("sex", ["F", "M"])
    f.variable("water_produced", min_value=0, unit_of_measure={"en": "m³"})
    f.variable("water_billed", min_value=0)
    f.variable("nrw_share", min_value=0, max_value=100)
    f.variable("population_by_sex", area="population", breakdown=sex, min_value=0)
    f.variable("water_quarterly", period_kind="quarter")
    zyrardow = f.unit("PL1438011", {"pl": "Żyrardów", "en": "Żyrardów"})
    f.unit("PL1465011", {"pl": "Warszawa"})
    old = f.unit("PL0000001", {"pl": "Gmina dawna"}, valid_to=dt.date(2018, 12, 31))
    Succession.objects.create(predecessor=old, successor=zyrardow, kind="merger", date=dt.date(2019, 1, 1))
    f.unit("RS70092", {"sr": "Шабац"})
    f.unit("LT13", {"lt": "Šiaulių miesto savivaldybė"})


def write(tmp_path, name, text, encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def stored(unit, variable, period="2024", breakdown=""):
    return Observation.objects.get(unit__code=unit, variable__code=variable, period__code=period, breakdown=breakdown)


def where(report):
    return [(p.row, p.column) for p in report.problems]


# --- messy files that must import -------------------------------------------------------


def test_a_polish_cp1250_csv_with_semicolons_and_decimal_commas_imports(catalogue, tmp_path):
    path = write(
        tmp_path,
        "gmina.csv",
        (
            "jednostka;nazwa;zmienna;okres;wartość;źródło;uwagi\r\n"
            "PL1438011;Żyrardów;water_produced;2024;1\u00a0234\u00a0567,5;GUS;łączna ilość\r\n"
            "PL1438011;Żyrardów;water_billed;2024;987 654,25;Wodociągi Żyrardów;\r\n"
            "PL1465011;Warszawa;nrw_share;2024;12,5;;\r\n"
        ),
        "cp1250",
    )
    report = commit(path)
    assert report.ok, report.problems
    assert (report.encoding, report.delimiter, report.decimal) == ("cp1250", ";", ",")
    assert (report.rows, report.created) == (3, 3)
    assert stored("PL1438011", "water_produced").value == 1234567.5
    billed = stored("PL1438011", "water_billed")
    assert (billed.value, billed.source) == (987654.25, "Wodociągi Żyrardów")
    assert stored("PL1438011", "water_produced").comment == "łączna ilość"
    assert stored("PL1465011", "nrw_share").value == 12.5


def test_a_serbian_cp1251_csv_with_cyrillic_headers_imports(catalogue, tmp_path):
    path = write(
        tmp_path,
        "opstine.csv",
        (
            "јединица,назив,променљива,период,вредност,извор\n"
            "RS70092,Шабац,water_produced,2024,4500.5,Водовод Шабац\n"
            'RS70092,Шабац,water_billed,2024,"3,900",Републички завод за статистику\n'
        ),
        "cp1251",
    )
    report = commit(path)
    assert report.ok, report.problems
    assert (report.encoding, report.delimiter) == ("cp1251", ",")
    assert stored("RS70092", "water_produced").source == "Водовод Шабац"
    assert stored("RS70092", "water_billed").value == 3900.0


def test_a_lithuanian_cp1257_csv_imports(catalogue, tmp_path):
    path = write(
        tmp_path,
        "savivaldybes.csv",
        (
            "vienetas;pavadinimas;kintamasis;laikotarpis;reikšmė;šaltinis;pastaba\n"
            "LT13;Šiaulių miesto savivaldybė;water_produced;2024;5 432,1;Šiaulių vandenys;Įvertinta\n"
            "LT13;Šiaulių miesto savivaldybė;nrw_share;2024;18,75;;\n"
        ),
        "cp1257",
    )
    report = commit(path)
    assert report.ok, report.problems
    assert report.encoding == "cp1257"
    produced = stored("LT13", "water_produced")
    assert (produced.value, produced.source, produced.comment) == (5432.1, "Šiaulių vandenys", "Įvertinta")


def test_a_utf8_csv_with_a_byte_order_mark_and_quoted_thousands_imports(catalogue, tmp_path):
    path = tmp_path / "excel-export.csv"
    path.write_bytes(
        "\ufeffUnit,Variable,Period,Value,Missing,Status\n"
        'PL1438011,water_produced,2024,"1,234,567.5",,submitted\n'
        "PL1465011,water_produced,2024,,Not collected,\n".encode("utf-8-sig")
    )
    report = commit(path)
    assert report.ok, report.problems
    assert report.encoding == "utf-8-sig"
    first = stored("PL1438011", "water_produced")
    assert (first.value, first.status) == (1234567.5, "submitted")
    second = stored("PL1465011", "water_produced")
    assert (second.value, second.missing, second.status) == (None, "not_collected", "draft")


def test_a_tab_separated_file_with_an_explicit_decimal_comma_reads_dots_as_thousands(catalogue, tmp_path):
    path = write(tmp_path, "tabs.txt", "unit\tvariable\tperiod\tvalue\nPL1438011\twater_produced\t2024\t1.234\n")
    report = commit(path, options=ImportOptions(decimal=","))
    assert report.ok and report.delimiter == "\t"
    assert stored("PL1438011", "water_produced").value == 1234.0


def test_breakdown_categories_quarters_and_missing_spellings_are_understood(catalogue, tmp_path):
    path = write(
        tmp_path,
        "mixed.csv",
        (
            "unit,variable,period,breakdown,value,missing\n"
            "PL1438011,population_by_sex,2024,F,21000,\n"
            "PL1438011,population_by_sex,2024,M,19000,\n"
            "PL1438011,population_by_sex,2024,,40000,\n"
            "PL1438011,water_quarterly,2024q2,,,n/a\n"
            "PL1465011,water_quarterly,2024-Q3,,,CONFIDENTIAL\n"
        ),
    )
    report = commit(path)
    assert report.ok, report.problems
    assert stored("PL1438011", "population_by_sex", breakdown="F").value == 21000
    assert stored("PL1438011", "population_by_sex").value == 40000
    assert stored("PL1438011", "water_quarterly", "2024Q2").missing == "not_applicable"
    assert stored("PL1465011", "water_quarterly", "2024Q3").missing == "confidential"


def test_an_xlsx_with_empty_cells_numbers_as_text_and_years_as_floats_imports(catalogue, tmp_path):
    path = tmp_path / "dane.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Dane")
    sheet.write(0, 0, "Dane wodociągowe 2024 — Żyrardów")  # a title above the header
    sheet.write_row(2, 0, ["Unit", "Name", "Variable", "Period", "Value", "Missing", "Comment"])
    sheet.write_row(3, 0, ["PL1438011", "Żyrardów", "water_produced", 2024.0, 1234.5])
    sheet.write_string(4, 0, "PL1438011")
    sheet.write_string(4, 2, "water_billed")
    sheet.write_number(4, 3, 2024)
    sheet.write_string(4, 4, "1 000,5")  # a number stored as text, Polish style
    sheet.write_row(6, 0, ["PL1465011", "Warszawa", "water_produced", "2024", "", "not_shared", "  "])
    workbook.close()
    report = commit(path)
    assert report.ok, report.problems
    assert report.format == "xlsx" and report.rows == 3
    assert stored("PL1438011", "water_produced").value == 1234.5
    assert stored("PL1438011", "water_billed").value == 1000.5
    warsaw = stored("PL1465011", "water_produced")
    assert (warsaw.missing, warsaw.comment) == ("not_shared", "")
    assert ImportBatch.objects.get().format == "xlsx"


def test_problems_in_a_workbook_name_the_sheet_and_the_cell(catalogue, tmp_path):
    path = tmp_path / "bad.xlsx"
    workbook = xlsxwriter.Workbook(path)
    sheet = workbook.add_worksheet("Water")
    sheet.write_row(0, 0, ["unit", "variable", "period", "value"])
    sheet.write_row(1, 0, ["PL1438011", "water_produced", 2024, "dużo"])
    workbook.close()
    report = dry_run(path)
    assert [(p.sheet, p.cell, p.column) for p in report.problems] == [("Water", "D2", "value")]
    assert str(report.problems[0]).startswith("bad.xlsx, Water, D2: 'dużo' is not a number")


def test_importing_the_same_file_twice_changes_nothing_the_second_time(catalogue, tmp_path):
    path = write(tmp_path, "a.csv", "unit,variable,period,value\nPL1438011,water_produced,2024,10\n")
    commit(path)
    revisions = Revision.objects.count()
    again = commit(path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)
    assert Revision.objects.count() == revisions


def test_a_commit_records_the_batch_with_its_hash_size_format_and_actor(catalogue, tmp_path, django_user_model):
    user = django_user_model.objects.create_user("officer")
    Role.objects.create(user=user, kind=Role.Kind.OFFICER, unit=Unit.objects.get(code="PL1438011"))
    path = write(tmp_path, "a.csv", "unit,variable,period,value\nPL1438011,water_produced,2024,10\n")
    report = commit(path, actor=user)
    batch = report.batch
    assert (batch.file_name, batch.format, batch.size, batch.created_by, batch.rows) == (
        "a.csv",
        "csv",
        path.stat().st_size,
        user,
        1,
    )
    assert len(batch.sha256) == 64
    assert AuditEvent.objects.filter(batch=batch, action="import").exists()
    assert Observation.objects.get().updated_by == user


def test_a_dry_run_writes_nothing_not_even_a_new_period(catalogue, tmp_path):
    path = write(tmp_path, "a.csv", "unit,variable,period,value\nPL1438011,water_produced,2031,10\n")
    report = dry_run(path)
    assert report.ok and report.rows == 1
    assert not Observation.objects.exists()
    assert not Period.objects.filter(code="2031").exists()
    assert not ImportBatch.objects.exists()


# --- files that must be refused -----------------------------------------------------------


EVERY_FAILURE = (
    "unit;variable;period;value;missing;breakdown;status\n"  # 1
    "PL1438011;water_produced;2024;100;;;\n"  # 2 fine
    "PL9999999;water_produced;2024;100;;;\n"  # 3 unknown unit
    "PL1438011;water_prodused;2024;100;;;\n"  # 4 unknown variable
    "PL1438011;water_billed;24;100;;;\n"  # 5 bad period
    "PL1438011;water_billed;2024Q1;100;;;\n"  # 6 quarter for a yearly variable
    "PL1438011;nrw_share;2024;dwanaście;;;\n"  # 7 not a number
    "PL1465011;water_produced;2024;5;confidential;;\n"  # 8 both value and missing
    "PL1465011;water_billed;2024;;;;\n"  # 9 neither
    "PL1465011;nrw_share;2024;;unknowable;;\n"  # 10 unknown missing code
    "PL1465011;population_by_sex;2024;5;;X;\n"  # 11 unknown category
    "PL1465011;water_billed;2023;5;;F;\n"  # 12 breakdown on a variable without one
    "PL1465011;nrw_share;2023;140,5;;;\n"  # 13 above max
    "PL0000001;water_produced;2024;7;;;\n"  # 14 unit merged away before 2024
    "PL1438011;water_produced;2024;100;;;\n"  # 15 repeats row 2
    "PL1465011;water_produced;2022;-3;;;approved-ish\n"  # 16 below min, unknown status
)


def test_a_csv_with_every_failure_mode_names_each_row_and_column(catalogue, tmp_path):
    report = dry_run(write(tmp_path, "every.csv", EVERY_FAILURE, "cp1250"))
    assert where(report) == [
        (3, "unit"),
        (4, "variable"),
        (5, "period"),
        (6, "period"),
        (7, "value"),
        (8, "missing"),
        (9, "value"),
        (10, "missing"),
        (11, "breakdown"),
        (12, "breakdown"),
        (13, "value"),
        (14, "unit"),
        (15, None),
        (16, "value"),
        (16, "status"),
    ]
    assert report.problem_count == 15
    messages = {p.row: p for p in report.problems}
    assert messages[3].message == "unknown unit 'PL9999999'"
    assert messages[4].expected == "a variable code such as water_produced, water_billed"
    assert messages[6].message == "'2024Q1' is a quarter, but variable 'water_billed' is reported per year"
    assert messages[6].expected == "a period such as 2024"
    assert messages[11].expected == "one of F, M, or empty for the total"
    assert messages[13].message == "140.5 is outside the range allowed for variable 'nrw_share'"
    assert messages[13].expected == "a number from 0 to 100"
    assert "did not exist in 2024" in messages[14].message
    assert messages[14].expected == "the successor unit PL1438011"
    assert messages[15].message == "this row repeats row 2: same unit, variable, period and breakdown"
    assert str(messages[7]) == (
        "every.csv, row 7, column 'value': 'dwanaście' is not a number "
        "(expected: a number such as 1234.5 or 1 234,5, or an empty cell and a missing code)"
    )


def test_a_failed_commit_leaves_stored_data_exactly_as_it_was(catalogue, tmp_path):
    good = write(
        tmp_path,
        "good.csv",
        "unit,variable,period,value\nPL1438011,water_produced,2024,10\nPL1465011,water_produced,2024,20\n",
    )
    commit(good)
    commit(write(tmp_path, "good2.csv", "unit,variable,period,value\nPL1438011,water_produced,2024,11\n"))
    before = f.stored_state()
    events = AuditEvent.objects.count()
    # The bad file would change both stored rows and add new ones, in a period not yet stored.
    bad = write(tmp_path, "bad.csv", EVERY_FAILURE.replace(";2022;", ";2030;"), "cp1250")
    report = commit(bad)
    assert not report.ok and not report.committed and report.batch is None
    assert f.stored_state() == before
    assert AuditEvent.objects.count() == events
    assert Observation.objects.count() == 2 and Revision.objects.count() == 2  # and the new one's first


def test_missing_required_columns_give_one_problem_naming_what_was_found_and_expected(catalogue, tmp_path):
    report = dry_run(write(tmp_path, "cols.csv", "unit;year;amount\nPL1438011;2024;5\n"))
    assert len(report.problems) == 1
    problem = report.problems[0]
    assert problem.row == 1
    assert (
        problem.message
        == "required columns are missing: variable, value; the columns found are 'unit', 'year', 'amount'"
    )
    assert "unit, variable, period, value" in problem.expected


def test_an_empty_file_and_a_header_without_rows_are_refused(catalogue, tmp_path):
    assert dry_run(write(tmp_path, "empty.csv", "")).problems[0].message == "the file is empty"
    assert dry_run(write(tmp_path, "blank.csv", "\r\n\r\n")).problems[0].message == "the file is empty"
    header_only = dry_run(write(tmp_path, "header.csv", "unit,variable,period,value\n\n"))
    assert [p.message for p in header_only.problems] == ["the file has a header but no data rows"]


def test_a_truncated_xlsx_is_refused_as_unreadable(catalogue, tmp_path):
    whole = tmp_path / "whole.xlsx"
    workbook = xlsxwriter.Workbook(whole)
    workbook.add_worksheet().write_row(0, 0, ["unit", "variable", "period", "value"])
    workbook.close()
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(whole.read_bytes()[:1500])
    report = commit(broken)
    assert len(report.problems) == 1
    assert report.problems[0].message.startswith("the file cannot be read as an Excel workbook (xlsx)")
    assert not ImportBatch.objects.exists()


def test_a_csv_file_that_is_really_a_workbook_is_refused_with_advice(catalogue, tmp_path):
    path = tmp_path / "really.xlsx"
    workbook = xlsxwriter.Workbook(path)
    workbook.add_worksheet().write(0, 0, "unit")
    workbook.close()
    misnamed = tmp_path / "data.csv"
    misnamed.write_bytes(path.read_bytes())
    problem = dry_run(misnamed).problems[0]
    assert problem.message == "the file is an Excel workbook, not a CSV text file"
    assert ".xlsx" in problem.expected


def test_a_text_file_named_xlsx_is_refused_as_not_a_workbook(catalogue, tmp_path):
    path = write(tmp_path, "data.xlsx", "unit,variable,period,value\n")
    assert dry_run(path).problems[0].message.startswith("the file cannot be read as an Excel workbook")


def test_a_file_larger_than_the_limit_is_refused_before_reading(catalogue, tmp_path, settings):
    settings.MAX_IMPORT_BYTES = 100
    path = write(tmp_path, "big.csv", "unit,variable,period,value\n" + "PL1438011,water_produced,2024,1\n" * 10)
    report = dry_run(path)
    assert len(report.problems) == 1 and "larger than" in report.problems[0].message
    # ... and says how to raise the limit, with the setting's name and its value now.
    assert "set MAX_IMPORT_BYTES (in bytes, now 100)" in report.problems[0].expected
    with open(path, "rb") as handle:
        assert "larger than" in dry_run(handle).problems[0].message


def test_a_row_with_too_many_fields_is_named(catalogue, tmp_path):
    path = write(
        tmp_path,
        "ragged.csv",
        "unit;variable;period;value\nPL1438011;water_produced;2024;1\nPL1438011;water_billed;2024;1;5;6\n",
    )
    report = dry_run(path)
    assert [(p.row, p.message) for p in report.problems] == [(3, "the row has 6 fields but the header has 4")]


def test_a_duplicated_header_is_refused(catalogue, tmp_path):
    report = dry_run(
        write(tmp_path, "dup.csv", "unit,variable,period,value,wartość\nPL1438011,water_produced,2024,1,2\n")
    )
    assert report.problems[0].message == "the column 'value' appears twice (as 'value' and 'wartość')"


def test_a_file_object_with_a_name_imports_like_a_path(catalogue, tmp_path):
    path = write(tmp_path, "upload.csv", "unit,variable,period,value\nPL1438011,water_produced,2024,10\n")
    with open(path, "rb") as handle:
        report = commit(handle)
    assert report.ok and report.batch.file_name == "upload.csv"


def test_problems_beyond_the_limit_are_counted_but_not_listed(catalogue, tmp_path, monkeypatch):
    from municipium.observations import imports

    monkeypatch.setattr(imports, "MAX_PROBLEMS", 5)
    lines = "".join(f"NOPE{i},water_produced,2024,1\n" for i in range(12))
    report = dry_run(write(tmp_path, "many.csv", "unit,variable,period,value\n" + lines))
    assert len(report.problems) == 5 and report.problem_count == 12
    assert [p.row for p in report.problems] == [2, 3, 4, 5, 6]


@pytest.mark.parametrize(
    "text, decimal, expected",
    [
        ("1234.5", ".", 1234.5),
        ("1234,5", ".", 1234.5),
        ("1 234,5", ".", 1234.5),
        ("1\u202f234,5", ",", 1234.5),
        ("1,234", ".", 1234.0),
        ("1,234", ",", 1.234),
        ("1.234", ",", 1234.0),
        ("1.234,5", ".", 1234.5),
        ("1,234.5", ",", 1234.5),
        ("-0,5", ",", -0.5),
        ("\u22123", ".", -3.0),
        ("1.5E+20", ".", 1.5e20),
        ("12a", ".", None),
        ("1,2,3", ".", None),
        ("nan", ".", None),
        ("", ".", None),
    ],
)
def test_numbers_are_read_in_either_convention(text, decimal, expected):
    import polars as pl

    result = pl.DataFrame({"v": [text]}, schema={"v": pl.String}).select(parse_numbers(pl.col("v"), decimal)).item()
    assert result == expected


def test_a_problem_reads_as_a_sentence_with_its_location():
    problem = Problem("a.csv", None, 7, "wartość", "'x' is not a number", "a number")
    assert str(problem) == "a.csv, row 7, column 'wartość': 'x' is not a number (expected: a number)"


def test_a_cell_full_of_garbage_gives_a_short_readable_problem(tmp_path):
    from municipium.observations.imports import dry_run

    path = tmp_path / "garbage.csv"
    path.write_text("unit,variable,period,value\n" + "x" * 5000 + ",water_billed,2024,1\n", encoding="utf-8")
    report = dry_run(path)
    text = str(report.problems[0])
    assert "unknown unit 'xxxx" in text and "…'" in text
    assert len(text) < 300
