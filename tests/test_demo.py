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
    with django_capture_on_commit_callbacks(execute=False):  # load_demo recomputes everything itself
        load_demo()


def derived(indicator_code):
    return {(v.unit.code, v.period.code): v.value
            for v in IndicatorValue.objects.filter(indicator__code=indicator_code, basis="all", value__isnull=False)
            .select_related("unit", "period")}


def published(variable_code):
    return {(o.unit.code, o.period.code): o.value
            for o in Observation.objects.filter(variable__code=variable_code, value__isnull=False)
            .select_related("unit", "period")}


# (our formula, the publisher's published ratio, tolerance): share of inhabitants 80+ and
# 65-79 (%), metres of road per inhabitant (published rounded).
KOLADA_RATIOS = [("n01813_calc", "n01813", 1e-6), ("n01812_calc", "n01812", 1e-6), ("n07805_calc", "n07805", 5e-4)]


def test_the_demo_loads_real_and_synthetic_data_and_derives_every_indicator(demo):
    # One load serves several checks: loading the demo is the slowest thing in the suite.
    for calculated, publisher, tolerance in KOLADA_RATIOS:
        ours, theirs = derived(calculated), published(publisher)
        common = ours.keys() & theirs.keys()
        assert len(common) > 800, calculated  # every municipality and region over the shipped years
        assert max(abs(ours[k] - theirs[k]) for k in common) <= tolerance, calculated

    starter = Indicator.objects.exclude(service_area__code__in=["general"]).exclude(code__regex=r"^[nu]\d")
    empty = [i.code for i in starter if not IndicatorValue.objects.filter(indicator=i, value__isnull=False).exists()]
    assert starter.count() > 60
    assert empty == []
    # Exchange groups get their statistics, standing on a stated number of members.
    stat = GroupStatistic.objects.filter(group__code="pl-exchange", indicator__code="water_nrw", basis="all").first()
    assert stat is not None and 1 <= stat.n <= stat.members == 6

    synthetic = Observation.objects.filter(unit__code__startswith="RS-")
    assert synthetic.exists()
    assert set(synthetic.values_list("source", flat=True)) == {"Synthetic demo data — not real figures"}
    assert Observation.objects.filter(missing="not_collected").exists()  # gaps are explicit


def test_loading_the_demo_twice_changes_nothing(demo, django_capture_on_commit_callbacks):
    counts = (Unit.objects.count(), Observation.objects.count(), Revision.objects.count(), IndicatorValue.objects.count())
    with django_capture_on_commit_callbacks(execute=False):  # load_demo recomputes everything itself
        load_demo()
    assert (Unit.objects.count(), Observation.objects.count(), Revision.objects.count(),
            IndicatorValue.objects.count()) == counts
    assert ImportBatch.objects.order_by("-pk").first().unchanged > 0
