"""Analysis: what the kept, weighted responses say, with how sure we can be.

Every number comes from the survey library (`municipium.lib.survey.estimates`); this module
only reads the questionnaire and the responses into its arguments and arranges the results
for the page, the report and publication (one code path for all three, DESIGN principle 5):

- per service: share satisfied (top two boxes, "don't know" left out), mean and 0–100
  index, each with a design-based 95 % confidence interval and the number who answered;
- breakdowns of the share satisfied by every demographic question;
- the importance–satisfaction matrix (gap = importance − satisfaction, quadrants);
- comparisons with the previous survey and with the published surveys of the same year of
  the other members of the unit's groups, tested and corrected for multiple comparisons
  (Holm), with warnings when wording, mode mix or weighting differ.
"""

import datetime as dt
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
from django.db.models import Count, Max, Q, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from municipium.lib.survey import estimates as lib
from municipium.lib.texts import pick
from municipium.places.models import Membership

from . import cleaning, weighting, xlsform
from .models import Question, Response, Survey

CONFIDENCE = 0.95
# Cells with fewer answers than this show their n and effective n beside the share; below
# MINIMUM_ANSWERS they are greyed out as too few to read (stated on the page).
SMALL_CELL = 100
MINIMUM_ANSWERS = 30
# Mode mixes further apart than this (total variation distance) make comparisons doubtful.
MODE_MIX_TOLERANCE = 0.2
SIGNIFICANCE = 0.05


class AnalysisError(Exception):
    pass


@dataclass
class Scale:
    """A rated question's declared scale: its points low..high (choice names "1".."7"), the
    points counted satisfied, and its list's other choices ("don't know / not used" codes)."""

    low: int
    high: int
    satisfied: tuple[int, ...]
    missing: set

    @property
    def values(self) -> dict:
        return {str(v): v for v in range(self.low, self.high + 1)}

    def code(self, answer):
        if answer in (None, ""):
            return None
        if answer in self.missing:
            return lib.DONT_KNOW
        return self.values.get(answer, answer)

    @property
    def key(self) -> tuple:
        return (self.low, self.high, self.satisfied)


def scale_of(question: Question, choices: dict[str, list]) -> Scale:
    """The question's declared scale (the importer's default 1–5, top two satisfied, for a
    rated question stored without one); `choices` maps list names to their choice names."""
    declared = question.scale or xlsform.DEFAULT_SCALE
    low, high = int(declared["low"]), int(declared["high"])
    points = {str(v) for v in range(low, high + 1)}
    missing = {name for name in choices.get(question.list_name, ()) if name not in points}
    return Scale(low, high, tuple(int(v) for v in declared["satisfied"]), missing)


def _choice_names(survey: Survey) -> dict[str, list]:
    lists: dict[str, list] = {}
    for list_name, name in survey.choices.order_by("list_name", "order").values_list("list_name", "name"):
        lists.setdefault(list_name, []).append(name)
    return lists


@dataclass
class ServiceResult:
    service: str
    question: Question
    label: str
    result: lib.Satisfaction | None
    scale: Scale | None = None
    importance: lib.Estimate | None = None
    importance_scale: Scale | None = None

    @property
    def share(self):
        return self.result.share_satisfied if self.result else None

    @property
    def n(self) -> int:
        return self.result.answered if self.result else 0


@dataclass
class Breakdown:
    question: Question
    label: str
    # (category name, category label, {service: Estimate of the share or None}, n in category)
    rows: list = field(default_factory=list)
    # {(category name, service): Korn–Graubard interval of the share}
    intervals: dict = field(default_factory=dict)


@dataclass
class Analysis:
    survey: Survey
    n: int
    weighted: bool
    services: list[ServiceResult]
    overall: ServiceResult | None
    breakdowns: list[Breakdown]
    gaps: lib.GapAnalysis | None
    design: lib.Design
    answers: list[dict]

    def service(self, code: str) -> ServiceResult | None:
        return next((s for s in self.services if s.service == code), None)


def _design(survey: Survey, responses: list[Response]) -> lib.Design:
    weighted = weighting.is_weighted(survey)
    weights = [r.weight for r in responses] if weighted else None
    strata = [r.stratum for r in responses]
    raked_on = None
    if weighted:
        margins = (survey.weighting or {}).get("margins") or {}
        raked_on = [[r.answers.get(name) for r in responses] for name in margins] or None
    stratified = all(strata)
    return lib.design(
        weights,
        n=len(responses),
        strata=strata if stratified else None,
        raked_on=raked_on,
        population_sizes=_population_sizes(survey, strata if stratified else None, len(responses)),
        # A stratum with a single respondent is counted as taken with certainty (adds no
        # variance), as R's options(survey.lonely.psu = "certainty"), instead of stopping the
        # analysis; a stratum the frame says was taken whole adds none in any case.
        lonely_psu="certainty",
    )


def _population_sizes(survey: Survey, strata: list | None, n: int) -> list | None:
    """Each respondent's stratum population (R's `fpc`): typed on the weighting page, or from
    the sampling frame the survey was drawn from, when every respondent's stratum has one;
    else None (no finite population correction: "with replacement", the cautious side)."""
    from . import sampling

    typed = (survey.weighting or {}).get("stratum_sizes") or {}
    frame = sampling.current_frame(survey)
    if strata is not None and typed and all(s in typed for s in strata):
        sizes = typed  # typed on the weighting page: they win over the frame
    elif frame is None or not frame.draw:
        return None
    elif strata is None:
        size = frame.contacts.count()
        return [size] * n if 0 < n <= size else None
    else:
        sizes = sampling.stratum_sizes(frame)
    if not all(s in sizes for s in strata):
        return None
    counts: dict = {}
    for s in strata:
        counts[s] = counts.get(s, 0) + 1
    if any(counts[s] > sizes[s] for s in counts):
        return None  # more respondents than the frame lists: the frame is not their population
    return [sizes[s] for s in strata]


def service_label(code: str, survey: Survey | None = None, language: str | None = None) -> str:
    """A service's name in `language` (the reader's by default): the catalogue's service
    area when the code is one, else the survey's own group for the service (its label),
    else the model questionnaire's name for it (all six languages), else the code written
    out ("snow_clearing" → "snow clearing")."""
    from municipium.catalog.models import ServiceArea

    from .starter import services

    area = ServiceArea.objects.filter(code=code).first()
    names = [area.name] if area else []
    if survey is not None:
        names += [
            q.label for q in survey.questions.filter(kind=Question.Kind.BEGIN_GROUP, service=code).exclude(label={})[:1]
        ]
    names += [s["name"] for s in services() if s["code"] == code]
    language = (language or get_language() or "en").split("-")[0]
    for name in names:  # the first that has the reader's language ...
        if name.get(language):
            return name[language]
    for name in names:  # ... else the first in any
        if pick(name, language).text:
            return pick(name, language).text
    return code.replace("_", " ")


def _index(mean: float, scale: Scale) -> float:
    return (mean - scale.low) / (scale.high - scale.low) * 100


def common_scale(analysis: "Analysis") -> Scale | None:
    """The one scale every rated result is on, or None when they differ."""
    scales = {s.scale.key: s.scale for s in [*analysis.services, *([analysis.overall] if analysis.overall else [])]}
    scales |= {s.importance_scale.key: s.importance_scale for s in analysis.services if s.importance_scale}
    return next(iter(scales.values())) if len(scales) == 1 else None


def _label(question: Question) -> str:
    return pick(question.label).text or question.name


def _satisfaction(question: Question, scale: Scale, answers, d, where=None, coded: dict | None = None):
    """The question's share satisfied, mean and index; `coded` keeps each question's answers
    read as numbers, so that a breakdown does not read every answer again for each category."""
    if coded is not None and question.name in coded:
        values = coded[question.name]
    else:
        values = [scale.code(a.get(question.name)) for a in answers]
        if coded is not None:
            coded[question.name] = values
    try:
        return lib.satisfaction(
            values, d, scale=(scale.low, scale.high), satisfied=scale.satisfied, where=where, confidence=CONFIDENCE
        )
    except ValueError as error:
        if "nobody answered" in str(error):
            return None
        raise AnalysisError(_("%(question)s: %(detail)s") % {"question": question.name, "detail": error}) from error


# Analyses kept in this process, keyed by what they depend on. The analysis page shows the
# survey and everything it is compared with, and at 20,000 responses each analysis takes
# seconds; field work being over, the inputs rarely change, and `_state` notices when they
# do (each app server keeps its own copies, all checked against the database).
_KEPT: OrderedDict = OrderedDict()
_KEPT_SIZE = 16
_KEPT_LOCK = threading.Lock()


def _state(survey: Survey) -> tuple:
    """Everything an analysis reads that can change once responses exist: the responses
    (new ones, exclusions, weights), the weighting settings, and the reader's language (labels).
    The questionnaire cannot change once there are responses."""
    found = Response.objects.filter(survey=survey).aggregate(
        n=Count("id"), last=Max("id"), excluded=Count("id", filter=Q(excluded=True)), weights=Sum("weight")
    )
    # `created` too: a rolled-back transaction (tests) can hand the same id to another survey.
    return (
        survey.pk,
        survey.created,
        get_language(),
        json.dumps(survey.weighting or {}, sort_keys=True, default=str),
        found["n"],
        found["last"],
        found["excluded"],
        found["weights"],
        survey.frames.aggregate(last=Max("id"))["last"],
    )


def analyse(survey: Survey) -> Analysis:
    """The survey's analysis, computed once for each state of its responses and weights."""
    key = _state(survey)
    with _KEPT_LOCK:
        kept = _KEPT.get(key)
        if kept is not None:
            _KEPT.move_to_end(key)
    if kept is not None:
        kept.survey = survey  # the caller's copy (its step or title may be newer)
        return kept
    found = _analyse(survey)
    with _KEPT_LOCK:
        _KEPT[key] = found
        while len(_KEPT) > _KEPT_SIZE:
            _KEPT.popitem(last=False)
    return found


def _analyse(survey: Survey) -> Analysis:
    responses = list(cleaning.included(survey).only("id", "answers", "weight", "stratum"))
    if not responses:
        raise AnalysisError(_("There are no kept responses to analyse."))
    answers = [r.answers or {} for r in responses]
    d = _design(survey, responses)
    coded: dict = {}
    lists = _choice_names(survey)
    questions = [q for q in survey.questions.all() if q.name]
    rated = {q.name: scale_of(q, lists) for q in questions if q.role in xlsform.SCALE_ROLES and q.list_name}
    importance = {q.service: q for q in questions if q.role == Question.Role.IMPORTANCE and q.service}

    services = []
    for q in questions:
        if q.role != Question.Role.SATISFACTION or q.name not in rated:
            continue
        result = ServiceResult(
            q.service or q.name, q, _label(q), _satisfaction(q, rated[q.name], answers, d, coded=coded), rated[q.name]
        )
        asked = importance.get(q.service)
        if asked is not None and asked.name in rated:
            weight = _satisfaction(asked, rated[asked.name], answers, d)
            result.importance = weight.mean if weight else None
            result.importance_scale = rated[asked.name]
        services.append(result)
    overall = next(
        (
            ServiceResult("overall", q, _label(q), _satisfaction(q, rated[q.name], answers, d), rated[q.name])
            for q in questions
            if q.role == Question.Role.OVERALL and q.name in rated
        ),
        None,
    )

    breakdowns = []
    labels = {(c.list_name, c.name): pick(c.label).text or c.name for c in survey.choices.all()}
    for q in questions:
        if q.role != Question.Role.DEMOGRAPHIC or q.kind != Question.Kind.SELECT_ONE:
            continue
        part = Breakdown(q, _label(q))
        categories = [c.name for c in survey.choices.filter(list_name=q.list_name).order_by("order")]
        for category in categories:
            where = np.array([a.get(q.name) == category for a in answers])
            cells = {}
            for s in services:
                found = (
                    _satisfaction(s.question, s.scale, answers, d, where=where, coded=coded) if where.any() else None
                )
                cells[s.service] = found.share_satisfied if found else None
                if found:
                    part.intervals[(category, s.service)] = found.share_interval
            part.rows.append((category, labels.get((q.list_name, category), category), cells, int(where.sum())))
        breakdowns.append(part)

    paired = [s for s in services if s.importance is not None and s.result is not None]
    # Gaps compare means on one scale; questions on different scales compare 0–100 indices.
    if len({s.scale.key[:2] for s in paired} | {s.importance_scale.key[:2] for s in paired}) <= 1:
        scored = {s.service: (s.importance.value, s.result.mean.value) for s in paired}
    else:
        scored = {s.service: (_index(s.importance.value, s.importance_scale), s.result.index.value) for s in paired}
    gaps = lib.importance_satisfaction(scored) if scored else None
    return Analysis(
        survey, len(responses), weighting.is_weighted(survey), services, overall, breakdowns, gaps, d, answers
    )


# -- comparisons -------------------------------------------------------------------------


def mode_mix(survey: Survey) -> dict[str, float]:
    rows = list(cleaning.included(survey).values_list("mode", flat=True))
    return {mode: rows.count(mode) / len(rows) for mode in sorted(set(rows))} if rows else {}


def _mix_distance(a: dict, b: dict) -> float:
    return sum(abs(a.get(k, 0) - b.get(k, 0)) for k in set(a) | set(b)) / 2


def _wording_differs(a: Question, b: Question) -> bool:
    common = set(a.label) & set(b.label)
    return any((a.label[k] or "").strip() != (b.label[k] or "").strip() for k in common) or (
        not common and a.label != b.label
    )


@dataclass
class ComparedService:
    service: str
    label: str
    own: lib.Estimate
    other: lib.Estimate
    test: lib.Comparison
    p_adjusted: float | None = None
    wording_differs: bool = False

    @property
    def significant(self) -> bool:
        return self.p_adjusted is not None and self.p_adjusted < SIGNIFICANCE


@dataclass
class Comparison:
    other: Survey
    kind: str  # "previous" or "peer"
    rows: list[ComparedService]
    warnings: list[str]


def _compare(own: Analysis, other: Analysis, kind: str) -> Comparison:
    rows = []
    for mine in own.services:
        theirs = other.service(mine.service)
        if not (theirs and mine.result and theirs.result):
            continue
        a, b = mine.share, theirs.share
        try:
            test = lib.compare_estimates(a, b)
        except ValueError:
            continue  # both shares without any spread (0 % or 100 %): nothing to test
        rows.append(
            ComparedService(
                mine.service, mine.label, a, b, test, wording_differs=_wording_differs(mine.question, theirs.question)
            )
        )
    warnings = []
    changed = [service_label(r.service, own.survey) for r in rows if r.wording_differs]
    if changed:
        warnings.append(
            _(
                "The question was worded differently for: %(services)s. A difference may come from the "
                "wording rather than from the service."
            )
            % {"services": "; ".join(changed)}
        )
    if _mix_distance(mode_mix(own.survey), mode_mix(other.survey)) > MODE_MIX_TOLERANCE:
        warnings.append(
            _(
                "The surveys were answered in different ways (web, telephone, paper, ...); people tend to "
                "answer an interviewer more favourably than a web form."
            )
        )
    if weighting.description(own.survey) != weighting.description(other.survey):
        warnings.append(
            _(
                "The surveys were weighted differently (other margins, design weights or trimming, or one "
                "not weighted at all)."
            )
        )
    return Comparison(other.survey, kind, rows, warnings)


def peer_surveys(survey: Survey) -> list[Survey]:
    """Published surveys of the same year by the other members of the unit's groups."""
    year_start, year_end = dt.date(survey.year, 1, 1), dt.date(survey.year, 12, 31)
    groups = Membership.objects.filter(unit=survey.unit).during(year_start, year_end).values("group_id")
    units = (
        Membership.objects.filter(group_id__in=groups)
        .during(year_start, year_end)
        .exclude(unit=survey.unit)
        .values("unit_id")
    )
    return list(
        Survey.objects.filter(unit_id__in=units, year=survey.year, step=Survey.Step.PUBLISHED)
        .select_related("unit")
        .order_by("unit__code", "code")
    )


def comparisons(survey: Survey, analysis: Analysis | None = None) -> list[Comparison]:
    """The previous survey first, then the peers; p-values Holm-adjusted within each family
    (the previous survey's services; all peers' services together)."""
    analysis = analysis or analyse(survey)
    out = []
    if survey.previous_id:
        previous = survey.previous
        try:
            out.append(_compare(analysis, analyse(previous), "previous"))
        except AnalysisError:
            pass  # an earlier survey without kept responses has nothing to compare
    peers = []
    for other in peer_surveys(survey):
        try:
            peers.append(_compare(analysis, analyse(other), "peer"))
        except AnalysisError:
            continue
    for family in (out, peers):
        rows = [row for comparison in family for row in comparison.rows]
        for row, adjusted in zip(rows, lib.p_adjust([r.test.p_value for r in rows], "holm"), strict=True):
            row.p_adjusted = adjusted
    return out + peers
