"""Every user-visible string has a translation in all six languages, with its placeholders."""

import re

import pytest

from municipium.lib import messages


def test_every_string_is_translated_into_every_language_with_the_same_placeholders():
    problems = messages.problems()
    assert not problems, (
        "\n".join(problems[:50])
        + f"\n({len(problems)} in all; run `python -m municipium.lib.messages update`, translate, commit)"
    )


def test_the_languages_are_the_six_working_languages():
    from django.conf import settings

    assert settings.LANGUAGE_CODES == ["en", "pl", "sr", "bg", "lt", "fa"]
    assert set(messages.LANGUAGES) == set(settings.LANGUAGE_CODES) - {"en"}


def test_persian_is_written_right_to_left_and_serbian_in_cyrillic():
    from django.utils.translation import get_language_info, gettext, override

    assert get_language_info("fa")["bidi"] is True
    with override("sr"):
        assert gettext("Published") != "Published"
        assert any("\u0400" <= ch <= "\u04ff" for ch in gettext("Published"))


# Plural forms per language, as CLDR and gettext count them (Persian has two, both alike).
PLURAL_FORMS = {"pl": 3, "sr": 3, "bg": 2, "lt": 3, "fa": 2}


def test_every_plural_message_has_every_form_of_its_language_in_every_catalogue():
    incomplete = []
    for root in messages.catalogues():
        for language in messages.LANGUAGES:
            catalog = messages.load(language, root)
            if catalog.num_plurals != PLURAL_FORMS[language]:
                incomplete.append(f"{root.name}/{language}: {catalog.num_plurals} plural forms in the header")
            for message in catalog:
                if not isinstance(message.id, tuple | list):
                    continue
                forms = messages._strs(message)
                if len(forms) != PLURAL_FORMS[language] or not all(forms):
                    incomplete.append(f"{root.name}/{language}: {len(forms)} forms for {message.id[0]!r}")
    assert not incomplete, "\n".join(incomplete)


# A number placeholder before a plural English noun in a message that is not plural: a count
# that skipped ngettext. The few left are decimals (a mean, a size before rounding) or a fixed
# limit, which take no singular.
COUNT_BEFORE_NOUN = re.compile(
    r"%\((\w+)\)[sd] (?:\w+ )?(?:rows|problems|figures|responses|people|arguments|minutes|seconds|questionnaires"
    r"|points|bytes|columns|fields|characters|units|messages|reminders|decimals|periods|links|events|questions"
    r"|members|variables|answers|contacts|items|days|hours|meetings|sites|options|cells|invitations)\b"
)
NOT_COUNTS = {"n0", "margin", "median", "threshold", "cells", "neff"}


def test_every_message_with_a_count_is_a_plural_message():
    dodged = []
    for root in messages.catalogues():
        for message in messages.extract(root):
            if not message.id or isinstance(message.id, tuple | list):
                continue
            for match in COUNT_BEFORE_NOUN.finditer(message.id):
                if match.group(1) not in NOT_COUNTS:
                    dodged.append(f"{root.name}: {message.id!r}")
    assert not dodged, "use ngettext or {% blocktranslate count %}:\n" + "\n".join(dodged)


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("sr", ["1 особу", "2 особе", "5 особа", "11 особа", "21 особу", "1.271 особу"]),
        ("lt", ["1 žmogų", "2 žmones", "5 žmones", "11 žmonių", "21 žmogų", "1 271 žmogų"]),
        ("pl", ["1 osoby", "2 osób", "5 osób", "11 osób", "21 osób", "1 271 osób"]),
        ("bg", ["1 човек", "2 души", "5 души", "11 души", "21 души", "1 271 души"]),
        ("fa", ["۱ نفر", "۲ نفر", "۵ نفر", "۱۱ نفر", "۲۱ نفر", "۱٬۲۷۱ نفر"]),
    ],
)
def test_a_count_takes_the_form_its_number_needs_and_the_language_s_digits(language, expected):
    from django.utils.translation import ngettext, override

    from municipium.lib.numbers import format_number

    with override(language):
        shown = [
            ngettext("Contact <strong>%(n)s</strong> person.", "Contact <strong>%(n)s</strong> people.", n)
            % {"n": format_number(n, 0)}
            for n in (1, 2, 5, 11, 21, 1271)
        ]
    spaces = str.maketrans({"\u00a0": " ", "\u202f": " "})
    for text, wanted in zip(shown, expected, strict=True):
        assert wanted in re.sub(r"</?strong>", "", text).translate(spaces), (text, wanted)


def _outside_placeholders(text: str) -> str:
    return messages.PLACEHOLDER.sub("", text)


def test_persian_writes_scales_percent_signs_and_step_numbers_in_its_own_digits():
    """A range ("1–5"), a step number ("1. ...") or a percent sign in a message is written
    ۱–۵, ۱. and ٪ in Persian, beside the ۴۵٪ that lib/numbers writes in the same table."""
    latin = []
    for root in messages.catalogues():
        for message in messages.load("fa", root):
            if not message.id:
                continue
            source = _outside_placeholders(messages._ids(message)[0])
            for text in messages._strs(message):
                shown = _outside_placeholders(text)
                if "%" in source and "%" in shown:
                    latin.append(f"{root.name}: '%' in {text!r}")
                if re.search(r"\d–\d|^\d\. |\d+%", source) and re.search(r"[0-9]", shown):
                    latin.append(f"{root.name}: Latin digits in {text!r}")
    assert not latin, "\n".join(latin)


# One word per concept in each language (issue 11), as the native-speaker reviews chose it
# (municipium/locale/<language>/REVIEW-ANSWERS.md). A message that names the concept in
# English uses the language's word for it, or keeps the English token where it is a sheet or
# column name people type.
TERMS = {
    r"\bindicators?\b": {"pl": "wskaźnik", "sr": "показатељ", "bg": "показател", "lt": "rodikl", "fa": "شاخص"},
    r"\bviewers?\b": {"pl": "przeglądając", "sr": "посматрач", "bg": "наблюдател", "lt": "stebėtoj", "fa": "مشاهده‌گر"},
    r"\bpolarity\b": {"pl": "kierun", "sr": "пожељни смер", "bg": "желана посока", "lt": "krypt", "fa": "جهت مطلوب"},
    r"non-revenue water": {
        "pl": "niedochodow",
        "sr": "неприходован",
        "bg": "неинкасиран",
        "lt": "pajamų neduodant",
        "fa": "آب بدون درآمد",
    },
    r"\bbreakdowns?\b": {"pl": "podzia", "sr": "разврста", "bg": "разбивк", "lt": "skaid", "fa": "تفکیک"},
    r"\bsurveys?\b": {
        "pl": "badani|badań|ankiet",
        "sr": "анкет",
        "bg": "проучван|анкет",
        "lt": "apklaus",
        "fa": "پیمایش",
    },
    r"\bregions?\b": {"pl": "region|wojew", "sr": "регион", "bg": "регион", "lt": "region", "fa": "استان|منطقه"},
}
SURVEY_UI_ONLY = {r"\bsurveys?\b"}
# Words the reviews replaced: each meant something else to the reader.
REPLACED = {
    "sr": ["Прегледач", "Поларитет", "индикатор", "ревизиј", "Ревизиј", "опажањ", "Губици воде"],
    "bg": ["Полярност", "Неотчетени", "Окръг", "Защриховано", "До (вкл.)"],
    "lt": ["Peržiūrėtoj", "Lauko darbai"],
    "fa": ["نظرسنجی", "حسابرسی", "بیننده", "بومی‌سازی", "بومی‌شده", "این نصب"],
    "pl": ["Przywracanie", "Otwarta uwaga", "rakingu"],
}
# Two concepts that must not share one word.
DISTINCT = [(("Breakdown", None), ("Split", None)), (("Region", "unit kind"), ("District", None))]


def _catalogue_texts(language: str):
    """(where, English, translation) for every message of every catalogue and every starter
    YAML (where: "ui", "catalog" or "surveys")."""
    import yaml

    for root in messages.catalogues():
        for message in messages.load(language, root):
            if message.id:
                for text in messages._strs(message):
                    yield "ui", messages._ids(message)[0], text

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("en"), str) and isinstance(node.get(language), str):
                yield path.parent.parent.name, node["en"], node[language]
            for value in node.values():
                yield from walk(value)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value)

    for path in sorted(messages.ROOT.glob("*/starter/*.yaml")):
        yield from walk(yaml.safe_load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_each_concept_has_one_word_in_each_language(language):
    inconsistent = []
    for where, english, text in _catalogue_texts(language):
        source = messages.PLACEHOLDER.sub("", english)
        for concept, words in TERMS.items():
            if concept in SURVEY_UI_ONLY and where == "catalog":
                continue  # there a survey is a land or road survey, another concept
            match = re.search(concept, source, re.IGNORECASE)
            if match and not re.search(words[language], text, re.IGNORECASE) and match.group(0) not in text:
                inconsistent.append(f"{concept}: {english!r} -> {text!r}")
        inconsistent += [f"replaced word {word!r} in {text!r}" for word in REPLACED.get(language, []) if word in text]
    assert not inconsistent, "\n".join(inconsistent)


@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_two_concepts_never_share_a_word(language):
    catalog = messages.load(language)
    for first, second in DISTINCT:
        one, other = catalog.get(first[0], context=first[1]), catalog.get(second[0], context=second[1])
        assert one.string != other.string, (language, first, second, one.string)
