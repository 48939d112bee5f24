"""The frame every page shares, seen in a real browser: languages, direction, digits, CSP."""

import pytest

from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_start_page_in_persian_is_right_to_left_with_persian_text(watched):
    build_world(years=(2024,), groups=("rasina",))
    page = watched.page
    page.goto("/en/")
    page.click("a[hreflang=fa]")
    page.wait_for_url("**/fa/")
    assert page.get_attribute("html", "dir") == "rtl"
    assert page.get_attribute("html", "lang") == "fa"
    assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert "ناحیه راسینا" in page.inner_text("main")


def test_searching_finds_a_unit_by_its_serbian_name_while_the_page_is_in_english(watched):
    build_world(years=(2024,), groups=("rasina",))
    page = watched.page
    page.goto("/en/")
    page.fill("#search-box", "крушев")
    page.wait_for_selector("#search-results a")
    assert "Kruševac" in page.inner_text("#search-results")


def test_the_start_page_has_no_serious_accessibility_violation(watched):
    build_world(years=(2024,), groups=("rasina",))
    watched.page.goto("/en/")
    assert watched.axe() == []
