"""Tariffs in a real browser: a utility's officer opens the water study, builds a phase-in
scenario that solves for full cost recovery under a cap, reads its years and the households
above the affordability threshold, and opens the council's decision package, in English and
in Persian (right to left, Persian digits)."""

import re

import pytest
from playwright.sync_api import expect

from municipium.accounts.models import Role
from municipium.tariffs import services
from municipium.tariffs.models import CustomerClass, Scenario, Study
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def _study():
    unit = factories.unit("RS-70670-VOD", {"en": "JKP Vodovod Kruševac", "fa": "آب و فاضلاب کروشواتس"})
    officer = factories.person("water-officer", Role.Kind.OFFICER, unit)
    study = services.save_study(
        None,
        Study(
            code="water-krusevac",
            name="Water tariff 2024",
            unit=unit,
            service="water",
            currency="RSD",
            base_year=2024,
            operating={"staff": 420e6, "energy": 280e6, "maintenance": 190e6},
            depreciation=220e6,
            collection=0.91,
            fixed=2_400,
            blocks=[[72, 95.0], [180, 130.0], [None, 180.0]],
            ref_persons=3,
            ref_m3=120,
            threshold=0.03,
            threshold_source="UNDP Human Development Report 2006",
            incomes=[
                {"label": f"quintile {i + 1}", "households": 9_200, "income": x}
                for i, x in enumerate([420_000, 720_000, 960_000, 1_250_000, 1_900_000])
            ],
        ),
    )
    for name, demand, price, share in [("households", 5_600_000, 110.0, 0.6), ("business", 1_300_000, 210.0, 0.4)]:
        services.save_class(
            None, CustomerClass(study=study, name=name, demand=demand, price=price, fixed_share=share, elasticity=-0.1)
        )
    return study, officer


def test_an_officer_builds_a_phase_in_and_reads_the_councils_package(watched, login):
    study, officer = _study()
    page = login(officer)
    page.goto(f"/en/tariffs/{study.code}/")
    expect(page.locator(".revenue-requirement")).to_contain_text("RSD")
    page.get_by_label("Name", exact=True).fill("Full cost recovery by 2029")
    page.get_by_label("Inflation a year").fill("0.04")
    page.get_by_label("Collection rate").fill("0.93")
    page.get_by_label("Cost recovery to reach").fill("1.0")
    page.get_by_label("By the year").fill("2029")
    page.get_by_label("Cap on the real increase a year").fill("0.1")
    page.get_by_role("button", name="Save and compute").click()
    expect(page.locator("h1")).to_contain_text("Full cost recovery by 2029")
    expect(page.locator(".phase-in")).to_contain_text("Real increase a year")
    expect(page.locator("table.years tbody tr")).to_have_count(11)
    expect(page.locator("table.affordability .above-threshold").first).to_be_visible()
    scenario = Scenario.objects.get(study=study)
    assert services.scenario_figures(scenario).path.reached
    assert watched.axe() == []

    page.goto(f"/en/tariffs/{study.code}/")
    expect(page.locator("table.scenarios-side")).to_contain_text("Full cost recovery by 2029")
    chart = page.locator('[data-chart="chart-recovery"]')
    expect(chart).to_have_attribute("data-ready", "1")
    page.get_by_role("link", name="Decision package").click()
    expect(page.locator(".proposed-bill")).to_contain_text(re.compile(r"\d"))

    page.goto(f"/fa/tariffs/{study.code}/package/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".proposed-bill")).to_contain_text(re.compile("[۰-۹]"))
    assert watched.axe() == []
