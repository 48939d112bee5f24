"""The survey analysis page in Persian: right to left, its charts drawn under the strict CSP,
and no serious accessibility problem."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.surveys import weighting
from tests.factories import unit
from tests.surveys.responses import MARGINS, questionnaire, respond

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_analysis_page_in_persian_is_right_to_left_with_its_charts(watched, login):
    survey = questionnaire(unit("IR-1", {"en": "Qom", "fa": "قم"}))
    respond(survey, 200, seed=6)
    weighting.save_settings(survey, MARGINS, {"upper": 3})
    weighting.compute(survey)
    officer = get_user_model().objects.create_user("officer")
    Role.objects.create(user=officer, kind="officer", unit=survey.unit)
    page = login(officer, language="fa")

    page.goto(f"/fa/surveys/{survey.pk}/analysis/")
    assert page.get_attribute("html", "dir") == "rtl"
    page.wait_for_function("document.querySelectorAll('[data-chart][data-ready]').length === 2")
    assert page.locator("[data-chart] svg[role=img]").count() == 2
    assert "٪" in page.inner_text(".services-table")
    assert watched.axe() == []
