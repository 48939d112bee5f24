"""The analysis uses the sampling frame's stratum sizes as the finite population
correction, and a stratum taken whole (or of one respondent) no longer stops it (issue 11)."""

import datetime as dt

import numpy as np
import pytest

from municipium.lib.survey import estimates
from municipium.surveys import analysis, xlsform
from municipium.surveys.models import Contact, Frame, Response, Survey
from tests.factories import unit
from tests.surveys.test_xlsform import SCALE, workbook

pytestmark = pytest.mark.django_db

FORM = [
    ["type", "name", "municipium_role", "municipium_service"],
    ["select_one scale", "sat_water", "satisfaction", "water"],
]


def _survey(code, town_frame: int, town_answers: list[str]):
    place = unit(f"XX-{code.upper()}")
    survey = Survey.objects.create(unit=place, year=2026, code=code, step=Survey.Step.ANALYSE)
    xlsform.replace(survey, xlsform.read(workbook(FORM, SCALE), "f.xlsx"))
    frame = Frame.objects.create(
        survey=survey, filename="frame.csv", sha256="0" * 64, stratum_column="area", draw={"method": "sizes"}
    )
    strata = ["town"] * town_frame + ["farm"]
    Contact.objects.bulk_create(Contact(frame=frame, position=i, stratum=s) for i, s in enumerate(strata, start=1))
    answers = [("town", a) for a in town_answers] + [("farm", "5")]
    Response.objects.bulk_create(
        Response(survey=survey, mode="web", stratum=s, answers={"sat_water": a}, submitted_on=dt.date(2026, 5, 1))
        for s, a in answers
    )
    return survey


def test_the_frame_gives_the_finite_population_correction_and_a_whole_stratum_adds_nothing():
    town = ["5", "4", "2", "3", "4", "1", "5", "4", "2", "4"] * 4  # 40 of a town of 120
    survey = _survey("fpc", 120, town)
    water = analysis.analyse(survey).service("water")  # refused before: one farm, one unit
    values = np.array([int(a) for a in town] + [5], dtype=float)
    d = estimates.design(n=41, strata=["town"] * 40 + ["farm"], population_sizes=[120] * 40 + [1])
    expected = estimates.weighted_mean(values, d)
    assert water.result.mean.se == pytest.approx(expected.se, rel=1e-12)
    # The town's 40 of 120 shrink its variance by (1 − 40/120) against "with replacement".
    without = estimates.design(n=41, strata=["town"] * 40 + ["farm"], lonely_psu="certainty")
    assert water.result.mean.se == pytest.approx(estimates.weighted_mean(values, without).se * (2 / 3) ** 0.5)
    steps = dict((s.key, s.value) for s in water.result.mean.steps)
    assert steps["finite_population_correction"] == "yes" and steps["certainty_strata"] == 1


def test_stratum_populations_typed_on_the_weighting_page_give_the_correction(client):
    from django.contrib.auth import get_user_model

    from municipium.surveys import weighting

    town = ["5", "4", "2", "3", "4", "1", "5", "4", "2", "4"] * 3  # 30 answers
    survey = _survey("typed", 30, town)
    survey.frames.all().delete()  # no frame: only typed sizes can give the correction
    before = analysis.analyse(survey).service("water").result.mean
    assert dict((s.key, s.value) for s in before.steps)["finite_population_correction"] == "no"

    client.force_login(get_user_model().objects.create_superuser("typed-admin", password="x"))
    page = client.get(f"/en/surveys/{survey.pk}/weight/").content.decode()
    assert "Population of each stratum" in page and 'name="stratum-size-1"' in page  # farm, town
    refused = client.post(f"/en/surveys/{survey.pk}/weight/", {"stratum-size-0": "1", "stratum-size-1": "12"})
    assert refused.status_code == 422 and "at least its 30 kept responses" in refused.content.decode()
    survey.refresh_from_db()
    assert "stratum_sizes" not in survey.weighting  # nothing stored

    weighting.save_settings(survey, {}, {}, stratum_sizes={"farm": "1", "town": "90"})
    values = np.array([int(a) for a in town] + [5], dtype=float)
    d = estimates.design(n=31, strata=["town"] * 30 + ["farm"], population_sizes=[90] * 30 + [1])
    after = analysis.analyse(survey).service("water").result.mean
    assert after.se == pytest.approx(estimates.weighted_mean(values, d).se, rel=1e-12)
    assert after.se == pytest.approx(before.se * (1 - 30 / 90) ** 0.5)
