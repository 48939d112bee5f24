"""The indicator page in a real browser: charts drawn by Vega under the strict CSP, the map
by Leaflet from our own GeoJSON, filters swapped in by htmx, and no serious accessibility
problem."""

import pytest

from municipium.catalog.models import Indicator
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def _page(watched, query="?group=alytus&period=2024", language="en"):
    build_world(years=(2023, 2024), groups=("alytus",))
    code = Indicator.objects.get(formula__contains="water_produced - water_billed").code
    page = watched.page
    page.goto(f"/{language}/indicators/{code}/{query}")
    return page


def _drawn(page):
    page.wait_for_selector("[data-chart='chart-ranking'][data-ready] svg")
    page.wait_for_selector("[data-chart='chart-series'][data-ready] svg")
    page.wait_for_selector("[data-chart='chart-distribution'][data-ready] svg")
    page.wait_for_selector("[data-map][data-ready] path.leaflet-interactive")


def test_a_chart_and_a_map_render_on_the_indicator_page(watched):
    page = _page(watched, query="?group=alytus&period=2024&unit=LT-07")
    _drawn(page)
    # The unit the reader came from is outlined: one bar with the highlight stroke, one map shape.
    assert (
        page.locator("[data-chart='chart-ranking'] svg path[aria-roledescription='bar'][stroke='#111111']").count() == 1
    )
    assert page.locator("[data-map] path.map-highlight").count() == 1
    assert page.get_attribute("[data-chart='chart-ranking'] svg", "aria-label")
    # The subtitle's lines are one SVG text: read out of the page, their words stay apart.
    read = page.inner_text("[data-chart='chart-ranking']")
    assert "percentile). Outlined: " in read and "percentile).Outlined" not in read
    assert page.locator("[data-map] path.leaflet-interactive").count() == 5
    # Bars: one per member with a value (Vega draws them as paths with role graphics-symbol).
    assert page.locator("[data-chart='chart-ranking'] svg path[aria-roledescription='bar']").count() == 5
    assert page.get_attribute("[data-map]", "data-ready") == "5"
    assert watched.axe() == []


def test_choosing_another_period_swaps_the_results_and_draws_them_again(watched):
    page = _page(watched)
    _drawn(page)
    page.select_option("#filter-period", "2023")
    page.wait_for_url("**period=2023**")
    page.wait_for_selector("#table-heading + p a[href*='period=2023']")
    _drawn(page)
    assert "2023" in page.inner_text("#summary-heading")


def test_the_persian_page_draws_its_charts_right_to_left(watched):
    page = _page(watched, language="fa")
    _drawn(page)
    assert page.get_attribute("html", "dir") == "rtl"
    assert "۲۰۲۴" in page.inner_text("#summary-heading")
    assert watched.axe() == []
    # The embeddable chart draws on its own page under the same CSP.
    page.goto(page.get_attribute("a[href*='/embed/indicators/'][href*='/ranking/']", "href"))
    page.wait_for_selector("[data-chart='chart-embed'][data-ready] svg")
    assert "۲۰۲۴" in page.inner_text(".embed-source")
