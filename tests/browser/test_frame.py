"""The frame every page shares, seen in a real browser: languages, direction, digits, CSP."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from tests import factories as f
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_start_page_in_persian_is_right_to_left_with_persian_text(watched):
    build_world(years=(2024,), groups=("rasina",))
    page = watched.page
    page.goto("/en/")
    page.click(".language-menu .dropdown-toggle")
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


def test_the_signed_in_menu_fits_a_1366_pixel_screen_in_every_language(watched, login):
    # The fullest menu: an administrator who also coordinates two groups.
    kutno, alytus = f.unit("PL-1002011", {"en": "Kutno"}), f.unit("LT-11", {"en": "Alytus"})
    groups = [f.group("pl-exchange", [kutno]), f.group("lt-exchange", [alytus])]
    person = get_user_model().objects.create_user("coordinator-with-a-long-name", "c@example.org", is_superuser=True)
    for group in groups:
        Role.objects.create(user=person, kind=Role.Kind.COORDINATOR, group=group)
    page = login(person)
    page.set_viewport_size({"width": 1366, "height": 900})
    for language in ("en", "pl", "sr", "bg", "lt", "fa"):
        page.goto(f"/{language}/")
        box = page.locator("form[action$='/logout/'] button").bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1366, (language, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= 1366, language
        page.click("[data-menu=work]")  # "My work": the person's own pages
        assert page.locator(".dropdown-menu.show a[href*='/audit/']").is_visible(), language
