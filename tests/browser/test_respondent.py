"""A respondent answers the web questionnaire through a personal link, in Serbian page by
page and in Persian all on one page; the officer's progress board counts both responses."""

import pytest
from playwright.sync_api import expect

from municipium.surveys import links
from municipium.surveys.models import Response
from tests.surveys.fieldwork import officer_of, questionnaire, sampled_frame

pytestmark = pytest.mark.django_db(transaction=True)


def settled(page):
    """Wait until htmx has swapped the re-rendered form in, so typing goes into the new one."""
    page.wait_for_selector("#survey-form:not(.htmx-request):not(.htmx-swapping):not(.htmx-settling)")
    page.wait_for_timeout(50)


def test_respondents_answer_in_serbian_and_persian_and_the_board_counts_both(watched, login):
    survey = questionnaire()
    sampled_frame(survey, {"north": ["a@example.org"], "south": ["b@example.org"]})
    tokens = {i.contact.stratum: i.token for i in links.issue(survey, None)}
    page = watched.page

    page.goto(f"/sr/s/{tokens['north']}/")
    expect(page.locator("h1")).to_have_text("Задовољство корисника 2025")
    assert not watched.axe(), watched.axe()
    with page.expect_response(lambda r: r.request.method == "POST"):  # the htmx re-render
        page.get_by_label("Да", exact=True).check()
    settled(page)
    page.locator("button[value=next]").click()
    expect(page.locator("legend").first).to_have_text("Водоснабдевање")
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_label("2", exact=True).check()
    # The follow-up question appears once the low score is chosen (the form re-rendered by htmx).
    expect(page.get_by_label("Шта није у реду?")).to_be_visible()
    page.get_by_label("Шта није у реду?").fill("Мутна вода")
    page.locator("button[value=next]").click()
    page.get_by_label("Ваше године").fill("15")
    page.locator("button[value=submit]").click()
    expect(page.locator("#f-age-error")).to_have_text("Године морају бити између 16 и 110.")
    page.get_by_label("Ваше године").fill("42")
    page.locator("button[value=submit]").click()
    expect(page.locator("#survey-thanks")).to_be_visible()

    page.goto(f"/fa/s/{tokens['south']}/?layout=all")
    assert page.locator("html").get_attribute("dir") == "rtl"
    assert not watched.axe(), watched.axe()
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_label("بله", exact=True).check()
    expect(page.get_by_text("چقدر از آب‌رسانی راضی هستید؟")).to_be_visible()
    with page.expect_response(lambda r: r.request.method == "POST"):
        page.get_by_label("۵", exact=True).check()
    settled(page)
    page.get_by_label("سن شما").fill("۳۸")
    page.get_by_label("قبض ماهانه آب").fill("۱۲٫۵")
    page.locator("button[value=submit]").click()
    expect(page.locator("#survey-thanks")).to_be_visible()
    assert sorted(Response.objects.values_list("language", flat=True)) == ["fa", "sr"]

    login(officer_of(survey.unit))
    page.goto(f"/en/surveys/{survey.pk}/fieldwork/")
    expect(page.locator("#total-responses")).to_have_text("2")
    expect(page.locator(".strata-table tbody")).to_contain_text("100.0%")
    assert not watched.axe(), watched.axe()
