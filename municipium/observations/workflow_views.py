"""The status board: a coordinator's view of where each member's data for a period stand,
with the approve, reopen and publish actions. The moves themselves are `workflow`'s; these
views only read the form, show the refusal or the result, and return to the board."""

import logging
import smtplib
from collections import defaultdict

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Exists, OuterRef
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language, gettext_lazy, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from municipium.accounts import access
from municipium.catalog.models import ServiceArea, Variable
from municipium.lib.numbers import format_number
from municipium.places.models import Group, Unit
from municipium.places.views import set_entries, set_variables

from . import workflow
from .forms import EntrySheet
from .models import Deadline, Observation, Period, Publication, Status, period_code_from_path

log = logging.getLogger(__name__)

STATUSES = [Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.PUBLISHED]


class ReopenForm(forms.Form):
    unit = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Reason for reopening"), max_length=1000)


class PublishForm(forms.Form):
    unit = forms.CharField(required=False, widget=forms.HiddenInput)
    publish_after = forms.DateField(
        label=gettext_lazy("Embargo until (optional)"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


def _board_scope(request, code, period):
    group = get_object_or_404(Group, code=code)
    return group, period_code_from_path(period)


def _member(group, period_code, code) -> Unit:
    period = Period.objects.filter(code=period_code).first()
    unit = Unit.objects.filter(code=code).first()
    if unit is None or period is None or unit.pk not in {u.pk for u in workflow.members(group, period)}:
        raise Http404()
    return unit


class DeadlineForm(forms.Form):
    due = forms.DateField(
        label=gettext_lazy("Deadline for submitting"),
        widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}),
    )


def _failures(units, period_obj, language, tally: workflow.Tally) -> dict[int, list[dict]]:
    """Stored figures of each unit that fail the checks of the entry page, {unit id: by
    service area}, each area with the entry page's address: the same EntrySheet, so the
    board and the form never disagree about what is wrong. The sheets of all the members
    with figures in an area (`tally`: the variables each has a figure of) are built
    together (EntrySheet.many), so the queries grow with the service areas, not with the
    members (8 or more a member and area were most of the board's 11 s for 500 members at
    a country's scale)."""
    found: dict[int, list[dict]] = defaultdict(list)
    if period_obj is None or not units:
        return found
    every_variable = set().union(*tally.variables.values())
    area_of = dict(Variable.objects.filter(pk__in=every_variable).values_list("pk", "service_area_id"))
    areas_of = {unit_id: {area_of[v] for v in mine} for unit_id, mine in tally.variables.items()}
    every_area = set(area_of.values())
    for area in ServiceArea.objects.filter(pk__in=every_area).order_by("order", "code"):
        members = [unit for unit in units if area.pk in areas_of[unit.pk]]
        # The board shows what fails, not the form's inputs: their text is not written.
        for sheet in EntrySheet.many(members, period_obj.code, area, language, inputs=False):
            slots = sheet.check_stored()
            if slots:
                found[sheet.unit.pk].append(
                    {
                        "area": area,
                        "slots": slots,
                        "url": reverse("entry", args=[sheet.unit.code, period_obj.code, area.code]),
                    }
                )
    return found


def _missing(unit, period_code, variables) -> list[dict]:
    """The member's missing figures by service area, named, each area with the address of
    the member's entry form for it."""
    areas: dict[int, dict] = {}
    for variable in variables:
        area = variable.service_area
        if area.pk not in areas:
            areas[area.pk] = {
                "area": area,
                "url": reverse("entry", args=[unit.code, period_code, area.code]),
                "variables": [],
            }
        areas[area.pk]["variables"].append(variable)
    return list(areas.values())


@login_required
def status_board(request, code, period):
    group, period_code = _board_scope(request, code, period)
    access.require(access.can_coordinate(request.user, group))
    period_obj = Period.objects.filter(code=period_code).first()
    units = workflow.members(group, period_obj) if period_obj else []
    # What the sets need from members: a survey's published figures are nobody's to enter.
    variables = sorted(
        (v for v in set_variables(set_entries(group)) if v.entered),
        key=lambda v: (v.service_area.order, v.service_area.code, v.order, v.code),
    )
    tally = workflow.Tally(units, period_obj)
    counts = tally.counts
    submissions = workflow.last_submissions(units, period_obj)
    deadline = Deadline.objects.filter(group=group, period=period_obj).first() if period_obj else None
    today = timezone.localdate()
    failures = _failures(units, period_obj, get_language(), tally)
    rows = []
    for unit in units:
        mine = counts[unit.pk]
        owes = workflow.not_submitted(mine)
        rows.append(
            {
                "unit": unit,
                "counts": [mine[status] for status in STATUSES],
                "missing": _missing(unit, period_code, [v for v in variables if v.pk not in tally.variables[unit.pk]])
                if variables
                else None,
                "failures": failures.get(unit.pk, []),
                "owes": owes,
                "late": bool(deadline and owes and today > deadline.due),
                "submitted": submissions.get(unit.pk),
                "submitted_now": mine[Status.SUBMITTED],
                "approved_now": mine[Status.APPROVED],
                "reopen_form": ReopenForm(initial={"unit": unit.code}, auto_id=f"reopen-{unit.code}-%s"),
                "publish_form": PublishForm(initial={"unit": unit.code}, auto_id=f"publish-{unit.code}-%s"),
            }
        )
    pending = (
        Publication.objects.filter(group=group, period=period_obj, released_at__isnull=True).select_related(
            "unit", "created_by"
        )
        if period_obj
        else []
    )
    return render(
        request,
        "observations/workflow_board.html",
        {
            "group": group,
            "period_code": period_code,
            "rows": rows,
            "statuses": [s.label for s in STATUSES],
            "has_set": bool(variables),
            "pending": pending,
            "publish_form": PublishForm(auto_id="publish-all-%s"),
            "deadline": deadline,
            "deadline_form": DeadlineForm(initial={"due": deadline.due if deadline else None}),
            "late": sum(1 for row in rows if row["late"]),
            "owing": sum(1 for row in rows if row["owes"]),
            "last_reminder": workflow.last_reminder(group, period_obj) if period_obj else None,
        },
    )


@login_required
def status_board_latest(request, code):
    """The board of the period the group is working on: the latest with a deadline or with
    figures of its members, else last year."""
    group = get_object_or_404(Group, code=code)
    access.require(access.can_coordinate(request.user, group))
    return redirect("group-status", group.code, current_period(group))


def current_period(group) -> str:
    candidates = [
        p
        for p in (
            Period.objects.filter(deadlines__group=group).order_by("-end").first(),
            # The latest period with a member's figure, one probe a period from the latest:
            # the join of every member's figures took 0.43 s for a group of 500 (issue 18).
            Period.objects.filter(
                Exists(Observation.objects.filter(period=OuterRef("pk"), unit__memberships__group=group))
            )
            .order_by("-end")
            .first(),
        )
        if p is not None
    ]
    if candidates:
        return max(candidates, key=lambda p: p.end).code
    return str(timezone.localdate().year - 1)


@login_required
@require_POST
def set_deadline(request, code, period):
    group, period_code = _board_scope(request, code, period)
    access.require(access.can_coordinate(request.user, group))
    form = DeadlineForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            _("The deadline was not changed: %(what)s is not a date, like 2025-03-31.")
            % {"what": request.POST.get("due", "") or _("an empty field")},
        )
        return _back(group, period_code)
    try:
        deadline = workflow.set_deadline(request.user, group, period_code, form.cleaned_data["due"])
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(
            request,
            _("The deadline for %(period)s is %(date)s.") % {"period": period_code, "date": deadline.due.isoformat()},
        )
    return _back(group, period_code)


@login_required
@require_POST
def remind(request, code, period):
    group, period_code = _board_scope(request, code, period)
    access.require(access.can_coordinate(request.user, group))
    try:
        sent = workflow.remind(request.user, group, period_code, site=request.build_absolute_uri("/"))
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    except (smtplib.SMTPException, OSError):
        log.exception("reminder could not be sent")
        messages.error(
            request,
            _("The reminders could not be sent: the mail server refused them. Nothing was recorded; try again later."),
        )
    else:
        messages.success(
            request,
            ngettext("Reminders sent: %(count)s message.", "Reminders sent: %(count)s messages.", sent)
            % {"count": format_number(sent, 0)},
        )
    return _back(group, period_code)


def _back(group, period_code):
    return redirect("group-status", group.code, period_code)


def _step(request, unit, move, done, back):
    """Run one workflow step on a unit's figures and say how it went; `move(unit)` is the step."""
    try:
        result = move(unit)
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done(result.rows) % {"count": format_number(result.rows, 0), "unit": unit.label})
    return back


def _move_unit(request, code, period, move, done):
    """Approve or reopen one member's figures from the board; `move(unit, period_code)`."""
    group, period_code = _board_scope(request, code, period)
    access.require(access.inside_group(request.user, group))
    unit = _member(group, period_code, request.POST.get("unit", ""))
    return _step(request, unit, lambda u: move(u, period_code), done, _back(group, period_code))


def _move_entry(request, unit, period, area, move, done):
    """The same steps from a unit's entry page, where its approver reviews the figures of one
    service area; `move(unit, period_code, area)`."""
    unit = get_object_or_404(Unit, code=unit)
    access.require(access.can_approve(request.user, unit))
    period_code = period_code_from_path(period)
    area = get_object_or_404(ServiceArea, code=area)
    return _step(
        request, unit, lambda u: move(u, period_code, area), done, redirect("entry", unit.code, period_code, area.code)
    )


def APPROVED(count: int) -> str:
    return ngettext("Approved %(count)s figure of %(unit)s.", "Approved %(count)s figures of %(unit)s.", count)


def REOPENED(count: int) -> str:
    return ngettext("Reopened %(count)s figure of %(unit)s.", "Reopened %(count)s figures of %(unit)s.", count)


@login_required
@require_POST
def approve(request, code, period):
    return _move_unit(request, code, period, lambda unit, when: workflow.approve(request.user, unit, when), APPROVED)


@login_required
@require_POST
def reopen(request, code, period):
    reason = ReopenForm(request.POST).data.get("reason", "")
    return _move_unit(
        request, code, period, lambda unit, when: workflow.reopen(request.user, unit, when, reason), REOPENED
    )


@login_required
@require_POST
def entry_approve(request, unit, period, area):
    return _move_entry(
        request, unit, period, area, lambda u, when, where: workflow.approve(request.user, u, when, where), APPROVED
    )


@login_required
@require_POST
def entry_reopen(request, unit, period, area):
    reason = ReopenForm(request.POST).data.get("reason", "")
    return _move_entry(
        request,
        unit,
        period,
        area,
        lambda u, when, where: workflow.reopen(request.user, u, when, reason, where),
        REOPENED,
    )


@login_required
@require_POST
def publish(request, code, period):
    group, period_code = _board_scope(request, code, period)
    access.require(access.inside_group(request.user, group))
    form = PublishForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Nothing was published: the embargo date is not a date."))
        return _back(group, period_code)
    unit = _member(group, period_code, form.cleaned_data["unit"]) if form.cleaned_data["unit"] else None
    try:
        publication = workflow.publish(
            request.user, group, period_code, unit=unit, publish_after=form.cleaned_data["publish_after"]
        )
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        if publication.released_at:
            messages.success(request, _("Published."))
        else:
            messages.success(
                request, _("Will be published on %(date)s.") % {"date": publication.publish_after.isoformat()}
            )
    return _back(group, period_code)
