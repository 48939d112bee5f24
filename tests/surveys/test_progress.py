"""The progress board: links issued and used, responses by mode, the response rate by
stratum (responses / sampled) and by day, numbers written the reader's way."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils.translation import override

from municipium.surveys import links
from municipium.surveys.fieldwork import progress
from municipium.surveys.models import Response

from .fieldwork import officer_of, questionnaire, sampled_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = questionnaire()
    sampled_frame(survey, {"north": [f"n{i}@example.org" for i in range(4)], "south": ["Main St 1"]})
    tokens = [i.token for i in links.issue(survey, None)]
    for token in tokens[:2]:
        links.use(
            links.find(token),
            answers={"uses_water": "no"},
            language="sr",
            duration_seconds=60,
            today=dt.date(2025, 5, 3),
        )
    Response.objects.create(survey=survey, mode="phone", stratum="south", answers={}, submitted_on=dt.date(2025, 5, 4))
    Response.objects.create(survey=survey, mode="import", answers={}, submitted_on=dt.date(2025, 5, 4))
    return survey


def test_the_figures_count_links_modes_strata_and_days(survey):
    figures = progress(survey)
    assert (figures["links_issued"], figures["links_used"], figures["sampled"], figures["responses"]) == (5, 2, 5, 4)
    assert {m["mode"]: m["responses"] for m in figures["modes"]} == {
        "web": 2,
        "phone": 1,
        "face": 0,
        "paper": 0,
        "import": 1,
    }
    assert [(s["stratum"], s["sampled"], s["responses"], s["rate"]) for s in figures["strata"]] == [
        ("", 0, 1, None),
        ("north", 4, 2, 50.0),
        ("south", 1, 1, 100.0),
    ]
    assert [(d["submitted_on"], d["n"]) for d in figures["days"]] == [
        (dt.date(2025, 5, 3), 2),
        (dt.date(2025, 5, 4), 2),
    ]


def test_the_board_shows_them_in_persian_digits(client, survey):
    client.force_login(officer_of(survey.unit))
    with override("fa"):
        page = client.get(reverse("survey-fieldwork", args=[survey.pk])).content.decode()
    assert "۵۰٫۰٪" in page and 'id="total-responses">۴<' in page


def test_outsiders_get_not_found(client, survey):
    client.force_login(get_user_model().objects.create_user("stranger"))
    assert client.get(reverse("survey-fieldwork", args=[survey.pk])).status_code == 404
