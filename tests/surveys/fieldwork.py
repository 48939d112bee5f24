"""A small questionnaire and a sampled frame built straight from the models, for the field
work tests: a satisfaction scale with "don't know", a group that only users of the service
answer, a constraint with its message in two languages, a multiple choice, numbers, a note.
"""

from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.surveys.models import Choice, Contact, Frame, Question, Survey
from tests import factories as f

K = Question.Kind

ROWS = [
    dict(
        kind=K.NOTE,
        name="intro",
        label={"en": "Thank you for taking part.", "sr": "Хвала што учествујете.", "fa": "از شرکت شما سپاسگزاریم."},
    ),
    dict(
        kind=K.SELECT_ONE,
        name="uses_water",
        list_name="yesno",
        required=True,
        label={
            "en": "Do you use the public water supply?",
            "sr": "Да ли користите јавни водовод?",
            "fa": "آیا از آب لوله‌کشی شهری استفاده می‌کنید؟",
        },
    ),
    dict(
        kind=K.BEGIN_GROUP,
        name="water",
        relevant="${uses_water} = 'yes'",
        label={"en": "Water supply", "sr": "Водоснабдевање", "fa": "آب‌رسانی"},
    ),
    dict(
        kind=K.SELECT_ONE,
        name="sat_water",
        list_name="scale",
        required=True,
        role="satisfaction",
        service="water",
        label={
            "en": "How satisfied are you with the water supply?",
            "sr": "Колико сте задовољни водоснабдевањем?",
            "fa": "چقدر از آب‌رسانی راضی هستید؟",
        },
    ),
    dict(
        kind=K.TEXT,
        name="why_water",
        relevant="${sat_water} = '1' or ${sat_water} = '2'",
        label={"en": "What is wrong with it?", "sr": "Шта није у реду?", "fa": "چه مشکلی دارد؟"},
    ),
    dict(kind=K.END_GROUP, name="water"),
    dict(kind=K.BEGIN_GROUP, name="about", label={"en": "About you", "sr": "О вама", "fa": "درباره شما"}),
    dict(
        kind=K.INTEGER,
        name="age",
        required=True,
        constraint=". >= 16 and . <= 110",
        constraint_message={
            "en": "Age must be between 16 and 110.",
            "sr": "Године морају бити између 16 и 110.",
            "fa": "سن باید بین ۱۶ و ۱۱۰ باشد.",
        },
        label={"en": "Your age", "sr": "Ваше године", "fa": "سن شما"},
        role="demographic",
    ),
    dict(
        kind=K.DECIMAL,
        name="bill",
        constraint=". >= 0",
        label={"en": "Monthly water bill", "sr": "Месечни рачун за воду", "fa": "قبض ماهانه آب"},
    ),
    dict(
        kind=K.SELECT_MULTIPLE,
        name="channels",
        list_name="channels",
        label={
            "en": "How do you contact the utility?",
            "sr": "Како контактирате предузеће?",
            "fa": "چگونه با شرکت تماس می‌گیرید؟",
        },
    ),
    dict(kind=K.END_GROUP, name="about"),
]

CHOICES = {
    "yesno": [
        ("yes", {"en": "Yes", "sr": "Да", "fa": "بله"}, False),
        ("no", {"en": "No", "sr": "Не", "fa": "خیر"}, False),
    ],
    "scale": [(str(n), {"en": str(n), "sr": str(n), "fa": "۰۱۲۳۴۵"[n]}, False) for n in range(1, 6)]
    + [("dk", {"en": "Don't know", "sr": "Не знам", "fa": "نمی‌دانم"}, True)],
    "channels": [
        ("phone", {"en": "Phone", "sr": "Телефон", "fa": "تلفن"}, False),
        ("email", {"en": "E-mail", "sr": "Е-пошта", "fa": "ایمیل"}, False),
        ("office", {"en": "Office", "sr": "Шалтер", "fa": "دفتر"}, False),
    ],
}


def questionnaire(unit=None, code="users-2025") -> Survey:
    unit = unit or f.unit()
    survey = Survey.objects.create(
        unit=unit,
        year=2025,
        code=code,
        step=Survey.Step.FIELDWORK,
        title={"en": "Users' satisfaction 2025", "sr": "Задовољство корисника 2025", "fa": "رضایت کاربران ۲۰۲۵"},
        languages=["en", "sr", "fa"],
        form_settings={"default_language": "en"},
    )
    for order, row in enumerate(ROWS, start=1):
        Question.objects.create(survey=survey, order=order, **row)
    for list_name, items in CHOICES.items():
        for order, (name, label, missing) in enumerate(items, start=1):
            Choice.objects.create(
                survey=survey, list_name=list_name, name=name, label=label, order=order, is_missing=missing
            )
    return survey


def sampled_frame(survey, addresses_by_stratum: dict[str, list[str]], probability=None) -> Frame:
    """A frame whose every contact is sampled, with the stratum's inclusion probability."""
    frame = Frame.objects.create(survey=survey, filename="frame.csv", sha256="0" * 64, stratum_column="area")
    position = 0
    for stratum, addresses in addresses_by_stratum.items():
        for address in addresses:
            position += 1
            Contact.objects.create(
                frame=frame,
                position=position,
                stratum=stratum,
                address=address,
                sampled=True,
                inclusion_probability=(probability or {}).get(stratum, 0.1),
            )
    # One contact that was not drawn: it must never get a link.
    Contact.objects.create(frame=frame, position=position + 1, stratum="", address="not-drawn@example.org")
    return frame


def officer_of(unit, name="officer"):
    user = get_user_model().objects.create_user(name)
    Role.objects.create(user=user, kind=Role.Kind.OFFICER, unit=unit)
    return user


GOOD = {"uses_water": "yes", "sat_water": "4", "age": "42", "bill": "12,5", "channels": ["phone", "email"]}
