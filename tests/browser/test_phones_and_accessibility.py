"""The pages most readers open, on a phone and through axe-core, in English and Persian
(issue 19, item 13 and the targets): nothing scrolls sideways at 390 px, the profile's
tables stack as cards inside their box, the charts keep their titles and legends inside
their width, and axe finds no WCAG 2.1 A/AA violation of any impact."""

import pytest

from municipium.catalog.models import IndicatorSet
from municipium.surveys import links
from tests.surveys.fieldwork import questionnaire, sampled_frame
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

KRUSEVAC = "RS-70670"
LANGUAGES = ("en", "fa")

# Everything a chart draws lies within its container: [container width, svg width, the
# texts (titles, legends, labels) whose box runs past the container's sides or the
# drawing's top or bottom].
CHART_FIT = """el => {
  const box = el.getBoundingClientRect();
  const svg = el.querySelector('svg');
  const drawn = svg.getBoundingClientRect();
  const out = [...svg.querySelectorAll('text')].filter(t => {
    const b = t.getBoundingClientRect();
    return b.width > 0 && (b.left < box.left - 1 || b.right > box.right + 1
      || b.top < drawn.top - 1 || b.bottom > drawn.bottom + 1);
  }).map(t => t.textContent);
  return [el.clientWidth, svg.getBoundingClientRect().width, out];
}"""
SCROLL = "() => [document.scrollingElement.scrollWidth, document.scrollingElement.clientWidth]"
# Each profile table against its box: [box's scroll width, box's width, table's width, the
# labelled cells whose label is not shown (a phone's cards name each figure's column)].
TABLE_FIT = """el => {
  const table = el.querySelector('table');
  const unlabelled = [...table.querySelectorAll('td[data-label]')].filter(
    td => getComputedStyle(td, '::before').content === 'none').length;
  return [el.scrollWidth, el.clientWidth, table.getBoundingClientRect().width, unlabelled];
}"""


@pytest.fixture
def pages():
    world = build_world(years=(2023, 2024), groups=("rasina",))
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))
    survey = questionnaire()
    sampled_frame(survey, {"north": ["a@example.org"]})
    token = links.issue(survey, None)[0].token
    return {
        "start": "/",
        "profile": f"/units/{KRUSEVAC}/",
        "indicator": "/indicators/water_nrw/?group=rasina&period=2024",
        "compare": f"/compare/?units={KRUSEVAC},RS-71170,RS-70343&set=water_core&group=rasina",
        "questionnaire": f"/s/{token}/",
    }


def test_the_main_pages_do_not_scroll_sideways_on_a_phone_and_charts_fit(watched, pages):
    page = watched.page
    page.set_viewport_size({"width": 390, "height": 844})
    for language in LANGUAGES:
        for name, path in pages.items():
            page.goto(f"/{language}{path}")
            charts = page.locator("[data-chart]")
            for n in range(charts.count()):
                chart = charts.nth(n)
                chart.and_(page.locator("[data-ready]")).wait_for()
                width, drawn, outside = chart.evaluate(CHART_FIT)
                assert drawn <= width + 1 and not outside, (language, name, n, width, drawn, outside)
            scroll, client = page.evaluate(SCROLL)
            assert scroll <= client, f"{language}{path} scrolls sideways: {scroll} > {client}"
            if name == "profile":
                # The tables stack as cards inside their box instead of scrolling it sideways.
                boxes = page.locator(".profile-table-box")
                assert boxes.count() > 0
                for n in range(boxes.count()):
                    inner, width, table, unlabelled = boxes.nth(n).evaluate(TABLE_FIT)
                    assert inner <= width and table <= width + 1 and not unlabelled, (language, n, inner, width, table)


def test_the_main_pages_have_no_accessibility_violation_in_english_and_persian(watched, pages):
    page = watched.page
    for language in LANGUAGES:
        for name, path in {**pages, "log-in": "/login/"}.items():
            page.goto(f"/{language}{path}")
            page.locator("[data-chart]:not([data-ready])").first.wait_for(state="detached")
            found = watched.axe(impacts=None)
            assert found == [], (language, name, found)
    # The profile's tables stacked as cards on a phone keep their headings for screen readers.
    page.set_viewport_size({"width": 390, "height": 844})
    for language in LANGUAGES:
        page.goto(f"/{language}{pages['profile']}")
        page.locator("[data-chart]:not([data-ready])").first.wait_for(state="detached")
        found = watched.axe(impacts=None)
        assert found == [], (language, "profile at 390 px", found)
