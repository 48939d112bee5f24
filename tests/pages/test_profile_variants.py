"""Unit profiles over worlds of their own (other years, figures left in draft): each test
builds the world it needs, so these cannot share the module world of test_profile.py."""

import pytest

from municipium.benchmarks import read
from municipium.benchmarks.models import Basis, GroupStatistic
from municipium.catalog.models import Indicator, IndicatorSet
from municipium.lib import stats
from municipium.lib.numbers import format_number
from municipium.observations.models import Period
from municipium.places.models import Unit
from tests import derived
from tests.factories import person
from tests.pages.test_profile import row_of, text_of
from tests.world import build_world

pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"


def on_basis(public: bool, **filters) -> list[derived.Stored]:
    """`read.on_basis` over the stored values with a value that pass the filters (which
    leave the basis open): a value's published twin counts whether it has a value or not."""
    rows = derived.rows(**filters)
    twins = {(r.indicator_id, r.unit_id, r.period_id) for r in rows if r.basis == Basis.PUBLISHED}
    return [
        r
        for r in rows
        if r.value is not None and read.seen(r.basis, (r.indicator_id, r.unit_id, r.period_id) in twins, public=public)
    ]


def test_anonymous_readers_do_not_see_figures_built_on_draft_data_but_insiders_do(client):
    world = build_world(years=(2022, 2023, 2024), groups=("rasina",), last_year_status="draft")
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))
    indicator = Indicator.objects.get(code="water_nrw")
    draft = derived.one(indicator=indicator, unit=KRUSEVAC, period="2024", basis=Basis.ALL)
    draft_text = format_number(draft.value, indicator.decimals, "en")

    anonymous = client.get(f"/en/units/{KRUSEVAC}/?period=2024").content.decode()
    assert '<option value="2024"' not in anonymous
    assert "Figures for 2023" in anonymous and "Published figures only." in anonymous
    assert draft_text not in text_of(row_of(anonymous, "water_nrw"))

    client.force_login(person("insider", kind="viewer", group=world.group("rasina")))
    insider = client.get(f"/en/units/{KRUSEVAC}/").content.decode()
    assert '<option value="2024" selected>' in insider
    assert draft_text in text_of(row_of(insider, "water_nrw"))

    client.logout()
    compare = client.get(f"/en/compare/?units={KRUSEVAC}&set=water_core&group=rasina&period=2024").content.decode()
    assert '<option value="2024"' not in compare and "2023" in compare


@pytest.mark.parametrize("public", [True, False])
def test_the_bulk_reads_behind_the_pages_agree_with_the_single_reads(public):
    world = build_world(years=(2023, 2024), groups=("rasina",), last_year_status="draft")
    unit, group = world.unit(KRUSEVAC), world.group("rasina")
    indicators = list(Indicator.objects.all())
    ids = [i.pk for i in indicators]
    many = read.series_many([unit.pk], ids, public=public)
    for indicator in indicators:
        assert [(r.period_id, r.value) for r in many if r.indicator_id == indicator.pk] == [
            (r.period_id, r.value) for r in read.series(indicator, unit, public=public)
        ]
    for period in Period.objects.all():
        stats = {s.indicator_id: s.pk for s in read.statistics_many(ids, [period.pk], group, public=public)}
        ranks = read.unit_ranks(unit, ids, period, group, public=public)
        for indicator in indicators:
            single = read.statistic(indicator, period, group, public=public)
            assert stats.get(indicator.pk) == (single.pk if single else None)
            mine = next((r for r in read.ranks(indicator, period, group, public=public) if r.unit == unit), None)
            got = ranks.get(indicator.pk)
            assert ((got.rank, got.n) if got else None) == ((mine.rank, mine.n) if mine else None)


@pytest.mark.parametrize("public", [True, False])
def test_which_indicators_a_unit_has_and_how_many_members_report_each_follow_each_slices_basis(public):
    # read.indicators_of and read.reported_by (the profile without an indicator set) ask
    # indicator by indicator, resp. apply the public rule to the group's rows themselves:
    # the same as reading every row on its basis (2024 is a draft year: its rows have
    # published twins).
    world = build_world(years=(2023, 2024), groups=("rasina",), last_year_status="draft")
    unit, group = world.unit(KRUSEVAC), world.group("rasina")
    ids = list(Indicator.objects.values_list("pk", flat=True))

    def expected_reported() -> dict[int, int]:
        most: dict[int, int] = {}
        rows = read.on_basis(GroupStatistic.objects.filter(group=group, breakdown=""), public=public)
        for indicator_id, n in rows.values_list("indicator_id", "n"):
            most[indicator_id] = max(most.get(indicator_id, 0), n)
        return most

    every = on_basis(public, unit=unit, breakdown="")
    assert read.indicators_of(unit, public=public) == {r.indicator_id for r in every}
    assert read.reported_by(group, ids, public=public) == expected_reported()
    # The largest "all" statistics are those with published twins (the draft year): the
    # public's count must come from another period's.
    GroupStatistic.objects.filter(group=group, period__code="2023", basis=Basis.ALL).update(n=1)
    GroupStatistic.objects.filter(group=group, period__code="2024", basis=Basis.ALL).update(n=999)
    assert read.reported_by(group, ids, public=public) == expected_reported()
    assert (999 in expected_reported().values()) is not public


def test_the_median_the_database_picks_is_the_median_of_every_published_value():
    # read.medians (the similar units' and the national figure) has the database hand back
    # only the middle value or two of each slice: it must be stats.quantile's median of all
    # of them, for odd and even counts, every indicator, each slice on its published basis
    # (2024 is a draft year: its slices have "published" rows beside the "all" ones).
    build_world(years=(2023, 2024), groups=("rasina",), last_year_status="draft")
    assert derived.exists(basis=Basis.PUBLISHED, period="2024")
    units = list(Unit.objects.filter(kind="municipality").order_by("code").values_list("pk", flat=True))
    indicator_ids = list(Indicator.objects.values_list("pk", flat=True))
    assert len(units) >= 4
    for period in Period.objects.all():
        for chosen in (units, units[:-1], units[:4], units[:3], units[:2], units[:1], []):
            everyone: dict[int, list[float]] = {}
            for r in on_basis(True, indicator=indicator_ids, period=period, unit=chosen, breakdown=""):
                everyone.setdefault(r.indicator_id, []).append(r.value)
            expected = {i: read.Reference(stats.quantile(v, 0.5), len(v)) for i, v in everyone.items()}
            assert read.medians(indicator_ids, period, chosen) == expected
