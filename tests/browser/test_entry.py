"""Data entry and import in a real browser: an officer enters and submits a year of one
service area with inline checks, and brings a filled Excel template back in."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from playwright.sync_api import expect
from python_calamine import CalamineWorkbook

from municipium.accounts.models import Role
from municipium.catalog.models import Variable
from municipium.observations import workbooks
from municipium.observations.models import ImportBatch, Observation, Period, Status, ValidationRule, Via
from municipium.observations.services import Row, write_observations
from municipium.places.models import Unit
from tests import derived
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

UNIT = "RS-70670"


def officer_of(unit_code: str):
    user = get_user_model().objects.create_user("officer")
    Role.objects.create(user=user, kind=Role.Kind.OFFICER, unit=Unit.objects.get(code=unit_code))
    return user


def test_an_officer_enters_and_submits_a_year_of_water_figures_with_inline_checks(watched, login):
    build_world(years=(2023, 2024), groups=("rasina",))
    ValidationRule.objects.create(
        variable=Variable.objects.get(code="water_billed"),
        kind="consistency",
        expression="water_billed <= water_produced",
        severity="error",
        message={"en": "Water billed cannot be more than the water produced."},
    )
    unit = Unit.objects.get(code=UNIT)
    last_year = {
        o.variable.code: o
        for o in Observation.objects.filter(
            unit=unit, period__code="2024", variable__service_area__code="water"
        ).select_related("variable")
    }
    nrw_2024 = derived.one(indicator="water_nrw", unit=unit, period="2024", basis="all").value
    page = login(officer_of(UNIT))

    page.goto("/en/entry/")
    page.select_option("#id_unit", UNIT)
    page.fill("#id_period", "2025")
    page.select_option("#id_area", "water")
    page.click("button[type=submit] >> text=Open the form")
    page.wait_for_url(f"**/en/entry/{UNIT}/2025/water/")
    assert "Not started" in page.inner_text("#entry-status")

    produced = last_year["water_produced"].value
    billed = page.locator('input[name="value-water_billed."]')
    message = page.locator("#m" + billed.get_attribute("id")[1:])
    page.fill('input[name="value-water_produced."]', f"{produced:.0f}")
    billed.fill(f"{produced * 2:.0f}")  # more billed than produced
    expect(message).to_contain_text("Water billed cannot be more than the water produced.")
    expect(message.locator(".field-problem")).to_have_count(1)
    billed.fill("12x")
    expect(message).to_contain_text("'12x' is not a number")
    billed.fill(f"{produced * 0.9:.0f}")
    expect(message).to_have_text("")

    names = [field.get_attribute("name") for field in page.locator("input.entry-value").all()]
    codes = [name[len("value-") : -1] for name in names]
    for code in codes:
        if code in ("water_produced", "water_billed"):
            continue
        observation = last_year.get(code)
        if observation is None:  # not reported last year either
            page.select_option(f'select[name="missing-{code}."]', "not_collected")
        elif observation.missing:
            page.select_option(f'select[name="missing-{code}."]', observation.missing)
        else:
            page.fill(f'input[name="value-{code}."]', f"{observation.value:.2f}")
    page.fill("#entry-source", "utility annual report")
    page.wait_for_timeout(600)  # the last inline check is sent 400 ms after typing stops
    expect(page.locator(".htmx-request")).to_have_count(0)
    page.click("button[value=submit]")
    page.wait_for_load_state()
    assert "Submitted:" in page.inner_text(".messages"), page.inner_text("#entry-summary") + " ".join(
        page.locator(".field-problem").all_inner_texts()
    )
    assert "read-only" in page.inner_text("main")

    stored = Observation.objects.filter(unit=unit, period__code="2025")
    assert stored.count() == len(codes) == Variable.objects.filter(service_area__code="water").count()
    assert set(stored.values_list("status", flat=True)) == {Status.SUBMITTED}
    assert stored.get(variable__code="water_billed").value == round(produced * 0.9)
    assert stored.get(variable__code="water_billed").source == "utility annual report"
    assert ImportBatch.objects.filter(via=Via.FORM).count() == 1
    nrw_2025 = derived.one(indicator="water_nrw", unit=unit, period="2025", basis="all").value
    assert nrw_2025 == pytest.approx(100 * (produced - round(produced * 0.9)) / produced)
    assert nrw_2025 != nrw_2024


def _filled_template(unit, billed: float, produced: float) -> bytes:
    """The officer's template with two figures typed in: rendered from figures written in a
    transaction that is then rolled back, so that nothing of it stays stored."""
    with transaction.atomic():
        period = Period.objects.for_code("2025")
        rows = [
            Row(unit.pk, Variable.objects.get(code=code).pk, period.pk, "", value, "", Status.DRAFT)
            for code, value in (("water_billed", billed), ("water_produced", produced))
        ]
        write_observations(rows, batch=ImportBatch(file_name="scratch", format="test"))
        data = workbooks.build_template(unit, "2025", ["water"], language="en")
        transaction.set_rollback(True)
    return data


def test_an_officer_downloads_the_template_fills_it_fixes_one_bad_cell_and_imports_it(watched, login):
    build_world(years=(2024,), groups=("rasina",))
    unit = Unit.objects.get(code=UNIT)
    page = login(officer_of(UNIT))
    page.goto(f"/en/entry/{UNIT}/2025/water/")
    with page.expect_download() as download:
        page.click("text=Download the Excel template")
    data = open(download.value.path(), "rb").read()
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    assert workbooks.META_SHEET in book.sheet_names and "Water and sewage" in book.sheet_names

    bad = _filled_template(unit, billed=-300, produced=1000)
    page.set_input_files(
        "#template-file",
        files=[
            {
                "name": "water-2025.xlsx",
                "buffer": bad,
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        ],
    )
    page.click("text=Check the file")
    page.wait_for_url("**/en/import/")
    table = page.locator("table.problem-table")
    expect(table).to_be_visible()
    assert table.locator("tbody tr").count() == 1
    cells = table.locator("tbody tr td").all_inner_texts()
    assert cells[0] == "Water and sewage" and cells[2].startswith("D")
    assert "nothing was stored" in page.inner_text("#report-summary")
    assert not Observation.objects.filter(period__code="2025").exists()

    good = _filled_template(unit, billed=800, produced=1000)
    page.set_input_files(
        "#id_file",
        files=[
            {
                "name": "water-2025.xlsx",
                "buffer": good,
                "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            }
        ],
    )
    page.click("button[value=check]")
    page.wait_for_load_state()
    assert "No problems in 2 rows" in page.inner_text("#report-summary")
    page.click("button[value=commit]")
    page.wait_for_load_state()
    assert "Imported water-2025.xlsx" in page.inner_text(".messages")
    assert "water-2025.xlsx" in page.inner_text("table.history-table")
    stored = dict(Observation.objects.filter(unit=unit, period__code="2025").values_list("variable__code", "value"))
    assert stored == {"water_billed": 800, "water_produced": 1000}
    assert derived.one(indicator="water_nrw", unit=unit, period="2025", basis="all").value == 20


def test_the_entry_form_has_no_serious_accessibility_violation(watched, login):
    build_world(years=(2024,), groups=("rasina",))
    page = login(officer_of(UNIT))
    page.goto(f"/en/entry/{UNIT}/2025/water/")
    assert watched.axe() == []
    page.goto("/en/import/")
    assert watched.axe() == []
