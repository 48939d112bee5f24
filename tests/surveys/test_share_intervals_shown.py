"""The analysis page, the report, the PDF's context and publication show Korn–Graubard
intervals for shares (issue 11): an all-satisfied subgroup of 12 is not "100 – 100", and
small cells carry n and effective n, greyed below the stated minimum."""

import datetime as dt

import pytest

from municipium.surveys import results_views, xlsform
from municipium.surveys.models import Response, Survey
from tests.factories import unit
from tests.surveys.test_xlsform import SCALE, workbook
from tests.world import rolled_back

pytestmark = pytest.mark.django_db

FORM = [
    ["type", "name", "municipium_role", "municipium_service"],
    ["select_one scale", "sat_water", "satisfaction", "water"],
    ["select_one yn", "young", "demographic", ""],
]


@pytest.fixture(scope="module")
def survey(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker):
        place = unit("XX-KG")
        made = Survey.objects.create(unit=place, year=2026, code="kg", step=Survey.Step.ANALYSE)
        xlsform.replace(made, xlsform.read(workbook(FORM, SCALE), "kg.xlsx"))
        # 12 young respondents, all satisfied; 60 others, half satisfied.
        answers = [{"sat_water": "5", "young": "yes"}] * 12 + [
            {"sat_water": "4" if i % 2 else "2", "young": "no"} for i in range(60)
        ]
        Response.objects.bulk_create(
            Response(survey=made, mode="web", answers=a, submitted_on=dt.date(2026, 5, 1)) for a in answers
        )
        yield made


def test_an_all_satisfied_subgroup_gets_an_interval_that_does_not_collapse(survey):
    shown = results_views.results(survey)
    (part,) = shown["breakdowns"]
    young = next(row for row in part["rows"] if row["n"] == 12)
    (cell,) = young["cells"]
    assert cell["share"] == "100.0%"
    assert cell["interval"] == "74 – 100"  # Clopper–Pearson on 12: 0.025^(1/12) = 0.735
    assert cell["small"] and cell["too_few"] and cell["n_text"] == "12" and cell["effective_n_text"] == "12.0"
    older = next(row for row in part["rows"] if row["n"] == 60)
    assert older["cells"][0]["small"] and not older["cells"][0]["too_few"]


def test_the_page_shows_the_interval_n_and_effective_n(survey, client):
    from django.contrib.auth import get_user_model

    admin = get_user_model().objects.create_superuser("kg-admin", password="x")
    client.force_login(admin)
    page = client.get(f"/en/surveys/{survey.pk}/analysis/").content.decode()
    assert "74 – 100" in page and "100 – 100" not in page
    assert "n 12, effective n 12.0" in page and "too-few" in page
    assert "Korn–Graubard" in page and "fewer than 30 answers are greyed out" in page
    report = client.get(f"/en/surveys/{survey.pk}/report/").content.decode()
    assert "74 – 100" in report
