"""Wide Excel templates: build one, fill it in as a person would, read it back and commit."""

import io
import re
import zipfile
from xml.sax.saxutils import escape

import pytest
from python_calamine import CalamineWorkbook

from municipium.catalog.models import Variable
from municipium.observations.imports import commit, dry_run
from municipium.observations.models import ImportBatch, Observation
from municipium.observations.services import Row, write_observations
from municipium.observations.workbooks import META_SHEET, build_template, read_template
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    f.service_area("water", {"en": "Water", "pl": "Woda"}, order=1)
    f.service_area("population", {"en": "Population"}, order=0)
    sex = f.breakdown("sex", ["F", "M"])
    produced = f.variable("water_produced", min_value=0, unit_of_measure={"en": "m³"}, order=1)
    f.variable("nrw_share", min_value=0, max_value=100, unit_of_measure={"en": "%"}, order=2)
    f.variable("population_by_sex", area="population", breakdown=sex, min_value=0)
    f.variable("water_monthly", period_kind="month")  # not in a yearly template
    a, b = f.unit("PL1438011", {"en": "Żyrardów"}), f.unit("PL1465011", {"en": "Warszawa"})
    gone = f.unit("PL0000001", valid_to=f.date("2010-12-31"))
    group = f.group("mazovia", [a, b, gone])
    last_year = f.period("2023")
    write_observations(
        [Row(a.pk, produced.pk, last_year.pk, value=900.0), Row(b.pk, produced.pk, last_year.pk, missing="not_shared")],
        batch=ImportBatch(file_name="old.csv", sha256="0" * 64, format="csv"),
    )
    return group


def fill(xlsx: bytes, sheet_number: int, cells: dict[str, object]) -> bytes:
    """Type values into cells of a workbook, as Excel would save them (numbers as <v>,
    text as inline strings)."""
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    target_name = f"xl/worksheets/sheet{sheet_number}.xml"
    xml = source.read(target_name).decode()
    for ref, value in cells.items():
        if isinstance(value, str):
            content = f'<c r="{ref}"\\1 t="inlineStr"><is><t>{escape(value)}</t></is></c>'
        else:
            content = f'<c r="{ref}"\\1><v>{value}</v></c>'
        xml, count = re.subn(rf'<c r="{ref}"( s="\d+")?(?: t="\w+")?(?:/>|>.*?</c>)', content, xml)
        assert count == 1, f"no cell {ref} in the template"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            target.writestr(item, xml if item.filename == target_name else source.read(item.filename))
    return out.getvalue()


def label(code):
    return Variable.objects.get(code=code).label


def sheet_rows(xlsx: bytes, name: str):
    return CalamineWorkbook.from_filelike(io.BytesIO(xlsx)).get_sheet_by_name(name).to_python(skip_empty_area=False)


def test_a_template_has_a_sheet_per_service_area_a_row_per_variable_and_category_and_columns_per_unit(setup):
    xlsx = build_template(setup, "2024")
    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx))
    assert book.sheet_names == ["Population", "Water", META_SHEET]
    assert str(book.sheets_metadata[-1].visible) == "SheetVisibleEnum.VeryHidden"
    water = sheet_rows(xlsx, "Water")
    assert water[0][0] == "Water — 2024"
    # Units that existed in 2024, in code order; the one dissolved in 2010 is left out.
    assert water[3][3] == "Żyrardów (PL1438011)" and water[3][6] == "Warszawa (PL1465011)"
    assert water[4][3:9] == ["2024", "missing", "2023", "2024", "missing", "2023"]
    assert [r[0] for r in water[5:]] == [label("water_produced"), label("nrw_share")]
    assert water[5][2] == "m³"
    # The last period's figure sits beside each field.
    assert water[5][5] == 900.0 and water[5][8] == "Not shared"
    population = sheet_rows(xlsx, "Population")
    assert [(r[0], r[1]) for r in population[5:]] == [
        (label("population_by_sex"), "F"),
        (label("population_by_sex"), "M"),
    ]


def test_template_cells_carry_data_validation_for_ranges_and_missing_codes(setup):
    xlsx = build_template(setup, "2024", service_areas=["water"])
    xml = zipfile.ZipFile(io.BytesIO(xlsx)).read("xl/worksheets/sheet1.xml").decode()
    rules = {
        cell: (kind, operator, first, second)
        for kind, operator, cell, first, second in re.findall(
            r'<dataValidation type="(\w+)"(?: operator="(\w+)")?[^>]*sqref="(\w+)"><formula1>([^<]*)</formula1>'
            r"(?:<formula2>([^<]*)</formula2>)?",
            xml,
        )
    }
    missing = ("list", "", '"Not collected,Not shared,Confidential,Not applicable"', "")
    assert rules == {
        "D6": ("decimal", "greaterThanOrEqual", "0.0", ""),
        "E6": missing,
        "G6": ("decimal", "greaterThanOrEqual", "0.0", ""),
        "H6": missing,
        "D7": ("decimal", "", "0.0", "100.0"),
        "E7": missing,
        "G7": ("decimal", "", "0.0", "100.0"),
        "H7": missing,
    }
    assert 'error="A number from 0 to 100."' in xml
    assert "<sheetProtection" in xml


def test_a_filled_template_reads_back_into_long_rows_and_commits(setup, tmp_path):
    xlsx = fill(
        build_template(setup, "2024", service_areas=["water"]),
        1,
        {
            "D6": 1000.5,
            "G6": 2000,
            "E7": "Confidential",
            "G7": 12.5,
        },
    )
    table = read_template(xlsx, name="mazovia-2024.xlsx")
    rows = table.frame.select("unit", "variable", "period", "value", "missing", "_cell_value").rows()
    assert rows == [
        ("PL1438011", "water_produced", "2024", "1000.5", None, "D6"),
        ("PL1438011", "nrw_share", "2024", None, "Confidential", "D7"),
        ("PL1465011", "water_produced", "2024", "2000", None, "G6"),
        ("PL1465011", "nrw_share", "2024", "12.5", None, "G7"),
    ]
    path = tmp_path / "mazovia-2024.xlsx"
    path.write_bytes(xlsx)
    report = commit(path)
    assert report.ok, report.problems
    assert (report.created, report.batch.format) == (4, "template")
    stored = {
        (o.unit.code, o.variable.code): (o.value, o.missing)
        for o in Observation.objects.filter(period__code="2024").select_related("unit", "variable")
    }
    assert stored == {
        ("PL1438011", "water_produced"): (1000.5, ""),
        ("PL1438011", "nrw_share"): (None, "confidential"),
        ("PL1465011", "water_produced"): (2000.0, ""),
        ("PL1465011", "nrw_share"): (12.5, ""),
    }


def test_problems_in_a_filled_template_name_the_sheet_and_the_cell(setup, tmp_path):
    xlsx = fill(
        build_template(setup, "2024", service_areas=["water"]),
        1,
        {
            "D6": "lots",
            "G6": 5,
            "H6": "Not shared",
            "D7": 140,
            "G7": -1,
        },
    )
    path = tmp_path / "filled.xlsx"
    path.write_bytes(xlsx)
    report = commit(path)
    assert [(p.location, p.column) for p in report.problems] == [
        ("filled.xlsx, Water, D6", "Żyrardów (PL1438011)"),
        ("filled.xlsx, Water, H6", "Warszawa (PL1465011)"),
        ("filled.xlsx, Water, D7", "Żyrardów (PL1438011)"),
        ("filled.xlsx, Water, G7", "Warszawa (PL1465011)"),
    ]
    assert report.problems[0].message == "'lots' is not a number"
    assert report.problems[1].message == "the row gives both a value (5) and a missing code (Not shared)"
    assert report.problems[2].expected == "a number from 0 to 100"
    assert not Observation.objects.filter(period__code="2024").exists()


def test_a_template_shows_what_is_stored_so_an_untouched_template_changes_nothing(setup, tmp_path):
    first = fill(build_template(setup, "2024", service_areas=["water"]), 1, {"D6": 1000.5, "E7": "Not applicable"})
    assert commit(first, name="first.xlsx").ok
    again = build_template(setup, "2024", service_areas=["water"])
    assert sheet_rows(again, "Water")[5][3] == 1000.5
    report = commit(again, name="again.xlsx")
    assert (report.created, report.updated, report.unchanged) == (0, 0, 2)


def test_a_template_for_one_unit_has_one_value_column(setup):
    unit = setup.units.get(code="PL1465011")
    water = sheet_rows(build_template(unit, "2024", service_areas=["water"]), "Water")
    assert water[3][3] == "Warszawa (PL1465011)" and len(water[4]) == 6


def test_an_empty_template_is_refused_with_advice(setup):
    report = dry_run(build_template(setup, "2024"), name="empty.xlsx")
    assert [p.message for p in report.problems] == ["no figures are filled in"]


def test_a_template_with_a_renamed_sheet_is_refused(setup):
    xlsx = build_template(setup, "2024", service_areas=["water"])
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = data.replace(b'name="Water"', b'name="Woda"')
            target.writestr(item, data)
    report = dry_run(out.getvalue(), name="renamed.xlsx")
    assert [p.message for p in report.problems] == ["the sheet 'Water' was renamed or removed"]
