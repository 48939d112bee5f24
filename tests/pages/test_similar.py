"""Comparisons beside the group (issue 19, what Kolada readers expect): the similar units
by size and kind, and the national figure, from one rule in benchmarks/read for the
profile, the indicator page and the API."""

import math

import pytest
from django.utils import timezone

from municipium.benchmarks import read
from municipium.benchmarks.models import Basis
from municipium.catalog.models import Indicator
from municipium.lib import stats
from municipium.observations.models import Observation, Period
from municipium.places.models import Unit
from tests import derived
from tests.world import module_world

pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"
NRW = "water_nrw"

world = module_world(years=(2023, 2024), groups=("rasina",))


def _population(unit):
    latest = (
        Observation.objects.filter(unit=unit, variable__code="population", breakdown="", status="published")
        .exclude(value=None)
        .order_by("period__end")
        .last()
    )
    return float(latest.value) if latest else None


def test_similar_units_are_the_same_kind_in_the_same_country_closest_in_population(world):
    unit = Unit.objects.get(code=KRUSEVAC)
    similar = read.similar_units(unit)
    assert similar is not None and similar.country.code == "RS"
    assert similar.population == _population(unit)
    candidates = [
        u
        for u in Unit.objects.filter(code__startswith="RS-", kind="municipality").exclude(pk=unit.pk)
        if _population(u)
    ]
    assert len(candidates) >= 3  # the rule has a choice to make
    expected = sorted(candidates, key=lambda u: (abs(math.log(_population(u) / similar.population)), u.code))
    assert [u.code for u, _p in similar.units] == [u.code for u in expected][: read.SIMILAR_COUNT]
    # No utility, no other country, never the unit itself.
    assert all(u.kind == "municipality" and u.code.startswith("RS-") and u != unit for u, _p in similar.units)
    two = read.similar_units(unit, count=2)
    assert [u for u, _p in two.units] == [u for u, _p in similar.units][:2]
    assert (two.low, two.high) == tuple(sorted(p for _u, p in two.units))


def test_a_unit_without_a_published_population_or_a_country_has_no_similar_units(world):
    assert read.similar_units(Unit.objects.get(code="RS")) is None
    assert read.similar_units(Unit.objects.get(code="BG-PAZ03")) is None  # no figures loaded for it


def test_the_similar_median_and_the_national_figure_are_medians_of_published_values(world):
    unit = Unit.objects.get(code=KRUSEVAC)
    similar = read.similar_units(unit)
    period = Period.objects.get(code="2023")
    indicator_id = next((r.indicator_id for r in derived.rows(indicator=NRW, breakdown=derived.ANY)), None)

    def published(units):
        return [
            r.value
            for r in derived.rows(indicator=indicator_id, period=period, unit=units, basis=Basis.ALL, breakdown="")
            if r.value is not None
        ]

    got = read.medians([indicator_id], period, [u.pk for u, _p in similar.units])[indicator_id]
    values = published([u for u, _p in similar.units])
    assert got == read.Reference(stats.quantile(values, 0.5), len(values))

    country, national = read.national([indicator_id], period, unit)
    everyone = published(Unit.objects.filter(code__startswith="RS-", kind="municipality"))
    assert country.code == "RS"
    assert national[indicator_id] == read.Reference(stats.quantile(everyone, 0.5), len(everyone))
    # Where the country has its own figure (the national aggregate), that is the figure.
    derived.put(
        Indicator.objects.get(pk=indicator_id), country, period, basis=Basis.ALL, value=12.5, computed_at=timezone.now()
    )
    assert read.national([indicator_id], period, unit)[1][indicator_id] == read.Reference(12.5)


def test_the_profile_shows_both_beside_the_group_and_says_how_the_units_were_chosen(client, world):
    unit = Unit.objects.get(code=KRUSEVAC)
    similar = read.similar_units(unit)
    html = client.get(f"/en/units/{KRUSEVAC}/?period=2023").content.decode()
    assert "Similar units (median)" in html and "Serbia (national figure)" in html
    assert f"units of the same kind (Municipality) in Serbia closest in population to {unit.label}" in html
    for other, _population in similar.units:
        assert f'<a href="/en/units/{other.code}/">{other.label}</a>' in html
    assert 'data-figure="similar"' in html and 'data-figure="national"' in html
    persian = client.get(f"/fa/units/{KRUSEVAC}/?period=2023").content.decode()
    assert "۲۰۲۳" in persian and "Similar units" not in persian
    # The similar units listed with the Persian comma, not the Latin one.
    first, second = similar.units[0][0], similar.units[1][0]
    assert f'{first.label}</a>، <a href="/fa/units/{second.code}/">' in persian


def test_the_indicator_page_shows_them_for_the_unit_it_was_opened_from(client, world):
    response = client.get(f"/en/indicators/{NRW}/?group=rasina&period=2023&unit={KRUSEVAC}")
    html = response.content.decode()
    assert 'data-figure="similar"' in html and 'data-figure="national"' in html
    assert "closest in population to" in html
    plain = client.get(f"/en/indicators/{NRW}/?group=rasina&period=2023").content.decode()
    assert 'data-figure="similar"' not in plain


def test_the_api_gives_the_same_similar_units_and_figures(client, world):
    unit = Unit.objects.get(code=KRUSEVAC)
    similar = read.similar_units(unit)
    body = client.get(f"/api/units/{KRUSEVAC}/similar?indicator={NRW}&period=2023").json()
    assert [u["code"] for u in body["units"]] == [u.code for u, _p in similar.units]
    assert body["population"] == similar.population and body["population_period"] == similar.period
    assert body["country"] == "RS" and body["rule"]
    indicator_id = next((r.indicator_id for r in derived.rows(indicator=NRW, breakdown=derived.ANY)), None)
    period = Period.objects.get(code="2023")
    assert (
        body["similar_median"]
        == read.medians([indicator_id], period, [u.pk for u, _p in similar.units])[indicator_id].value
    )
    assert body["national"] == read.national([indicator_id], period, unit)[1][indicator_id].value
    assert client.get("/api/units/nowhere/similar").status_code == 404


def test_the_api_refuses_half_a_question_with_a_located_message(client, world):
    response = client.get(f"/api/units/{KRUSEVAC}/similar?indicator={NRW}")
    assert response.status_code == 422 and response.json()["problems"][0]["column"] == "period"
    response = client.get(f"/api/units/{KRUSEVAC}/similar?indicator={NRW}&period=1850")
    assert response.status_code == 422 and response.json()["problems"][0]["column"] == "period"
    response = client.get(f"/api/units/{KRUSEVAC}/similar?indicator=nothing&period=2023")
    assert response.status_code == 422 and response.json()["problems"][0]["column"] == "indicator"
