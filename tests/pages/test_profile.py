"""The unit profile and the compare page, through Django's test client."""

import json
import re

import pytest

from municipium.benchmarks import bands, read
from municipium.benchmarks.models import Basis, GroupStatistic
from municipium.catalog.models import Indicator, IndicatorSet
from municipium.lib.numbers import format_number
from municipium.observations.models import Observation
from tests import derived
from tests.factories import person
from tests.world import module_world

pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"


def _rasina_follows_water_core(world):
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))


# The tests only read (or write inside their own savepoint): one world for the module.
world = module_world(years=(2022, 2023, 2024), groups=("rasina",), prepare=_rasina_follows_water_core)


def row_of(html: str, indicator_code: str) -> str:
    """The table row of one indicator (its link opens the row)."""
    match = re.search(
        rf'<tr>\s*<th scope="row"[^>]*><a href="/\w+/indicators/{indicator_code}/[^"]*">.*?</tr>', html, re.S
    )
    assert match, f"no row for {indicator_code}"
    return match.group(0)


def rank_text(ranked) -> str:
    """The rank as the profile words it for an indicator with a polarity."""
    if ranked.rank == 1:
        return f"best of {ranked.n}"
    return f"last of {ranked.n}" if ranked.rank == ranked.n else f"{ranked.rank} of {ranked.n}"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_profile_shows_value_median_quartiles_rank_and_band_of_an_indicator(client, world):
    unit, group = world.unit(KRUSEVAC), world.group("rasina")
    indicator = Indicator.objects.get(code="water_nrw")
    stored = derived.one(indicator=indicator, unit=unit, period="2024", breakdown="", basis=Basis.ALL)
    statistic = GroupStatistic.objects.get(
        indicator=indicator, group=group, period__code="2024", breakdown="", basis=Basis.ALL
    )
    ranked = next(r for r in read.ranks(indicator, stored.period, group, public=True) if r.unit == unit)
    band = bands.band(stored.value, indicator, statistic)

    response = client.get(f"/en/units/{KRUSEVAC}/")

    assert response.status_code == 200
    row = row_of(response.content.decode(), "water_nrw")
    shown = text_of(row)
    assert f"{format_number(stored.value, indicator.decimals, 'en')} %" in shown
    assert format_number(statistic.median, indicator.decimals, "en") in shown
    assert (
        f"{format_number(statistic.p25, indicator.decimals, 'en')} – "
        f"{format_number(statistic.p75, indicator.decimals, 'en')}"
    ) in shown
    assert rank_text(ranked) in shown
    assert band.css in row and band.label in shown  # colour and words, never colour alone
    assert f'href="/en/indicators/water_nrw/?group=rasina&amp;period=2024&amp;unit={KRUSEVAC}"' in row
    assert '<svg class="sparkline"' in row and "<polyline points=" in row and "style=" not in row


def test_the_profile_groups_the_set_indicators_by_service_area_and_dimension(client, world):
    html = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    water_set = set(IndicatorSet.objects.get(code="water_core").indicators.values_list("code", flat=True))
    shown = set(re.findall(r'href="/en/indicators/(\w+)/', html))
    assert shown == water_set
    assert 'id="area-water"' in html and "Water and sewage" in html
    assert '<th scope="rowgroup" colspan="11">Quality</th>' in html


def test_the_period_selector_shows_an_earlier_period(client, world):
    indicator = Indicator.objects.get(code="water_nrw")
    stored = derived.one(indicator=indicator, unit=KRUSEVAC, period="2022", basis=Basis.ALL)
    html = client.get(f"/en/units/{KRUSEVAC}/?period=2022").content.decode()
    assert '<option value="2022" selected>' in html
    assert format_number(stored.value, indicator.decimals, "en") in text_of(row_of(html, "water_nrw"))


def test_a_unit_in_several_groups_can_be_compared_with_each_of_them(client, world):
    html = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    assert '<select id="profile-group" name="group"' in html
    assert 'href="/en/groups/rasina/"' in html and 'href="/en/groups/rasina-waste/"' in html
    waste = client.get(f"/en/units/{KRUSEVAC}/?group=rasina-waste").content.decode()
    assert '<option value="rasina-waste" selected>' in waste
    indicator = Indicator.objects.get(code="water_nrw")
    period = derived.rows(period="2024", breakdown=derived.ANY)[0].period
    ranked = read.ranks(indicator, period, world.group("rasina-waste"), public=True)
    mine = next(r for r in ranked if r.unit.code == KRUSEVAC)
    assert rank_text(mine) in text_of(row_of(waste, "water_nrw"))


def test_an_unknown_unit_is_not_found(client, world):
    assert client.get("/en/units/XX-NOPE/").status_code == 404


def completeness_of(html: str) -> str:
    start = html.index('id="completeness-heading"')
    return html[start : html.index("</section>", start)]


def test_completeness_lists_what_is_missing_and_links_to_data_entry_only_for_those_who_may_enter(client, world):
    unit = world.unit(KRUSEVAC)
    before = completeness_of(client.get(f"/en/units/{KRUSEVAC}/").content.decode())
    assert "(water_billed)" not in before
    gone = Observation.objects.get(unit=unit, period__code="2024", variable__code="water_billed", breakdown="")
    gone.revisions.all().delete()
    gone.delete()

    after = completeness_of(client.get(f"/en/units/{KRUSEVAC}/").content.decode())
    assert "(water_billed)" in after and "Water billed" in after
    have, total = map(int, re.search(r"\((\d+) of (\d+), a value or a reason", before).groups())
    assert f"({have - 1} of {total}, a value or a reason" in after
    assert "/en/entry/" not in after

    client.force_login(person("officer", kind="officer", unit=unit))
    html = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    assert f'href="/en/entry/?unit={KRUSEVAC}&amp;period=2024"' in completeness_of(html)


def test_the_profile_links_to_the_report_and_to_compare_with_the_unit_preselected(client, world):
    html = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    assert f'href="/en/reports/{KRUSEVAC}/"' in html
    compare = re.search(r'href="(/en/compare/\?[^"]+)"', html).group(1).replace("&amp;", "&")
    assert f"units={KRUSEVAC}" in compare and "group=rasina" in compare and "set=water_core" in compare
    page = client.get(compare).content.decode()
    assert f'value="{KRUSEVAC}" id="compare-unit-{KRUSEVAC}" checked' in page


def test_the_profile_reads_its_figures_in_a_few_queries(client, world, django_assert_max_num_queries):
    client.get(f"/en/units/{KRUSEVAC}/")  # warm the caches the frame keeps
    # 6 of them the comparisons beside the group (similar units, national figure), 1 the
    # unit's mergers, splits and renames, 1 the group's members for the ranks (a list: as a
    # subquery PostgreSQL probed it per row), whatever the number of indicators.
    with django_assert_max_num_queries(23):
        assert client.get(f"/en/units/{KRUSEVAC}/").status_code == 200


def test_a_persian_profile_writes_numbers_in_persian_digits(client, world):
    indicator = Indicator.objects.get(code="water_nrw")
    stored = derived.one(indicator=indicator, unit=KRUSEVAC, period="2024", basis=Basis.ALL)
    html = client.get(f"/fa/units/{KRUSEVAC}/").content.decode()
    persian = format_number(stored.value, indicator.decimals, "fa")
    assert re.search("[۰-۹]", persian)
    assert persian in text_of(row_of(html, "water_nrw"))
    assert "۲۰۲۴" in html


def test_compare_shows_the_chosen_units_side_by_side_with_a_chart_and_table_per_indicator(client, world):
    units = ["RS-70670", "RS-70343", "RS-71170"]
    response = client.get(f"/en/compare/?units={units[0]},{units[1]}&units={units[2]}&set=water_core&group=rasina")
    assert response.status_code == 200
    html = response.content.decode()
    table = html[html.index('<table class="table table-sm table-numbers compare-table') :]
    table = table[: table.index("</table>")]
    for code in units:
        assert world.unit(code).label in table
        assert f'id="compare-unit-{code}" checked' in html
    assert world.unit("RS-70017").label not in table  # a member not chosen
    shown = 0
    for indicator in IndicatorSet.objects.get(code="water_core").indicators.all():
        row = text_of(row_of(table, indicator.code))
        for stored in derived.rows(
            indicator=indicator, unit=[world.unit(code) for code in units], period="2024", basis=Basis.ALL, valued=True
        ):
            assert format_number(stored.value, indicator.decimals, "en") in row
            shown += 1
    assert shown > len(units)
    assert re.search(r'class="number band-(good|middle|poor|none)"', table)
    # The two assessments apart, each labelled (issue 19): never one word that mixes them.
    nrw = text_of(row_of(table, "water_nrw"))
    assert "By the standard:" in nrw and "In the group:" in nrw
    assert 'data-assessment="standard"' in table and 'data-assessment="peer"' in table
    codes = list(IndicatorSet.objects.get(code="water_core").indicators.values_list("code", flat=True))
    for code in codes:
        assert f'<div class="chart" data-chart="chart-{code}"' in html
        assert f'<script id="chart-{code}" type="application/json">' in html
    assert html.count("<details>") == len(codes)
    assert "vega-6.4.0-lite" in html and "js/charts.js" in html


def test_compare_without_units_shows_the_form_and_a_hint(client, world):
    html = client.get("/en/compare/?group=rasina").content.decode()
    assert "Choose the units to compare" in html
    assert 'name="units" value="RS-70670"' in html
    assert "data-chart" not in html


def test_a_persian_compare_page_writes_numbers_in_persian_digits(client, world):
    indicator = Indicator.objects.get(code="water_nrw")
    stored = derived.one(indicator=indicator, unit=KRUSEVAC, period="2024", basis=Basis.ALL)
    html = client.get(f"/fa/compare/?units={KRUSEVAC}&set=water_core&group=rasina").content.decode()
    assert format_number(stored.value, indicator.decimals, "fa") in html
    spec = json.loads(re.search(r'<script id="chart-water_nrw" type="application/json">(.*?)</script>', html).group(1))
    assert {point["period"] for point in spec["data"]["values"]} == {"۲۰۲۲", "۲۰۲۳", "۲۰۲۴"}  # axis labels too


def test_the_profile_shows_the_change_since_the_previous_year_with_its_number(client, world):
    """Issue 19 (what Kolada readers expect): year-on-year change and a trend arrow with
    numbers, not only a sparkline."""
    unit = world.unit(KRUSEVAC)
    indicator = Indicator.objects.get(code="water_nrw")
    now, before = (
        derived.one(indicator=indicator, unit=unit, period=year, breakdown="", basis=Basis.ALL)
        for year in ("2024", "2023")
    )
    change = round(now.value - before.value, indicator.decimals)
    shown = text_of(row_of(client.get(f"/en/units/{KRUSEVAC}/").content.decode(), "water_nrw"))
    if change == 0:
        assert "unchanged since 2023" in shown
    else:
        sign = "+" if change > 0 else "−"
        arrow = "↑" if change > 0 else "↓"
        assert f"{arrow} {sign}{format_number(abs(change), indicator.decimals, 'en')} since 2023" in shown
    persian = text_of(row_of(client.get(f"/fa/units/{KRUSEVAC}/").content.decode(), "water_nrw"))
    assert "۲۰۲۳" in persian and "2023" not in persian


def _sparkline_xs(html: str) -> list[float]:
    points = re.search(r'<svg class="sparkline".*?<polyline points="([^"]+)"', row_of(html, "water_nrw"), re.S)
    return [float(point.split(",")[0]) for point in points.group(1).split()]


def test_sparklines_run_right_to_left_in_persian_as_the_time_charts_do(client, world):
    """Issue 19, item 4: the time charts put the latest year on the left in Persian; the
    sparklines beside them ran the other way."""
    english = _sparkline_xs(client.get(f"/en/units/{KRUSEVAC}/").content.decode())
    persian = _sparkline_xs(client.get(f"/fa/units/{KRUSEVAC}/").content.decode())
    assert len(english) == 3 and english == sorted(english)  # 2022 on the left
    assert persian == sorted(persian, reverse=True)  # 2022 on the right
    assert [90 - x for x in english] == persian


def test_compare_opened_from_a_profile_highlights_that_unit_in_every_chart(client, world):
    profile = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    assert f"/en/compare/?units={KRUSEVAC}&amp;unit={KRUSEVAC}" in profile
    response = client.get(f"/en/compare/?units={KRUSEVAC},RS-71170&unit={KRUSEVAC}&set=water_core&group=rasina")
    html = response.content.decode()
    assert f'<input type="hidden" name="unit" value="{KRUSEVAC}">' in html
    krusevac = world.unit(KRUSEVAC).label
    for row in response.context["rows"]:
        points = row.spec["data"]["values"]
        assert {p["unit"] for p in points if p["highlight"]} <= {krusevac}
        if any(p["highlight"] for p in points):
            assert row.spec["layer"][0]["transform"] == [{"filter": "datum.highlight"}]
            assert row.spec["title"]["subtitle"] == f"Thick line: {krusevac}"
    assert any(p["highlight"] for row in response.context["rows"] for p in row.spec["data"]["values"])
    plain = client.get(f"/en/compare/?units={KRUSEVAC},RS-71170&set=water_core&group=rasina")
    assert all("layer" not in row.spec for row in plain.context["rows"])


def test_a_compare_tooltip_writes_the_value_as_the_page_does_with_no_negative_zero(client, world):
    # d3's format wrote a small negative value rounded to zero as "−0.0" (issue 19, item 12).
    valued = derived.rows(indicator="water_nrw", unit="RS-70670", basis=Basis.ALL, valued=True, breakdown=derived.ANY)
    stored = valued[0]
    derived.update(derived.at(stored), value=-0.0004)
    response = client.get("/en/compare/?units=RS-70670,RS-70343&set=water_core&group=rasina")
    spec = next(row.spec for row in response.context["rows"] if row.indicator.code == "water_nrw")
    tooltip = spec["encoding"]["tooltip"]
    assert {"field": "value_text", "type": "nominal", "title": tooltip[-1]["title"]} == tooltip[-1]
    texts = {p["value_text"] for p in spec["data"]["values"] if p["unit"] == world.unit("RS-70670").label}
    decimals = stored.indicator.decimals
    assert format_number(0, decimals, "en") in texts and not any(t.startswith(("-", "−")) for t in texts)


def test_persian_pages_separate_their_parts_without_a_middle_dot(client, world):
    """A middle dot beside Persian digits reads as a zero (issue 19, item 4): the profile,
    the indicator page and the start page use the Persian comma; English keeps the dot."""
    for path in (f"/units/{KRUSEVAC}/", "/indicators/water_nrw/?group=rasina", "/"):
        assert "·" not in text_of(client.get(f"/fa{path}").content.decode()), path
    assert "·" in text_of(client.get(f"/en/units/{KRUSEVAC}/").content.decode())
    assert "، " in text_of(client.get(f"/fa/units/{KRUSEVAC}/").content.decode())


def test_a_merger_is_told_on_both_units_profiles_with_links_between_them(client, world):
    """Issue 19, item 12: the demo's Strelcha merged into Panagyurishte on 2022-01-01, and
    neither profile said so. The one that ended says until when and into which unit; the
    one that continues names the unit merged into it; each links to the other's profile."""
    when = '(<time datetime="2022-01-01">2022-01-01</time>).'
    strelcha = client.get("/en/units/BG-PAZ32/").content.decode()
    assert "This unit existed until 2021-12-31." in strelcha
    assert f'Merged into: <a href="/en/units/BG-PAZ20/">Panagyurishte</a> {when}' in strelcha
    panagyurishte = client.get("/en/units/BG-PAZ20/").content.decode()
    assert f'Merged into this unit: <a href="/en/units/BG-PAZ32/">Strelcha</a> {when}' in panagyurishte
    assert "existed until" not in panagyurishte
    # Persian: the date in Persian digits; a unit with no succession says nothing of it.
    assert ">۲۰۲۲-۰۱-۰۱</time>" in client.get("/fa/units/BG-PAZ20/").content.decode()
    assert "unit-history" not in client.get(f"/en/units/{KRUSEVAC}/").content.decode()
