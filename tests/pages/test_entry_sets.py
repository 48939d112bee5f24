"""Issue 19, item 8: the entry form and the status board follow the indicator sets of the
unit's groups. A Serbian municipality's waste form listed the Swedish Kolada variables of the
same service area, a submitted form still offered Save and Submit (the irrelevant fields were
never locked), and the board counted survey variables as missing for every member."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from municipium.accounts.models import Role
from municipium.catalog.models import IndicatorSet, SetIndicator
from municipium.observations import workflow
from municipium.observations.models import Status
from tests import factories as f

pytestmark = pytest.mark.django_db


def named(code, name, area):
    variable = f.variable(code, area=area, min_value=0)
    variable.name = {"en": name}
    variable.save()
    return variable


@pytest.fixture
def world():
    area = f.service_area("waste")
    collected = named("waste_collected", {"en": "Waste collected"}["en"], area)
    households = named("households_served", {"en": "Households served"}["en"], area)
    swedish = named("n07821", {"en": "Swedish road length"}["en"], area)
    survey = named("survey_waste_n", {"en": "Respondents rating waste (survey)"}["en"], area)
    per_household = f.indicator("waste_per_household", "waste_collected / households_served", area=area)
    satisfied = f.indicator("waste_satisfied", "survey_waste_n", area=area)
    f.indicator("kolada_roads", "n07821", area=area)
    unit = f.unit("RS-1", {"en": "Kruševac"})
    other = f.unit("RS-2", {"en": "Aleksandrovac"})
    group = f.group("rasina", [unit, other], kind="exchange")
    core = IndicatorSet.objects.create(code="waste_core", group=group, name={"en": "Waste"})
    SetIndicator.objects.create(indicator_set=core, indicator=per_household, order=1)
    SetIndicator.objects.create(indicator_set=core, indicator=satisfied, order=2)
    officer = get_user_model().objects.create_user("officer")
    Role.objects.create(user=officer, kind=Role.Kind.OFFICER, unit=unit)
    coordinator = get_user_model().objects.create_user("coordinator")
    Role.objects.create(user=coordinator, kind=Role.Kind.COORDINATOR, group=group)
    return locals()


def entry(period="2024"):
    return reverse("entry", args=["RS-1", period, "waste"])


def test_the_form_lists_only_what_the_groups_sets_need_and_a_submitted_form_offers_no_save(client, world):
    client.force_login(world["officer"])
    page = client.get(entry()).content.decode()
    assert "value-waste_collected." in page and "value-households_served." in page
    assert "n07821" not in page  # another country's variable of the same service area
    assert "survey_waste_n" not in page  # published by the survey, not entered
    response = client.post(
        entry(),
        {
            "action": "submit",
            "value-waste_collected.": "1200",
            "value-households_served.": "300",
            "version-waste_collected.": "0",
            "version-households_served.": "0",
        },
    )
    assert response.status_code == 302
    page = client.get(entry()).content.decode()
    assert 'value="draft"' not in page and 'value="submit"' not in page


def test_the_board_counts_only_what_the_sets_need_from_members_named_and_linked(client, world):
    f.observe(world["unit"], world["collected"], "2024", 1200, status=Status.DRAFT)
    f.observe(world["unit"], world["households"], "2024", 300, status=Status.DRAFT)
    workflow.submit(world["officer"], world["unit"], "2024")
    client.force_login(world["coordinator"])
    page = client.get(reverse("group-status", args=["rasina", "2024"])).content.decode()
    mine = page.split('id="unit-RS-1"')[1].split("</tr>")[0]
    other = page.split('id="unit-RS-2"')[1].split("</tr>")[0]
    assert "survey_waste_n" not in page and "Respondents rating" not in page
    assert "Nothing" in mine
    # the other member's missing figures are named and lead to its entry form
    assert "Waste collected" in other and "Households served" in other
    assert reverse("entry", args=["RS-2", "2024", "waste"]) in other
