"""Interviews by phone or face to face and paper entry: an officer of the unit keys in a
questionnaire with the same form and checks, sees the next empty one, and it is audited."""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from municipium.audit.models import AuditEvent
from municipium.surveys.models import Response

from .fieldwork import officer_of, questionnaire, sampled_frame

pytestmark = pytest.mark.django_db

ANSWERS = {"q-uses_water": "yes", "q-sat_water": "5", "q-age": "67", "q-channels": ["office"]}


@pytest.fixture
def survey():
    survey = questionnaire()
    sampled_frame(survey, {"north": ["a@example.org"], "south": ["Main St 1"]}, probability={"south": 0.05})
    return survey


def test_a_phone_interview_is_saved_with_the_interviewer_and_the_next_form_opens(client, survey):
    officer = officer_of(survey.unit)
    client.force_login(officer)
    address = reverse("survey-enter", args=[survey.pk, "phone"])
    form = client.get(address)
    saved = client.post(
        address,
        {**ANSWERS, "action": "save", "stratum": "south", "respondent_language": "sr", "start": form.context["start"]},
        follow=True,
    )
    assert saved.redirect_chain == [(address, 302)]
    assert saved.context["entered_today"] == 1 and saved.context["items"][1]["label"]
    response = Response.objects.get()
    assert (
        response.mode,
        response.entered_by,
        response.stratum,
        response.inclusion_probability,
        response.language,
    ) == ("phone", officer, "south", 0.05, "sr")
    assert response.answers == {"uses_water": "yes", "sat_water": "5", "age": 67, "channels": ["office"]}
    event = AuditEvent.objects.get(action="survey.response_entered")
    assert event.actor == officer and event.via == "phone" and event.object_id == str(response.pk)


def test_paper_entry_refuses_an_answer_outside_the_scale_and_stores_nothing(client, survey):
    client.force_login(officer_of(survey.unit))
    page = client.post(
        reverse("survey-enter", args=[survey.pk, "paper"]), {**ANSWERS, "q-sat_water": "6", "action": "save"}
    )
    assert page.status_code == 200 and "“6” is not one of the answers" in page.content.decode()
    assert not Response.objects.exists() and not AuditEvent.objects.exists()


def test_a_paper_questionnaire_has_no_duration_and_an_unknown_stratum_is_refused(client, survey):
    client.force_login(officer_of(survey.unit))
    address = reverse("survey-enter", args=[survey.pk, "paper"])
    refused = client.post(address, {**ANSWERS, "action": "save", "stratum": "west"})
    assert refused.status_code == 200 and not Response.objects.exists()
    client.post(address, {**ANSWERS, "action": "save", "stratum": "north"})
    assert Response.objects.get().duration_seconds is None


def test_an_update_shows_follow_up_questions_without_saving(client, survey):
    client.force_login(officer_of(survey.unit))
    page = client.post(reverse("survey-enter", args=[survey.pk, "face"]), {**ANSWERS, "q-sat_water": "1"})
    assert "What is wrong with it?" in page.content.decode() and not Response.objects.exists()


def test_outsiders_and_unknown_modes_get_not_found(client, survey):
    client.force_login(get_user_model().objects.create_user("stranger"))
    assert (
        client.post(reverse("survey-enter", args=[survey.pk, "phone"]), {**ANSWERS, "action": "save"}).status_code
        == 404
    )
    client.force_login(officer_of(survey.unit))
    assert client.get(reverse("survey-enter", args=[survey.pk, "web"])).status_code == 404
    assert not Response.objects.exists()
