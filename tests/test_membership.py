"""Who is a member of a group in a period: one rule (places.models.MembershipQuerySet)
behind the API's group filter, the exports, the status board and its reminders, the pages
and the engine (issue 10: the rule was written six times and the copies disagreed)."""

import statistics

import pytest
from django.test import Client

from municipium.benchmarks import engine, read
from municipium.observations import workflow
from municipium.observations.models import Period
from municipium.places.models import Group, Membership
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    produced = f.variable("produced", min_value=0)
    billed = f.variable("billed", min_value=0)
    nrw = f.indicator("nrw", "100 * (produced - billed) / produced", polarity="lower_is_better")
    old, late, gone = f.unit("OLD"), f.unit("LATE"), f.unit("GONE", valid_to="2020-12-31")
    third = f.unit("THIRD")
    group = f.group("east", [old, third], kind=Group.Kind.EXCHANGE)
    f.membership(group, late, valid_from="2023-01-01")  # joined in 2023
    f.membership(group, gone)  # the row never ended, but the unit was dissolved in 2020
    rows = []
    for unit, figures in {old: (100, 80), late: (200, 150), third: (50, 45)}.items():
        for year in (2022, 2023):
            rows += [f.row(unit, produced, year, figures[0]), f.row(unit, billed, year, figures[1])]
    f.write(rows)
    engine.recompute_all()
    return {"group": group, "nrw": nrw, "old": old, "late": late, "gone": gone, "third": third}


def test_a_unit_that_joined_in_2023_is_no_member_for_2022_in_the_api_and_the_median_agrees(world):
    client = Client()
    values = client.get("/api/indicator-values", {"indicator": "nrw", "group": "east"}).json()
    units_2022 = sorted(r["unit"] for r in values["items"] if r["period"] == "2022")
    assert units_2022 == ["OLD", "THIRD"]
    published = read.statistic(world["nrw"], Period.objects.get(code="2022"), world["group"], public=True)
    assert statistics.median(r["value"] for r in values["items"] if r["period"] == "2022") == pytest.approx(
        published.median
    )
    assert sorted(r["unit"] for r in values["items"] if r["period"] == "2023") == ["LATE", "OLD", "THIRD"]


def test_observations_filtered_by_group_follow_the_membership_of_their_own_period(world):
    rows = Client().get("/api/observations", {"group": "east", "variable": "produced"}).json()["items"]
    assert sorted((r["unit"], r["period"]) for r in rows) == [
        ("LATE", "2023"),
        ("OLD", "2022"),
        ("OLD", "2023"),
        ("THIRD", "2022"),
        ("THIRD", "2023"),
    ]


def test_a_dissolved_unit_is_not_on_the_status_board_nor_reminded(world):
    period = Period.objects.get(code="2023")
    members = workflow.members(world["group"], period)
    assert world["gone"] not in members and world["late"] in members
    assert [u.code for u in world["group"].members_in(Period.objects.get(code="2022"))] == ["OLD", "THIRD"]


def test_the_rule_is_the_same_in_python_and_in_the_engine(world):
    period = Period.objects.get(code="2022")
    by_rule = set(Membership.objects.filter(group=world["group"]).in_period(period).values_list("unit_id", flat=True))
    ctx = engine.Context()
    frame = ctx.members("year").filter(group_id=world["group"].pk, ordinal=period.ordinal)
    assert set(frame["unit_id"].to_list()) == by_rule == {world["old"].pk, world["third"].pk}
