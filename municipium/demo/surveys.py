"""Demo user-satisfaction surveys, run through every step an officer runs on the pages.

Three Rasina municipalities (members of one demo group, so the peer comparison has
neighbours) each get a survey of the previous full year; Kruševac also one of the year
before, so "comparison with the previous survey" shows something. Each survey goes through
the same service functions the pages call: the model questionnaire (`starter.create_survey`),
a synthetic frame imported as a CSV file (`sampling.import_frame`), a stratified draw
(`sampling.draw`), personal links (`links.issue`), responses submitted through the links
after `answers.check` (`links.use`, as the respondent's page does), cleaning flags and
decisions with reasons (`cleaning`), raking to population margins with trimming
(`weighting`) and publication as observations (`publish`).

The respondents are simulated by `respondent` below, which the survey tests use too
(`tests/surveys/responses.py`): one generator of plausible answers, seeded, so the demo and
the tests never drift apart.

Loading twice changes nothing: a survey that exists already is left as it is, and each
survey is made inside one transaction, so an interrupted load leaves no half-run survey that
would be skipped the next time.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

# ----------------------------------------------------------------------------------------
# The respondent generator (shared with the survey tests)


@dataclass(frozen=True)
class Profile:
    """How a population answers. Means are on the 1–5 scale; a "mood" moves every
    satisfaction of a person up or down (the older and the town dwellers are often kinder)."""

    # service code → (mean satisfaction, mean importance)
    services: dict[str, tuple[float, float]]
    # category → (weight in the sample, mood)
    ages: dict[str, tuple[float, float]]
    sexes: tuple[str, ...]
    # category → (weight in the sample, mood); unused when the caller knows the area
    areas: dict[str, tuple[float, float]]
    overall: float = 3.3
    # service code → share of people who use it, for services asked "do you use it?" first
    use: dict[str, float] = field(default_factory=dict)
    # (service, area) → extra mood: a bus line serves the town better than the villages
    local: dict[tuple[str, str], float] = field(default_factory=dict)
    remarks: tuple[str, ...] = ()
    remark_rate: float = 0.2


@dataclass
class Respondent:
    age: str
    sex: str
    area: str
    uses: dict[str, bool]
    satisfaction: dict[str, str]
    importance: dict[str, str]
    overall: str
    remark: str | None
    day: int  # days after field work opened
    duration_seconds: int

    def answers(self, demographics: dict[str, str]) -> dict:
        """Raw answers under the naming both questionnaires share (`use_`, `sat_`, `imp_`
        + service, `overall`, `remark`); `demographics` names the age, sex and area questions."""
        raw = {demographics["age"]: self.age, demographics["sex"]: self.sex, demographics["area"]: self.area}
        for service, used in self.uses.items():
            raw[f"use_{service}"] = "yes" if used else "no"
        for service, value in self.satisfaction.items():
            raw[f"sat_{service}"] = value
            raw[f"imp_{service}"] = self.importance[service]
        raw["overall"] = self.overall
        if self.remark:
            raw["remark"] = self.remark
        return raw


def scale(rng: random.Random, centre: float) -> str:
    """A 1–5 answer around `centre`, as the choice name."""
    return str(min(5, max(1, round(rng.gauss(centre, 0.9)))))


def respondent(
    rng: random.Random,
    profile: Profile,
    *,
    shift: float = 0.0,
    dont_know: float = 0.06,
    area: str | None = None,
    days: int = 30,
) -> Respondent:
    """One plausible person. `shift` moves every satisfaction (a better or worse year);
    `area`, when the sample design already fixed it (the frame's stratum), is not drawn.

    The order of the random draws is part of the contract: the tests' expectations (e.g. no
    flat line among the first 60 respondents of seed 3) rest on it."""
    if area is None:
        area = rng.choices(list(profile.areas), weights=[w for w, _m in profile.areas.values()])[0]
    age = rng.choices(list(profile.ages), weights=[w for w, _m in profile.ages.values()])[0]
    sex = rng.choice(profile.sexes)
    mood = shift + profile.areas[area][1] + profile.ages[age][1]
    uses, satisfaction, importance = {}, {}, {}
    for service, (mean, weight) in profile.services.items():
        if service in profile.use:
            uses[service] = rng.random() < profile.use[service]
            if not uses[service]:
                continue  # only users are asked about the service
        centre = mean + mood + profile.local.get((service, area), 0.0)
        satisfaction[service] = "dk" if rng.random() < dont_know else scale(rng, centre)
        importance[service] = scale(rng, weight)
    overall = scale(rng, profile.overall + mood)
    remark = rng.choice(profile.remarks) if rng.random() < profile.remark_rate else None
    day = rng.randrange(days)
    duration = max(60, int(rng.gauss(420, 90)))
    return Respondent(age, sex, area, uses, satisfaction, importance, overall, remark, day, duration)


# ----------------------------------------------------------------------------------------
# The demo surveys

GROUP = "rasina"
AGE_SHARES = {"18_29": 0.18, "30_44": 0.25, "45_64": 0.33, "65_plus": 0.24}
SEX_SHARES = {"female": 0.52, "male": 0.48}
# Who answers a postal invitation to a web survey: the young rarely, the retired often.
RESPONDING_AGES = {"18_29": (1, -0.35), "30_44": (2, -0.15), "45_64": (3, 0.0), "65_plus": (3, 0.3)}
# The model questionnaire's services and where people use them.
SERVICES = {
    "water_supply": (4.0, 4.8),
    "sewage": (3.6, 4.2),
    "waste_collection": (3.8, 4.4),
    "public_cleanliness": (3.3, 3.9),
    "roads": (2.9, 4.3),
    "public_transport": (3.2, 3.4),
    "green_areas": (3.7, 3.2),
}
USE = {"water_supply": 0.93, "sewage": 0.72, "waste_collection": 0.95, "public_transport": 0.45, "green_areas": 0.7}
LOCAL = {
    ("public_transport", "rural"): -0.6,
    ("roads", "rural"): -0.4,
    ("green_areas", "rural"): 0.3,
    ("sewage", "rural"): -0.3,
    ("waste_collection", "rural"): -0.2,
}
REMARKS = (
    "Више канти за смеће у нашој улици, молим.",
    "Поправите рупе на путу до села.",
    "Вода је мутна после сваке кише.",
    "Аутобус до града иде само двапут дневно.",
    "Хвала комуналцима, ове године је много боље.",
    "Паркови су лепо уређени.",
)
DEMOGRAPHICS = {"age": "age_group", "sex": "sex", "area": "area_type"}


@dataclass(frozen=True)
class DemoSurvey:
    unit: str
    adults: int  # population aged 18+, the total every margin adds up to
    urban: float  # share living in the town
    frame: int  # households in the synthetic frame
    sizes: dict[str, int]  # contacts drawn per stratum (rural over-sampled: fewer, more scattered)
    mood: float  # how this municipality's services fare
    local: dict[str, float] = field(default_factory=dict)  # per service, on top of `mood`
    previous_shift: float | None = None  # also a survey of the year before, that much less satisfied


SURVEYS = (
    DemoSurvey(
        "RS-70670",
        adults=104_000,
        urban=0.58,
        frame=3500,
        sizes={"urban": 230, "rural": 200},
        mood=0.1,
        local={"roads": -0.3},
        previous_shift=-0.35,
    ),
    DemoSurvey(
        "RS-71170",
        adults=33_500,
        urban=0.42,
        frame=2800,
        sizes={"urban": 190, "rural": 210},
        mood=-0.15,
        local={"water_supply": -0.5},
    ),
    DemoSurvey(
        "RS-70343",
        adults=12_800,
        urban=0.30,
        frame=2000,
        sizes={"urban": 160, "rural": 220},
        mood=0.05,
        local={"public_transport": -0.4, "green_areas": 0.4},
    ),
)
RESPONSE_RATE = {"urban": 0.5, "rural": 0.58}
DUPLICATES, SPEEDERS, STRAIGHTLINERS = 3, 4, 2


def survey_code(year: int) -> str:
    # Publication names the survey's code in each observation's source, so the figures say
    # they are synthetic, as every other demo figure does.
    return f"synthetic-satisfaction-{year}"


def _split(total: int, shares: dict[str, float]) -> dict[str, int]:
    """Whole numbers in the given shares that add up to `total` exactly (weighting refuses
    margins describing different populations)."""
    parts = {k: round(total * s) for k, s in shares.items()}
    last = list(parts)[-1]
    parts[last] = total - sum(v for k, v in parts.items() if k != last)
    return parts


def margins(spec: DemoSurvey) -> dict[str, dict[str, int]]:
    return {
        "age_group": _split(spec.adults, AGE_SHARES),
        "sex": _split(spec.adults, SEX_SHARES),
        "area_type": _split(spec.adults, {"urban": spec.urban, "rural": 1 - spec.urban}),
    }


def frame_csv(spec: DemoSurvey, rng: random.Random) -> bytes:
    """A list of households with their settlement type, as a utility's customer register
    would give it (synthetic addresses on the reserved .example domain)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["address", "settlement_type", "customer_no"])
    slug = spec.unit.lower()
    for number in range(1, spec.frame + 1):
        area = "urban" if rng.random() < spec.urban else "rural"
        writer.writerow([f"household-{number:05d}@{slug}.example", area, f"{number:07d}"])
    return out.getvalue().encode("utf-8")


def _profile(spec: DemoSurvey) -> Profile:
    services = {
        code: (mean + spec.mood + spec.local.get(code, 0.0), weight) for code, (mean, weight) in SERVICES.items()
    }
    return Profile(
        services=services,
        ages=RESPONDING_AGES,
        sexes=tuple(SEX_SHARES),
        areas={"urban": (spec.urban, 0.1), "rural": (1 - spec.urban, -0.1)},
        overall=3.2 + spec.mood,
        use=USE,
        local=LOCAL,
        remarks=REMARKS,
        remark_rate=0.15,
    )


def _raw_answers(rng: random.Random, profile: Profile, area: str, shift: float) -> tuple[dict, Respondent]:
    person = respondent(rng, profile, shift=shift, area=area, days=45)
    raw = person.answers(DEMOGRAPHICS)
    raw["household_size"] = rng.choice([1, 2, 2, 3, 3, 4, 4, 5, 6])
    return raw, person


def _run(unit, year: int, spec: DemoSurvey, actor, *, shift: float = 0.0):
    """One survey through every step; returns it published."""
    from municipium.demo import DemoError
    from municipium.surveys import (
        answers,
        cleaning,
        links,
        publish,
        sampling,
        starter,
        weighting,
    )
    from municipium.surveys.models import Survey

    rng = random.Random(f"{spec.unit}:{year}")
    # The unit's earlier survey, when there is one, becomes the one this is compared with.
    survey = starter.create_survey(unit, year, code=survey_code(year), actor=actor)
    frame = sampling.import_frame(
        survey,
        frame_csv(spec, rng),
        f"{spec.unit}-households-{year}.csv",
        address_column="address",
        stratum_column="settlement_type",
        actor=actor,
    )
    sampling.draw(frame, "sizes", sizes=spec.sizes, seed=rng.randrange(2**31), actor=actor)
    issued = links.issue(survey, actor, note=_("demo: letters with personal links"))

    questionnaire = answers.Questionnaire.of(survey)
    profile = _profile(spec)
    opens = dt.date(year, 4, 1)
    submitted: list[dict] = []

    def submit(token: str, raw: dict, duration: int, day: int) -> None:
        checked = answers.check(questionnaire, raw, language="sr")
        if not checked.ok:  # the generator must only produce what a respondent could submit
            raise DemoError(
                _("A demo survey answer was refused: %(errors)s")
                % {"errors": "; ".join(str(e) for e in checked.errors)}
            )
        link = links.find(token)
        links.use(
            link,
            answers=checked.answers,
            language="sr",
            duration_seconds=duration,
            today=opens + dt.timedelta(days=day),
        )
        submitted.append(checked.answers)

    unanswered = []
    for item in issued:
        if rng.random() >= RESPONSE_RATE[item.contact.stratum]:
            unanswered.append(item)
            continue
        raw, person = _raw_answers(rng, profile, item.contact.stratum, shift)
        submit(item.token, raw, person.duration_seconds, person.day)
    # What cleaning is for, from people who did get a letter and had not answered: a household
    # answering twice with the second letter (same answers), clicks through in a minute, and
    # the same box ticked on every scale.
    spare = iter(unanswered)
    for _n in range(DUPLICATES):
        copied = dict(rng.choice(submitted))
        copied.pop("remark", None)
        submit(next(spare).token, copied, max(60, int(rng.gauss(380, 80))), rng.randrange(45))
    for _n in range(SPEEDERS):
        item = next(spare)
        raw, person = _raw_answers(rng, profile, item.contact.stratum, shift)
        submit(item.token, raw, rng.randint(45, 110), person.day)
    for _n in range(STRAIGHTLINERS):
        item = next(spare)
        raw, person = _raw_answers(rng, profile, item.contact.stratum, shift)
        flat = rng.choice(["3", "5"])
        raw.update({name: flat for name in raw if name.startswith(("sat_", "imp_"))}, overall=flat)
        submit(item.token, raw, person.duration_seconds, person.day)

    cleaning.compute_flags(survey, actor=actor)
    reasons = {
        cleaning.DUPLICATE: _("The same answers as an earlier response: one household answered twice."),
        cleaning.SPEEDER: _("Completed in under a third of the median time: too fast to have read the questions."),
        cleaning.STRAIGHTLINER: _("The same answer on every item of the grid: not a considered judgement."),
    }
    decided: set[int] = set()
    for flag, reason in reasons.items():
        ids = [r.id for r in survey.responses.all() if flag in r.flags and r.id not in decided]
        if ids:
            cleaning.decide(survey, ids, exclude=True, reason=reason, actor=actor)
            decided.update(ids)

    weighting.save_settings(survey, margins(spec), dict(weighting.DEFAULT_TRIM), actor=actor)
    weighting.compute(survey, actor=actor)
    publish.publish(survey, actor=actor)
    survey.refresh_from_db()
    if survey.step != Survey.Step.PUBLISHED:
        raise DemoError(_("The demo survey of %(unit)s was not published.") % {"unit": unit.code})
    return survey


def demo_actor():
    """The account the demo surveys are run and published by: an administrator that cannot
    sign in (inactive, no usable password), so the audit trail names who did it without the
    demo adding a way into a real installation. Not a superuser: `municipium demo` offers its
    sign-in account only when there is no superuser yet."""
    from django.contrib.auth import get_user_model

    from municipium.accounts.models import Role

    user, made = get_user_model().objects.get_or_create(username="municipium-demo", defaults={"is_active": False})
    if made:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    Role.objects.get_or_create(user=user, kind=Role.Kind.ADMIN)
    return user


def load_surveys(year: int | None = None) -> list:
    """Run the demo surveys of `year` (the previous full year); returns those made now."""
    from municipium.places.models import Unit
    from municipium.surveys.models import Survey

    year = year or dt.date.today().year - 1
    actor = demo_actor()
    made = []
    for spec in SURVEYS:
        unit = Unit.objects.get(code=spec.unit)
        plans = [(year - 1, spec.previous_shift)] if spec.previous_shift is not None else []
        plans.append((year, 0.0))
        for survey_year, shift in plans:
            existing = Survey.objects.filter(unit=unit, code=survey_code(survey_year)).first()
            if existing is None:
                with transaction.atomic():
                    existing = _run(unit, survey_year, spec, actor, shift=shift)
                made.append(existing)
    return made
