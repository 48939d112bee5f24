"""Publication: survey results become observations and indicators through the one write
path, respect the workflow, show up in the benchmarks' reads and the unit profile, and
re-publishing updates the same observations."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.benchmarks import read
from municipium.catalog.models import Indicator, IndicatorSet, Variable
from municipium.observations.models import Observation, Period, Status
from municipium.surveys import analysis, cleaning, publish
from municipium.surveys.models import Survey
from tests.factories import group, service_area, unit
from tests.surveys.responses import questionnaire, respond

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    service_area("waste", {"en": "Waste", "pl": "Odpady"})
    s = questionnaire(unit("RS-30", {"en": "Testograd"}), year=2025)
    respond(s, 250, seed=4)
    return s


def _user(name, kind, **where):
    user = get_user_model().objects.create_user(name)
    Role.objects.create(user=user, kind=kind, **where)
    return user


def test_an_administrator_publishes_and_the_share_appears_in_reads_and_the_profile(
    survey, client, django_capture_on_commit_callbacks
):
    admin = get_user_model().objects.create_superuser("admin")
    with django_capture_on_commit_callbacks(execute=True):
        outcome = publish.publish(survey, actor=admin)
    assert outcome["status"] == Status.PUBLISHED and outcome["created"] == 6 * 5
    survey.refresh_from_db()
    assert survey.step == Survey.Step.PUBLISHED

    share = analysis.analyse(survey).service("waste").share
    variable = Variable.objects.get(code="survey_waste_satisfied_share")
    assert variable.service_area.code == "waste" and set(variable.name) == {"en", "pl", "sr", "bg", "lt", "fa"}
    assert "Waste" in variable.name["en"] and "Odpady" in variable.name["pl"]
    assert Variable.objects.get(code="survey_public_cleanliness_index").service_area.code == "surveys"
    indicator = Indicator.objects.get(code="survey_waste_share_satisfied")
    value = read.value(indicator, survey.unit, Period.objects.get(code="2025"), public=True)
    assert value.value == pytest.approx(100 * share.value)
    low = Observation.objects.get(variable__code="survey_waste_ci_low", unit=survey.unit).value
    high = Observation.objects.get(variable__code="survey_waste_ci_high", unit=survey.unit).value
    # The published limits are the Korn–Graubard interval the pages show, not the normal one.
    interval = analysis.analyse(survey).service("waste").result.share_interval
    assert (low, high) == pytest.approx((100 * interval.low, 100 * interval.high))
    assert low != pytest.approx(100 * share.ci_low)
    assert Observation.objects.get(variable__code="survey_waste_n").value == share.n
    assert Indicator.objects.filter(code__startswith="survey_waste").count() == 2

    page = client.get(f"/en/units/{survey.unit.code}/")
    assert page.status_code == 200
    assert variable.name["en"] in page.content.decode()
    assert AuditEvent.objects.filter(action="publish", object_id=str(survey.pk)).exists()


def test_an_approver_writes_approved_figures_that_the_public_does_not_see_yet(survey):
    approver = _user("approver", "approver", unit=survey.unit)
    assert publish.publish(survey, actor=approver)["status"] == Status.APPROVED
    assert set(Observation.objects.values_list("status", flat=True)) == {Status.APPROVED}


def test_an_officer_may_not_publish_and_nothing_is_written(survey):
    officer = _user("officer", "officer", unit=survey.unit)
    with pytest.raises(publish.PublishError):
        publish.publish(survey, actor=officer)
    assert not Observation.objects.exists() and not Variable.objects.filter(code__startswith="survey_").exists()
    survey.refresh_from_db()
    assert survey.step == Survey.Step.FIELDWORK


def test_republishing_after_a_change_updates_the_same_observations(survey):
    admin = get_user_model().objects.create_superuser("admin")
    publish.publish(survey, actor=admin)
    before = Observation.objects.get(variable__code="survey_water_satisfied_share")
    unhappy = [r.id for r in survey.responses.all() if r.answers["sat_water"] in ("4", "5")][:40]
    cleaning.decide(survey, unhappy, exclude=True, reason="test interviews by staff")
    outcome = publish.publish(survey, actor=admin)
    after = Observation.objects.get(variable__code="survey_water_satisfied_share")
    assert after.pk == before.pk and after.version == before.version + 1 and after.value < before.value
    assert outcome["created"] == 0 and outcome["updated"] > 0
    assert after.revisions.count() == 2


def test_groups_with_an_indicator_set_adopt_the_survey_indicators(survey):
    peers = group("peers-test", [survey.unit])
    IndicatorSet.objects.create(code="peers-set", name={"en": "Peers"}, group=peers)
    publish.publish(survey, actor=get_user_model().objects.create_superuser("admin"))
    codes = set(IndicatorSet.objects.get(code="peers-set").indicators.values_list("code", flat=True))
    assert "survey_water_share_satisfied" in codes and "survey_water_satisfaction_index" in codes
