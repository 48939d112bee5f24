"""Cleaning: flags for duplicates, very fast completions and flat lines; the coordinator's
decisions with reasons, audited; refusals change nothing."""

import statistics

import pytest
from django.contrib.auth import get_user_model

from municipium.audit.models import AuditEvent
from municipium.surveys import cleaning
from municipium.surveys.models import Response, Survey
from tests.factories import unit
from tests.surveys.responses import SERVICES, questionnaire, respond

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    s = questionnaire(unit("RS-1"))
    respond(s, 60, seed=3)
    return s


def _flags(survey):
    return {r.id: r.flags for r in survey.responses.order_by("id")}


def test_clean_data_raises_no_flags(survey):
    assert cleaning.compute_flags(survey) == {"duplicate": 0, "speeder": 0, "straightliner": 0}
    survey.refresh_from_db()
    assert survey.step == Survey.Step.CLEAN


def test_a_copied_response_is_flagged_as_a_duplicate_but_not_the_original(survey):
    first = survey.responses.order_by("id").first()
    answers = dict(first.answers, remark="a different remark")
    copy = Response.objects.create(
        survey=survey,
        mode="paper",
        answers=answers,
        submitted_on=first.submitted_on,
        duration_seconds=first.duration_seconds,
    )
    cleaning.compute_flags(survey)
    flags = _flags(survey)
    assert flags[copy.id] == ["duplicate"] and flags[first.id] == []


def test_an_import_row_imported_twice_is_a_duplicate(survey):
    a, b = list(survey.responses.order_by("id")[:2])
    for response in (a, b):
        response.source, response.source_row = "f" * 64, 7
    Response.objects.bulk_update([a, b], ["source", "source_row"])
    cleaning.compute_flags(survey)
    assert _flags(survey)[b.id] == ["duplicate"] and _flags(survey)[a.id] == []


def test_a_completion_under_a_third_of_the_median_is_very_fast(survey):
    fast, borderline, *rest = list(survey.responses.order_by("id"))
    # The two changed durations stay below the median, so the median is the others' middle.
    durations = sorted(r.duration_seconds for r in rest) + [1, 1]
    median = statistics.median(durations)
    fast.duration_seconds = int(median / 3) - 1
    borderline.duration_seconds = int(median / 3) + 1
    Response.objects.bulk_update([fast, borderline], ["duration_seconds"])
    cleaning.compute_flags(survey)
    assert "speeder" in _flags(survey)[fast.id]
    assert "speeder" not in _flags(survey)[borderline.id]


def test_too_few_timed_responses_give_no_speed_flags():
    s = questionnaire(unit("RS-2"))
    for response in respond(s, 5, seed=1):
        response.duration_seconds = 5 if response.pk % 2 else 600
        response.save()
    assert cleaning.compute_flags(s)["speeder"] == 0


def test_the_same_answer_on_every_grid_item_is_a_flat_line(survey):
    assert [len(g) for g in cleaning.grids(survey)] == [len(SERVICES), len(SERVICES)]
    flat, dont_know = list(survey.responses.order_by("id")[:2])
    flat.answers.update({f"sat_{s}": "4" for s in SERVICES})
    dont_know.answers.update({f"sat_{s}": "4" for s in SERVICES[:-1]})
    dont_know.answers.pop(f"sat_{SERVICES[-1]}")  # one item unanswered: not a flat line
    Response.objects.bulk_update([flat, dont_know], ["answers"])
    cleaning.compute_flags(survey)
    assert _flags(survey)[flat.id] == ["straightliner"]
    assert "straightliner" not in _flags(survey)[dont_know.id]


def test_the_coordinator_excludes_with_a_reason_and_it_is_audited(survey):
    officer = get_user_model().objects.create_user("coordinator")
    target = survey.responses.first()
    assert cleaning.decide(survey, [target.id], exclude=True, reason="Same person twice", actor=officer) == 1
    target.refresh_from_db()
    assert target.excluded and target.decision_reason == "Same person twice"
    event = AuditEvent.objects.get(action="exclude")
    assert event.actor == officer and event.after["decision_reason"] == "Same person twice"
    assert event.before == {"excluded": False, "decision_reason": ""}
    before_after = cleaning.summary(survey)
    assert (before_after.total, before_after.excluded, before_after.kept) == (60, 1, 59)
    assert cleaning.included(survey).count() == 59
    cleaning.decide(survey, [target.id], exclude=False, reason="Checked: a different household", actor=officer)
    assert cleaning.included(survey).count() == 60


@pytest.mark.parametrize("reason, ids", [("  ", "own"), ("fine", "foreign")])
def test_a_decision_without_reason_or_on_another_surveys_response_changes_nothing(survey, reason, ids):
    other = questionnaire(unit("RS-3"))
    respond(other, 2, seed=9)
    chosen = [survey.responses.first().id] + ([other.responses.first().id] if ids == "foreign" else [])
    state = list(Response.objects.order_by("id").values_list("excluded", "decision_reason"))
    with pytest.raises(cleaning.CleaningError) as error:
        cleaning.decide(survey, chosen, exclude=True, reason=reason)
    assert ("reason" in str(error.value)) if ids == "own" else (str(chosen[1]) in str(error.value))
    assert list(Response.objects.order_by("id").values_list("excluded", "decision_reason")) == state
    assert not AuditEvent.objects.filter(action="exclude").exists()


def test_decisions_survive_a_recomputation_of_the_flags(survey):
    first = survey.responses.order_by("id").first()
    Response.objects.create(survey=survey, mode="web", answers=first.answers, submitted_on=first.submitted_on)
    cleaning.compute_flags(survey)
    copy = survey.responses.order_by("id").last()
    cleaning.decide(survey, [copy.id], exclude=True, reason="duplicate")
    cleaning.compute_flags(survey)
    copy.refresh_from_db()
    assert copy.excluded and copy.flags == ["duplicate"]
    assert cleaning.summary(survey).undecided == 0


def test_the_model_questionnaires_satisfaction_battery_is_one_grid_across_its_service_groups(model_survey):
    # Each service has its own XLSForm group there, so grouping by XLSForm group alone would
    # find no grid at all and never flag a flat line.
    satisfaction = [q.name for q in model_survey.questions.filter(role="satisfaction")]
    assert len(satisfaction) >= cleaning.GRID_MIN_ITEMS
    assert sorted(satisfaction) in [sorted(grid) for grid in cleaning.grids(model_survey)]
    Response.objects.create(
        survey=model_survey,
        mode=Response.Mode.PAPER,
        submitted_on="2025-05-01",
        answers={name: "3" for name in satisfaction},
    )
    Response.objects.create(
        survey=model_survey,
        mode=Response.Mode.PAPER,
        submitted_on="2025-05-01",
        answers={name: str(1 + i % 5) for i, name in enumerate(satisfaction)},
    )
    assert cleaning.compute_flags(model_survey)[cleaning.STRAIGHTLINER] == 1
