"""The model questionnaire and the pages a respondent sees speak to every citizen alike:
scale labels that do not assume the respondent is a man, and one polite form of address
(issue 11, Languages)."""

import re

import pytest
from django.template.loader import get_template
from django.utils.translation import override

from municipium.lib import messages
from municipium.surveys import starter

RESPONDENT_PAGES = [
    "surveys/fieldwork/_respondent_form.html",
    "surveys/fieldwork/_questions.html",
    "surveys/fieldwork/respond.html",
    "surveys/fieldwork/thanks.html",
    "surveys/fieldwork/link_not_valid.html",
    "surveys/fieldwork/link_throttled.html",
]


def _texts_of(node, language: str):
    if isinstance(node, dict):
        if language in node and isinstance(node[language], str):
            yield node[language]
        for value in node.values():
            yield from _texts_of(value, language)
    elif isinstance(node, list):
        for value in node:
            yield from _texts_of(value, language)


def _page_texts(language: str) -> list[str]:
    from django.utils.translation import gettext, ngettext

    found = []
    for name in RESPONDENT_PAGES:
        path = get_template(name).origin.name
        with open(path, "rb") as handle:
            for _line, _function, message, _comments in messages.extract_django_template(
                handle, messages.KEYWORDS, (), {}
            ):
                with override(language):
                    if isinstance(message, tuple):
                        found += [ngettext(message[0], message[1], n) for n in (1, 2, 5)]
                    else:
                        found.append(gettext(message))
    return found


def citizen_texts(language: str) -> list[str]:
    return [*_texts_of(starter.source(), language), *_page_texts(language)]


# The polite pronoun, in any case form, written with a capital letter.
CAPITAL_PRONOUN = {
    "sr": r"\b(Ви|Вас|Вам|Вама|Ваш\w*)\b",
    "bg": r"\b(Ви|Вас|Вам|Ваш\w*)\b",
    "lt": r"\b(Jūs|Jūsų|Jums|Jus|Jumis)\b",
}


@pytest.mark.parametrize("language", ["sr", "bg", "lt"])
def test_a_respondent_is_addressed_with_one_polite_pronoun_in_lower_case(language):
    capitalised = []
    for text in citizen_texts(language):
        for sentence in re.split(r"(?<=[.!?:])\s+", text):
            body = sentence.split(" ", 1)[1] if " " in sentence else ""
            if re.search(CAPITAL_PRONOUN[language], body):
                capitalised.append(text)
    assert not capitalised, "\n".join(capitalised)


def test_a_polish_respondent_is_asked_in_one_voice():
    texts = citizen_texts("pl")
    assert not [t for t in texts if re.search(r"\bProszę\b|\b(Ty|Ciebie|Twój|Twoje|Twoja|możesz)\b", t)]
    assert not [t for t in texts if "respondent" in t.lower()]  # not talked about in the third person


MARK = {"pl": "(-a)", "sr": "/-на", "bg": "/-на", "lt": "(-a)"}


@pytest.mark.parametrize("language", ["pl", "sr", "bg", "lt"])
def test_the_satisfaction_scale_does_not_assume_a_man_answers(language):
    for choice in starter.source()["choices"]["satisfaction5"]:
        if choice.get("missing"):
            continue
        label = choice["label"][language]
        # "Neither satisfied nor dissatisfied" has two adjectives, each marked.
        adjectives = 2 if re.match(r"(Ani|Ни|Нито|Nei)\b", label) else 1
        assert label.count(MARK[language]) == adjectives, label
