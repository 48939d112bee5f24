"""API routes of the meetings app, mounted at /api/meetings/ by municipium.api.api.

The same visibility as the pages (`meetings.access`): bodies, meeting dates, places and
agendas are public; minutes, attendance and decisions once published, or to the body's
members and managers before; an unpublished consultation is 404. The one write here is a
decision's status, which its owner or the body's managers may set, through the same service
the register page calls."""

import datetime as dt
from typing import Literal

from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Router, Schema

from municipium.api.schemas import responses
from municipium.meetings import access, services
from municipium.meetings.models import Body, Comment, Consultation, Decision, Meeting

from .auth import ApiError, reader

router = Router(tags=["meetings"])


class MemberOut(Schema):
    name: str
    role: str
    affiliation: str
    kind: str


class BodyOut(Schema):
    code: str
    name: str
    kind: str
    unit: str | None
    group: str | None
    appointed_by: str
    act_number: str
    act_date: dt.date | None
    mandate: str
    term_start: dt.date | None
    term_end: dt.date | None


class MeetingOut(Schema):
    id: int
    body: str
    title: str
    starts: dt.datetime
    ends: dt.datetime
    place: str
    host: str | None
    status: str
    published: bool
    agenda: list[str]
    minutes: str | None  # null when the caller may not read them yet


class BodyDetail(BodyOut):
    members: list[MemberOut]
    meetings: list[MeetingOut]


class DecisionOut(Schema):
    id: int
    number: str
    body: str
    meeting: int
    text: str
    owner: str | None
    owner_unit: str | None
    deadline: dt.date | None
    status: str
    state: str  # the status, or "overdue"
    status_note: str


class StatusIn(Schema):
    status: str
    note: str = ""


class ConsultationOut(Schema):
    code: str
    title: str
    unit: str
    body: str | None
    phase: str
    opens: dt.date
    closes: dt.date
    council_deadline: dt.date | None
    council_number: str
    council_date: dt.date | None
    comments_published: int


def _body_out(b: Body) -> dict:
    return {
        "code": b.code,
        "name": b.name,
        "kind": b.kind,
        "unit": b.unit.code if b.unit else None,
        "group": b.group.code if b.group else None,
        "appointed_by": b.appointed_by,
        "act_number": b.act_number,
        "act_date": b.act_date,
        "mandate": b.mandate,
        "term_start": b.term_start,
        "term_end": b.term_end,
    }


def _meeting_out(m: Meeting, user) -> dict:
    return {
        "id": m.pk,
        "body": m.body.code,
        "title": m.title,
        "starts": m.starts,
        "ends": m.ends,
        "place": m.place,
        "host": m.host.code if m.host else None,
        "status": m.status,
        "published": m.published is not None,
        "agenda": [i.title for i in m.agenda.all()],
        "minutes": m.minutes if access.sees_minutes(user, m) else None,
    }


def _decision_out(d: Decision) -> dict:
    return {
        "id": d.pk,
        "number": d.number,
        "body": d.body.code,
        "meeting": d.meeting_id,
        "text": d.text,
        "owner": d.owner.name if d.owner else None,
        "owner_unit": d.owner_unit.code if d.owner_unit else None,
        "deadline": d.deadline,
        "status": d.status,
        "state": d.state,
        "status_note": d.status_note,
    }


def _problem(error) -> ApiError:
    """A service's refusal in the API's one error shape, located by the field it names."""
    return ApiError(
        422, error.message, [{"row": None, "column": error.field, "message": error.message, "expected": ""}]
    )


@router.get("/bodies", response=responses(list[BodyOut]), summary="Working bodies")
def bodies(request, unit: str | None = None):
    reader(request)
    rows = Body.objects.select_related("unit", "group")
    if unit:
        rows = rows.filter(Q(unit__code=unit) | Q(group__memberships__unit__code=unit)).distinct()
    return [_body_out(b) for b in rows]


@router.get("/bodies/{code}", response=responses(BodyDetail), summary="One body with its members and meetings")
def body(request, code: str):
    user = reader(request)
    b = get_object_or_404(Body.objects.select_related("unit", "group"), code=code)
    meetings = b.meetings.select_related("host", "body").prefetch_related("agenda")
    return {
        **_body_out(b),
        "members": [
            {"name": m.name, "role": m.role, "affiliation": m.affiliation, "kind": m.kind} for m in b.members.all()
        ],
        "meetings": [_meeting_out(m, user) for m in meetings],
    }


@router.get("/decisions", response=responses(list[DecisionOut]), summary="Decisions register")
def decisions(
    request,
    body: str | None = None,
    unit: str | None = None,
    state: Literal["open", "done", "dropped", "overdue"] | None = None,
):
    user = reader(request)
    readable = access.readable_body_ids(user)
    rows = Decision.objects.filter(Q(meeting__published__isnull=False) | Q(body_id__in=readable))
    if body:
        rows = rows.filter(body__code=body)
    if unit:
        rows = rows.filter(Q(owner_unit__code=unit) | Q(body__unit__code=unit))
    if state == "overdue":
        rows = rows.overdue(timezone.localdate())
    elif state:
        rows = rows.filter(status=state)
    rows = rows.select_related("body", "owner", "owner_unit").order_by("deadline", "pk")
    return [_decision_out(d) for d in rows]


@router.post("/decisions/{pk}/status", response=responses(DecisionOut), summary="Set a decision's status")
def decision_status(request, pk: int, payload: StatusIn):
    caller = request.auth
    caller.require_write()
    user = caller.user
    d = Decision.objects.select_related("body", "owner", "owner_unit").filter(pk=pk).first()
    owner = d is not None and d.owner is not None and d.owner.user_id == getattr(user, "pk", None)
    if d is None or not user.is_authenticated or not (owner or access.can_manage(user, d.body)):
        raise Http404
    try:
        services.set_decision_status(user, d, payload.status, payload.note)
    except services.MeetingError as error:
        raise _problem(error) from error
    return _decision_out(d)


@router.get("/consultations", response=responses(list[ConsultationOut]), summary="Public consultations")
def consultations(request):
    user = reader(request)
    rows = Consultation.objects.select_related("unit", "body")
    return [
        {
            "code": c.code,
            "title": c.title,
            "unit": c.unit.code,
            "body": c.body.code if c.body else None,
            "phase": c.phase(),
            "opens": c.opens,
            "closes": c.closes,
            "council_deadline": c.council_deadline,
            "council_number": c.council_number,
            "council_date": c.council_date,
            "comments_published": c.comments.filter(state=Comment.State.PUBLISHED).count(),
        }
        for c in rows
        if access.sees_consultation(user, c)
    ]
