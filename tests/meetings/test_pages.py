"""The meetings pages as people use them: who sees what (404 to outsiders), forms that refuse
bad input beside the field and change nothing, the feeds a calendar reads, the files that go
out (CSV neutralised, PDF), and Persian pages right to left with Persian digits."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from icalendar import Calendar

from municipium.meetings import services
from municipium.meetings.models import Body, CalendarToken, Comment, Consultation, Decision, Meeting

from .world import build, consultation

pytestmark = pytest.mark.django_db


def _client(user=None, csrf=False):
    client = Client(enforce_csrf_checks=csrf)
    if user is not None:
        client.force_login(user)
    return client


def _held_with_decision(w):
    services.save_minutes(
        w.secretary,
        w.meeting,
        minutes="<p>Internal discussion of Kutno's losses</p>",
        site_visits="",
        status=Meeting.Status.HELD,
    )
    return services.add_decision(
        w.secretary,
        w.meeting,
        text="Kutno checks its meters",
        deadline=dt.date(2018, 4, 1),
        owner=w.plain_member,
        owner_unit=w.kutno,
    )


def test_internal_minutes_are_for_members_until_published_then_for_everyone():
    w = build()
    decision = _held_with_decision(w)
    url = f"/en/meetings/bodies/{w.body.code}/meetings/{w.meeting.pk}/"
    pdf = url + "minutes.pdf"
    public = _client().get(url)
    assert public.status_code == 200
    assert "Kutno meeting" in public.content.decode()  # date, place, agenda are public
    assert "Internal discussion" not in public.content.decode()
    assert _client(w.outsider).get(pdf).status_code == 404
    assert _client().get(f"/en/meetings/bodies/{w.body.code}/decisions/").content.decode().count(decision.text) == 0
    member_page = _client(w.member).get(url).content.decode()
    assert "Internal discussion" in member_page and decision.text in member_page
    assert _client(w.member).get(pdf)["Content-Type"] == "application/pdf"

    services.publish_minutes(w.secretary, w.meeting)
    assert "Internal discussion" in _client().get(url).content.decode()
    register = _client().get("/en/meetings/decisions/?state=overdue").content.decode()
    assert decision.text in register and 'data-state="overdue"' in register
    assert _client().get(pdf).content.startswith(b"%PDF")


def test_only_managers_change_a_body_and_outsiders_get_404_not_403():
    w = build()
    url = f"/en/meetings/bodies/{w.body.code}/meetings/{w.meeting.pk}/"
    for user in (None, w.outsider, w.member):
        response = _client(user).post(url, {"action": "decision", "decision-text": "Sneaky"})
        assert response.status_code in (302, 404)
        assert not Decision.objects.exists()
    assert _client(w.outsider).get(f"/en/meetings/bodies/{w.body.code}/meetings/new/").status_code == 404
    assert _client(w.secretary).get(f"/en/meetings/bodies/{w.body.code}/meetings/new/").status_code == 200
    assert _client(w.coordinator).get(f"/en/meetings/bodies/{w.body.code}/edit/").status_code == 200


def test_forms_refuse_bad_input_beside_the_field_and_change_nothing():
    w = build()
    client = _client(w.secretary)
    new = f"/en/meetings/bodies/{w.body.code}/meetings/new/"
    response = client.post(new, {"starts": "2018-02-07T10:00", "ends": "2018-02-07T12:00", "title": "Clash"})
    assert response.status_code == 200
    assert "The body already meets at this time" in response.content.decode()
    assert Meeting.objects.count() == 1
    response = client.post(new, {"starts": "not a date", "ends": "2018-02-07T12:00"})
    assert response.status_code == 200 and Meeting.objects.count() == 1

    url = f"/en/meetings/bodies/{w.body.code}/meetings/{w.meeting.pk}/"
    response = client.post(url, {"action": "decision", "decision-text": "Report", "decision-deadline": "2018-01-01"})
    assert response.status_code == 200
    assert "is before the meeting" in response.content.decode()
    assert not Decision.objects.exists()


def test_a_secretary_runs_the_meeting_through_the_forms_with_csrf():
    w = build()
    client = _client(w.secretary, csrf=True)
    url = f"/en/meetings/bodies/{w.body.code}/meetings/{w.meeting.pk}/"
    assert client.post(url, {"action": "agenda", "agenda-title": "Water indicators"}).status_code == 403  # no token
    page = client.get(url)
    token = page.cookies["csrftoken"].value if "csrftoken" in page.cookies else client.cookies["csrftoken"].value
    post = lambda data: client.post(url, {**data, "csrfmiddlewaretoken": token})  # noqa: E731
    assert post({"action": "agenda", "agenda-title": "Water indicators"}).status_code == 302
    assert (
        post(
            {
                "action": "attendance",
                f"attendance-m{w.secretary_member.pk}": "present",
                f"attendance-m{w.plain_member.pk}": "excused",
            }
        ).status_code
        == 302
    )
    assert (
        post(
            {
                "action": "minutes",
                "minutes-status": "held",
                "minutes-minutes": "<p>Done</p>",
                "minutes-next_host": w.kutno.pk,
                "minutes-next_place": "Town hall",
            }
        ).status_code
        == 302
    )
    assert (
        post({"action": "decision", "decision-text": "Adopt the set", "decision-deadline": "2018-03-01"}).status_code
        == 302
    )
    assert post({"action": "publish"}).status_code == 302
    w.meeting.refresh_from_db()
    assert w.meeting.published and w.meeting.agenda.filter(title="Water indicators").exists()
    assert Decision.objects.get().number == "1/2018"
    # The next meeting starts where the last one agreed, with its open decision on the agenda.
    new = client.get(f"/en/meetings/bodies/{w.body.code}/meetings/new/").content.decode()
    assert 'value="Town hall"' in new


def test_the_body_feed_and_the_personal_feed_parse_as_icalendar():
    w = build()
    decision = _held_with_decision(w)
    c = consultation(w.kutno, body=w.body, council_deadline=timezone.localdate() + dt.timedelta(days=60))
    body_feed = Calendar.from_ical(_client().get(f"/en/meetings/bodies/{w.body.code}/calendar.ics").content)
    summaries = [str(e["summary"]) for e in body_feed.walk("VEVENT")]
    assert "Kutno meeting" in summaries
    assert not any(decision.number in s for s in summaries)  # internal until published
    assert any(c.title in s for s in summaries) and any("Council decision due" in s for s in summaries)

    client = _client(w.member)
    page = client.post("/en/meetings/calendar/").content.decode()
    address = page.split('id="calendar-address"')[1].split('value="')[1].split('"')[0]
    path = address.split("testserver")[1]
    feed = Calendar.from_ical(Client().get(path).content)
    summaries = [str(e["summary"]) for e in feed.walk("VEVENT")]
    assert any(decision.number in s for s in summaries)  # the member's own bodies, internal included
    assert CalendarToken.objects.get(user=w.member).token_hash not in path
    assert Client().get("/meetings/calendar/not-a-token.ics").status_code == 404


def test_the_register_filters_by_unit_and_exports_neutralised_csv():
    w = build()
    services.save_minutes(w.secretary, w.meeting, minutes="", site_visits="", status=Meeting.Status.HELD)
    services.add_decision(w.secretary, w.meeting, text='=HYPERLINK("http://evil")', owner_unit=w.kutno)
    services.add_decision(w.secretary, w.meeting, text="Bydgoszcz reports", owner_unit=w.bydgoszcz)
    services.publish_minutes(w.secretary, w.meeting)
    page = _client().get("/en/meetings/decisions/?unit=PL-0461011").content.decode()
    assert "Bydgoszcz reports" in page and "HYPERLINK" not in page
    csv = _client().get("/en/meetings/decisions/?format=csv").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in csv or "\"'=HYPERLINK" in csv


def test_a_consultation_from_opening_to_the_council_decision_through_the_pages():
    w = build()
    c = consultation(w.kutno, body=w.body)
    url = f"/en/meetings/consultations/{c.code}/"
    public = _client()
    assert public.post(url, {"name": "Ewa", "text": "Please keep the social tariff."}).status_code == 302
    assert public.post(url, {"name": "", "text": "Buy now", "website": "http://spam"}).status_code == 302  # honeypot
    assert Comment.objects.count() == 1
    assert "Please keep" not in public.get(url).content.decode()  # waits for moderation

    manager = _client(w.secretary)
    manage = f"/en/meetings/consultations/{c.code}/manage/"
    comment = Comment.objects.get()
    assert _client(w.outsider).get(manage).status_code == 404
    manager.post(manage, {"action": "moderate", "comment": comment.pk, "state": "published", "theme": "social tariff"})
    manager.post(manage, {"action": "answer", "comment": comment.pk, "response": "Kept.", "change": ""})
    assert "Kept." in public.get(url).content.decode()

    Consultation.objects.filter(pk=c.pk).update(
        opens=timezone.localdate() - dt.timedelta(days=40), closes=timezone.localdate() - dt.timedelta(days=1)
    )
    response = manager.post(
        manage,
        {
            "action": "council",
            "council-council_number": "XII/123/2023",
            "council-council_date": timezone.localdate().isoformat(),
        },
    )
    assert response.status_code == 302
    report = public.get(f"/en/meetings/consultations/{c.code}/report/").content.decode()
    assert "XII/123/2023" in report and "social tariff" in report
    assert public.get(f"/en/meetings/consultations/{c.code}/report/?format=pdf").content.startswith(b"%PDF")
    csv = public.get(f"/en/meetings/consultations/{c.code}/report/?format=csv").content.decode("utf-8-sig")
    assert "Please keep the social tariff." in csv and "Kept." in csv


def test_an_unpublished_consultation_is_404_to_the_public_and_open_to_its_runner():
    w = build()
    c = consultation(w.kutno, published=False, code="draft-plan")
    assert _client().get(f"/en/meetings/consultations/{c.code}/").status_code == 404
    assert _client(w.outsider).get(f"/en/meetings/consultations/{c.code}/report/").status_code == 404
    assert _client(w.coordinator).get(f"/en/meetings/consultations/{c.code}/").status_code == 200
    assert "draft-plan" not in _client().get("/en/meetings/consultations/").content.decode()


def test_a_wrong_type_document_is_refused_beside_the_upload_field():
    from django.core.files.uploadedfile import SimpleUploadedFile

    w = build()
    today = timezone.localdate()
    data = {
        "scope": "unit:PL-1002011",
        "code": "c1",
        "title": "T",
        "summary": "S",
        "opens": today.isoformat(),
        "closes": (today + dt.timedelta(days=30)).isoformat(),
        "published": "on",
        "upload": SimpleUploadedFile("proposal.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf"),
    }
    response = _client(w.coordinator).post("/en/meetings/consultations/new/", data)
    assert response.status_code == 200
    assert "is not a PDF" in response.content.decode()
    assert not Consultation.objects.exists()
    data["upload"] = SimpleUploadedFile("proposal.pdf", b"%PDF-1.4 tiny", content_type="application/pdf")
    assert _client(w.coordinator).post("/en/meetings/consultations/new/", data).status_code == 302
    got = Client().get("/en/meetings/consultations/c1/document/")
    assert got.content == b"%PDF-1.4 tiny" and got["Content-Disposition"].startswith("attachment")


def test_persian_pages_run_right_to_left_with_persian_digits():
    w = build()
    page = _client().get(f"/fa/meetings/bodies/{w.body.code}/").content.decode()
    assert 'dir="rtl"' in page
    assert "۲۰۱۸-۰۲-۰۶" in page  # the meeting's date
    assert "۱۲/۲۰۱۷" in page  # the appointing act's number


def test_a_new_body_is_set_up_by_the_groups_coordinator_only():
    w = build()
    data = {"scope": "group:pl-exchange", "name": "Waste working group", "code": "waste-wg", "kind": "working_group"}
    assert _client(w.outsider).post("/en/meetings/new/", data).status_code == 404
    response = _client(w.coordinator).post("/en/meetings/new/", data)
    assert response.status_code == 302
    assert Body.objects.get(code="waste-wg").group == w.group
    # A unit the coordinator does not answer for is not among the choices.
    data = {**data, "scope": "unit:PL-9999999", "code": "other"}
    assert _client(w.coordinator).post("/en/meetings/new/", data).status_code == 200
    assert not Body.objects.filter(code="other").exists()


def test_the_api_shows_what_the_pages_show():
    w = build()
    decision = _held_with_decision(w)
    public = _client().get("/api/meetings/decisions").json()
    assert public == []
    mine = _client(w.member).get("/api/meetings/decisions?state=overdue").json()
    assert [d["number"] for d in mine] == [decision.number] and mine[0]["state"] == "overdue"
    body = _client().get(f"/api/meetings/bodies/{w.body.code}").json()
    assert body["meetings"][0]["minutes"] is None and body["members"][0]["name"]
    assert _client().get("/api/meetings/bodies/nope").status_code == 404
    bad = _client(w.member).get("/api/meetings/decisions?state=sideways")
    assert bad.status_code == 422 and bad.json()["problems"][0]["column"] == "state"
    # The owner closes the decision through the API; an outsider cannot even see it.
    out = _client(w.outsider).post(
        f"/api/meetings/decisions/{decision.pk}/status", {"status": "done"}, content_type="application/json"
    )
    assert out.status_code == 404
    done = _client(w.member).post(
        f"/api/meetings/decisions/{decision.pk}/status",
        {"status": "done", "note": "ok"},
        content_type="application/json",
    )
    assert done.status_code == 200 and done.json()["state"] == "done"


def test_overdue_decisions_on_the_owners_start_page_and_in_the_daily_job(mailoutbox):
    from municipium.cli import main

    w = build()
    w.member.email = "jan@example.org"
    w.member.save()
    decision = _held_with_decision(w)  # owned by Jan (w.member), deadline 2018-04-01
    page = _client(w.member).get("/en/").content.decode()
    assert "Decisions you own" in page and decision.text in page and 'data-state="overdue"' in page
    assert "Decisions you own" not in _client(w.outsider).get("/en/").content.decode()

    assert main(["daily", "--today", "2018-04-02"]) == 0
    assert main(["daily", "--today", "2018-04-03"]) == 0  # once only
    [message] = [m for m in mailoutbox if decision.number in m.subject]
    assert message.to == ["jan@example.org"] and decision.text in message.body


def test_persian_meeting_pages_separate_their_parts_without_a_middle_dot():
    """Body, meeting, decisions register, consultation with its moderation and report, and
    the start page's decisions one owns: no middle dot in Persian (read there as a zero),
    the Persian comma instead; English keeps the dot."""
    from tests.marks import middle_dots

    w = build()
    _held_with_decision(w)
    Meeting.objects.filter(pk=w.meeting.pk).update(place="City hall", next_place="Bydgoszcz")
    services.publish_minutes(w.secretary, w.meeting)
    c = consultation(w.kutno, body=w.body)
    comment = services.submit_comment(c, name="Ewa", text="Please keep the social tariff.", ip=None)
    Comment.objects.filter(pk=comment.pk).update(state="published", theme="social tariff")
    Consultation.objects.filter(pk=c.pk).update(council_number="XII/123/2023", council_date=dt.date(2023, 5, 1))
    body = f"/meetings/bodies/{w.body.code}/"
    pages = {
        body: _client(w.member),
        f"{body}meetings/{w.meeting.pk}/": _client(w.member),
        f"{body}decisions/": _client(w.member),
        f"/meetings/consultations/{c.code}/": _client(),
        f"/meetings/consultations/{c.code}/manage/": _client(w.secretary),
        f"/meetings/consultations/{c.code}/report/": _client(),
        "/": _client(w.member),
    }
    for path, client in pages.items():
        response = client.get(f"/fa{path}")
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not middle_dots(page), (path, middle_dots(page))
        assert "، " in page, path
    assert middle_dots(_client(w.member).get(f"/en{body}").content.decode())
