"""Analysis: per-service results with design-based intervals, breakdowns, the importance–
satisfaction matrix, and comparisons with warnings — checked against direct computation."""

import math

import pytest

from municipium.lib.survey import estimates
from municipium.surveys import analysis, weighting
from municipium.surveys.models import Response, Survey
from tests.factories import group, unit
from tests.surveys.responses import MARGINS, SERVICES, questionnaire, respond

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    s = questionnaire(unit("RS-20"))
    respond(s, 300, seed=7)
    return s


def test_the_share_satisfied_counts_the_top_two_boxes_and_leaves_dont_know_out(survey):
    result = analysis.analyse(survey)
    water = result.service("water")
    answers = [r.answers["sat_water"] for r in survey.responses.all()]
    known = [a for a in answers if a != "dk"]
    assert water.n == len(known) and water.result.dont_know == answers.count("dk")
    assert water.share.value == pytest.approx(sum(a in ("4", "5") for a in known) / len(known))
    mean = sum(int(a) for a in known) / len(known)
    assert water.result.mean.value == pytest.approx(mean)
    assert water.result.index.value == pytest.approx((mean - 1) / 4 * 100)
    # Unweighted simple random sample: the normal interval around the share, as the library gives it.
    p = water.share.value
    assert water.share.ci_high - water.share.ci_low == pytest.approx(
        2 * 1.96 * math.sqrt(p * (1 - p) / len(known)), rel=0.05
    )
    assert [s.service for s in result.services] == list(SERVICES)
    assert result.overall is not None and not result.weighted


def test_weighting_moves_the_estimates_towards_the_population(survey):
    before = analysis.analyse(survey).service("roads").share.value
    weighting.save_settings(survey, MARGINS, {})
    weighting.compute(survey)
    after = analysis.analyse(survey)
    # The sample over-represents the happier north; the weighted share is lower.
    assert after.weighted and after.service("roads").share.value < before


def test_breakdowns_give_each_demographic_category_its_own_share(survey):
    result = analysis.analyse(survey)
    area = next(b for b in result.breakdowns if b.question.name == "area")
    (north, _l, north_cells, north_n), (south, _m, south_cells, south_n) = area.rows
    assert (north, south) == ("north", "south") and north_n + south_n == 300
    assert north_cells["water"].value > south_cells["water"].value
    direct = [
        r.answers["sat_water"]
        for r in survey.responses.all()
        if r.answers["area"] == "north" and r.answers["sat_water"] != "dk"
    ]
    assert north_cells["water"].value == pytest.approx(sum(a in ("4", "5") for a in direct) / len(direct))


def test_the_matrix_puts_important_unsatisfying_services_first(survey):
    gaps = analysis.analyse(survey).gaps
    by_service = {g.service: g for g in gaps.services}
    assert by_service["roads"].priority == 1 and by_service["roads"].quadrant == estimates.CONCENTRATE
    assert by_service["green_areas"].quadrant in (estimates.OVERKILL, estimates.LOW_PRIORITY)


def test_comparison_with_the_previous_survey_is_holm_corrected(survey):
    later = questionnaire(survey.unit, year=2026, previous=survey)
    respond(later, 300, seed=8, shift=0.6)
    [comparison] = analysis.comparisons(later)
    assert comparison.kind == "previous" and comparison.warnings == []
    p = [row.test.p_value for row in comparison.rows]
    assert [row.p_adjusted for row in comparison.rows] == pytest.approx(estimates.p_adjust(p, "holm"))
    assert all(row.test.difference > 0 for row in comparison.rows)
    assert any(row.significant for row in comparison.rows)


def test_changed_wording_mode_and_weighting_are_warned_about(survey):
    later = questionnaire(
        survey.unit,
        year=2026,
        previous=survey,
        wording={"sat_roads": "How satisfied are you with the state of the streets?"},
    )
    respond(later, 200, seed=9, mode=Response.Mode.PHONE)
    weighting.save_settings(later, MARGINS, {})
    weighting.compute(later)
    [comparison] = analysis.comparisons(later)
    text = " ".join(comparison.warnings)
    assert "worded differently for: Local roads and streets." in text
    assert "answered in different ways" in text and "weighted differently" in text
    roads = next(r for r in comparison.rows if r.service == "roads")
    assert roads.wording_differs


def test_published_surveys_of_the_groups_other_members_in_the_same_year_are_compared(survey):
    peer, stranger = unit("RS-21"), unit("RS-22")
    group("rasina-test", [survey.unit, peer])
    theirs = questionnaire(peer, step=Survey.Step.PUBLISHED)
    respond(theirs, 200, seed=10, shift=-0.5)
    unpublished = questionnaire(peer, code="draft")
    respond(unpublished, 50, seed=11)
    respond(questionnaire(stranger, step=Survey.Step.PUBLISHED), 50, seed=12)
    compared = analysis.comparisons(survey)
    assert [(c.kind, c.other) for c in compared] == [("peer", theirs)]


def test_the_model_questionnaire_analyses_weights_and_publishes(model_survey):
    """Responses drawn at random over every closed question of the model questionnaire."""
    import datetime as dt
    import random

    from django.contrib.auth import get_user_model

    from municipium.surveys import publish
    from municipium.surveys.models import Question

    rng = random.Random(11)
    choices = {}
    for choice in model_survey.choices.all():
        choices.setdefault(choice.list_name, []).append(choice.name)
    closed = [q for q in model_survey.questions.all() if q.kind == Question.Kind.SELECT_ONE]
    Response.objects.bulk_create(
        Response(
            survey=model_survey,
            mode="web",
            submitted_on=dt.date(2026, 3, 1),
            answers={q.name: rng.choice(choices[q.list_name]) for q in closed},
        )
        for _ in range(120)
    )
    result = analysis.analyse(model_survey)
    assert len(result.services) >= 5 and all(s.result is not None for s in result.services)
    assert result.gaps is not None and result.breakdowns
    sex = next(q for q in closed if q.role == Question.Role.DEMOGRAPHIC and q.list_name == "sex")
    with pytest.raises(weighting.WeightingError, match=f"no answer to {sex.name}"):
        weighting.save_settings(model_survey, {sex.name: {"female": 52, "male": 48}}, {})
        weighting.compute(model_survey)
    outcome = publish.publish(model_survey, actor=get_user_model().objects.create_superuser("admin"))
    assert outcome["created"] == 5 * (len(result.services) + 1)


def test_an_analysis_is_reused_until_a_response_is_added_excluded_or_reweighted(survey):
    from municipium.surveys import cleaning

    first = analysis.analyse(survey)
    assert analysis.analyse(Survey.objects.get(pk=survey.pk)) is first
    cleaning.decide(survey, [survey.responses.order_by("id").first().id], exclude=True, reason="test: a duplicate")
    excluded = analysis.analyse(survey)
    assert excluded is not first and excluded.n == first.n - 1
    respond(survey, 1, seed=99)
    assert analysis.analyse(survey).n == excluded.n + 1
    weighting.save_settings(survey, MARGINS, {})
    weighting.compute(survey)
    assert analysis.analyse(survey).weighted
