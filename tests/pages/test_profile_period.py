"""Which period a unit's profile opens on (issue 19: profiles opened on a nearly empty year)."""

import pytest

from municipium.benchmarks.models import IndicatorValue
from municipium.catalog.models import IndicatorSet
from tests.world import build_world

pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"


@pytest.fixture
def world():
    world = build_world(years=(2023, 2024), groups=("rasina",))
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))
    return world


def _thin_out(world, year: str, keep: int) -> None:
    """Leave the unit only `keep` figures in `year`, as when the first few are in."""
    rows = IndicatorValue.objects.filter(unit=world.unit(KRUSEVAC), period__code=year, value__isnull=False)
    in_set = rows.filter(indicator__sets__code="water_core").order_by("pk").values_list("pk", flat=True)
    kept = list(in_set)[:keep]
    assert len(kept) == keep
    rows.exclude(pk__in=kept).delete()


def test_the_profile_opens_on_the_latest_period_with_enough_figures_and_says_so(client, world):
    _thin_out(world, "2024", keep=2)
    response = client.get(f"/en/units/{KRUSEVAC}/")
    assert response.context["period"].code == "2023"
    html = response.content.decode()
    assert "2024 has only 2 figures so far" in html
    assert "?period=2024" in html


def test_a_chosen_period_is_shown_even_when_it_has_few_figures(client, world):
    _thin_out(world, "2024", keep=2)
    response = client.get(f"/en/units/{KRUSEVAC}/?period=2024")
    assert response.context["period"].code == "2024"
    assert response.context["period_note"] is None


def test_a_complete_latest_period_is_opened_without_a_note(client, world):
    response = client.get(f"/en/units/{KRUSEVAC}/")
    assert response.context["period"].code == "2024"
    assert response.context["period_note"] is None
