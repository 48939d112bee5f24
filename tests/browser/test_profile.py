"""The unit profile and the compare page in a real browser: sparklines, charts under the
strict CSP, a form that works without JavaScript, and no serious accessibility violation."""

import pytest

from municipium.catalog.models import IndicatorSet
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

KRUSEVAC = "RS-70670"
# The bands' backgrounds (municipium.css), as the browser computes them.
COLOURS = {"good": "rgb(207, 232, 213)", "middle": "rgb(253, 240, 196)", "poor": "rgb(246, 208, 207)"}


@pytest.fixture
def world():
    world = build_world(years=(2022, 2023, 2024), groups=("rasina",))
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))
    return world


def test_the_profile_renders_with_sparklines_and_no_serious_accessibility_violation(watched, world):
    page = watched.page
    page.goto(f"/en/units/{KRUSEVAC}/")
    assert "Kruševac" in page.inner_text("h1")
    assert page.locator("svg.sparkline polyline").count() >= 5
    # The sparkline's look comes from the stylesheet (no style attributes under the CSP).
    assert page.eval_on_selector("svg.sparkline polyline", "e => getComputedStyle(e).fill") == "none"
    assert page.locator("td.band-good, td.band-middle, td.band-poor").count() > 0
    # The traffic-light colours show inside the table (Bootstrap's cell style used to win).
    for band, colour in COLOURS.items():
        for cell in page.locator(f"td.band-{band}").all()[:2]:
            assert cell.evaluate("e => getComputedStyle(e).backgroundColor") == colour, band
    assert watched.axe() == []


def test_choosing_another_period_on_the_profile_reloads_it_for_that_period(watched, world):
    page = watched.page
    page.goto(f"/en/units/{KRUSEVAC}/")
    page.select_option("#profile-period", "2022")
    page.click("form[aria-label='Choose period and group'] button[type=submit]")
    page.wait_for_url("**period=2022**")
    assert "Figures for 2022" in page.inner_text("main")


def test_compare_draws_a_chart_per_indicator_and_has_no_serious_accessibility_violation(watched, world):
    page = watched.page
    page.goto(f"/en/compare/?units={KRUSEVAC},RS-70343,RS-71170&set=water_core&group=rasina")
    charts = page.locator("[data-chart]")
    assert charts.count() == IndicatorSet.objects.get(code="water_core").indicators.count()
    page.wait_for_selector("[data-chart][data-ready]")
    page.wait_for_function("document.querySelectorAll('[data-chart]:not([data-ready])').length === 0")
    assert page.locator("[data-chart] svg[role=img]").count() == charts.count()
    assert page.locator("[data-chart][data-error]").count() == 0
    # The traffic-light colours show in the compare table too (issue 19, item 2).
    cells = page.locator("table.compare-table td.band-good, table.compare-table td.band-poor")
    assert cells.count() > 0
    for cell in cells.all()[:4]:
        band = "good" if "band-good" in cell.get_attribute("class") else "poor"
        assert cell.evaluate("e => getComputedStyle(e).backgroundColor") == COLOURS[band], band
    assert watched.axe() == []


def test_the_compare_form_chooses_units_with_plain_checkboxes(watched, world):
    page = watched.page
    page.goto("/en/compare/?group=rasina&set=water_core")
    page.check(f"#compare-unit-{KRUSEVAC}")
    page.check("#compare-unit-RS-71170")
    page.click(".compare-form button[type=submit]")
    page.wait_for_selector("table.compare-table")
    headers = page.locator("table.compare-table thead th").all_inner_texts()
    assert "Kruševac" in headers and "Trstenik" in headers
    page.wait_for_selector("[data-chart][data-ready]")
    # Choosing another group lists its members at once (issue 19, item 12); the chosen stay chosen.
    page.select_option("#compare-group", "small-towns")
    page.wait_for_url("**group=small-towns**")
    assert page.locator("#compare-unit-PL-1420011").count() == 1
    assert page.is_checked(f"#compare-unit-{KRUSEVAC}")


def test_the_persian_compare_page_draws_its_charts_right_to_left(watched, world):
    page = watched.page
    page.goto(f"/fa/compare/?units={KRUSEVAC},RS-71170&set=water_core&group=rasina")
    assert page.get_attribute("html", "dir") == "rtl"
    page.wait_for_selector("[data-chart][data-ready]")
    assert "۲۰۲۴" in page.locator("[data-chart] svg").first.text_content()
