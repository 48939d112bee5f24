"""A meeting cycle and a consultation, in a real browser, as their people do them.

1. The secretary of an exchange group's meeting series plans a meeting (its agenda starts with
   the open decision of the last one), records attendance, minutes and a decision, and
   publishes; the public reads the minutes, and the decision owner finds it on their start page.
2. A consultation from opening to the council decision: a resident comments without an
   account (in Persian, right to left), the secretary moderates and answers, and after the
   window records the council's decision; the report shows it."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from municipium.meetings import services
from municipium.meetings.models import Comment, Consultation, Decision, Meeting
from tests.meetings.world import build, consultation

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_secretary_runs_a_meeting_and_the_public_reads_its_minutes(watched, login):
    w = build()
    services.save_minutes(
        w.secretary,
        w.meeting,
        minutes="<p>First round</p>",
        site_visits="",
        status="held",
        next_host=w.bydgoszcz,
        next_place="Bydgoszcz waterworks",
    )
    earlier = services.add_decision(
        w.secretary, w.meeting, text="Kutno sends its water losses", owner=w.plain_member, deadline=dt.date(2018, 3, 1)
    )
    services.publish_minutes(w.secretary, w.meeting)

    page = login(w.secretary)
    page.goto(f"/en/meetings/bodies/{w.body.code}/")
    page.get_by_role("link", name="Plan a meeting").click()
    expect(page.get_by_label("Place")).to_have_value("Bydgoszcz waterworks")  # agreed last time
    page.get_by_label("Title").fill("Second round")
    page.get_by_label("Starts").fill("2018-06-12T10:00")
    page.get_by_label("Ends").fill("2018-06-12T15:00")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("open decisions")
    expect(page.locator("ol.agenda li.review")).to_contain_text("Follow-up of decision 1/2018")
    assert watched.axe() == []

    page.locator("summary", has_text="Record attendance").click()
    page.get_by_label("Jan Kowalski").select_option("present")
    page.get_by_role("button", name="Save attendance").click()
    expect(page.locator(".quorum")).to_have_attribute("data-reached", "yes")

    page.locator("summary", has_text="Write the minutes").click()
    page.get_by_label("Status").select_option("held")
    page.get_by_role("textbox", name="Minutes").fill("<p>Losses reported <script>alert(1)</script></p>")
    page.get_by_role("button", name="Save the minutes").click()
    page.locator("summary", has_text="Record a decision").click()
    page.get_by_label("Decision", exact=True).fill("Publish the comparison")
    page.get_by_label("Deadline").fill("2018-06-01")  # before the meeting: refused beside the field
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".decision-form .invalid-feedback")).to_contain_text("before the meeting")
    page.get_by_label("Deadline").fill("2018-09-30")
    page.get_by_label("Owner").select_option(label="Jan Kowalski")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".alert-success")).to_contain_text("2/2018")
    page.get_by_role("button", name="Publish the minutes").click()
    expect(page.locator(".badge", has_text="Minutes published")).to_be_visible()

    second = Meeting.objects.get(title="Second round")
    assert "<script" not in second.minutes and second.published is not None
    assert Decision.objects.get(number="2/2018").owner == w.plain_member
    earlier.refresh_from_db()

    page.get_by_role("button", name=re.compile("Log out")).click()
    page.goto(f"/en/meetings/bodies/{w.body.code}/meetings/{second.pk}/")
    expect(page.locator(".minutes")).to_contain_text("Losses reported")
    expect(page.locator("table.decisions")).to_contain_text("Publish the comparison")

    login(w.member)
    page.goto("/en/")
    expect(
        page.locator(".my-decisions li[data-state=overdue]", has_text="Kutno sends its water losses")
    ).to_contain_text("Overdue")


def test_a_consultation_from_a_residents_comment_to_the_council_decision(watched, login):
    w = build()
    c = consultation(w.kutno, body=w.body, title="Taryfa za wodę 2023")
    page = watched.page
    page.goto(f"/fa/meetings/consultations/{c.code}/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    assert watched.axe() == []
    page.locator("#id_text").fill("لطفاً تعرفه اجتماعی حفظ شود.")
    page.locator(".comment-form button[type=submit]").click()
    expect(page.locator(".alert-success")).to_be_visible()
    comment = Comment.objects.get()

    page = login(w.secretary)
    page.goto(f"/en/meetings/consultations/{c.code}/manage/")
    page.get_by_label("Moderation").select_option("published")
    page.get_by_label("Theme").fill("social tariff")
    page.get_by_role("button", name="Save", exact=True).click()
    page.get_by_label("Response").fill("The social tariff stays.")
    page.get_by_role("button", name="Save the response").click()
    expect(page.locator(".alert-success")).to_be_visible()
    comment.refresh_from_db()
    assert comment.state == "published" and comment.response == "The social tariff stays."

    Consultation.objects.filter(pk=c.pk).update(
        opens=timezone.localdate() - dt.timedelta(days=35), closes=timezone.localdate() - dt.timedelta(days=2)
    )
    page.reload()
    page.get_by_label("Number of the council decision").fill("XLV/312/2023")
    page.get_by_label("Date of the council decision").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="Record and close").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Consultation report")
    expect(page.locator("main, body").first).to_contain_text("XLV/312/2023")
    assert watched.axe() == []
