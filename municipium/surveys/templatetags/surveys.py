"""`{% survey_steps survey "clean" %}`: the seven steps of a survey, on every survey page.

One place decides which steps a reader gets links to: those who run the survey see all of
them; everyone else (a published survey is public) only the questionnaire, the analysis and
the report, so that nobody is shown a link that would answer "not found".
"""

from django import template
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from municipium.surveys.access import can_run

register = template.Library()

# (step, url name, its label, public once the results may be seen)
STEPS = (
    ("plan", "survey", _("Plan"), True),
    ("sample", "survey-sample", _("Sample"), False),
    ("fieldwork", "survey-fieldwork", _("Field work"), False),
    ("clean", "survey-clean", _("Clean"), False),
    ("weight", "survey-weight", _("Weight"), False),
    ("analyse", "survey-analyse", _("Analyse"), True),
    ("report", "survey-report", _("Report"), True),
)


@register.inclusion_tag("surveys/_steps.html", takes_context=True)
def survey_steps(context, survey, current_step):
    request = context.get("request")
    runs = bool(request) and can_run(request.user, survey.unit)
    steps = [
        {
            "number": number,
            "code": code,
            "label": label,
            "current": code == current_step,
            "url": reverse(name, args=[survey.pk]) if runs or public else "",
        }
        for number, (code, name, label, public) in enumerate(STEPS, start=1)
    ]
    return {"survey": survey, "steps": steps}
