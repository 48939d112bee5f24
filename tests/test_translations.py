"""Every user-visible string has a translation in all six languages, with its placeholders."""

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
