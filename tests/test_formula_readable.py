"""Formulas for readers: names for codes, the engine's grouping, HTML escaped."""

from django.utils import translation

from municipium.lib.formulas import parse
from municipium.lib.formulas.readable import readable_html, readable_text

NAMES = {
    "water_produced": "Water produced",
    "water_billed": "Water billed",
    "pop": "Population",
    "capex": "Capital expenditure",
}


def test_codes_are_replaced_by_names_with_the_pages_signs():
    with translation.override("en"):
        text = readable_text(parse("100 * (water_produced - water_billed) / water_produced"), NAMES)
    assert text == "100 × (Water produced − Water billed) ÷ Water produced"


def test_a_code_without_a_name_stays_a_code():
    assert readable_text(parse("a + pop"), NAMES) == "a + Population"


def test_categories_sums_and_lags_are_said_in_words():
    categories = {("pop", "80+"): "80 years and over", ("pop", "65-79"): "65–79 years"}
    with translation.override("en"):
        assert (
            readable_text(parse('100 * pop["80+"] / sum(pop)'), NAMES, categories)
            == "100 × Population [80 years and over] ÷ Population, all categories"
        )
        assert (
            readable_text(parse('sum(pop, "65-79", "80+")'), NAMES, categories)
            == "Population [65–79 years, 80 years and over]"
        )
        assert (
            readable_text(parse("capex - lag(capex, 2)"), NAMES)
            == "Capital expenditure − Capital expenditure (2 periods earlier)"
        )
        assert (
            readable_text(parse("if(pop > 0, min(capex, 1), 0)"), NAMES)
            == "if Population > 0 then smallest of (Capital expenditure, 1) else 0"
        )


def test_html_links_each_name_and_escapes_everything():
    html = readable_html(parse("a / b"), {"a": "<b>A & co</b>", "b": "B"}, href=lambda code: f"#variable-{code}")
    assert "&lt;b&gt;A &amp; co&lt;/b&gt;" in html
    assert '<a class="formula-name" href="#variable-a" data-code="a">' in html
    assert " ÷ " in html
    assert "<b>" not in html


def test_right_operands_of_equal_strength_keep_their_parentheses():
    assert readable_text(parse("a - (b - c)"), {}) == "a − (b − c)"
    assert readable_text(parse("a / (b * c)"), {}) == "a ÷ (b × c)"


def test_numbers_are_written_as_the_readers_language_writes_them():
    """Issue 19: the readable formula showed "100 ×" in Latin digits on Persian pages. Its
    constants go through numbers.format_number: Persian digits and decimal mark, a decimal
    comma where the language writes one (and then a semicolon between a function's
    arguments, so "0,5" does not run into the comma); as written otherwise (no grouping, the
    decimals written, an exponent kept)."""
    nrw = parse("100 * (water_produced - water_billed) / water_produced")
    with translation.override("fa"):
        assert readable_text(nrw, NAMES) == "۱۰۰ × (Water produced − Water billed) ÷ Water produced"
        text = readable_text(parse("min(capex, 0.50) + 1000 - 2e3"), NAMES)
        assert "(Capital expenditure، ۰٫۵۰)" in text and "+ ۱۰۰۰ −" in text and text.endswith("۲e۳")
        html = readable_html(nrw, NAMES, href=lambda code: f"#variable-{code}")
        assert html.startswith("۱۰۰ × (") and not any(d in html.replace("variable-", "") for d in "0123456789")
        assert readable_text(parse('sum(pop, "65-79", "80+")'), NAMES) == "Population [65-79، 80+]"
    with translation.override("pl"):
        assert readable_text(parse("min(capex, 0.5) * 100"), NAMES) == "najmniejsza z (Capital expenditure; 0,5) × 100"
    with translation.override("en"):
        assert readable_text(parse("min(capex, 0.5) * 1000"), NAMES) == "smallest of (Capital expenditure, 0.5) × 1000"
