"""Personal links: one per sampled contact, only the token's hash kept, handed out once in a
mail-merge file (CSV or Excel) or by e-mail, audited, and only by the unit's officers."""

import csv
import io

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from python_calamine import CalamineWorkbook

from municipium.audit.models import AuditEvent
from municipium.surveys import links
from municipium.surveys.models import Link, UsedLinks

from .fieldwork import officer_of, questionnaire, sampled_frame

pytestmark = pytest.mark.django_db


@pytest.fixture
def survey():
    survey = questionnaire()
    sampled_frame(
        survey,
        {"north": ["a@example.org", "b@example.org"], "south": ["Main St 1, Kruševac"]},
        probability={"north": 0.2, "south": 0.05},
    )
    return survey


def test_links_go_to_sampled_contacts_only_and_keep_only_a_hash(survey):
    issued = links.issue(survey, None)
    assert sorted(i.contact.address for i in issued) == ["Main St 1, Kruševac", "a@example.org", "b@example.org"]
    for item in issued:
        link = Link.objects.get(contact=item.contact)
        assert link.token_hash == links.hash_token(item.token) != item.token
        assert (link.stratum, link.inclusion_probability) == (item.contact.stratum, item.contact.inclusion_probability)
    assert links.issue(survey, None) == []  # nobody gets a second link


def test_reissuing_replaces_unused_tokens_and_leaves_used_links_alone(survey):
    first = {i.contact.address: i.token for i in links.issue(survey, None)}
    links.use(links.find(first["a@example.org"]), answers={}, language="en", duration_seconds=None)
    again = {i.contact.address: i.token for i in links.issue(survey, None, reissue=True)}
    assert sorted(again) == ["Main St 1, Kruševac", "b@example.org"]
    assert links.find(first["b@example.org"]) is None and links.find(again["b@example.org"]) is not None
    # The used link is deleted; its stratum counts it (issue 20).
    assert Link.objects.count() == 2 and sum(UsedLinks.objects.values_list("count", flat=True)) == 1


def test_the_officer_downloads_a_mail_merge_file_with_working_personal_urls(client, survey):
    client.force_login(officer_of(survey.unit))
    response = client.post(reverse("survey-links", args=[survey.pk]), {"how": "csv", "language": "sr"})
    assert response["Content-Disposition"].endswith('-links.csv"') and response["Cache-Control"] == "no-store"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["address", "stratum", "personal link"] and len(rows) == 4
    assert rows[1][2].startswith("http://testserver/sr/s/")
    assert client.get(rows[1][2].removeprefix("http://testserver")).status_code == 200
    event = AuditEvent.objects.get(action="survey.links_issued")
    assert event.after == {"created": 3, "replaced": 0} and event.actor.username == "officer"


def test_the_excel_download_holds_the_same_columns(client, survey):
    client.force_login(officer_of(survey.unit))
    response = client.post(reverse("survey-links", args=[survey.pk]), {"how": "xlsx", "language": "fa"})
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(response.content)).get_sheet_by_index(0).to_python()
    assert sheet[0] == ["address", "stratum", "personal link"] and "/fa/s/" in sheet[1][2]


def test_links_are_sent_to_e_mail_addresses_only(client, survey, mailoutbox):
    client.force_login(officer_of(survey.unit))
    client.post(
        reverse("survey-links", args=[survey.pk]),
        {"how": "email", "language": "en", "subject": "Your opinion", "message": "Answer here: {link}"},
    )
    assert sorted(m.to[0] for m in mailoutbox) == ["a@example.org", "b@example.org"]
    token = mailoutbox[0].body.split("/s/")[1].split("/")[0]
    assert links.find(token) is not None
    assert Link.objects.count() == 2  # the postal address waits for a letter


def test_a_message_without_the_link_placeholder_is_refused_and_nothing_is_issued(client, survey, mailoutbox):
    client.force_login(officer_of(survey.unit))
    client.post(reverse("survey-links", args=[survey.pk]), {"how": "email", "subject": "Hi", "message": "no link"})
    assert mailoutbox == [] and not Link.objects.exists() and not AuditEvent.objects.exists()


def test_someone_outside_the_unit_gets_not_found(client, survey):
    client.force_login(get_user_model().objects.create_user("stranger"))
    assert client.post(reverse("survey-links", args=[survey.pk]), {"how": "csv"}).status_code == 404
    assert client.get(reverse("survey-fieldwork", args=[survey.pk])).status_code == 404
    assert not Link.objects.exists()
