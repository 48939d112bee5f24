"""iCalendar feeds, so people subscribe from Outlook or Thunderbird: a body's (its meetings,
the deadlines of its published decisions, its consultations' windows and council deadlines)
and a person's (the same for every body they sit on, internal decisions included, and the
decisions they own).

Built with `icalendar`. Each event's UID is stable (the object's kind and id and the site),
so a calendar updates an event when a meeting moves instead of adding a second one.
"""

import datetime as dt

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from .models import Body, Consultation, Decision, Meeting

PRODID = "-//Municipium//meetings//EN"


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    return cal


def _event(uid: str, summary: str, start, end=None, location: str = "", description: str = "") -> Event:
    event = Event()
    event.add("uid", f"{uid}@municipium")
    event.add("dtstamp", timezone.now())
    event.add("summary", summary)
    event.add("dtstart", start)
    if end is not None:
        event.add("dtend", end)
    if location:
        event.add("location", location)
    if description:
        event.add("description", description)
    return event


def _meeting_events(meetings) -> list[Event]:
    events = []
    for m in meetings:
        place = ", ".join(p for p in (m.place, m.host.label if m.host else "") if p)
        summary = m.title or m.body.name
        if m.status == Meeting.Status.CANCELLED:
            summary = _("Cancelled: %(meeting)s") % {"meeting": summary}
        events.append(_event(f"meeting-{m.pk}", summary, m.starts, m.ends, place))
    return events


def _decision_events(decisions) -> list[Event]:
    return [
        _event(
            f"decision-{d.pk}",
            _("Deadline of decision %(number)s (%(body)s)") % {"number": d.number, "body": d.body.name},
            d.deadline,
            d.deadline + dt.timedelta(days=1),
            description=d.text,
        )
        for d in decisions
        if d.deadline
    ]


def _consultation_events(consultations) -> list[Event]:
    events = []
    for c in consultations:
        events.append(
            _event(
                f"consultation-{c.pk}",
                _("Public consultation: %(title)s") % {"title": c.title},
                c.opens,
                c.closes + dt.timedelta(days=1),
            )
        )
        if c.council_deadline:
            events.append(
                _event(
                    f"consultation-council-{c.pk}",
                    _("Council decision due: %(title)s") % {"title": c.title},
                    c.council_deadline,
                    c.council_deadline + dt.timedelta(days=1),
                )
            )
    return events


def body_feed(body: Body, *, internal: bool) -> bytes:
    cal = _calendar(body.name)
    meetings = body.meetings.select_related("host", "body")
    decisions = Decision.objects.filter(body=body, status=Decision.Status.OPEN).select_related("body")
    if not internal:
        decisions = decisions.published()
    consultations = body.consultations.filter(published=True)
    for event in [*_meeting_events(meetings), *_decision_events(decisions), *_consultation_events(consultations)]:
        cal.add_component(event)
    return cal.to_ical()


def person_feed(user) -> bytes:
    """Everything of the bodies the person sits on, and the open decisions they own."""
    bodies = Body.objects.filter(members__user=user).distinct()
    cal = _calendar(_("Municipium: %(name)s") % {"name": user.get_username()})
    meetings = Meeting.objects.filter(body__in=bodies).select_related("host", "body")
    decisions = (
        Decision.objects.filter(Q(owner__user=user) | Q(body__in=bodies), status=Decision.Status.OPEN)
        .select_related("body")
        .distinct()
    )
    consultations = Consultation.objects.filter(body__in=bodies, published=True)
    for event in [*_meeting_events(meetings), *_decision_events(decisions), *_consultation_events(consultations)]:
        cal.add_component(event)
    return cal.to_ical()
