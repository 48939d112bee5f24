"""The steps navigation links only to pages the reader may open."""

import pytest
from django.urls import reverse
from django.utils.translation import override

from municipium.surveys.models import Survey

pytestmark = pytest.mark.django_db


def _links(client, survey):
    with override("en"):
        page = client.get(reverse("survey", args=[survey.pk]))
        assert page.status_code == 200
        return {
            name: reverse(name, args=[survey.pk]).encode() in page.content
            for name in (
                "survey-sample",
                "survey-fieldwork",
                "survey-clean",
                "survey-weight",
                "survey-analyse",
                "survey-report",
            )
        }


def test_the_officer_gets_every_step_and_the_public_only_the_published_results(client, model_survey, survey_officer):
    client.force_login(survey_officer)
    assert all(_links(client, model_survey).values())
    model_survey.step = Survey.Step.PUBLISHED
    model_survey.save()
    client.logout()
    assert _links(client, model_survey) == {
        "survey-sample": False,
        "survey-fieldwork": False,
        "survey-clean": False,
        "survey-weight": False,
        "survey-analyse": True,
        "survey-report": True,
    }
