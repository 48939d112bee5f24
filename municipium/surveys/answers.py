"""Checking answers: the one place that decides what a response may contain.

The respondent's web form, the interviewer's and the paper-entry form, and the import of
KoboToolbox/ODK and LimeSurvey exports all hand their raw answers (strings as typed, lists
from check boxes, space-separated names from a CSV) to `check`. So a value that is refused
on the web is refused in a file too, and the analysis never meets an answer outside its scale.

The rules follow XLSForm as ODK applies them: questions are read in order; a question is
relevant when its own `relevant` and that of every group around it hold for the answers
given so far; an irrelevant question's answer is dropped (not kept as stale data); `required`
and `constraint` apply only to relevant questions, `constraint` with `.` as the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.lib.numbers import format_number
from municipium.lib.texts import pick
from municipium.observations.rules import NumberError, parse_number

from .expressions import ExpressionError, parse
from .models import Choice, Question

Kind = Question.Kind
# Open answers longer than this are refused rather than truncated: a person should know.
MAX_TEXT = 5000
ANSWERED_KINDS = {Kind.SELECT_ONE, Kind.SELECT_MULTIPLE, Kind.INTEGER, Kind.DECIMAL, Kind.TEXT}
# What opens and closes a block. A repeat (household members) is kept for ODK and
# KoboToolbox but not asked here: its block counts as never relevant.
OPENING = {Kind.BEGIN_GROUP, Kind.BEGIN_REPEAT}
CLOSING = {Kind.END_GROUP, Kind.END_REPEAT}


@dataclass(frozen=True)
class AnswerError:
    """One answer that cannot be accepted: which question and what is wrong."""

    question: str
    message: str

    def __str__(self) -> str:
        return f"{self.question}: {self.message}"


@dataclass
class Checked:
    answers: dict
    errors: list[AnswerError]
    # Names of the questions (and groups) relevant for these answers, in order.
    relevant: list[str]

    @property
    def ok(self) -> bool:
        return not self.errors

    def errors_by_question(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for error in self.errors:
            found.setdefault(error.question, []).append(error.message)
        return found


@dataclass
class Questionnaire:
    """A survey's rows and choice lists, read once per request and checked against many times."""

    survey: object
    questions: list[Question]
    choices: dict[str, list[Choice]] = field(default_factory=dict)

    @classmethod
    def of(cls, survey) -> Questionnaire:
        lists: dict[str, list[Choice]] = {}
        for choice in Choice.objects.filter(survey=survey).order_by("list_name", "order"):
            lists.setdefault(choice.list_name, []).append(choice)
        return cls(survey, list(Question.objects.filter(survey=survey).order_by("order")), lists)

    @cached_property
    def names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.questions if q.name)

    @cached_property
    def by_name(self) -> dict[str, Question]:
        return {q.name: q for q in self.questions if q.name and q.kind in ANSWERED_KINDS}

    @cached_property
    def group_names(self) -> frozenset[str]:
        return frozenset(q.name for q in self.questions if q.kind == Kind.BEGIN_GROUP and q.name)

    def choice_names(self, question: Question) -> list[str]:
        return [c.name for c in self.choices.get(question.list_name, [])]

    def pages(self) -> list[list[Question]]:
        """The questionnaire cut where a respondent turns a page: each top-level group is a
        page, and the questions between top-level groups make a page of their own."""
        pages: list[list[Question]] = []
        current: list[Question] = []
        depth = 0
        for question in self.questions:
            if question.kind == Kind.BEGIN_GROUP and depth == 0 and current:
                pages.append(current)
                current = []
            current.append(question)
            if question.kind in OPENING:
                depth += 1
            elif question.kind in CLOSING:
                depth = max(0, depth - 1)
                if depth == 0:
                    pages.append(current)
                    current = []
        if current:
            pages.append(current)
        return pages


def _blank(raw) -> bool:
    if raw is None:
        return True
    if isinstance(raw, (list, tuple, set)):
        return not [item for item in raw if str(item).strip()]
    return str(raw).strip() == ""


def _condition(text: str, questionnaire: Questionnaire):
    # Questionnaires are checked when imported; an expression that still does not parse
    # (edited in the database) counts as "no condition" rather than locking everyone out.
    try:
        return parse(text, questionnaire.names)
    except ExpressionError:
        return None


def _convert(question: Question, raw, questionnaire: Questionnaire, language: str | None):
    """(value, error message or None) for one non-blank raw answer."""
    if question.kind == Kind.SELECT_ONE:
        if isinstance(raw, (list, tuple)):
            if len(raw) != 1:
                return None, _("choose one answer only")
            raw = raw[0]
        value = str(raw).strip()
        allowed = questionnaire.choice_names(question)
        if value not in allowed:
            return None, _("“%(value)s” is not one of the answers (%(allowed)s)") % {
                "value": value[:40],
                "allowed": ", ".join(allowed),
            }
        return value, None
    if question.kind == Kind.SELECT_MULTIPLE:
        items = raw if isinstance(raw, (list, tuple, set)) else str(raw).split()
        chosen = {str(item).strip() for item in items if str(item).strip()}
        allowed = questionnaire.choice_names(question)
        unknown = sorted(chosen - set(allowed))
        if unknown:
            return None, _("“%(value)s” is not one of the answers (%(allowed)s)") % {
                "value": ", ".join(unknown)[:60],
                "allowed": ", ".join(allowed),
            }
        return [name for name in allowed if name in chosen], None
    if question.kind in (Kind.INTEGER, Kind.DECIMAL):
        if isinstance(raw, bool):
            return None, _("a number is expected")
        if isinstance(raw, (int, float)):
            number = float(raw)
        else:
            try:
                number = parse_number(str(raw), language)
            except NumberError as error:
                return None, str(error)
        if question.kind == Kind.INTEGER:
            if not number.is_integer():
                return None, _("a whole number is expected")
            return int(number), None
        return number, None
    value = str(raw).strip()
    if len(value) > MAX_TEXT:
        return None, ngettext(
            "the answer is longer than %(limit)s character", "the answer is longer than %(limit)s characters", MAX_TEXT
        ) % {"limit": format_number(MAX_TEXT, 0)}
    return value, None


def check(
    questionnaire: Questionnaire,
    raw: dict,
    *,
    language: str | None = None,
    only: set[str] | None = None,
    numbers_in: str | None = None,
) -> Checked:
    """Clean answers and the problems found, for raw answers keyed by question name.

    `language` is how numbers were typed and which language constraint messages are given
    in; `numbers_in` overrides the former for numbers (an export from KoboToolbox writes
    "12.5" whatever the officer who imports it reads). `only` limits the errors reported to those questions (the page a respondent is on);
    relevance and the clean answers are always worked out over the whole questionnaire,
    because a later page may depend on an earlier one.
    """
    answers: dict = {}
    errors: list[AnswerError] = []
    relevant: list[str] = []
    # One entry per open group: is it (and everything around it) relevant?
    groups: list[bool] = []

    def report(question: Question, message: str) -> None:
        if only is None or question.name in only:
            errors.append(AnswerError(question.name, message))

    for question in questionnaire.questions:
        if question.kind in CLOSING:
            if groups:
                groups.pop()
            continue
        outer = all(groups)
        condition = _condition(question.relevant, questionnaire) if question.relevant.strip() else None
        is_relevant = outer and (condition is None or condition.holds(answers))
        if question.kind == Kind.BEGIN_REPEAT:
            groups.append(False)
            continue
        if question.kind == Kind.BEGIN_GROUP:
            groups.append(is_relevant)
            if is_relevant and question.name:
                relevant.append(question.name)
            continue
        if not is_relevant:
            continue
        if question.name:
            relevant.append(question.name)
        if question.kind not in ANSWERED_KINDS or not question.name:
            continue
        value = raw.get(question.name)
        if _blank(value):
            if question.required:
                report(question, _("an answer is required"))
            continue
        value, problem = _convert(question, value, questionnaire, numbers_in or language)
        if problem:
            report(question, problem)
            continue
        if question.constraint.strip():
            constraint = _condition(question.constraint, questionnaire)
            if constraint is not None and not constraint.holds(answers, value):
                message = pick(question.constraint_message, language).text if question.constraint_message else ""
                report(question, message or _("the answer is not allowed here"))
                continue
        answers[question.name] = value
    return Checked(answers, errors, relevant)
