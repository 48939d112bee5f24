"""Every change to bodies, meetings, decisions and consultations goes through here: checked,
done in one transaction, audited. Pages, the API, the demo and the tests call these, so a
rule (no two meetings of a body at once, no deadline before the meeting) holds for all.

A refusal is a `MeetingError` naming the field it is about, so a form shows it beside the
field and the API in its JSON; nothing is written when one is raised.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import nh3
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from municipium.audit.models import record, snapshot
from municipium.lib.numbers import format_number

from .models import AgendaItem, Attendance, Body, Comment, CommentRate, Consultation, Decision, Meeting, Member

# Minutes are rich text typed by secretaries: kept as HTML, with only these tags left.
MINUTE_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "u",
    "ul",
    "ol",
    "li",
    "h3",
    "h4",
    "blockquote",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
MINUTE_ATTRIBUTES = {"a": {"href"}, "th": {"scope"}}

# A consultation's document: what council papers come as, checked by their first bytes.
DOCUMENT_LIMIT = 10 * 1024 * 1024
OPEN_DOCUMENT = {
    ".odt": "application/vnd.oasis.opendocument.text",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}
COMMENT_LIMIT = 5000  # characters in one comment


class MeetingError(ValueError):
    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def clean_html(text: str) -> str:
    """Minutes as safe HTML: scripts, styles, event handlers and foreign schemes removed."""
    return nh3.clean(
        text or "", tags=MINUTE_TAGS, attributes=MINUTE_ATTRIBUTES, url_schemes={"http", "https", "mailto"}
    )


def _audit(action, instance, actor, before=None, note=""):
    record(
        action,
        instance,
        actor=actor,
        before=before,
        after=snapshot(instance) if action != "delete" else None,
        via="web",
        note=note,
    )


# -- bodies --------------------------------------------------------------------------------


def save_body(actor, body: Body, service_areas=None) -> Body:
    """Create or change a body (the form has checked the fields)."""
    before = snapshot(Body.objects.get(pk=body.pk)) if body.pk else None
    if body.term_start and body.term_end and body.term_end < body.term_start:
        raise MeetingError(_("The term cannot end before it begins."), "term_end")
    with transaction.atomic():
        body.save()
        if service_areas is not None:
            body.service_areas.set(service_areas)
        _audit("update" if before else "create", body, actor, before)
    return body


def save_member(actor, member: Member) -> Member:
    before = snapshot(Member.objects.get(pk=member.pk)) if member.pk else None
    if (
        member.user_id
        and Member.objects.filter(body=member.body, user_id=member.user_id).exclude(pk=member.pk).exists()
    ):
        raise MeetingError(_("This account is already a member of the body."), "user")
    with transaction.atomic():
        member.save()
        _audit("update" if before else "create", member, actor, before)
    return member


def remove_member(actor, member: Member) -> None:
    with transaction.atomic():
        before = snapshot(member)
        record("delete", member, actor=actor, before=before, via="web")
        member.delete()


# -- meetings ------------------------------------------------------------------------------


def _check_times(meeting: Meeting) -> None:
    if meeting.ends <= meeting.starts:
        raise MeetingError(_("A meeting must end after it starts."), "ends")
    clash = (
        Meeting.objects.filter(body_id=meeting.body_id, starts__lt=meeting.ends, ends__gt=meeting.starts)
        .exclude(status=Meeting.Status.CANCELLED)
        .exclude(pk=meeting.pk)
        .first()
    )
    if clash is not None:
        when = timezone.localtime(clash.starts)
        raise MeetingError(
            _("The body already meets at this time: %(meeting)s on %(day)s at %(time)s.")
            % {"meeting": clash.title or clash.body.name, "day": f"{when:%Y-%m-%d}", "time": f"{when:%H:%M}"},
            "starts",
        )


def save_meeting(actor, meeting: Meeting) -> Meeting:
    """Plan a meeting or change its date, place and host. A new meeting's agenda starts with
    the open decisions of the body's earlier meetings, each to be reviewed."""
    creating = meeting.pk is None
    before = None if creating else snapshot(Meeting.objects.get(pk=meeting.pk))
    with transaction.atomic():
        # Lock the body's row so two secretaries planning at once cannot both pass the check.
        Body.objects.select_for_update().filter(pk=meeting.body_id).first()
        _check_times(meeting)
        meeting.save()
        if creating:
            open_decisions = Decision.objects.filter(
                body_id=meeting.body_id, status=Decision.Status.OPEN, meeting__starts__lt=meeting.starts
            ).order_by("meeting__starts", "pk")
            for position, decision in enumerate(open_decisions, start=1):
                AgendaItem.objects.create(
                    meeting=meeting,
                    position=position,
                    title=_("Follow-up of decision %(number)s") % {"number": decision.number},
                    notes=decision.text,
                    review_of=decision,
                )
        _audit("update" if before else "create", meeting, actor, before)
    return meeting


def add_agenda_item(actor, meeting: Meeting, title: str, notes: str = "", link=None) -> AgendaItem:
    from . import links

    title = (title or "").strip()
    if not title:
        raise MeetingError(_("Give the agenda item a title."), "title")
    with transaction.atomic():
        position = (meeting.agenda.aggregate(m=Max("position"))["m"] or 0) + 1
        item = AgendaItem(meeting=meeting, position=position, title=title[:300], notes=notes or "")
        if link is not None:
            item.link_type = links.content_type(link)
            item.link_id = link.pk
        item.save()
        _audit("create", item, actor)
    return item


def record_attendance(actor, meeting: Meeting, statuses: dict[int, str]) -> int:
    """Who was there: {member id: present/excused/absent}. Returns how many were present."""
    members = set(meeting.body.members.values_list("pk", flat=True))
    unknown = set(statuses) - members
    if unknown:
        raise MeetingError(_("Attendance names people who are not members of the body."), "attendance")
    allowed = set(Attendance.Status.values)
    for status in statuses.values():
        if status not in allowed:
            raise MeetingError(_("Unknown attendance status: %(status)s") % {"status": status}, "attendance")
    with transaction.atomic():
        before = {str(a.member_id): a.status for a in meeting.attendance.all()}
        for member_id, status in statuses.items():
            Attendance.objects.update_or_create(meeting=meeting, member_id=member_id, defaults={"status": status})
        after = {str(k): v for k, v in statuses.items()}
        record("update", meeting, model="meetings.attendance", actor=actor, before=before, after=after, via="web")
    return sum(1 for s in statuses.values() if s == Attendance.Status.PRESENT)


def quorum(meeting: Meeting) -> dict:
    """Present, needed and whether the meeting had its quorum (None before attendance)."""
    present = meeting.attendance.filter(status=Attendance.Status.PRESENT).count()
    needed = meeting.body.quorum_needed()
    recorded = meeting.attendance.exists()
    return {"present": present, "needed": needed, "reached": (present >= needed) if recorded else None}


def save_minutes(
    actor, meeting: Meeting, *, minutes: str, site_visits: str, status: str, next_host=None, next_place: str = ""
) -> Meeting:
    if meeting.published is not None:
        raise MeetingError(_("The minutes are published; they can no longer be changed."), "minutes")
    if status not in Meeting.Status.values:
        raise MeetingError(_("Unknown meeting status: %(status)s") % {"status": status}, "status")
    before = snapshot(meeting)
    meeting.minutes = clean_html(minutes)
    meeting.site_visits = site_visits or ""
    meeting.status = status
    meeting.next_host = next_host
    meeting.next_place = next_place or ""
    with transaction.atomic():
        meeting.save()
        _audit("update", meeting, actor, before)
    return meeting


def publish_minutes(actor, meeting: Meeting) -> Meeting:
    if meeting.status != Meeting.Status.HELD:
        raise MeetingError(_("Only the minutes of a meeting that was held can be published."), "status")
    if meeting.published is not None:
        return meeting
    before = snapshot(meeting)
    with transaction.atomic():
        meeting.published = timezone.now()
        meeting.save(update_fields=["published"])
        _audit("update", meeting, actor, before, note="minutes published")
    return meeting


def next_number(body: Body, year: int) -> str:
    """The body's next running number in the year: "4/2024"."""
    numbers = Decision.objects.filter(body=body, number__endswith=f"/{year}").values_list("number", flat=True)
    used = [int(n.split("/")[0]) for n in numbers if n.split("/")[0].isdigit()]
    return f"{max(used, default=0) + 1}/{year}"


def add_decision(
    actor, meeting: Meeting, *, text: str, owner=None, owner_unit=None, deadline=None, agenda_item=None
) -> Decision:
    text = (text or "").strip()
    if not text:
        raise MeetingError(_("Write what was decided."), "text")
    if deadline is not None and deadline < meeting.day:
        raise MeetingError(
            _("The deadline %(deadline)s is before the meeting (%(day)s).")
            % {"deadline": deadline.isoformat(), "day": meeting.day.isoformat()},
            "deadline",
        )
    if owner is not None and owner.body_id != meeting.body_id:
        raise MeetingError(_("The owner must be a member of the body."), "owner")
    if agenda_item is not None and agenda_item.meeting_id != meeting.pk:
        raise MeetingError(_("The agenda item belongs to another meeting."), "agenda_item")
    with transaction.atomic():
        Body.objects.select_for_update().filter(pk=meeting.body_id).first()  # numbers are taken one at a time
        decision = Decision.objects.create(
            body=meeting.body,
            meeting=meeting,
            agenda_item=agenda_item,
            number=next_number(meeting.body, meeting.day.year),
            text=text,
            owner=owner,
            owner_unit=owner_unit,
            deadline=deadline,
        )
        _audit("create", decision, actor)
    return decision


def check_status(status: str) -> None:
    if status not in Decision.Status.values:
        raise MeetingError(_("Unknown decision status: %(status)s") % {"status": status}, "status")


def set_decision_status(actor, decision: Decision, status: str, note: str = "", today=None) -> Decision:
    check_status(status)
    before = snapshot(decision)
    decision.status = status
    decision.status_note = note or ""
    decision.closed_on = None if status == Decision.Status.OPEN else (today or timezone.localdate())
    with transaction.atomic():
        decision.save()
        _audit("update", decision, actor, before)
    return decision


# -- consultations -------------------------------------------------------------------------


OFFICE_DOCUMENTS = {
    **OPEN_DOCUMENT,
    ".ods": "application/vnd.oasis.opendocument.spreadsheet",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def check_document(data: bytes, name: str, *, spreadsheets: bool = False) -> tuple[str, str]:
    """(content type, file name) of an uploaded document, or a MeetingError saying why not.
    The type is read from the content (a PDF header, an office zip) and must agree with the
    name; the file is always served as a download, never rendered. Agreements of the
    cooperation module also take spreadsheets (`spreadsheets=True`)."""
    if len(data) > DOCUMENT_LIMIT:
        raise MeetingError(
            _("The document is %(size)s MB; the limit is %(limit)s MB.")
            % {"size": f"{len(data) / 1048576:.1f}", "limit": DOCUMENT_LIMIT // 1048576},
            "document",
        )
    lower = (name or "").lower()
    if data.startswith(b"%PDF-") and lower.endswith(".pdf"):
        return "application/pdf", name
    if data.startswith(b"PK\x03\x04"):
        for suffix, content_type in (OFFICE_DOCUMENTS if spreadsheets else OPEN_DOCUMENT).items():
            if lower.endswith(suffix):
                return content_type, name
    if spreadsheets:
        raise MeetingError(
            _("%(name)s is not a PDF or an office document (.odt, .docx, .ods, .xlsx).") % {"name": name or "?"},
            "document",
        )
    raise MeetingError(
        _("%(name)s is not a PDF, OpenDocument text (.odt) or Word (.docx) file.") % {"name": name or "?"}, "document"
    )


def _consultation_snapshot(consultation: Consultation) -> dict:
    """The consultation for the audit trail: the document by name and size, not its bytes."""
    document = consultation.document
    consultation.document = None
    try:
        data = snapshot(consultation)
    finally:
        consultation.document = document
    data["document"] = {"name": consultation.document_name, "bytes": len(document or b"")}
    return data


def save_consultation(actor, consultation: Consultation, document: tuple[bytes, str] | None = None) -> Consultation:
    if consultation.closes < consultation.opens:
        raise MeetingError(_("The consultation cannot close before it opens."), "closes")
    if consultation.council_deadline and consultation.council_deadline < consultation.closes:
        raise MeetingError(_("The council's deadline cannot be before the consultation closes."), "council_deadline")
    if document is not None:
        content_type, name = check_document(*document)
        consultation.document = document[0]
        consultation.document_name = name[:200]
        consultation.document_type = content_type
    before = None
    if consultation.pk:
        before = _consultation_snapshot(Consultation.objects.get(pk=consultation.pk))
    with transaction.atomic():
        consultation.save()
        after = _consultation_snapshot(consultation)
        record("update" if before else "create", consultation, actor=actor, before=before, after=after, via="web")
    return consultation


def _rate_digest(ip: str | None) -> str:
    key = settings.SECRET_KEY.encode("utf-8")
    return hmac.new(key, f"comment:{ip or '-'}".encode(), hashlib.sha256).hexdigest()


def comments_throttled(ip: str | None) -> bool:
    since = timezone.now() - dt.timedelta(seconds=settings.COMMENT_WINDOW)
    return CommentRate.objects.filter(digest=_rate_digest(ip), at__gte=since).count() >= settings.COMMENT_LIMIT


def submit_comment(consultation: Consultation, *, name: str, text: str, ip: str | None, today=None) -> Comment:
    """A comment from anyone: refused when the consultation is not open, the text is empty
    or too long, or the sender has sent too many lately. The comment waits for moderation.
    The sender's address is kept only as a keyed digest, for the throttle's window."""
    today = today or timezone.localdate()
    if not consultation.is_open(today):
        raise MeetingError(_("This consultation is not open for comments."), None)
    text = (text or "").strip()
    if not text:
        raise MeetingError(_("Write your comment."), "text")
    if len(text) > COMMENT_LIMIT:
        raise MeetingError(
            ngettext(
                "The comment has %(length)s character; the limit is %(limit)s.",
                "The comment has %(length)s characters; the limit is %(limit)s.",
                len(text),
            )
            % {"length": format_number(len(text), 0), "limit": format_number(COMMENT_LIMIT, 0)},
            "text",
        )
    if comments_throttled(ip):
        raise MeetingError(_("Too many comments from your connection; please try again in an hour."), None)
    with transaction.atomic():
        CommentRate.objects.filter(at__lt=timezone.now() - dt.timedelta(seconds=settings.COMMENT_WINDOW)).delete()
        CommentRate.objects.create(digest=_rate_digest(ip))
        comment = Comment.objects.create(
            consultation=consultation, name=(name or "").strip()[:120], text=text, received=today
        )
        record(
            "create", comment, actor=None, after={"consultation": consultation.pk, "length": len(text)}, via="public"
        )
    return comment


def moderate(actor, comment: Comment, state: str, theme: str = "") -> Comment:
    if state not in Comment.State.values:
        raise MeetingError(_("Unknown moderation state: %(state)s") % {"state": state}, "state")
    before = snapshot(comment)
    comment.state = state
    comment.theme = (theme or "").strip()[:120]
    with transaction.atomic():
        comment.save()
        _audit("update", comment, actor, before)
    return comment


def answer(actor, comment: Comment, response: str, change: str = "", today=None) -> Comment:
    response = (response or "").strip()
    if not response:
        raise MeetingError(_("Write the body's response."), "response")
    if comment.state == Comment.State.PENDING:
        raise MeetingError(_("Publish or reject the comment before answering it."), "response")
    before = snapshot(comment)
    comment.response = response
    comment.change = (change or "").strip()
    comment.responded_on = today or timezone.localdate()
    with transaction.atomic():
        comment.save()
        _audit("update", comment, actor, before)
    return comment


def record_council_decision(
    actor, consultation: Consultation, *, number: str, date: dt.date, summary: str = "", today=None
) -> Consultation:
    """The council's decision closes the file: only after the window has closed, once every
    comment is moderated and every published comment answered."""
    today = today or timezone.localdate()
    if consultation.phase(today) != Consultation.Phase.CLOSED:
        raise MeetingError(_("The council decision is recorded after the consultation has closed."), "council_date")
    number = (number or "").strip()
    if not number:
        raise MeetingError(_("Give the number of the council decision."), "council_number")
    if date < consultation.closes:
        raise MeetingError(_("The council cannot decide before the consultation closed."), "council_date")
    pending = consultation.comments.filter(state=Comment.State.PENDING).count()
    unanswered = consultation.comments.filter(state=Comment.State.PUBLISHED, response="").count()
    if pending or unanswered:
        raise MeetingError(
            ngettext(
                "%(count)s comment is still to be moderated or answered.",
                "%(count)s comments are still to be moderated or answered.",
                pending + unanswered,
            )
            % {"count": pending + unanswered},
            "council_number",
        )
    before = _consultation_snapshot(consultation)
    consultation.council_number = number[:64]
    consultation.council_date = date
    consultation.council_summary = summary or ""
    with transaction.atomic():
        consultation.save()
        after = _consultation_snapshot(consultation)
        record("update", consultation, actor=actor, before=before, after=after, via="web", note="council decision")
    return consultation


def report(consultation: Consultation) -> dict:
    """The consultation report: counts, themes and every published comment with its answer.
    The page, the PDF and the CSV read this one function."""
    comments = list(consultation.comments.all())
    published = [c for c in comments if c.state == Comment.State.PUBLISHED]
    themes: dict[str, int] = {}
    for c in published:
        key = c.theme or ""
        themes[key] = themes.get(key, 0) + 1
    return {
        "received": len(comments),
        "published": len(published),
        "rejected": sum(1 for c in comments if c.state == Comment.State.REJECTED),
        "pending": sum(1 for c in comments if c.state == Comment.State.PENDING),
        "answered": sum(1 for c in published if c.response),
        "changed": sum(1 for c in published if c.change),
        "themes": sorted(themes.items(), key=lambda kv: (-kv[1], kv[0])),
        "comments": published,
    }


def send_overdue_reminders(today: dt.date | None = None) -> tuple[int, int]:
    """Daily: one e-mail to the owner of each decision that became overdue, once per
    decision even when several servers run the job (`lib.reminders.send_once`). Owners
    without an account or an e-mail address see it on their start page only. Returns
    (sent, failed)."""
    from django.core.mail import send_mail

    from municipium.lib.reminders import send_once

    today = today or timezone.localdate()
    sent = failed = 0
    due = Decision.objects.overdue(today).filter(overdue_reminded__isnull=True, owner__user__isnull=False)
    for decision in due.select_related("body", "owner__user").order_by("pk"):
        address = decision.owner.user.email
        if not address:
            continue

        def send(decision=decision, address=address) -> int:
            subject = _("Overdue: decision %(number)s of %(body)s") % {
                "number": decision.number,
                "body": decision.body.name,
            }
            text = _(
                "The deadline of this decision was %(deadline)s and it is still open:\n\n%(text)s\n\n"
                "Mark it done or dropped in the decisions register, or ask the body's secretary for a new date."
            ) % {"deadline": decision.deadline.isoformat(), "text": decision.text}
            send_mail(subject, text, None, [address])
            record("remind", decision, actor=None, via="command", note="overdue")
            return 1

        done, fail = send_once(
            Decision.objects.filter(pk=decision.pk),
            "overdue_reminded",
            send,
            f"overdue reminder for decision {decision.pk}",
        )
        sent, failed = sent + done, failed + fail
    return sent, failed


def issue_calendar_token(actor) -> str:
    """A new secret for the person's calendar address; the old address stops working. Only
    the digest is kept; the audit records that an address was made, never the secret."""
    import secrets

    from municipium.lib import tokens

    from .models import CalendarToken

    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        found, made = CalendarToken.objects.update_or_create(user=actor, defaults={"token_hash": tokens.digest(token)})
        record(
            "create" if made else "update",
            found,
            actor=actor,
            via="web",
            after={"user": actor.pk},
            object_repr=f"calendar address of {actor.get_username()}",
        )
    return token
