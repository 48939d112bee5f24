"""One check for every channel: relevance in order (groups included), conversion of what
people type in their language, choice lists, constraints with their own message, required
only when relevant, and answers to irrelevant questions dropped."""

import pytest
from django.utils.translation import override

from municipium.surveys.answers import Questionnaire, check
from municipium.surveys.models import Question

from .fieldwork import GOOD, questionnaire

pytestmark = pytest.mark.django_db


@pytest.fixture
def form():
    return Questionnaire.of(questionnaire())


def test_good_answers_come_back_converted(form):
    checked = check(form, GOOD, language="sr")
    assert checked.ok, checked.errors
    assert checked.answers == {
        "uses_water": "yes",
        "sat_water": "4",
        "age": 42,
        "bill": 12.5,
        "channels": ["phone", "email"],
    }


def test_persian_digits_and_separators_are_read(form):
    checked = check(form, {**GOOD, "age": "۴۲", "bill": "۱۲٫۵"}, language="fa")
    assert checked.ok and checked.answers["age"] == 42 and checked.answers["bill"] == 12.5


def test_a_group_that_is_not_relevant_drops_its_answers_and_requires_nothing(form):
    checked = check(form, {"uses_water": "no", "sat_water": "9", "why_water": "stale", "age": "30"})
    assert checked.ok
    assert checked.answers == {"uses_water": "no", "age": 30}
    assert "water" not in checked.relevant and "sat_water" not in checked.relevant


def test_a_follow_up_question_is_relevant_only_after_a_low_score(form):
    low = check(form, {**GOOD, "sat_water": "2", "why_water": "brown water"})
    high = check(form, {**GOOD, "sat_water": "5", "why_water": "brown water"})
    assert low.answers["why_water"] == "brown water"
    assert "why_water" not in high.answers


def test_a_value_outside_the_scale_is_refused_naming_the_question(form):
    checked = check(form, {**GOOD, "sat_water": "7"})
    assert not checked.ok
    assert [e.question for e in checked.errors] == ["sat_water"]
    assert "“7” is not one of the answers (1, 2, 3, 4, 5, dk)" in checked.errors[0].message


def test_dont_know_is_an_answer_like_the_others(form):
    assert check(form, {**GOOD, "sat_water": "dk"}).answers["sat_water"] == "dk"


def test_multiple_choice_accepts_a_list_or_odk_space_separated_names_and_refuses_unknown_ones(form):
    assert check(form, {**GOOD, "channels": "office phone"}).answers["channels"] == ["phone", "office"]
    bad = check(form, {**GOOD, "channels": ["phone", "fax"]})
    assert bad.errors_by_question() == {"channels": [bad.errors[0].message]} and "fax" in bad.errors[0].message


def test_required_answers_missing_are_listed_one_by_one(form):
    checked = check(form, {"uses_water": "yes"})
    assert [e.question for e in checked.errors] == ["sat_water", "age"]
    assert all(e.message == "an answer is required" for e in checked.errors)


def test_constraint_message_comes_in_the_respondents_language(form):
    with override("sr"):
        checked = check(form, {**GOOD, "age": "12"}, language="sr")
    assert checked.errors[0].message == "Године морају бити између 16 и 110."
    assert check(form, {**GOOD, "age": "12"}, language="fa").errors[0].message == "سن باید بین ۱۶ و ۱۱۰ باشد."


def test_a_constraint_without_message_still_says_the_answer_is_not_allowed(form):
    checked = check(form, {**GOOD, "bill": "-3"})
    assert [(e.question, e.message) for e in checked.errors] == [("bill", "the answer is not allowed here")]


def test_numbers_that_are_not_numbers_or_not_whole_are_refused(form):
    checked = check(form, {**GOOD, "age": "forty", "bill": "1,2,3"}, language="en")
    assert [e.question for e in checked.errors] == ["age", "bill"]
    assert "not a number" in checked.errors[0].message
    assert check(form, {**GOOD, "age": "42.5"}, language="en").errors[0].message == "a whole number is expected"


def test_errors_can_be_limited_to_the_page_on_screen_while_relevance_uses_everything(form):
    checked = check(form, {"uses_water": "yes"}, only={"uses_water", "sat_water", "why_water"})
    assert [e.question for e in checked.errors] == ["sat_water"]


def test_an_overlong_open_answer_is_refused_not_cut(form):
    checked = check(form, {**GOOD, "sat_water": "1", "why_water": "x" * 5001})
    assert [e.question for e in checked.errors] == ["why_water"]


def test_pages_are_the_top_level_groups_and_the_questions_between_them(form):
    assert [[q.name for q in page] for page in form.pages()] == [
        ["intro", "uses_water"],
        ["water", "sat_water", "why_water", "water"],
        ["about", "age", "bill", "channels", "about"],
    ]
    assert all(q.kind != Question.Kind.END_GROUP for q in [form.pages()[0][0]])
