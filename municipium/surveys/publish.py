"""Publication: a survey's results become ordinary observations and indicators.

Per service (and for overall satisfaction) five variables are written for the survey's unit
and year: `survey_<service>_satisfied_share` (per cent), `_index` (0–100), `_n` (who
answered, "don't know" excluded) and `_ci_low`/`_ci_high` (the share's 95 % Korn–Graubard interval). They
are made in the catalogue the first time, named in every language, in the service's area
when the question's `service` is a catalogue service area and in a "Surveys" area otherwise;
the share and the index each get an indicator (`survey_<service>_share_satisfied`,
`survey_<service>_satisfaction_index`: a formula that is just the variable), so the
results appear in profiles, comparisons, exports and the API like every other figure.

Writing goes through the one write path (`observations.services.write_observations`):
revisions, one audit event, recompute. The workflow is respected: publishing a survey is an
approver's act, so the figures are written as approved; they are published at once only when
the person may publish the unit's figures (an administrator or a coordinator of one of its
groups), otherwise they wait for the group's publication like any approved figure. Publishing
again after a correction rewrites the same observations, each with a new version.
"""

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from municipium.accounts import access
from municipium.audit.models import record, snapshot
from municipium.catalog import services as catalog_services
from municipium.catalog.models import SURVEY_VARIABLE_PREFIX, Indicator, IndicatorSet, ServiceArea, Variable
from municipium.lib import numbers
from municipium.lib.texts import in_every_language
from municipium.observations.models import ImportBatch, Period, Status, Via
from municipium.observations.services import Row, write_observations
from municipium.places.models import Group

from .analysis import AnalysisError, analyse, service_label
from .models import Survey

SURVEYS_AREA = "surveys"
MEASURES = ("satisfied_share", "index", "n", "ci_low", "ci_high")
# The measures that are figures people compare (the others describe their precision), with
# their indicators' codes: an indicator may not share its variable's code (the formula
# language would read the name as the indicator itself, a circle).
INDICATOR_CODES = {
    "satisfied_share": "survey_{service}_share_satisfied",
    "index": "survey_{service}_satisfaction_index",
}


class PublishError(Exception):
    pass


def variable_code(service: str, measure: str) -> str:
    return f"{SURVEY_VARIABLE_PREFIX}{service}_{measure}"


def _service_name(service: str, survey: Survey | None, language: str) -> str:
    if service == "overall":
        return _("all communal services")
    return service_label(service, survey, language)


NAMES = {
    "satisfied_share": lambda s: _("Share satisfied with %(service)s (survey)") % {"service": s},
    "index": lambda s: _("Satisfaction index for %(service)s (survey, 0–100)") % {"service": s},
    "n": lambda s: _("Respondents rating %(service)s (survey)") % {"service": s},
    "ci_low": lambda s: _("Share satisfied with %(service)s: lower 95%% confidence limit") % {"service": s},
    "ci_high": lambda s: _("Share satisfied with %(service)s: upper 95%% confidence limit") % {"service": s},
}
UNITS = {"satisfied_share": "%", "index": "0–100", "n": None, "ci_low": "%", "ci_high": "%"}


def _area(service: str, actor) -> tuple[ServiceArea, ServiceArea | None]:
    """The catalogue area the service's figures belong to, and the matching area (if any)."""
    matching = ServiceArea.objects.filter(code=service).first()
    if matching is not None:
        return matching, matching
    area = ServiceArea.objects.filter(code=SURVEYS_AREA).first()
    if area is None:
        area = ServiceArea.objects.create(code=SURVEYS_AREA, name=in_every_language(lambda _c: _("Surveys")), order=900)
        record("create", area, actor=actor, after=snapshot(area), via="form")
    return area, None


def catalogue_entries(
    service: str, *, actor=None, survey: Survey | None = None
) -> tuple[dict[str, Variable], list[Indicator]]:
    """The service's survey variables and indicators, made (and audited) when missing, named
    in every language (the service's name as `analysis.service_label` gives it)."""
    area, _matching = _area(service, actor)
    found = {}
    indicators = []
    for measure in MEASURES:
        code = variable_code(service, measure)
        variable = Variable.objects.filter(code=code).first()
        if variable is None:
            unit = UNITS[measure]
            unit_texts = (
                in_every_language(lambda _c: _("respondents"))
                if measure == "n"
                else {c: numbers.localise_digits(unit or "", c) for c in settings.LANGUAGE_CODES}
            )
            variable = Variable.objects.create(
                code=code,
                service_area=area,
                unit_of_measure=unit_texts,
                min_value=0,
                max_value=None if measure == "n" else 100,
                name=in_every_language(lambda c: NAMES[measure](_service_name(service, survey, c))),
                source=in_every_language(lambda _c: _("User-satisfaction survey")),
            )
            record("create", variable, actor=actor, after=snapshot(variable), via="form")
        found[measure] = variable
        if measure in INDICATOR_CODES:
            indicator_code = INDICATOR_CODES[measure].format(service=service)
            indicator = Indicator.objects.filter(code=indicator_code).first()
            if indicator is None:
                indicator = Indicator.objects.create(
                    code=indicator_code,
                    service_area=area,
                    name=dict(variable.name),
                    formula=code,
                    unit_of_measure=dict(variable.unit_of_measure),
                    dimension=Indicator.Dimension.QUALITY,
                    polarity=Indicator.Polarity.HIGHER_IS_BETTER,
                    decimals=1,
                    definition=in_every_language(
                        lambda _c: (
                            _(
                                "From the municipality's user-satisfaction survey: the share giving an answer its "
                                "questionnaire counts as satisfied (the points declared on the question's scale, "
                                '"don\'t know" left out), weighted to the population.'
                            )
                            if measure == "satisfied_share"
                            else _(
                                "From the municipality's user-satisfaction survey: the mean rating rescaled from the "
                                "question's declared scale to 0 (all at the lowest point) to 100 (all at the highest "
                                "point), weighted to the population."
                            )
                        )
                    ),
                )
                record("create", indicator, actor=actor, after=snapshot(indicator), via="form")
            indicators.append(indicator)
    return found, indicators


def may_publish(user, survey: Survey) -> bool:
    return access.can_approve(user, survey.unit)


def publishes_at_once(user, survey: Survey) -> bool:
    """May this person publish the unit's figures (not only approve them)?"""
    if access.is_admin(user):
        return True
    groups = Group.objects.filter(memberships__unit=survey.unit)
    return any(access.can_coordinate(user, g) for g in groups)


def rows_for(survey: Survey, *, actor=None, status: str = Status.APPROVED) -> tuple[list[Row], list[Indicator]]:
    result = analyse(survey)
    period = Period.objects.for_code(str(survey.year))
    source = f"survey {survey.unit.code} {survey.code} {survey.year}"
    rows, indicators = [], []
    for service in [*result.services, *([result.overall] if result.overall else [])]:
        if service.result is None:
            continue
        variables, made = catalogue_entries(service.service, actor=actor, survey=survey)
        indicators += made
        share = service.result.share_satisfied
        interval = service.result.share_interval
        values = {
            "satisfied_share": 100 * share.value,
            "index": service.result.index.value,
            "n": float(service.result.answered),
        }
        # A share without an interval (no design to carry one) publishes no bounds rather
        # than failing the whole publication.
        if interval is not None:
            values["ci_low"] = 100 * interval.low
            values["ci_high"] = 100 * interval.high
        for measure, value in values.items():
            rows.append(
                Row(survey.unit_id, variables[measure].pk, period.pk, "", round(value, 6), "", status, source, "")
            )
    return rows, indicators


def publish(survey: Survey, *, actor=None) -> dict:
    """Write the results as observations, make the survey published; all or nothing."""
    if not may_publish(actor, survey):
        raise PublishError(_("Only an approver of %(unit)s may publish its survey.") % {"unit": survey.unit.label})
    status = Status.PUBLISHED if publishes_at_once(actor, survey) else Status.APPROVED
    with transaction.atomic():
        try:
            rows, indicators = rows_for(survey, actor=actor, status=status)
        except AnalysisError as error:
            raise PublishError(str(error)) from error
        if not rows:
            raise PublishError(_("No service has any answers to publish."))
        batch = ImportBatch(
            file_name=f"survey {survey.unit.code} {survey.code} {survey.year}"[:255],
            format="survey",
            via=Via.FORM,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        written = write_observations(rows, batch=batch, actor=actor, note=f"survey {survey.pk} published")
        # The groups that already follow an indicator set see the survey's figures in their
        # members' profiles beside the others.
        for indicator_set in IndicatorSet.objects.filter(group__memberships__unit=survey.unit).distinct():
            catalog_services.adopt(indicator_set.group, indicators, actor=actor)
        before = survey.step
        # The survey's own pages are public once it is published. Figures an approver could
        # only approve wait for the group's publication; until then the survey stays unpublished
        # too, or its pages would show the public what the profiles still hide.
        if status == Status.PUBLISHED:
            survey.step = Survey.Step.PUBLISHED
            survey.save(update_fields=["step"])
        else:
            survey.advance(Survey.Step.ANALYSE)
        record(
            "publish",
            survey,
            actor=actor,
            via="form",
            before={"step": before},
            after={
                "step": survey.step,
                "status": status,
                "rows": written.rows,
                "created": written.created,
                "updated": written.updated,
            },
        )
    return {
        "status": status,
        "rows": written.rows,
        "created": written.created,
        "updated": written.updated,
        "unchanged": written.unchanged,
    }
