"""Cleaning: flag responses that may not be genuine, and let the coordinator decide.

Three flags, each a rule an official can check by hand (the page states them):
- "duplicate": a later response whose answers to every substantive question are identical to
  an earlier one's, or an import row (same file and row) that arrived a second time;
- "speeder": completed in less than a third of the survey's median time — too fast to have
  read the questions;
- "straightliner": the same answer on every item of a grid of at least five scale items.

Flags never exclude anything by themselves: a flat line can be an honest "all fine". The
coordinator excludes or keeps each flagged response with a reason, and the reason is kept in
the audit trail. Flags are recomputed from the data whenever asked, so they always describe
the responses as they are; decisions survive a recomputation.
"""

from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from municipium.audit.models import record
from municipium.lib import bulk, stats

from .models import Question, Response, Survey

DUPLICATE, SPEEDER, STRAIGHTLINER = "duplicate", "speeder", "straightliner"
FLAG_LABELS = {
    DUPLICATE: gettext_lazy("Duplicate"),
    SPEEDER: gettext_lazy("Very fast"),
    STRAIGHTLINER: gettext_lazy("Same answer throughout"),
}
# A response under this share of the median duration is flagged as very fast.
SPEED_FRACTION = 1 / 3
# Fewer timed responses than this give no trustworthy median: no speed flags then.
SPEED_MIN_TIMED = 10
# A grid must have at least this many scale items before a flat line means anything.
GRID_MIN_ITEMS = 5
SUBSTANTIVE_KINDS = {
    Question.Kind.SELECT_ONE,
    Question.Kind.SELECT_MULTIPLE,
    Question.Kind.INTEGER,
    Question.Kind.DECIMAL,
}


class CleaningError(Exception):
    pass


def substantive_names(survey: Survey) -> list[str]:
    """Questions whose answers identify a duplicate: closed questions, not free text (a
    copied form with a different remark is still the same respondent twice)."""
    return [q.name for q in survey.questions.all() if q.kind in SUBSTANTIVE_KINDS and q.name]


def grids(survey: Survey) -> list[list[str]]:
    """Scale items answered in a row: the satisfaction items sharing one choice list, and the
    importance items (a battery stays a battery when each service has its own XLSForm group,
    as in the model questionnaire); untagged select_one items of one group and one list. Only
    sets of at least GRID_MIN_ITEMS count."""
    found: dict[tuple, list[str]] = defaultdict(list)
    group = 0
    depth = 0
    for q in survey.questions.all():
        if q.kind in (Question.Kind.BEGIN_GROUP, Question.Kind.BEGIN_REPEAT):
            depth += 1
            group += 1
        elif q.kind in (Question.Kind.END_GROUP, Question.Kind.END_REPEAT):
            depth = max(0, depth - 1)
        elif q.kind == Question.Kind.SELECT_ONE and q.list_name and q.name:
            if q.role in (Question.Role.SATISFACTION, Question.Role.IMPORTANCE):
                key = ("role", q.role, q.list_name)
            else:
                key = (group, q.list_name) if depth else ("role", q.role, q.list_name)
            found[key].append(q.name)
    return [names for names in found.values() if len(names) >= GRID_MIN_ITEMS]


def speed_threshold(durations: list[int]) -> float | None:
    """Seconds under which a completion counts as very fast, or None without enough timings."""
    if len(durations) < SPEED_MIN_TIMED:
        return None
    return stats.quantile(durations, 0.5) * SPEED_FRACTION


def compute_flags(survey: Survey, *, actor=None) -> dict:
    """Recompute every response's flags, store them and record one audit event; returns the
    counts per flag."""
    responses = list(survey.responses.order_by("id"))
    names = substantive_names(survey)
    survey_grids = grids(survey)
    threshold = speed_threshold([r.duration_seconds for r in responses if r.duration_seconds is not None])
    seen_answers: set[tuple] = set()
    seen_rows: set[tuple] = set()
    counts = {DUPLICATE: 0, SPEEDER: 0, STRAIGHTLINER: 0}
    changed = []
    for response in responses:
        flags = []
        answers = response.answers or {}
        key = tuple(_frozen(answers.get(name)) for name in names)
        row = (response.source, response.source_row) if response.source and response.source_row is not None else None
        if (any(v is not None for v in key) and key in seen_answers) or (row is not None and row in seen_rows):
            flags.append(DUPLICATE)
        seen_answers.add(key)
        if row is not None:
            seen_rows.add(row)
        if threshold is not None and response.duration_seconds is not None and response.duration_seconds < threshold:
            flags.append(SPEEDER)
        for grid in survey_grids:
            values = [answers.get(name) for name in grid]
            if all(v not in (None, "") for v in values) and len(set(values)) == 1:
                flags.append(STRAIGHTLINER)
                break
        for flag in flags:
            counts[flag] += 1
        if flags != list(response.flags or []):
            response.flags = flags
            changed.append(response)
    with transaction.atomic():
        bulk.update_column(Response, "flags", ((r.flags, r.pk) for r in changed), json=True)
        survey.advance(Survey.Step.CLEAN)
        record(
            "clean",
            survey,
            actor=actor,
            via="form",
            after={"flags": counts, "changed": len(changed), "speed_threshold": threshold},
        )
    return counts


def _frozen(value):
    return tuple(value) if isinstance(value, list) else value


def decide(survey: Survey, response_ids, *, exclude: bool, reason: str, actor=None) -> int:
    """Exclude (or keep) the given responses of the survey, with the coordinator's reason.

    All or nothing: an unknown response or a missing reason changes nothing."""
    reason = (reason or "").strip()
    if not reason:
        raise CleaningError(_("Give a reason for the decision: it is kept with the response and in the audit trail."))
    ids = {int(i) for i in response_ids}
    if not ids:
        raise CleaningError(_("Choose at least one response."))
    with transaction.atomic():
        responses = list(survey.responses.select_for_update().filter(id__in=ids).order_by("id"))
        if len(responses) != len(ids):
            missing = sorted(ids - {r.id for r in responses})
            raise CleaningError(
                _("These responses are not part of this survey: %(ids)s.") % {"ids": ", ".join(map(str, missing))}
            )
        for response in responses:
            before = {"excluded": response.excluded, "decision_reason": response.decision_reason}
            response.excluded = exclude
            response.decision_reason = reason
            record(
                "exclude" if exclude else "keep",
                response,
                actor=actor,
                via="form",
                before=before,
                after={"excluded": exclude, "decision_reason": reason, "flags": response.flags},
                object_repr=f"{survey.code} response {response.id}",
            )
        Response.objects.bulk_update(responses, ["excluded", "decision_reason"])
        if (survey.weighting or {}).get("report") or survey.responses.filter(weight__isnull=False).exists():
            # Who counts has changed, so the weights computed for the old set no longer hold.
            survey.responses.update(weight=None)
            survey.weighting = {k: v for k, v in survey.weighting.items() if k != "report"}
            survey.save(update_fields=["weighting"])
    return len(responses)


@dataclass
class Summary:
    total: int
    flagged: int
    excluded: int
    undecided: int  # flagged, no decision yet
    by_flag: dict

    @property
    def kept(self) -> int:
        return self.total - self.excluded


def summary(survey: Survey) -> Summary:
    rows = list(survey.responses.values_list("flags", "excluded", "decision_reason"))
    by_flag = {flag: sum(1 for flags, _e, _r in rows if flag in (flags or [])) for flag in FLAG_LABELS}
    return Summary(
        total=len(rows),
        flagged=sum(1 for flags, _e, _r in rows if flags),
        excluded=sum(1 for _f, excluded, _r in rows if excluded),
        undecided=sum(1 for flags, _e, reason in rows if flags and not reason),
        by_flag=by_flag,
    )


def included(survey: Survey):
    """The responses that count: every one the coordinator did not exclude."""
    return survey.responses.filter(excluded=False).order_by("id")
