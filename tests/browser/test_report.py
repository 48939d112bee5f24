"""A PDF report downloading: an officer makes a report for the council in the browser,
comments on it, sees its charts drawn and downloads it as a PDF."""

from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.reports.models import Report
from tests.pages.test_report import UNIT, indicators_with_values
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_officer_makes_a_report_comments_on_it_and_downloads_the_pdf(watched, login):
    world = build_world(years=(2023, 2024), groups=("rasina",))
    kru = world.unit(UNIT)
    from municipium.observations.models import Period

    first, second = indicators_with_values(kru, Period.objects.get(code="2024"))
    officer = get_user_model().objects.create_user("officer")
    Role.objects.create(user=officer, kind="officer", unit=kru)
    page = login(officer)

    page.goto(f"/en/reports/{UNIT}/")
    page.fill("#id_title", "Communal services 2024")
    page.select_option("#id_period", label="2024")
    page.check(f"input[name=indicators][value='{first.pk}']")
    page.check(f"input[name=indicators][value='{second.pk}']")
    page.click("text=Make the report")
    page.wait_for_url("**/reports/RS-70670/*/")
    report = Report.objects.get()

    page.fill(f"#id_commentary_{first.pk}", "Losses fell for the second year running.")
    page.select_option(f"#id_chart_{second.pk}", "series")
    page.click("text=Save the report")
    page.wait_for_load_state()
    assert "Losses fell for the second year running." in page.inner_text(".report")
    page.wait_for_function("document.querySelectorAll('[data-chart][data-ready]').length === 2")
    assert page.locator("[data-chart] svg[role=img]").count() == 2
    assert watched.axe() == []

    with page.expect_download() as info:
        page.click("#report-pdf")
    download = info.value
    assert download.suggested_filename == f"{UNIT}-2024-en.pdf"
    content = Path(download.path()).read_bytes()
    assert content.startswith(b"%PDF") and len(content) > 10_000
    assert report.entries.get(indicator=first).commentary == "Losses fell for the second year running."
