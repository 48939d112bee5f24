"""Issue 19, item 12: a catalogue text shown in another language carries a language mark;
on units of measure the mark was glued to the text ("%en") and put even on "%", which has
nothing to translate."""

from django.utils.translation import override

from municipium.web.templatetags.municipium import text


def test_a_unit_of_measure_without_letters_gets_no_language_mark():
    with override("pl"):
        assert text({"en": "%"}) == "%"
        assert text({"en": "0–100"}) == "0–100"


def test_the_language_mark_is_set_apart_from_the_text_by_a_space():
    with override("pl"):
        shown = str(text({"en": "tonnes"}))
    assert "tonnes</span> <span" in shown and 'class="badge text-bg-light fallback-mark">en<' in shown


def test_a_unit_of_measure_without_letters_takes_the_readers_digits_and_percent_sign():
    from municipium.web.templatetags.municipium import plain

    with override("fa"):
        assert text({"en": "%"}) == "٪" and plain({"en": "%"}) == "٪"
        assert text({"en": "0–100"}) == "۰–۱۰۰"
        assert plain({"en": "m³/inhabitant"}) == "m³/inhabitant"  # words stay as written
    with override("en"):
        assert text({"en": "%"}) == "%" and plain({"en": "0–100"}) == "0–100"
