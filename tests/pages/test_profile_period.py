"""Which period a unit's profile opens on (issue 19: profiles opened on a nearly empty year)."""

import pytest

from municipium.catalog.models import Indicator, IndicatorSet
from tests import derived
from tests.world import module_world

pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"


def _rasina_follows_water_core(world):
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))


# Each test changes figures only inside its own savepoint: one world for the module.
world = module_world(years=(2023, 2024), groups=("rasina",), prepare=_rasina_follows_water_core)


def _thin_out(world, year: str, keep: int) -> None:
    """Leave the unit only `keep` figures in `year`, as when the first few are in."""
    rows = derived.rows(unit=world.unit(KRUSEVAC), period=year, valued=True, breakdown=derived.ANY)
    in_set = set(Indicator.objects.filter(sets__code="water_core").values_list("pk", flat=True))
    kept = [r for r in rows if r.indicator_id in in_set][:keep]
    assert len(kept) == keep
    doomed: dict[str, list[int]] = {}  # {basis: indicator ids}: a delete a basis, not one a value
    for r in rows:
        if r not in kept:
            doomed.setdefault(r.basis, []).append(r.indicator_id)
    for basis, indicators in doomed.items():
        derived.delete(unit=world.unit(KRUSEVAC), period=year, basis=basis, indicator=indicators, valued=True)


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


def test_the_standard_and_the_group_assess_apart_and_the_rank_reads_in_the_direction_of_polarity(client, world):
    # issue 19: a row read "Rank 1 of 6, Poor" (rank among peers, assessment by threshold).
    from municipium.benchmarks import read
    from municipium.catalog.models import Indicator
    from tests.pages.test_profile import row_of, text_of

    indicator = Indicator.objects.get(code="water_nrw")
    from municipium.observations.models import Period

    period = Period.objects.get(code="2024")
    ranked = read.ranks(indicator, period, world.group("rasina"), public=True)
    best = min(ranked, key=lambda r: r.rank)
    # A standard stricter than every member's value: the best in the group is still poor by it.
    strict = (
        min(r.value for r in ranked) - 1
        if indicator.polarity == "lower_is_better"
        else max(r.value for r in ranked) + 1
    )
    indicator.thresholds = {"good": strict, "poor": strict}
    indicator.save()

    shown = text_of(row_of(client.get(f"/en/units/{best.unit.code}/?period=2024").content.decode(), "water_nrw"))
    assert f"best of {best.n}" in shown
    assert "Poor" in shown and "Good" in shown  # poor by the standard, good in the group
    html = client.get(f"/en/units/{best.unit.code}/?period=2024").content.decode()
    assert "By the standard" in html and "In the group" in html
