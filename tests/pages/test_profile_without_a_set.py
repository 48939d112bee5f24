"""The profile of a unit whose groups have no indicator set (issue 18: a unit of a whole
country's catalogue listed 1,700 rows): the few most reported indicators of each service
area, a search, and every indicator with figures page by page."""

import re
from collections import Counter

import pytest

from municipium.benchmarks import profile_views
from municipium.benchmarks.models import Basis
from municipium.catalog.models import Indicator
from tests import derived
from tests.world import module_world

pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"

world = module_world(years=(2023, 2024), groups=("rasina",))


def shown(html: str) -> list[str]:
    return re.findall(r'<th scope="row" class="fw-normal"><a href="/en/indicators/(\w+)/', html)


def with_values(world) -> set[str]:
    return {r.indicator_code for r in derived.rows(unit=world.unit(KRUSEVAC), valued=True, breakdown="")}


def test_the_profile_opens_on_the_indicators_most_members_report_in_each_service_area(client, world, monkeypatch):
    monkeypatch.setattr(profile_views, "SHORT_LIST", 2)
    html = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    codes = shown(html)
    # How many members of the group report each indicator (the most in any period), counted
    # here from the values.
    members = world.group("rasina").memberships.values_list("unit_id", flat=True)
    per_period = Counter(
        (r.indicator_code, r.period_id) for r in derived.rows(unit=members, basis=Basis.ALL, breakdown="", valued=True)
    )
    reported = Counter()
    for (indicator, _period), count in per_period.items():
        reported[indicator] = max(reported[indicator], count)
    by_area: dict[str, list[str]] = {}
    for indicator in Indicator.objects.filter(code__in=with_values(world)).select_related("service_area"):
        by_area.setdefault(indicator.service_area.code, []).append(indicator.code)
    assert len(by_area) > 1 and any(len(codes) > 2 for codes in by_area.values())
    assert len(codes) == sum(min(2, len(own)) for own in by_area.values())
    for own in by_area.values():
        chosen = [c for c in codes if c in own]
        assert len(chosen) == min(2, len(own))
        # None left out is reported by more members than one chosen.
        assert min(reported[c] for c in chosen) >= max((reported[c] for c in own if c not in chosen), default=0)
    total = len(with_values(world))
    assert f"The unit has figures for {total} indicators; shown are the few of each service area" in html
    assert 'href="?all=1"' in html and 'name="q"' in html


def test_a_search_finds_the_unit_s_indicators_by_name_or_code(client, world):
    html = client.get(f"/en/units/{KRUSEVAC}/", {"q": "WATER"}).content.decode()
    codes = shown(html)
    assert codes and set(codes) < with_values(world)
    for indicator in Indicator.objects.filter(code__in=codes):
        assert "water" in indicator.code or "water" in indicator.name["en"].lower()
    wanted = {
        i.code
        for i in Indicator.objects.filter(code__in=with_values(world))
        if "water" in i.code or "water" in i.name["en"].lower()
    }
    assert set(codes) == wanted
    assert f"Indicators 1–{len(wanted)} of {len(wanted)}." in html
    area = Indicator.objects.get(code=codes[0]).service_area.code
    in_area = shown(client.get(f"/en/units/{KRUSEVAC}/", {"area": area}).content.decode())
    assert set(in_area) == {c for c in with_values(world) if Indicator.objects.get(code=c).service_area.code == area}


def test_every_indicator_with_figures_is_listed_page_by_page(client, world, monkeypatch):
    monkeypatch.setattr(profile_views, "LIST_PAGE", 4)
    seen, page = [], 1
    while True:
        html = client.get(f"/en/units/{KRUSEVAC}/", {"all": "1", "page": page, "group": "rasina"}).content.decode()
        codes = shown(html)
        assert 0 < len(codes) <= 4
        seen += codes
        following = re.search(r'rel="next" href="([^"]+)"', html)
        if not following:
            break
        assert following.group(1).replace("&amp;", "&") == f"?group=rasina&all=1&page={page + 1}"
        page += 1
    assert page > 2 and len(seen) == len(set(seen)) and set(seen) == with_values(world)
    assert f"Page {page} of {page}" in html
