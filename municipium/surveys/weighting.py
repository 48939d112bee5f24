"""Weighting: make the kept responses stand for the population the survey speaks for.

The statistics are the survey library's (`municipium.lib.survey.weights`); this module turns
what an official enters (population margins typed in or uploaded, trimming bounds) into its
arguments, refuses what cannot work with a message naming the question, category or row,
stores the weights on the responses and keeps a report of what weighting did.

Order, as the library documents it: design weights 1/π from the inclusion probabilities of
the draw (1 for everyone when the responses have none: a self-selected or census survey);
raking to the margins (each margin a demographic question of the questionnaire with a total
or share per choice); trimming to bounds expressed as multiples of the mean weight, so that
no respondent speaks for too many others. The weighting settings live in `Survey.weighting`
({"margins": {question: {choice: total}}, "trim": {"lower": x, "upper": y}, "report": {...}}).
"""

import csv
import io
import math

import numpy as np
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.audit.models import record
from municipium.lib import bulk
from municipium.lib.numbers import format_number
from municipium.lib.survey import weights as lib

from . import cleaning
from .models import Question, Response, Survey

DEFAULT_TRIM = {"lower": 0.3, "upper": 3.0}
MAX_UPLOAD_BYTES = 200_000


class WeightingError(Exception):
    """Carries every problem found, each a sentence a person can act on."""

    def __init__(self, problems):
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


def margin_questions(survey: Survey) -> dict[str, tuple[Question, dict[str, str]]]:
    """Demographic select_one questions that margins may name, with their choices (name →
    label as written, missing choices left out: "prefer not to say" has no population)."""
    from municipium.lib.texts import pick

    choices: dict[str, dict[str, str]] = {}
    for choice in survey.choices.filter(is_missing=False).order_by("list_name", "order"):
        choices.setdefault(choice.list_name, {})[choice.name] = pick(choice.label).text or choice.name
    return {
        q.name: (q, choices.get(q.list_name, {}))
        for q in survey.questions.all()
        if q.role == Question.Role.DEMOGRAPHIC and q.kind == Question.Kind.SELECT_ONE and q.name
    }


def parse_number(text) -> float | None:
    """A total as people type it: "1 234", "1234,5", "1,234.5". None when it is not a number."""
    if isinstance(text, int | float):
        return float(text)
    cleaned = str(text or "").strip().replace("\u00a0", "").replace("\u202f", "").replace(" ", "")
    if "," in cleaned and "." in cleaned:
        cleaned = cleaned.replace(",", "")
    elif "," in cleaned:
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def parse_margins_csv(data: bytes) -> dict:
    """Margins from a CSV file with the columns question, category, total (comma or
    semicolon separated, UTF-8). Every bad row is reported with its number."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise WeightingError(
            _("The file is larger than %(size)s kB; margins need only a few lines.")
            % {"size": format_number(MAX_UPLOAD_BYTES // 1000, 0)}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise WeightingError(
            _("The file is not UTF-8 text (byte %(position)s); save it as CSV UTF-8.") % {"position": error.start}
        ) from error
    delimiter = ";" if text.split("\n", 1)[0].count(";") > text.split("\n", 1)[0].count(",") else ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    header = [c.strip().lower() for c in rows[0]] if rows else []
    if header[:3] != ["question", "category", "total"]:
        raise WeightingError(_("The first line must name the columns question, category, total."))
    margins: dict[str, dict[str, object]] = {}
    problems = []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < 3:
            problems.append(_("Row %(row)s: three columns expected (question, category, total).") % {"row": number})
            continue
        question, category, total = (cell.strip() for cell in row[:3])
        if category in margins.get(question, {}):
            problems.append(
                _("Row %(row)s: %(question)s / %(category)s is given twice.")
                % {"row": number, "question": question, "category": category}
            )
            continue
        value = parse_number(total)
        margins.setdefault(question, {})[category] = value if value is not None else total
    if problems:
        raise WeightingError(problems)
    return margins


def validate_margins(survey: Survey, margins: dict) -> dict[str, dict[str, float]]:
    """Margins checked against the questionnaire: each names a demographic question, each
    category is one of its choices and every choice has a total, totals are positive
    numbers, and all margins describe the same population. Returns them as numbers."""
    known = margin_questions(survey)
    problems = []
    clean: dict[str, dict[str, float]] = {}
    for name, margin in margins.items():
        if name not in known:
            problems.append(
                _("“%(question)s” is not a demographic question of this survey (known: %(known)s).")
                % {"question": name, "known": ", ".join(sorted(known)) or "–"}
            )
            continue
        choices = known[name][1]
        unknown = [c for c in margin if c not in choices]
        if unknown:
            problems.append(
                _("%(question)s: %(categories)s are not choices of the question (its choices: %(choices)s).")
                % {"question": name, "categories": ", ".join(unknown), "choices": ", ".join(choices)}
            )
        lacking = [c for c in choices if c not in margin]
        if lacking:
            problems.append(
                _("%(question)s: give a population total for %(categories)s as well.")
                % {"question": name, "categories": ", ".join(lacking)}
            )
        values = {}
        for category, total in margin.items():
            value = parse_number(total)
            if value is None or value <= 0:
                problems.append(
                    _("%(question)s / %(category)s: the total must be a positive number, not “%(value)s”.")
                    % {"question": name, "category": category, "value": total}
                )
            else:
                values[category] = value
        clean[name] = values
    if not problems and len(clean) > 1:
        sums = {name: math.fsum(m.values()) for name, m in clean.items()}
        low, high = min(sums.values()), max(sums.values())
        if high - low > 0.005 * high:
            problems.append(
                _(
                    "The margins describe different populations (totals %(totals)s); each margin must "
                    "add up to the same total (or give all of them as percentages)."
                )
                % {"totals": ", ".join(f"{n}: {s:g}" for n, s in sums.items())}
            )
    if problems:
        raise WeightingError(problems)
    return clean


def validate_trim(lower, upper) -> dict:
    lo, hi = (
        parse_number(lower) if lower not in (None, "") else None,
        parse_number(upper) if upper not in (None, "") else None,
    )
    problems = []
    if lower not in (None, "") and (lo is None or not 0 < lo < 1):
        problems.append(_("The lower trimming bound is a multiple of the mean weight between 0 and 1, e.g. 0.3."))
    if upper not in (None, "") and (hi is None or hi <= 1):
        problems.append(_("The upper trimming bound is a multiple of the mean weight above 1, e.g. 3."))
    if problems:
        raise WeightingError(problems)
    return {"lower": lo, "upper": hi}


def response_strata(survey: Survey) -> dict[str, int]:
    """The kept responses' strata and how many responded in each (empty when any has none)."""
    strata = list(cleaning.included(survey).values_list("stratum", flat=True))
    if not strata or not all(strata):
        return {}
    counts: dict[str, int] = {}
    for stratum in strata:
        counts[stratum] = counts.get(stratum, 0) + 1
    return dict(sorted(counts.items()))


def validate_stratum_sizes(survey: Survey, sizes: dict) -> dict[str, int]:
    """Typed stratum population sizes (for the finite population correction): a whole
    number at least the stratum's kept responses, or empty (unknown). Unknown strata leave
    the analysis without the correction."""
    responded = response_strata(survey)
    clean, problems = {}, []
    for stratum, text in sizes.items():
        if str(text).strip() == "":
            continue
        number = parse_number(str(text))
        if stratum not in responded:
            problems.append(_("%(stratum)s is not a stratum of the kept responses.") % {"stratum": stratum})
        elif number is None or not float(number).is_integer() or number < responded[stratum]:
            problems.append(
                ngettext(
                    "%(stratum)s: the population is a whole number of at least its %(n)s kept response.",
                    "%(stratum)s: the population is a whole number of at least its %(n)s kept responses.",
                    responded[stratum],
                )
                % {"stratum": stratum, "n": format_number(responded[stratum], 0)}
            )
        else:
            clean[stratum] = int(number)
    if problems:
        raise WeightingError(problems)
    return clean


def save_settings(survey: Survey, margins: dict, trim: dict, *, stratum_sizes: dict | None = None, actor=None) -> None:
    """Store validated margins, trimming bounds and (when given) stratum population sizes;
    nothing is stored when anything is wrong."""
    clean = validate_margins(survey, margins)
    bounds = validate_trim(trim.get("lower"), trim.get("upper"))
    sizes = validate_stratum_sizes(survey, stratum_sizes) if stratum_sizes is not None else None
    with transaction.atomic():
        before = {k: survey.weighting.get(k) for k in ("margins", "trim", "stratum_sizes")}
        after = {"margins": clean, "trim": bounds}
        if sizes is not None:
            after["stratum_sizes"] = sizes
        survey.weighting = {**survey.weighting, **after}
        survey.save(update_fields=["weighting"])
        record(
            "update",
            survey,
            actor=actor,
            via="form",
            before=before,
            after=after,
            note="weighting settings",
        )


def compute(survey: Survey, *, actor=None) -> dict:
    """Weight the kept responses (excluded ones get no weight), store the weights and the
    report; all or nothing."""
    responses = list(cleaning.included(survey))
    if not responses:
        raise WeightingError(_("There are no kept responses to weight."))
    settings = survey.weighting or {}
    margins = validate_margins(survey, settings.get("margins") or {})
    trim = settings.get("trim") or {}

    probabilities = [r.inclusion_probability for r in responses]
    with_p = [p for p in probabilities if p is not None]
    if not with_p:
        design = np.ones(len(responses))
        design_note = "none"
    else:
        try:
            known = lib.design_weights(with_p)
        except ValueError as error:
            raise WeightingError(_("Inclusion probabilities: %(detail)s") % {"detail": error}) from error
        # Responses without a probability (a paper form from outside the draw) stand for as
        # many people as the average sampled respondent; the report says how many.
        fill = float(known.mean())
        it = iter(known)
        design = np.array([next(it) if p is not None else fill for p in probabilities])
        design_note = "all" if len(with_p) == len(responses) else "some"

    variables = {}
    problems = []
    known = margin_questions(survey)
    for name in margins:
        values = [r.answers.get(name) for r in responses]
        # "Prefer not to say" has no population total either: it counts as unanswered here.
        unanswered = sum(1 for v in values if v in (None, "") or v not in known[name][1])
        if unanswered:
            problems.append(
                ngettext(
                    "%(count)s kept response has no answer to %(question)s, so it cannot be weighted "
                    "to its margin; exclude it in cleaning or leave this margin out.",
                    "%(count)s kept responses have no answer to %(question)s, so they cannot be weighted "
                    "to its margin; exclude them in cleaning or leave this margin out.",
                    unanswered,
                )
                % {"count": format_number(unanswered, 0), "question": name}
            )
        # A category the population has but no kept response answered cannot be weighted up.
        empty = [category for category in margins[name] if category not in set(values)]
        if empty:
            problems.append(
                _(
                    "%(question)s: %(categories)s have a population total but no respondent; merge them "
                    "with another category or leave this margin out."
                )
                % {"question": name, "categories": ", ".join(empty)}
            )
        variables[name] = values
    if problems:
        raise WeightingError(problems)

    weights, raking = design, None
    if margins:
        try:
            raking = lib.rake(design, variables, margins)
        except lib.RakingError as error:
            raise WeightingError(
                _(
                    "The margins could not be reached: the weights did not settle, so the margins may not fit "
                    "the kept responses (for example, a combination nobody answered). Check the totals, or "
                    "leave a margin out."
                )
            ) from error
        except ValueError as error:
            raise WeightingError(_("The margins could not be reached: %(detail)s") % {"detail": error}) from error
        weights = raking.weights
    trimming = None
    if margins and (trim.get("lower") or trim.get("upper")):
        try:
            trimming = lib.trim_weights(
                weights, lower=trim.get("lower"), upper=trim.get("upper"), relative_to_mean=True
            )
        except ValueError as error:
            raise WeightingError(_("Trimming failed: %(detail)s") % {"detail": error}) from error
        weights = trimming.weights
    kish = lib.kish(weights)

    report = {
        "n": len(responses),
        "design": design_note,
        "without_probability": len(responses) - len(with_p),
        "margins": _margin_rows(margins, variables, weights),
        "design_effect": kish.design_effect,
        "effective_n": kish.effective_n,
        "min_weight": float(weights.min()),
        "max_weight": float(weights.max()),
        "mean_weight": float(weights.mean()),
        "iterations": raking.iterations if raking else 0,
        "max_error": raking.max_error if raking else 0.0,
        "converged": True,
        "trimmed": trimming.trimmed if trimming else 0,
        # An absent bound is infinite in the library; JSON has no infinity.
        "trim_bounds": [b if math.isfinite(b) else None for b in (trimming.lower, trimming.upper)]
        if trimming
        else None,
    }
    with transaction.atomic():
        Response.objects.filter(survey=survey, excluded=True).update(weight=None)
        bulk.update_column(
            Response,
            "weight",
            ((float(weight), response.pk) for response, weight in zip(responses, weights, strict=True)),
        )
        survey.weighting = {**settings, "report": report}
        survey.save(update_fields=["weighting"])
        survey.advance(Survey.Step.WEIGHT)
        record(
            "weight",
            survey,
            actor=actor,
            via="form",
            after={
                k: report[k]
                for k in (
                    "n",
                    "design",
                    "design_effect",
                    "effective_n",
                    "min_weight",
                    "max_weight",
                    "iterations",
                    "trimmed",
                )
            },
        )
    return report


def _margin_rows(margins: dict, variables: dict, weights: np.ndarray) -> list[dict]:
    """Per margin category: its share in the sample (unweighted), in the population and in
    the weighted sample, in per cent."""
    rows = []
    total_weight = float(weights.sum())
    for name, margin in margins.items():
        population = math.fsum(margin.values())
        values = variables[name]
        for category, total in margin.items():
            chosen = np.array([v == category for v in values])
            rows.append(
                {
                    "question": name,
                    "category": category,
                    "sample": 100.0 * chosen.sum() / len(values),
                    "population": 100.0 * total / population,
                    "weighted": 100.0 * float(weights[chosen].sum()) / total_weight,
                }
            )
    return rows


def is_weighted(survey: Survey) -> bool:
    """Weights are stored for the kept responses (the analysis falls back to 1 otherwise)."""
    return (
        bool((survey.weighting or {}).get("report"))
        and not cleaning.included(survey).filter(weight__isnull=True).exists()
    )


def description(survey: Survey) -> dict:
    """What the comparison warnings compare: which margins and trimming were used."""
    report = (survey.weighting or {}).get("report")
    if not report or not is_weighted(survey):
        return {"weighted": False, "margins": [], "design": None, "trim": None}
    return {
        "weighted": True,
        "margins": sorted((survey.weighting or {}).get("margins") or {}),
        "design": report.get("design"),
        "trim": report.get("trim_bounds") is not None,
    }
