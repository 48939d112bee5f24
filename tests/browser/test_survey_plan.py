"""Planning a survey in a real browser: an officer creates a survey from the model
questionnaire in Polish, reads it, and downloads it as an XLSForm."""

import re

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.surveys import xlsform
from municipium.surveys.models import Survey
from tests import factories

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_officer_creates_a_survey_in_polish_and_downloads_the_xlsform(watched, login):
    unit = factories.unit("PL-KUTNO", {"en": "Kutno", "pl": "Kutno"})
    officer = get_user_model().objects.create_user("ankieter")
    Role.objects.create(user=officer, kind=Role.Kind.OFFICER, unit=unit)
    page = login(officer, language="pl")

    page.goto("/pl/surveys/")
    page.click("a[href='/pl/surveys/new/']")
    page.wait_for_url("**/pl/surveys/new/")
    page.fill("#id_year", "2026")
    page.fill("#id_code", "zadowolenie-2026")
    page.uncheck("input[name=services][value=public_transport]")
    for code in ("sr", "bg", "lt", "fa"):
        page.uncheck(f"input[name=languages][value={code}]")
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/pl/surveys/\d+/$"))
    survey = Survey.objects.get(code="zadowolenie-2026")
    assert "W jakim stopniu jest Pan/Pani zadowolony(-a) z odbioru odpadów?" in page.inner_text("main")
    assert page.locator(".survey-steps [aria-current=step]").count() == 1
    assert not watched.axe()

    with page.expect_download() as download:
        page.click(f"a[href='/pl/surveys/{survey.pk}/xlsform/']")
    form = xlsform.read(download.value.path(), download.value.suggested_filename)
    assert form.languages == ["en", "pl"]
    assert "public_transport" not in {q["service"] for q in form.questions}
    assert len(form.questions) == survey.questions.count()
