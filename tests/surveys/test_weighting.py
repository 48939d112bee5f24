"""Weighting: design weights, raking to margins entered or uploaded, trimming, the report;
bad margins are refused with clear messages and leave everything as it was."""

import pytest

from municipium.audit.models import AuditEvent
from municipium.surveys import cleaning, weighting
from municipium.surveys.models import Response, Survey
from tests.factories import unit
from tests.surveys.responses import MARGINS, questionnaire, respond

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    s = questionnaire(unit("RS-10"))
    respond(s, 300, seed=5)
    return s


def _state(survey):
    survey.refresh_from_db()
    return survey.weighting, list(survey.responses.order_by("id").values_list("weight", flat=True))


def test_without_probabilities_or_margins_everyone_weighs_one_and_the_report_says_so(survey):
    report = weighting.compute(survey)
    assert report["design"] == "none" and report["design_effect"] == pytest.approx(1.0)
    assert set(survey.responses.values_list("weight", flat=True)) == {1.0}
    survey.refresh_from_db()
    assert survey.step == Survey.Step.WEIGHT and weighting.is_weighted(survey)


def test_design_weights_are_the_inverse_inclusion_probabilities():
    s = questionnaire(unit("RS-11"))
    respond(s, 20, seed=1, inclusion_probability=0.05)
    respond(s, 20, seed=2, inclusion_probability=0.2)
    weighting.compute(s)
    assert sorted(set(s.responses.values_list("weight", flat=True))) == pytest.approx([5.0, 20.0])


def test_raking_reaches_every_margin_and_trimming_bounds_the_weights(survey):
    weighting.save_settings(survey, MARGINS, {"lower": "0,3", "upper": "3"})
    report = weighting.compute(survey)
    rows = {(r["question"], r["category"]): r for r in report["margins"]}
    # The sample leans north (≈60 %); the population is 40 % north.
    assert rows[("area", "north")]["sample"] > 55 and rows[("area", "north")]["population"] == pytest.approx(40)
    for row in rows.values():
        assert row["weighted"] == pytest.approx(row["population"], abs=1.5)
    weights = [w for w in survey.responses.values_list("weight", flat=True)]
    mean = sum(weights) / len(weights)
    assert max(weights) <= 3 * mean * (1 + 1e-9) and min(weights) >= 0.3 * mean * (1 - 1e-9)
    assert sum(weights) == pytest.approx(10_000)
    assert report["design_effect"] > 1 and report["effective_n"] == pytest.approx(300 / report["design_effect"])
    assert report["iterations"] >= 1 and report["converged"]
    assert AuditEvent.objects.filter(action="weight").exists()


def test_excluded_responses_get_no_weight_and_a_decision_invalidates_old_weights(survey):
    weighting.save_settings(survey, MARGINS, {})
    weighting.compute(survey)
    first = survey.responses.first()
    cleaning.decide(survey, [first.id], exclude=True, reason="test interview")
    assert not weighting.is_weighted(survey)
    weighting.compute(survey)
    first.refresh_from_db()
    assert first.weight is None and survey.responses.filter(weight__isnull=False).count() == 299


def test_margins_upload_as_csv_with_semicolons_and_decimal_commas(survey):
    data = b"question;category;total\nage;18-34;30\nage;35-54;35\nage;55+;35\nsex;f;52,5\nsex;m;47,5\n"
    margins = weighting.parse_margins_csv(data)
    assert weighting.validate_margins(survey, margins)["sex"] == {"f": 52.5, "m": 47.5}


@pytest.mark.parametrize(
    "margins, message",
    [
        ({"income": {"low": 1}}, "“income” is not a demographic question"),
        ({"sex": {"f": 5000, "x": 10, "m": 5000}}, "x are not choices"),
        ({"age": {"18-34": 3000, "35-54": 3500}}, "give a population total for 55+"),
        ({"sex": {"f": "many", "m": 4800}}, "f: the total must be a positive number, not “many”"),
        ({"sex": {"f": 0, "m": 4800}}, "f: the total must be a positive number"),
        ({"sex": {"f": 5200, "m": 4800}, "area": {"north": 40, "south": 60}}, "different populations"),
    ],
)
def test_bad_margins_are_refused_with_a_clear_message_and_nothing_changes(survey, margins, message):
    weighting.save_settings(survey, MARGINS, {})
    weighting.compute(survey)
    before = _state(survey)
    events = AuditEvent.objects.count()
    with pytest.raises(weighting.WeightingError) as error:
        weighting.save_settings(survey, margins, {})
    assert message in str(error.value)
    assert _state(survey) == before and AuditEvent.objects.count() == events


def test_a_malformed_upload_names_the_row():
    with pytest.raises(weighting.WeightingError, match="Row 3"):
        weighting.parse_margins_csv(b"question,category,total\nsex,f,1\nsex\n")
    with pytest.raises(weighting.WeightingError, match="question, category, total"):
        weighting.parse_margins_csv(b"a,b\n")
    with pytest.raises(weighting.WeightingError, match="UTF-8"):
        weighting.parse_margins_csv("question,category,total\nsex,ž,1\n".encode("cp1250"))


def test_unanswered_margin_questions_and_unreachable_margins_are_refused_untouched(survey):
    weighting.save_settings(survey, MARGINS, {})
    before = _state(survey)
    response = survey.responses.first()
    response.answers.pop("age")
    response.save()
    with pytest.raises(weighting.WeightingError, match="1 kept response has no answer to age"):
        weighting.compute(survey)
    assert _state(survey) == before
    Response.objects.filter(pk=response.pk).update(excluded=True)
    survey.responses.filter(answers__area="south").update(excluded=True)
    with pytest.raises(weighting.WeightingError, match="no respondent"):
        weighting.compute(survey)
    assert _state(survey) == before


def test_trimming_bounds_are_checked(survey):
    with pytest.raises(weighting.WeightingError, match="upper trimming bound"):
        weighting.save_settings(survey, MARGINS, {"upper": "0.5"})


def test_one_trimming_bound_alone_is_enough(survey):
    weighting.save_settings(survey, MARGINS, {"upper": "2"})
    report = weighting.compute(survey)
    survey.refresh_from_db()
    assert survey.weighting["report"]["trim_bounds"][0] is None
    assert report["max_weight"] <= 2 * report["mean_weight"] * (1 + 1e-9)


def test_a_margin_category_nobody_answered_is_refused_in_the_reader_s_language(survey):
    # issue 11: the reason came from lib/survey in English inside a translated sentence.
    from django.utils.translation import override

    weighting.save_settings(survey, MARGINS, {})
    survey.responses.filter(answers__area="south").update(excluded=True)
    with override("sr"), pytest.raises(weighting.WeightingError) as refused:
        weighting.compute(survey)
    assert "south имају укупан број у популацији, али ниједног испитаника" in str(refused.value.args)
    assert "variable" not in str(refused.value.args)
