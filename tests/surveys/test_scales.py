"""Rated questions carry a declared scale (issue 11): 1–7, 0–10 and a 1–5 with 99 as "don't
know" are imported with their scale, and shares, means, the 0–100 index and the page headers
follow it; a list that does not fit its scale is refused with sheet, row and cell."""

import datetime as dt

import numpy as np
import pytest

from municipium.lib.survey import estimates
from municipium.surveys import analysis, results_views, xlsform
from municipium.surveys.models import Response, Survey
from tests.factories import unit
from tests.surveys.test_xlsform import refusal, workbook
from tests.world import rolled_back

pytestmark = pytest.mark.django_db


def rated_form(points, *, scale="", satisfied="", extra_choices=(), missing_column=True):
    header = ["type", "name", "label", "municipium_role", "municipium_service"]
    rows = [["select_one rating", "sat_water", "How satisfied?", "satisfaction", "water"]]
    if scale or satisfied:
        header += ["municipium_scale", "municipium_satisfied"]
        rows[0] += [scale, satisfied]
    choices = [["list_name", "name", "label", *(["municipium_missing"] if missing_column else [])]]
    choices += [["rating", str(p), f"point {p}", *([""] if missing_column else [])] for p in points]
    choices += [["rating", name, name, *([flag] if missing_column else [])] for name, flag in extra_choices]
    return workbook([header, *rows], choices)


# (form, answers given, the satisfied points, low, high)
CASES = {
    "1-7": (rated_form(range(1, 8), scale="1-7", satisfied="6,7"), ["7", "6", "5", "1", "4", "7", "2", "6"], 1, 7),
    "0-10": (
        rated_form(range(0, 11), scale="0–10", satisfied="9-10"),
        ["10", "0", "9", "8", "5", "10", "3", "7", "9", "dk"],
        0,
        10,
    ),
    "99 is don't know": (
        rated_form(range(1, 6), extra_choices=[("99", "yes")]),
        ["5", "4", "99", "99", "1", "3", "4", "99"],
        1,
        5,
    ),
}


@pytest.fixture(scope="module")
def surveys(django_db_setup, django_db_blocker):
    with rolled_back(django_db_blocker):
        place = unit("XX-SCALE")
        made = {}
        for position, (case, (data, given, _low, _high)) in enumerate(CASES.items()):
            data = (
                data
                if case != "0-10"
                else rated_form(range(0, 11), scale="0–10", satisfied="9-10", extra_choices=[("dk", "yes")])
            )
            survey = Survey.objects.create(unit=place, year=2026, code=f"scale-{position}", step=Survey.Step.ANALYSE)
            xlsform.replace(survey, xlsform.read(data, f"{case}.xlsx"))
            Response.objects.bulk_create(
                Response(survey=survey, mode="web", answers={"sat_water": a}, submitted_on=dt.date(2026, 5, 1))
                for a in given
            )
            made[case] = survey
        yield made


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_shares_means_and_the_index_follow_the_declared_scale(surveys, case):
    _data, given, low, high = CASES[case]
    survey = surveys[case]
    question = survey.questions.get(name="sat_water")
    satisfied = question.scale["satisfied"]
    assert (question.scale["low"], question.scale["high"]) == (low, high)
    values = [int(a) for a in given if a.isdigit() and low <= int(a) <= high]
    water = analysis.analyse(survey).service("water")
    assert water.n == len(values) and water.result.dont_know == len(given) - len(values)
    assert water.share.value == pytest.approx(np.mean([v in satisfied for v in values]))
    assert water.result.mean.value == pytest.approx(np.mean(values))
    assert water.result.index.value == pytest.approx((np.mean(values) - low) / (high - low) * 100)
    shown = results_views.results(survey)
    assert shown["mean_header"] == f"Mean ({low}–{high})"
    assert f"an answer of {', '.join(str(v) for v in satisfied)} on the scale {low}–{high}" in shown["satisfied_note"]


def test_the_declared_scale_survives_export_and_import(surveys):
    survey = surveys["1-7"]
    form = xlsform.read(xlsform.export(survey), "export.xlsx")
    assert form.questions[0]["scale"] == {"low": 1, "high": 7, "satisfied": [6, 7]}


REFUSED = {
    # A 1–7 list without a declared scale: 6 and 7 fall outside the default 1–5.
    "undeclared 1-7": (rated_form(range(1, 8)), ("choices", 7, "municipium_missing", "D7"), "outside the scale 1–5"),
    # 99 as "don't know" but not marked: it would enter the mean as 99.
    "unmarked 99": (
        rated_form(range(1, 6), extra_choices=[("99", "")]),
        ("choices", 7, "municipium_missing", "D7"),
        "'99'",
    ),
    "unreadable scale": (
        rated_form(range(1, 6), scale="one to five", satisfied="4,5"),
        ("survey", 2, "municipium_scale", "F2"),
        "not a scale",
    ),
    "satisfied off the scale": (
        rated_form(range(1, 8), scale="1-7", satisfied="7,8"),
        ("survey", 2, "municipium_satisfied", "G2"),
        "count as satisfied",
    ),
    "every point satisfied": (
        rated_form(range(1, 6), scale="1-5", satisfied="1-5"),
        ("survey", 2, "municipium_satisfied", "G2"),
        "count as satisfied",
    ),
    "list lacks a point": (
        rated_form(range(1, 7), scale="1-7", satisfied="6,7"),
        ("survey", 2, "municipium_scale", "F2"),
        "lacks the choice(s) 7",
    ),
}


@pytest.mark.parametrize("case", [c for c in REFUSED if REFUSED[c][1]], ids=[c for c in REFUSED if REFUSED[c][1]])
def test_a_list_that_does_not_fit_its_scale_is_refused_with_its_cell(case):
    data, (sheet, row, column, cell), message = REFUSED[case]
    problems = refusal(data)
    first = problems[0]
    assert (first.sheet, first.row, first.column, first.cell) == (sheet, row, column, cell), [str(p) for p in problems]
    assert len(problems) == (2 if case == "undeclared 1-7" else 1)  # 6 and 7 each on their row
    assert message in problems[0].message


def test_a_point_of_the_scale_marked_dont_know_is_refused():
    header = ["type", "name", "municipium_role", "municipium_scale", "municipium_satisfied"]
    choices = [["list_name", "name", "municipium_missing"]] + [
        ["r", str(p), "yes" if p == 0 else ""] for p in range(11)
    ]
    (problem,) = refusal(workbook([header, ["select_one r", "s", "satisfaction", "0-10", "9,10"]], choices))
    assert (problem.sheet, problem.row, problem.cell) == ("choices", 2, "C2") and "marked as" in problem.message


def test_the_library_counts_the_declared_points_and_keeps_top_boxes_as_before():
    answers = [1, 2, 3, 4, 5, 5, 4, 2, estimates.DONT_KNOW]
    top_two = estimates.satisfaction(answers)
    declared = estimates.satisfaction(answers, satisfied=(4, 5))
    assert declared.share_satisfied == top_two.share_satisfied  # bit-identical on 1–5
    only_five = estimates.satisfaction(answers, satisfied=(5,))
    assert only_five.share_satisfied.value == 2 / 8
    with pytest.raises(ValueError, match="some, not all"):
        estimates.satisfaction(answers, satisfied=(1, 2, 3, 4, 5))


def test_the_questionnaire_page_shows_the_declared_scale(surveys, client):
    from django.contrib.auth import get_user_model

    client.force_login(get_user_model().objects.create_superuser("scale-admin", password="x"))
    page = client.get(f"/en/surveys/{surveys['0-10'].pk}/").content.decode()
    assert "Scale 0–10; counted as satisfied: 9, 10" in page
    persian = client.get(f"/fa/surveys/{surveys['1-7'].pk}/").content.decode()
    assert "۱–۷" in persian and "۶, ۷" in persian
