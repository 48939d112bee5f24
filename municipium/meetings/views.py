"""Pages of bodies, meetings, decisions and consultations. Thin: find the thing, ask
`meetings.access` (404 to outsiders), check the form, call a service, render.

A `MeetingError` from a service goes beside the field it names; nothing was written."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from municipium.accounts import access as accounts_access
from municipium.accounts.throttle import client_ip
from municipium.lib import tokens
from municipium.lib.tabular import csv_bytes
from municipium.places.models import Unit

from . import access, calendar, links, services
from .forms import (
    AgendaForm,
    AnswerForm,
    AttendanceForm,
    BodyForm,
    CommentForm,
    ConsultationForm,
    CouncilForm,
    DecisionForm,
    DecisionStatusForm,
    MeetingForm,
    MemberForm,
    MinutesForm,
    ModerateForm,
    put_error,
)
from .models import Body, CalendarToken, Comment, Consultation, Decision, Meeting, Member
from .services import MeetingError

require = accounts_access.require


def _body(code) -> Body:
    return get_object_or_404(Body.objects.select_related("unit", "group").prefetch_related("members"), code=code)


def _meeting(code, pk) -> Meeting:
    return get_object_or_404(
        Meeting.objects.select_related("body", "body__unit", "body__group", "host", "next_host"), pk=pk, body__code=code
    )


# -- bodies --------------------------------------------------------------------------------


def bodies(request):
    rows = Body.objects.select_related("unit", "group").order_by("name")
    unit_code = request.GET.get("unit", "")
    if unit_code:
        rows = rows.filter(Q(unit__code=unit_code) | Q(group__memberships__unit__code=unit_code)).distinct()
    units, groups = access.foundable(request.user)
    return render(
        request,
        "meetings/bodies.html",
        {"bodies": rows, "may_found": units.exists() or groups.exists(), "unit_code": unit_code},
    )


@login_required
def body_new(request):
    units, groups = access.foundable(request.user)
    require(units.exists() or groups.exists())
    form = BodyForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        body = form.apply_scope(form.save(commit=False))
        require(access.may_found(request.user, unit=body.unit, group=body.group))
        try:
            services.save_body(request.user, body, form.cleaned_data["service_areas"])
        except MeetingError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The body was set up. Add its members below."))
            return redirect("meetings:body", code=body.code)
    return render(request, "meetings/body_form.html", {"form": form, "body": None})


@login_required
def body_edit(request, code):
    body = _body(code)
    require(access.can_manage(request.user, body))
    form = BodyForm(request.POST or None, instance=body, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_body(request.user, form.save(commit=False), form.cleaned_data["service_areas"])
        except MeetingError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The body was saved."))
            return redirect("meetings:body", code=body.code)
    return render(request, "meetings/body_form.html", {"form": form, "body": body})


def body(request, code):
    body = _body(code)
    manager = access.can_manage(request.user, body)
    member_form = MemberForm(prefix="member") if manager else None
    if request.method == "POST":
        require(manager)
        member_form = MemberForm(request.POST, prefix="member")
        if member_form.is_valid():
            member = member_form.save(commit=False)
            member.body = body
            member.user = member_form.cleaned_data["username"]
            try:
                services.save_member(request.user, member)
            except MeetingError as error:
                put_error(member_form, error)
            else:
                messages.success(request, _("%(name)s was added to the body.") % {"name": member.name})
                return redirect("meetings:body", code=body.code)
    meetings = list(body.meetings.select_related("host").order_by("-starts"))
    return render(
        request,
        "meetings/body.html",
        {
            "body": body,
            "members": body.members.select_related("user"),
            "meetings": meetings,
            "manager": manager,
            "internal": access.can_read_internal(request.user, body),
            "member_form": member_form,
            "consultations": [c for c in body.consultations.all() if access.sees_consultation(request.user, c)],
        },
    )


@require_POST
def member_remove(request, code, pk):
    body = _body(code)
    require(access.can_manage(request.user, body))
    member = get_object_or_404(Member, pk=pk, body=body)
    services.remove_member(request.user, member)
    messages.success(request, _("%(name)s was removed from the body.") % {"name": member.name})
    return redirect("meetings:body", code=body.code)


def body_calendar(request, code):
    body = _body(code)
    data = calendar.body_feed(body, internal=access.can_read_internal(request.user, body))
    response = HttpResponse(data, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{body.code}.ics"'
    return response


# -- meetings ------------------------------------------------------------------------------


@login_required
def meeting_new(request, code):
    body = _body(code)
    require(access.can_manage(request.user, body))
    last = body.meetings.exclude(status=Meeting.Status.CANCELLED).order_by("-starts").first()
    initial = {"host": last.next_host_id, "place": last.next_place} if last else {}
    form = MeetingForm(request.POST or None, body=body, initial=initial)
    if request.method == "POST" and form.is_valid():
        meeting = form.save(commit=False)
        meeting.body = body
        try:
            services.save_meeting(request.user, meeting)
        except MeetingError as error:
            put_error(form, error)
        else:
            messages.success(request, _("The meeting was planned; its agenda starts with the open decisions."))
            return redirect("meetings:meeting", code=body.code, pk=meeting.pk)
    return render(request, "meetings/meeting_form.html", {"form": form, "body": body, "meeting": None})


@login_required
def meeting_edit(request, code, pk):
    meeting = _meeting(code, pk)
    body = meeting.body
    require(access.can_manage(request.user, body))
    form = MeetingForm(request.POST or None, instance=meeting, body=body)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_meeting(request.user, form.save(commit=False))
        except MeetingError as error:
            put_error(form, error)
            meeting.refresh_from_db()
        else:
            messages.success(request, _("The meeting was saved."))
            return redirect("meetings:meeting", code=body.code, pk=meeting.pk)
    return render(request, "meetings/meeting_form.html", {"form": form, "body": body, "meeting": meeting})


def meeting(request, code, pk):
    meeting = _meeting(code, pk)
    body = meeting.body
    manager = access.can_manage(request.user, body)
    forms = {}
    if manager and meeting.published is None:
        forms = {
            "agenda": AgendaForm(prefix="agenda", body=body),
            "attendance": AttendanceForm(prefix="attendance", meeting=meeting),
            "minutes": MinutesForm(prefix="minutes", instance=meeting, body=body),
            "decision": DecisionForm(prefix="decision", meeting=meeting),
        }
    if request.method == "POST":
        require(manager)
        if meeting.published is not None:
            messages.error(request, _("The minutes are published; they can no longer be changed."))
            return redirect("meetings:meeting", code=code, pk=pk)
        action = request.POST.get("action", "")
        done = _meeting_action(request, meeting, action, forms)
        if done:
            return redirect("meetings:meeting", code=code, pk=pk)
    internal = access.sees_minutes(request.user, meeting)
    agenda = [
        {"item": item, "link": links.describe(item, request.user)}
        for item in meeting.agenda.select_related("review_of", "link_type")
    ]
    return render(
        request,
        "meetings/meeting.html",
        {
            "body": body,
            "meeting": meeting,
            "agenda": agenda,
            "manager": manager,
            "internal": internal,
            "attendance": meeting.attendance.select_related("member") if internal else [],
            "quorum": services.quorum(meeting) if internal else None,
            "decisions": meeting.decisions.select_related("owner", "owner_unit") if internal else [],
            "forms": forms,
        },
    )


def _meeting_action(request, meeting, action, forms) -> bool:
    """One of the secretary's forms on the meeting page; True when it changed something."""
    body = meeting.body
    try:
        if action == "agenda":
            form = forms["agenda"] = AgendaForm(request.POST, prefix="agenda", body=body)
            if form.is_valid():
                services.add_agenda_item(
                    request.user,
                    meeting,
                    form.cleaned_data["title"],
                    form.cleaned_data["notes"],
                    form.cleaned_data["link"],
                )
                messages.success(request, _("The item was added to the agenda."))
                return True
        elif action == "attendance":
            form = forms["attendance"] = AttendanceForm(request.POST, prefix="attendance", meeting=meeting)
            if form.is_valid():
                services.record_attendance(request.user, meeting, form.statuses())
                messages.success(request, _("The attendance was recorded."))
                return True
        elif action == "minutes":
            form = forms["minutes"] = MinutesForm(request.POST, prefix="minutes", instance=meeting, body=body)
            if form.is_valid():
                data = form.cleaned_data
                meeting.refresh_from_db()
                services.save_minutes(
                    request.user,
                    meeting,
                    minutes=data["minutes"],
                    site_visits=data["site_visits"],
                    status=data["status"],
                    next_host=data["next_host"],
                    next_place=data["next_place"],
                )
                messages.success(request, _("The minutes were saved."))
                return True
            meeting.refresh_from_db()
        elif action == "decision":
            form = forms["decision"] = DecisionForm(request.POST, prefix="decision", meeting=meeting)
            if form.is_valid():
                decision = services.add_decision(request.user, meeting, **form.cleaned_data)
                messages.success(request, _("Decision %(number)s was recorded.") % {"number": decision.number})
                return True
        elif action == "publish":
            services.publish_minutes(request.user, meeting)
            messages.success(request, _("The minutes and decisions are published."))
            return True
    except MeetingError as error:
        if action in forms:
            put_error(forms[action], error)
        else:
            messages.error(request, error.message)
    return False


def meeting_pdf(request, code, pk):
    from . import printing

    meeting = _meeting(code, pk)
    require(access.sees_minutes(request.user, meeting))
    data = printing.minutes_pdf(meeting, request.user)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{meeting.body.code}-{meeting.day.isoformat()}.pdf"'
    return response


# -- decisions -----------------------------------------------------------------------------


def _decision_rows(request, queryset):
    """Decisions the reader may see (published ones, and internal ones of their bodies),
    filtered by the register's controls."""
    readable = access.readable_body_ids(request.user)
    rows = queryset.filter(Q(meeting__published__isnull=False) | Q(body_id__in=readable))
    state = request.GET.get("state", "")
    today = timezone.localdate()
    if state == "overdue":
        rows = rows.overdue(today)
    elif state in Decision.Status.values:
        rows = rows.filter(status=state)
    unit_code = request.GET.get("unit", "")
    if unit_code:
        rows = rows.filter(Q(owner_unit__code=unit_code) | Q(body__unit__code=unit_code))
    return rows.select_related("body", "meeting", "owner", "owner_unit").order_by("deadline", "pk"), state, unit_code


def decisions(request, code=None):
    body = _body(code) if code else None
    queryset = Decision.objects.filter(body=body) if body else Decision.objects.all()
    rows, state, unit_code = _decision_rows(request, queryset)
    if request.GET.get("format") == "csv":
        header = [
            _("Number"),
            _("Body"),
            _("Meeting"),
            _("Decision"),
            _("Owner"),
            _("Responsible unit"),
            _("Deadline"),
            _("Status"),
        ]
        data = [
            [
                d.number,
                d.body.name,
                d.meeting.day.isoformat(),
                d.text,
                d.owner.name if d.owner else "",
                d.owner_unit.label if d.owner_unit else "",
                d.deadline.isoformat() if d.deadline else "",
                str(d.state_label),
            ]
            for d in rows
        ]
        response = HttpResponse(csv_bytes([header, *data], bom=True), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="decisions-{body.code if body else "all"}.csv"'
        return response
    managed = {b.pk for b in access.managed_bodies(request.user)}
    return render(
        request,
        "meetings/decisions.html",
        {
            "body": body,
            "rows": rows,
            "state": state,
            "unit_code": unit_code,
            "units": Unit.objects.filter(Q(bodies__isnull=False) | Q(memberships__group__bodies__isnull=False))
            .distinct()
            .order_by("code"),
            "managed": managed,
            "status_form": DecisionStatusForm(),
            "states": [("", _("All"))] + [("overdue", _("Overdue"))] + list(Decision.Status.choices),
        },
    )


@require_POST
def decision_status(request, pk):
    decision = get_object_or_404(Decision.objects.select_related("body"), pk=pk)
    owner = decision.owner is not None and decision.owner.user_id == request.user.pk
    require(request.user.is_authenticated and (owner or access.can_manage(request.user, decision.body)))
    form = DecisionStatusForm(request.POST)
    if form.is_valid():
        services.set_decision_status(request.user, decision, form.cleaned_data["status"], form.cleaned_data["note"])
        messages.success(
            request,
            _("Decision %(number)s is now: %(state)s") % {"number": decision.number, "state": decision.state_label},
        )
    else:
        messages.error(request, _("Choose a status from the list."))
    return redirect(request.POST.get("next") if _safe_next(request) else "meetings:decisions")


def _safe_next(request) -> bool:
    from django.utils.http import url_has_allowed_host_and_scheme

    target = request.POST.get("next", "")
    return bool(target) and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()})


# -- personal calendar ---------------------------------------------------------------------


@login_required
def my_calendar(request):
    address = None
    if request.method == "POST":
        token = services.issue_calendar_token(request.user)
        address = request.build_absolute_uri(reverse("person-calendar", args=[token]))
        messages.success(request, _("Your calendar address is below. It is shown once; a new one ends the old."))
    has_token = CalendarToken.objects.filter(user=request.user).exists()
    return render(request, "meetings/my_calendar.html", {"address": address, "has_token": has_token})


def person_calendar(request, token):
    found = CalendarToken.objects.select_related("user").filter(token_hash=tokens.digest(token)).first()
    if found is None or not found.user.is_active:
        raise Http404()
    response = HttpResponse(calendar.person_feed(found.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="municipium.ics"'
    return response


# -- consultations -------------------------------------------------------------------------


def _consultation(request, code) -> Consultation:
    consultation = get_object_or_404(Consultation.objects.select_related("unit", "body"), code=code)
    require(access.sees_consultation(request.user, consultation))
    return consultation


def consultations(request):
    rows = [c for c in Consultation.objects.select_related("unit", "body") if access.sees_consultation(request.user, c)]
    units, _groups = access.foundable(request.user)
    return render(request, "meetings/consultations.html", {"rows": rows, "may_found": units.exists()})


@login_required
def consultation_new(request):
    return _consultation_form(request, None)


@login_required
def consultation_edit(request, code):
    consultation = get_object_or_404(Consultation, code=code)
    require(access.can_run_consultation(request.user, consultation))
    return _consultation_form(request, consultation)


def _consultation_form(request, consultation):
    units, _groups = access.foundable(request.user)
    require(consultation is not None or units.exists())
    form = ConsultationForm(
        request.POST or None,
        request.FILES or None,
        instance=consultation,
        user=request.user,
        managed=access.managed_bodies(request.user),
    )
    if request.method == "POST" and form.is_valid():
        item = form.save(commit=False)
        if consultation is None:
            item.unit = form.cleaned_data["scope"]
        require(access.may_found(request.user, unit=item.unit) or access.can_run_consultation(request.user, item))
        upload = form.cleaned_data.get("upload")
        document = (upload.read(services.DOCUMENT_LIMIT + 1), upload.name) if upload else None
        try:
            services.save_consultation(request.user, item, document)
        except MeetingError as error:
            put_error(form, error if error.field != "document" else MeetingError(error.message, "upload"))
        else:
            messages.success(request, _("The consultation was saved."))
            return redirect("meetings:consultation", code=item.code)
    return render(request, "meetings/consultation_form.html", {"form": form, "consultation": consultation})


def consultation(request, code):
    consultation = _consultation(request, code)
    form = CommentForm()
    if request.method == "POST":
        form = CommentForm(request.POST)
        if form.is_valid():
            if form.cleaned_data.get("website"):
                # A robot filled the honeypot: thank it as a person and keep nothing.
                messages.success(request, _("Thank you. Your comment will appear once it has been moderated."))
                return redirect("meetings:consultation", code=code)
            try:
                services.submit_comment(
                    consultation,
                    name=form.cleaned_data["name"],
                    text=form.cleaned_data["text"],
                    ip=client_ip(request),
                )
            except MeetingError as error:
                put_error(form, error)
            else:
                messages.success(request, _("Thank you. Your comment will appear once it has been moderated."))
                return redirect("meetings:consultation", code=code)
    return render(
        request,
        "meetings/consultation.html",
        {
            "consultation": consultation,
            "form": form,
            "comments": consultation.comments.filter(state=Comment.State.PUBLISHED),
            "runner": access.can_run_consultation(request.user, consultation),
            "open": consultation.is_open(),
        },
    )


def consultation_document(request, code):
    consultation = _consultation(request, code)
    if not consultation.document:
        raise Http404()
    response = HttpResponse(bytes(consultation.document), content_type=consultation.document_type)
    response["Content-Disposition"] = f'attachment; filename="{consultation.code}{_suffix(consultation)}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _suffix(consultation) -> str:
    name = consultation.document_name.lower()
    return next((s for s in (".pdf", ".odt", ".docx") if name.endswith(s)), "")


@login_required
def consultation_manage(request, code):
    consultation = get_object_or_404(Consultation.objects.select_related("unit", "body"), code=code)
    require(access.can_run_consultation(request.user, consultation))
    council_form = CouncilForm(prefix="council")
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action in ("moderate", "answer"):
                comment = get_object_or_404(Comment, pk=request.POST.get("comment"), consultation=consultation)
                if action == "moderate":
                    form = ModerateForm(request.POST)
                    if form.is_valid():
                        services.moderate(request.user, comment, form.cleaned_data["state"], form.cleaned_data["theme"])
                        messages.success(request, _("The comment was moderated."))
                        return redirect("meetings:consultation-manage", code=code)
                else:
                    form = AnswerForm(request.POST)
                    if form.is_valid():
                        services.answer(
                            request.user, comment, form.cleaned_data["response"], form.cleaned_data["change"]
                        )
                        messages.success(request, _("The response was saved."))
                        return redirect("meetings:consultation-manage", code=code)
                messages.error(
                    request,
                    _("The form has a problem: %(problems)s")
                    % {"problems": "; ".join(str(e) for errors in form.errors.values() for e in errors)},
                )
            elif action == "council":
                council_form = CouncilForm(request.POST, prefix="council")
                if council_form.is_valid():
                    services.record_council_decision(
                        request.user,
                        consultation,
                        number=council_form.cleaned_data["council_number"],
                        date=council_form.cleaned_data["council_date"],
                        summary=council_form.cleaned_data["council_summary"],
                    )
                    messages.success(request, _("The council decision was recorded; the consultation is closed."))
                    return redirect("meetings:consultation-report", code=code)
        except MeetingError as error:
            if action == "council":
                put_error(council_form, error)
            else:
                messages.error(request, error.message)
    return render(
        request,
        "meetings/consultation_manage.html",
        {
            "consultation": consultation,
            "comments": consultation.comments.all(),
            "states": Comment.State.choices,
            "council_form": council_form,
            "phase": consultation.phase(),
        },
    )


def consultation_report(request, code):
    consultation = _consultation(request, code)
    summary = services.report(consultation)
    fmt = request.GET.get("format")
    if fmt == "csv":
        header = [_("Comment"), _("Received"), _("Theme"), _("Name"), _("Response"), _("What changed in the proposal")]
        data = [[c.text, c.received.isoformat(), c.theme, c.name, c.response, c.change] for c in summary["comments"]]
        response = HttpResponse(csv_bytes([header, *data], bom=True), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="consultation-{consultation.code}.csv"'
        return response
    if fmt == "pdf":
        from . import printing

        response = HttpResponse(printing.consultation_pdf(consultation, summary), content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="consultation-{consultation.code}.pdf"'
        return response
    return render(request, "meetings/consultation_report.html", {"consultation": consultation, "summary": summary})
