"""The respondent's questionnaire behind a personal link: no login, page by page or all on
one page, relevance applied on the server, one response per link, nothing identifying kept,
and bad tokens answered the same way whatever the reason, and throttled."""

import datetime as dt

import pytest
from django.core import signing
from django.urls import reverse
from django.utils.translation import override

from municipium.accounts.models import LoginAttempt
from municipium.audit.models import AuditEvent
from municipium.surveys import links
from municipium.surveys.fieldwork import START_SALT
from municipium.surveys.models import Link, Response, UsedLinks

from .fieldwork import questionnaire, sampled_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def issued():
    survey = questionnaire()
    sampled_frame(
        survey,
        {"north": ["a@example.org", "b@example.org"], "south": ["Main St 1"]},
        probability={"north": 0.2, "south": 0.05},
    )
    return survey, {i.contact.address: i.token for i in links.issue(survey, None)}


def url(token, language="en"):
    with override(language):
        return reverse("survey-respond", args=[token])


ALL = {
    "layout": "all",
    "q-uses_water": "yes",
    "q-sat_water": "2",
    "q-why_water": "Мутна вода",
    "q-age": "42",
    "q-bill": "12,5",
    "q-channels": ["phone", "office"],
}


def test_the_questionnaire_opens_without_login_in_the_chosen_language(client, issued):
    survey, tokens = issued
    page = client.get(url(tokens["a@example.org"], "sr")).content.decode()
    assert "Да ли користите јавни водовод?" in page
    assert url(tokens["a@example.org"], "fa") in page  # the language switch keeps the token
    assert "Колико сте задовољни" not in page  # on a later page


def test_a_respondent_goes_page_by_page_and_the_response_is_stored_without_the_contact(client, issued):
    survey, tokens = issued
    address = url(tokens["a@example.org"], "sr")
    page = client.get(address)
    start = page.context["start"]
    step = client.post(address, {"start": start, "page": 0, "action": "next", "q-uses_water": "yes"})
    assert step.context["page"] == 1 and "Колико сте задовољни" in step.content.decode()
    # A low score makes the follow-up question appear on the same page (no JavaScript needed).
    updated = client.post(
        address, {"start": start, "page": 1, "action": "update", "q-uses_water": "yes", "q-sat_water": "2"}
    )
    assert "Шта није у реду?" in updated.content.decode()
    step = client.post(
        address,
        {
            "start": start,
            "page": 1,
            "action": "next",
            "q-uses_water": "yes",
            "q-sat_water": "2",
            "q-why_water": "Мутна вода",
        },
    )
    assert step.context["page"] == 2 and step.context["last"]
    done = client.post(
        address,
        {
            "start": start,
            "page": 2,
            "action": "submit",
            "q-uses_water": "yes",
            "q-sat_water": "2",
            "q-why_water": "Мутна вода",
            "q-age": "42",
            "q-bill": "12,5",
        },
    )
    assert done.status_code == 200 and 'id="survey-thanks"' in done.content.decode()
    response = Response.objects.get()
    assert response.answers == {
        "uses_water": "yes",
        "sat_water": "2",
        "why_water": "Мутна вода",
        "age": 42,
        "bill": 12.5,
    }
    assert (response.mode, response.language, response.stratum, response.inclusion_probability) == (
        "web",
        "sr",
        "north",
        0.2,
    )
    assert response.submitted_on == dt.date.today() and response.duration_seconds is not None
    # The used link is gone; its stratum's count is all that is left of it (issue 20).
    assert Link.objects.filter(stratum="north").count() == 1  # b@example.org's, still waiting
    assert dict(UsedLinks.objects.values_list("stratum", "count")) == {"north": 1, "south": 0}
    assert not AuditEvent.objects.filter(model="surveys.response").exists()


def test_missing_answers_keep_the_respondent_on_the_page_with_the_reason(client, issued):
    survey, tokens = issued
    address = url(tokens["a@example.org"])
    page = client.post(address, {"page": 0, "action": "next"})
    assert page.status_code == 200 and "an answer is required" in page.content.decode()
    assert page.context["page"] == 0 and not Response.objects.exists()


def test_persian_digits_are_accepted_and_constraint_messages_are_persian(client, issued):
    survey, tokens = issued
    address = url(tokens["b@example.org"], "fa")
    bad = client.post(address, {**ALL, "action": "submit", "q-age": "۱۲"})
    assert bad.status_code == 200 and "سن باید بین ۱۶ و ۱۱۰ باشد." in bad.content.decode()
    assert not Response.objects.exists() and Link.objects.count() == 3
    good = client.post(address, {**ALL, "action": "submit", "q-age": "۴۲", "q-bill": "۱۲٫۵"})
    assert good.status_code == 200
    assert Response.objects.get().answers["bill"] == 12.5


def test_a_used_link_and_an_unknown_one_get_the_same_answer_and_nothing_is_stored(client, issued):
    survey, tokens = issued
    address = url(tokens["a@example.org"])
    assert client.post(address, {**ALL, "action": "submit"}).status_code == 200
    used = client.post(address, {**ALL, "action": "submit"})
    unknown = client.get(url("x" * 32))
    assert used.status_code == unknown.status_code == 404
    assert used.content.decode().count("not valid or has already been used") == 1
    assert Response.objects.count() == 1


def test_a_second_tab_submitting_the_same_link_stores_nothing_more(issued):
    survey, tokens = issued
    link = links.find(tokens["a@example.org"])
    stale = Link.objects.get(pk=link.pk)  # what the other tab loaded before the first submit
    assert links.use(link, answers={"uses_water": "no"}, language="en", duration_seconds=10) is not None
    assert links.use(stale, answers={"uses_water": "yes"}, language="en", duration_seconds=10) is None
    assert Response.objects.count() == 1 and Response.objects.get().answers == {"uses_water": "no"}


def test_the_duration_comes_from_the_signed_start_and_a_forged_one_is_ignored(client, issued):
    survey, tokens = issued
    start = signing.dumps(int(dt.datetime.now().timestamp()) - 300, salt=START_SALT)
    client.post(url(tokens["a@example.org"]), {**ALL, "action": "submit", "start": start})
    client.post(url(tokens["Main St 1"]), {**ALL, "action": "submit", "start": "1700000000"})
    durations = dict(Response.objects.values_list("stratum", "duration_seconds"))
    assert 299 <= durations["north"] <= 330
    assert Response.objects.filter(duration_seconds__isnull=True).count() == 1


def test_too_many_bad_tokens_from_one_address_are_throttled_even_for_a_good_one(client, issued, settings):
    survey, tokens = issued
    settings.LOGIN_FAILURE_LIMIT = 3
    for attempt in range(3):
        assert client.get(url(f"guess{attempt}")).status_code == 404
    assert LoginAttempt.objects.filter(username="").count() == 3
    assert client.get(url(tokens["a@example.org"])).status_code == 429
    assert client.post(url(tokens["a@example.org"]), {**ALL, "action": "submit"}).status_code == 429
    assert not Response.objects.exists()


def test_the_htmx_refresh_returns_only_the_form(client, issued):
    survey, tokens = issued
    part = client.post(url(tokens["a@example.org"]), {"page": 0, "q-uses_water": "no"}, HTTP_HX_REQUEST="true")
    html = part.content.decode()
    assert html.lstrip().startswith("<form") and "<html" not in html


def test_the_respondent_page_sends_no_store_and_sets_no_session(client, issued):
    survey, tokens = issued
    page = client.get(url(tokens["a@example.org"]))
    assert "no-store" in page["Cache-Control"]
    assert "sessionid" not in page.cookies
