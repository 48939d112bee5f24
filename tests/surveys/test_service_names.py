"""Issue 19, item 1: a survey's service names read in the reader's language everywhere:
the analysis and report pages and the indicators a survey publishes. A service that is no
catalogue area ("green_areas", "public_cleanliness") stayed English in every language."""

import pytest
from django.contrib.auth import get_user_model

from municipium.catalog.models import Variable
from municipium.surveys import analysis, publish
from municipium.surveys.models import Question, Survey
from municipium.surveys.starter import services
from tests.factories import unit
from tests.surveys.responses import questionnaire, respond

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    s = questionnaire(unit("RS-41", {"en": "Testograd"}))
    respond(s, 120, seed=3)
    # A questionnaire's own group label names a service the starter does not know.
    Question.objects.create(
        survey=s,
        order=999,
        kind=Question.Kind.BEGIN_GROUP,
        name="svc_roads",
        service="roads",
        label={"en": "Streets", "sr": "Улице", "pl": "Ulice"},
    )
    publish.publish(s, actor=get_user_model().objects.create_superuser("admin"))
    s.refresh_from_db()
    return s


def test_the_service_label_reads_in_each_language(survey):
    assert analysis.service_label("green_areas", survey, "sr") == "Паркови и зелене површине"
    assert analysis.service_label("public_cleanliness", None, "bg") == "Чистота на обществените места"
    assert analysis.service_label("roads", survey, "sr") == "Улице"  # the questionnaire's own name
    assert analysis.service_label("roads", survey, "lt") == "Vietiniai keliai ir gatvės"  # the model's, no own lt
    assert analysis.service_label("roads", survey, "en") == "Streets"
    assert analysis.service_label("snow_clearing", survey, "pl") == "snow clearing"  # nothing to go on


def test_the_pages_and_the_published_indicators_name_services_in_the_readers_language(survey, client):
    assert survey.step == Survey.Step.PUBLISHED
    names = {s["code"]: s["name"] for s in services()}
    for language in ("pl", "sr", "bg", "lt", "fa"):
        for page in ("analysis", "report"):
            text = client.get(f"/{language}/surveys/{survey.pk}/{page}/").content.decode()
            # (the test questionnaire's own questions are in English and Persian only)
            for code in ("green_areas", "public_cleanliness"):
                assert names[code][language] in text, (language, page, code)
    # The printed report (its PDF's HTML) too.
    from municipium.surveys.results_views import report_html

    for language in ("sr", "fa"):
        printed = report_html(survey, language)
        assert names["green_areas"][language] in printed, language  # (the questions stay as written)
    name = Variable.objects.get(code="survey_green_areas_satisfied_share").name
    assert "Паркови и зелене површине" in name["sr"] and "Parki i tereny zielone" in name["pl"]
    assert "green areas" not in name["fa"]
