"""The rules of bodies, meetings, decisions and consultations, held by the services that
every page, the API and the demo go through. Each refusal names its field and leaves the
stored data exactly as they were."""

import datetime as dt

import pytest
from django.utils import timezone

from municipium.audit.models import AuditEvent
from municipium.meetings import services
from municipium.meetings.models import AgendaItem, Comment, CommentRate, Decision, Meeting
from municipium.meetings.services import MeetingError

from .world import at, build, consultation

pytestmark = pytest.mark.django_db


def _state():
    return (
        list(Meeting.objects.order_by("pk").values_list("pk", "starts", "ends", "status")),
        list(Decision.objects.order_by("pk").values_list("pk", "number", "status", "deadline")),
        list(AgendaItem.objects.order_by("pk").values_list("pk", "title")),
        AuditEvent.objects.count(),
    )


def test_an_overlapping_meeting_of_the_same_body_is_refused_and_nothing_changes():
    w = build()
    before = _state()
    with pytest.raises(MeetingError) as caught:
        services.save_meeting(w.secretary, Meeting(body=w.body, starts=at("2018-02-07", 10), ends=at("2018-02-07", 12)))
    assert caught.value.field == "starts"
    assert "2018-02-06" in caught.value.message
    assert _state() == before


def test_a_cancelled_meeting_does_not_block_its_slot_and_a_meeting_must_end_after_it_starts():
    w = build()
    w.meeting.status = Meeting.Status.CANCELLED
    w.meeting.save()
    services.save_meeting(w.secretary, Meeting(body=w.body, starts=at("2018-02-06", 10), ends=at("2018-02-06", 12)))
    with pytest.raises(MeetingError) as caught:
        services.save_meeting(w.secretary, Meeting(body=w.body, starts=at("2018-03-01", 12), ends=at("2018-03-01", 11)))
    assert caught.value.field == "ends"


def test_a_deadline_before_the_meeting_is_refused_with_both_dates():
    w = build()
    before = _state()
    with pytest.raises(MeetingError) as caught:
        services.add_decision(w.secretary, w.meeting, text="Send the data", deadline=dt.date(2018, 1, 31))
    assert caught.value.field == "deadline"
    assert "2018-01-31" in caught.value.message and "2018-02-06" in caught.value.message
    assert _state() == before


def test_decisions_are_numbered_per_body_and_year_and_open_ones_start_the_next_agenda():
    w = build()
    first = services.add_decision(
        w.secretary,
        w.meeting,
        text="Agree the water indicator set",
        owner=w.plain_member,
        deadline=dt.date(2018, 3, 31),
    )
    second = services.add_decision(w.secretary, w.meeting, text="Check data availability", owner_unit=w.kutno)
    done = services.add_decision(w.secretary, w.meeting, text="Publish the list of members")
    services.set_decision_status(w.secretary, done, Decision.Status.DONE)
    assert [first.number, second.number, done.number] == ["1/2018", "2/2018", "3/2018"]

    following = services.save_meeting(
        w.secretary, Meeting(body=w.body, starts=at("2018-06-12"), ends=at("2018-06-12", 15), host=w.bydgoszcz)
    )
    agenda = list(following.agenda.order_by("position"))
    assert [item.review_of for item in agenda] == [first, second]
    assert agenda[0].title == "Follow-up of decision 1/2018"
    later = services.add_decision(w.secretary, following, text="Next step")
    assert later.number == "4/2018"


def test_overdue_is_derived_from_the_deadline_and_never_stored():
    w = build()
    d = services.add_decision(w.secretary, w.meeting, text="Report", deadline=dt.date(2018, 3, 1))
    assert d.status == Decision.Status.OPEN
    assert list(Decision.objects.overdue(dt.date(2018, 3, 2))) == [d]
    assert list(Decision.objects.overdue(dt.date(2018, 3, 1))) == []
    assert d.state == "overdue"  # today is long after 2018
    services.set_decision_status(w.secretary, d, Decision.Status.DONE, "sent on 28 February")
    assert d.state == "done" and d.closed_on is not None


def test_quorum_counts_present_members_against_more_than_half():
    w = build()
    assert services.quorum(w.meeting)["reached"] is None  # nothing recorded yet
    services.record_attendance(w.secretary, w.meeting, {w.secretary_member.pk: "present", w.plain_member.pk: "absent"})
    assert services.quorum(w.meeting) == {"present": 1, "needed": 2, "reached": False}
    services.record_attendance(w.secretary, w.meeting, {w.plain_member.pk: "present"})
    assert services.quorum(w.meeting)["reached"] is True
    with pytest.raises(MeetingError):
        services.record_attendance(w.secretary, w.meeting, {999999: "present"})


def test_minutes_are_sanitised_and_frozen_once_published():
    w = build()
    with pytest.raises(MeetingError):
        services.publish_minutes(w.secretary, w.meeting)  # not held yet
    services.save_minutes(
        w.secretary,
        w.meeting,
        status=Meeting.Status.HELD,
        site_visits="Water treatment plant",
        minutes='<p onclick="x()">Agreed <strong>12</strong> indicators</p><script>alert(1)</script>'
        '<a href="javascript:alert(1)">x</a><img src=x onerror=alert(1)>',
        next_host=w.bydgoszcz,
        next_place="City hall",
    )
    w.meeting.refresh_from_db()
    assert "<script" not in w.meeting.minutes and "onclick" not in w.meeting.minutes
    assert "javascript:" not in w.meeting.minutes and "<img" not in w.meeting.minutes
    assert "<strong>12</strong>" in w.meeting.minutes
    services.publish_minutes(w.secretary, w.meeting)
    with pytest.raises(MeetingError):
        services.save_minutes(w.secretary, w.meeting, minutes="changed", site_visits="", status="held")


def test_every_change_is_audited_with_who():
    w = build()
    d = services.add_decision(w.secretary, w.meeting, text="Audit me")
    event = AuditEvent.objects.filter(model="meetings.decision", object_id=str(d.pk)).get()
    assert event.actor == w.secretary and event.action == "create" and event.after["text"] == "Audit me"


# -- consultations --------------------------------------------------------------------------


def test_the_window_and_the_council_deadline_are_checked():
    w = build()
    today = timezone.localdate()
    with pytest.raises(MeetingError) as caught:
        consultation(w.kutno, opens=today, closes=today - dt.timedelta(days=1))
    assert caught.value.field == "closes"
    with pytest.raises(MeetingError) as caught:
        consultation(w.kutno, opens=today, closes=today + dt.timedelta(days=30), council_deadline=today)
    assert caught.value.field == "council_deadline"


@pytest.mark.parametrize(
    ("data", "name", "accepted"),
    [
        (b"%PDF-1.7\n...", "proposal.pdf", True),
        (b"PK\x03\x04rest", "proposal.odt", True),
        (b"PK\x03\x04rest", "proposal.docx", True),
        (b"MZ\x90\x00", "proposal.pdf", False),  # a program named .pdf
        (b"%PDF-1.7", "proposal.exe", False),
        (b"<html><script>", "proposal.html", False),
    ],
)
def test_a_document_is_checked_by_its_content_and_name(data, name, accepted):
    if accepted:
        assert services.check_document(data, name)[1] == name
    else:
        with pytest.raises(MeetingError) as caught:
            services.check_document(data, name)
        assert caught.value.field == "document" and name in caught.value.message


def test_an_oversized_document_is_refused_with_its_size():
    with pytest.raises(MeetingError) as caught:
        services.check_document(b"%PDF-" + b"0" * services.DOCUMENT_LIMIT, "big.pdf")
    assert "10" in caught.value.message


def test_comments_only_while_open_and_within_limits():
    w = build()
    today = timezone.localdate()
    scheduled = consultation(
        w.kutno, code="later", opens=today + dt.timedelta(days=3), closes=today + dt.timedelta(days=30)
    )
    with pytest.raises(MeetingError):
        services.submit_comment(scheduled, name="", text="Too early", ip="10.0.0.1")
    c = consultation(w.kutno)
    with pytest.raises(MeetingError) as caught:
        services.submit_comment(c, name="", text="x" * (services.COMMENT_LIMIT + 1), ip="10.0.0.1")
    assert caught.value.field == "text"
    with pytest.raises(MeetingError):
        services.submit_comment(c, name="", text="   ", ip="10.0.0.1")
    assert Comment.objects.count() == 0


def test_the_comment_throttle_keeps_no_address(settings):
    settings.COMMENT_LIMIT = 2
    w = build()
    c = consultation(w.kutno)
    for n in range(2):
        services.submit_comment(c, name="", text=f"Comment {n}", ip="203.0.113.9")
    with pytest.raises(MeetingError):
        services.submit_comment(c, name="", text="One too many", ip="203.0.113.9")
    services.submit_comment(c, name="Ela", text="From elsewhere", ip="198.51.100.4")
    assert Comment.objects.count() == 3
    stored = " ".join(CommentRate.objects.values_list("digest", flat=True))
    assert "203.0.113.9" not in stored and len(stored.split()[0]) == 64
    audit = AuditEvent.objects.filter(model="meetings.comment")
    assert all("203.0.113.9" not in str(e.after) for e in audit)


def test_the_council_decision_comes_after_the_window_and_every_answer():
    w = build()
    today = timezone.localdate()
    c = consultation(w.kutno, body=w.body)
    comment = services.submit_comment(c, name="", text="Lower the fixed charge", ip="10.0.0.2")
    with pytest.raises(MeetingError) as caught:
        services.record_council_decision(w.secretary, c, number="XII/123/2023", date=today)
    assert caught.value.field == "council_date"  # still open
    c.opens, c.closes = today - dt.timedelta(days=40), today - dt.timedelta(days=10)
    c.save()
    with pytest.raises(MeetingError) as caught:
        services.answer(w.secretary, comment, "Not yet moderated")
    services.moderate(w.secretary, comment, Comment.State.PUBLISHED, "fixed charge")
    with pytest.raises(MeetingError) as caught:
        services.record_council_decision(w.secretary, c, number="XII/123/2023", date=today)
    assert "1 comment is still" in caught.value.message
    services.answer(w.secretary, comment, "The fixed charge is lowered by 10%.", "Fixed charge 8.50 → 7.65")
    with pytest.raises(MeetingError):
        services.record_council_decision(w.secretary, c, number="XII/123/2023", date=c.closes - dt.timedelta(days=1))
    services.record_council_decision(w.secretary, c, number="XII/123/2023", date=today, summary="Adopted")
    c.refresh_from_db()
    assert c.phase() == "decided"
    summary = services.report(c)
    assert (summary["received"], summary["published"], summary["answered"], summary["changed"]) == (1, 1, 1, 1)
    assert summary["themes"] == [("fixed charge", 1)]
