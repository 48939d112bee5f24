import pytest
from tests.world import build_world

@pytest.mark.django_db
def test_explore():
    import time; t=time.time()
    w = build_world()
    print("build", time.time()-t)
    from municipium.catalog.models import IndicatorSet, Indicator
    from municipium.benchmarks.models import IndicatorValue, GroupStatistic
    from municipium.places.models import Group, Membership
    for s in IndicatorSet.objects.all():
        print(s.code, s.group_id, s.indicators.count())
    u = w.unit("RS-70670")
    print([m.group.code for m in Membership.objects.filter(unit=u)])
    print(IndicatorValue.objects.filter(unit=u).values("basis").distinct())
    print(IndicatorValue.objects.filter(unit=u, value__isnull=False).values_list("indicator__code", flat=True).distinct().count())
    print(GroupStatistic.objects.filter(group__code="rasina").count(), GroupStatistic.objects.filter(group__code="rasina-waste").count())
    for i in Indicator.objects.all()[:10]:
        print(i.code, i.decimals, i.unit_of_measure.get("en"), i.dimension, i.polarity, i.target, i.thresholds)
    assert 0
