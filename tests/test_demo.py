"""The demo loads through the real loaders and importer, and the real Swedish figures
check the formula engine against the publisher's own ratios."""

import pytest

from municipium.benchmarks.models import GroupStatistic, IndicatorValue
from municipium.catalog.models import Indicator
from municipium.demo.load import load_demo
from municipium.observations.models import ImportBatch, Observation, Revision
from municipium.places.models import Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        load_demo()


def derived(indicator_code):
    return {(v.unit.code, v.period.code): v.value
            for v in IndicatorValue.objects.filter(indicator__code=indicator_code, basis="all", value__isnull=False)
            .select_related("unit", "period")}


def published(variable_code):
    return {(o.unit.code, o.period.code): o.value
            for o in Observation.objects.filter(variable__code=variable_code, value__isnull=False)
            .select_related("unit", "period")}


@pytest.mark.parametrize("calculated, publisher, tolerance", [
    ("n01813_calc", "n01813", 1e-6),   # share of inhabitants 80+, %
    ("n01812_calc", "n01812", 1e-6),   # share of inhabitants 65-79, %
    ("n07805_calc", "n07805", 5e-4),   # metres of road per inhabitant (published rounded)
])
def test_kolada_formulas_reproduce_the_publishers_own_ratios(demo, calculated, publisher, tolerance):
    ours, theirs = derived(calculated), published(publisher)
    common = ours.keys() & theirs.keys()
    assert len(common) > 800  # every municipality and region over the years both are published
    worst = max(abs(ours[k] - theirs[k]) for k in common)
    assert worst <= tolerance


def test_every_starter_indicator_gets_values_for_the_demo_municipalities(demo):
    starter = Indicator.objects.exclude(service_area__code__in=["general"]).exclude(code__regex=r"^[nu]\d")
    empty = [i.code for i in starter if not IndicatorValue.objects.filter(indicator=i, value__isnull=False).exists()]
    assert starter.count() > 60
    assert empty == []
    # Exchange groups get their statistics, standing on a stated number of members.
    stat = GroupStatistic.objects.filter(group__code="pl-exchange", indicator__code="water_nrw", basis="all").first()
    assert stat is not None and 1 <= stat.n <= stat.members == 6


def test_the_synthetic_figures_say_they_are_synthetic(demo):
    synthetic = Observation.objects.filter(unit__code__startswith="RS-")
    assert synthetic.exists()
    assert set(synthetic.values_list("source", flat=True)) == {"Synthetic demo data — not real figures"}
    assert Observation.objects.filter(missing="not_collected").exists()  # gaps are explicit


def test_loading_the_demo_twice_changes_nothing(demo, django_capture_on_commit_callbacks):
    counts = (Unit.objects.count(), Observation.objects.count(), Revision.objects.count(), IndicatorValue.objects.count())
    with django_capture_on_commit_callbacks(execute=True):
        load_demo()
    assert (Unit.objects.count(), Observation.objects.count(), Revision.objects.count(),
            IndicatorValue.objects.count()) == counts
    assert ImportBatch.objects.order_by("-pk").first().unchanged > 0
