"""Realistic survey data for the cleaning, weighting, analysis and publication tests.

`questionnaire` builds a small satisfaction questionnaire straight through the models (the
model questionnaire and its fixtures belong to the planning step; these tests must not
depend on its exact content): five services with a 1–5 satisfaction item and a 1–5
importance item each, a "don't know" choice, overall satisfaction, an open remark and three
demographic questions (age group, sex, area).

`respond` then adds a few hundred responses drawn with a seeded RNG by the demo's respondent
generator (`municipium.demo.surveys.respondent`): satisfaction differs by area and age group,
and the older and the northern respondents are over-represented, so that weighting to the
population margins visibly moves the estimates.
"""

import datetime as dt
import random

from municipium.demo.surveys import Profile, respondent
from municipium.surveys.models import Choice, Question, Response, Survey

SERVICES = ("water", "waste", "roads", "public_cleanliness", "green_areas")
SERVICE_NAMES = {
    "water": "water supply",
    "waste": "waste collection",
    "roads": "roads",
    "public_cleanliness": "public cleanliness",
    "green_areas": "green areas",
}
AGES = ("18-34", "35-54", "55+")
SEXES = ("f", "m")
AREAS = ("north", "south")
# Population margins that match the generated sample's categories (people aged 18+).
MARGINS = {
    "age": {"18-34": 3000, "35-54": 3500, "55+": 3500},
    "sex": {"f": 5200, "m": 4800},
    "area": {"north": 4000, "south": 6000},
}


def _labels(en: str) -> dict:
    # English plus Persian, so that right-to-left pages have something of their own to show.
    return {"en": en, "fa": f"‏{en}"}


def questionnaire(
    unit,
    *,
    year: int = 2025,
    code: str = "",
    previous: Survey | None = None,
    wording: dict | None = None,
    step: str = Survey.Step.FIELDWORK,
) -> Survey:
    """A survey with the questionnaire described above; `wording` overrides the English label
    of questions by name (to test the wording-changed warning)."""
    wording = wording or {}
    survey = Survey.objects.create(
        unit=unit,
        year=year,
        code=code or f"satisfaction-{year}",
        title={"en": f"User satisfaction {year}", "fa": f"رضایت کاربران {year}"},
        step=step,
        previous=previous,
        languages=["en", "fa"],
        population=10_000,
    )
    order = iter(range(1, 1000))

    def question(kind, name="", list_name="", role="", service="", label=""):
        return Question.objects.create(
            survey=survey,
            order=next(order),
            kind=kind,
            name=name,
            list_name=list_name,
            role=role,
            service=service,
            label=_labels(wording.get(name, label)) if label else {},
        )

    for position, (name, label, missing) in enumerate(
        [
            ("1", "Very dissatisfied", False),
            ("2", "Dissatisfied", False),
            ("3", "Neither", False),
            ("4", "Satisfied", False),
            ("5", "Very satisfied", False),
            ("dk", "Don't know", True),
        ]
    ):
        Choice.objects.create(
            survey=survey, list_name="sat5", name=name, label=_labels(label), order=position, is_missing=missing
        )
    for position, name in enumerate(["1", "2", "3", "4", "5"]):
        Choice.objects.create(
            survey=survey, list_name="imp5", name=name, label=_labels(f"Importance {name}"), order=position
        )
    for list_name, names in (("age", AGES), ("sex", SEXES), ("area", AREAS)):
        for position, name in enumerate(names):
            Choice.objects.create(survey=survey, list_name=list_name, name=name, label=_labels(name), order=position)

    question("begin_group", "satisfaction", label="Satisfaction")
    for service in SERVICES:
        question(
            "select_one",
            f"sat_{service}",
            "sat5",
            Question.Role.SATISFACTION,
            service,
            f"How satisfied are you with {SERVICE_NAMES[service]}?",
        )
    question("end_group")
    question("begin_group", "importance", label="Importance")
    for service in SERVICES:
        question(
            "select_one",
            f"imp_{service}",
            "imp5",
            Question.Role.IMPORTANCE,
            service,
            f"How important is {SERVICE_NAMES[service]} to you?",
        )
    question("end_group")
    question("select_one", "overall", "sat5", Question.Role.OVERALL, "", "Overall, how satisfied are you?")
    question("text", "remark", role=Question.Role.REMARK, label="Anything else?")
    question("select_one", "age", "age", Question.Role.DEMOGRAPHIC, label="Age group")
    question("select_one", "sex", "sex", Question.Role.DEMOGRAPHIC, label="Sex")
    question("select_one", "area", "area", Question.Role.DEMOGRAPHIC, label="Area")
    return survey


# How much each service pleases on average (1–5) and how important it is; who answers (the
# sample leans north and old, as web panels of utilities often do, the population not) and
# how kind each group is. The answers themselves come from the demo's generator, so there is
# one simulation of respondents.
PROFILE = Profile(
    services={
        "water": (3.9, 4.7),
        "waste": (3.4, 4.3),
        "roads": (2.6, 4.2),
        "public_cleanliness": (3.0, 3.4),
        "green_areas": (3.6, 3.0),
    },
    ages={"18-34": (2, -0.4), "35-54": (3, 0.0), "55+": (5, 0.3)},
    sexes=SEXES,
    areas={"north": (0.6, 0.3), "south": (0.4, -0.2)},
    overall=3.3,
    remarks=("More bins, please.", "Fix the potholes.", "Thank you."),
    remark_rate=0.2,
)


def respond(
    survey: Survey,
    n: int = 300,
    *,
    seed: int = 1,
    shift: float = 0.0,
    mode: str = Response.Mode.WEB,
    inclusion_probability: float | None = None,
    dont_know: float = 0.06,
) -> list[Response]:
    """`n` plausible responses; `shift` moves every satisfaction (a better or worse year)."""
    rng = random.Random(seed)
    made = []
    for _ in range(n):
        person = respondent(rng, PROFILE, shift=shift, dont_know=dont_know)
        made.append(
            Response(
                survey=survey,
                mode=mode,
                language="en",
                stratum=person.area,
                answers=person.answers({"age": "age", "sex": "sex", "area": "area"}),
                inclusion_probability=inclusion_probability,
                submitted_on=dt.date(survey.year, 3, 1) + dt.timedelta(days=person.day),
                duration_seconds=person.duration_seconds,
            )
        )
    return Response.objects.bulk_create(made)
