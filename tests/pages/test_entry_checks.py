"""Issue 19, item 7: plausibility checks ship with the starter catalogue's variables and
apply by default. A ten-fold jump, 25 compliant samples of 17 tested and water billed above
water produced all saved silently; now each is a warning the officer sees and confirms
before it is saved, and the confirmation is in the audit trail."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.observations.models import Observation, ValidationRule
from tests import factories as f

pytestmark = pytest.mark.django_db

CODES = ("water_produced", "water_billed", "water_samples_total", "water_samples_compliant")


@pytest.fixture
def world():
    area = f.service_area("water")
    variables = {code: f.variable(code, area=area, min_value=0, order=i) for i, code in enumerate(CODES)}
    for code, name in (("water_produced", "Water produced"), ("water_samples_total", "Samples tested")):
        variables[code].name = {"en": name}
        variables[code].save()
    unit = f.unit("RS-1")
    f.observe(unit, variables["water_produced"], "2023", 1000)
    officer = get_user_model().objects.create_user("officer")
    Role.objects.create(user=officer, kind=Role.Kind.OFFICER, unit=unit)
    return {"unit": unit, "officer": officer, **variables}


def posted(**values):
    data = {"action": "draft"}
    for code in CODES:
        data[f"value-{code}."] = values.get(code, "")
        data[f"version-{code}."] = "0"
    return data


URL = "/en/entry/RS-1/2024/water/"


def test_implausible_figures_are_warned_and_saved_only_once_confirmed(client, world):
    client.force_login(world["officer"])
    data = posted(water_produced="10000", water_billed="12000", water_samples_total="17", water_samples_compliant="25")
    response = client.post(URL, data)
    page = response.content.decode()
    assert response.status_code == 200
    assert not Observation.objects.filter(period__code="2024").exists()
    assert "more than ten times the previous period" in page  # 1,000 -> 10,000
    assert "cannot be larger than Water produced" in page
    assert "cannot be larger than Samples tested" in page
    assert "save again to confirm" in page
    confirmed = response.context["confirm"]
    response = client.post(URL, {**data, "confirmed": confirmed})
    assert response.status_code == 302
    assert Observation.objects.filter(period__code="2024").count() == 4
    event = AuditEvent.objects.filter(via="form").latest("pk")
    assert "water_samples_compliant" in event.note and "water_billed" in event.note


def test_plausible_figures_save_at_once_and_a_coordinators_change_rule_replaces_the_default(client, world):
    client.force_login(world["officer"])
    data = posted(water_produced="1100", water_billed="900", water_samples_total="17", water_samples_compliant="17")
    assert client.post(URL, data).status_code == 302
    ValidationRule.objects.create(variable=world["water_produced"], kind="change", threshold=2000)
    data = posted(water_produced="15000", water_billed="900", water_samples_total="17", water_samples_compliant="17")
    for key in list(data):
        if key.startswith("version-"):
            data[key] = "1"
    assert client.post(URL, data).status_code == 302  # 1,000 -> 15,000 is within the group's 2,000 %
