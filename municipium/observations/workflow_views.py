"""The status board: a coordinator's view of where each member's data for a period stand,
with the approve, reopen and publish actions. The moves themselves are `workflow`'s; these
views only read the form, show the refusal or the result, and return to the board."""

from collections import Counter

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from municipium.accounts import access
from municipium.places.models import Group, Unit
from municipium.places.views import set_entries, set_variables

from . import workflow
from .models import Observation, Period, Publication, Revision, Status, period_code_from_path

STATUSES = [Status.DRAFT, Status.SUBMITTED, Status.APPROVED, Status.PUBLISHED]


class ReopenForm(forms.Form):
    unit = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label=gettext_lazy("Reason for reopening"), max_length=1000)


class PublishForm(forms.Form):
    unit = forms.CharField(required=False, widget=forms.HiddenInput)
    publish_after = forms.DateField(label=gettext_lazy("Embargo until (optional)"), required=False,
                                    widget=forms.DateInput(attrs={"type": "date"}))


def _board_scope(request, code, period):
    group = get_object_or_404(Group, code=code)
    return group, period_code_from_path(period)


def _member(group, period_code, code) -> Unit:
    period = Period.objects.filter(code=period_code).first()
    unit = Unit.objects.filter(code=code).first()
    if unit is None or period is None or unit.pk not in {u.pk for u in workflow.members(group, period)}:
        raise Http404()
    return unit


@login_required
def status_board(request, code, period):
    group, period_code = _board_scope(request, code, period)
    access.require(access.can_coordinate(request.user, group))
    period_obj = Period.objects.filter(code=period_code).first()
    units = workflow.members(group, period_obj) if period_obj else []
    variables = set_variables(set_entries(group))
    counts, reported, submissions = Counter(), {}, {}
    if period_obj and units:
        observed = Observation.objects.filter(unit__in=units, period=period_obj)
        for row in observed.values("unit_id", "status").annotate(n=Count("id")):
            counts[row["unit_id"], row["status"]] = row["n"]
        if variables:
            for unit_id, variable_id in observed.filter(variable__in=variables).values_list(
                    "unit_id", "variable_id").distinct():
                reported[unit_id] = reported.get(unit_id, 0) + 1
        for revision in (Revision.objects.filter(observation__unit__in=units, observation__period=period_obj,
                                                 status=Status.SUBMITTED)
                         .select_related("changed_by", "observation").order_by("changed_at")):
            submissions[revision.observation.unit_id] = revision  # the latest wins
    rows = []
    for unit in units:
        rows.append({
            "unit": unit,
            "counts": [counts[unit.pk, status] for status in STATUSES],
            "missing": len(variables) - reported.get(unit.pk, 0) if variables else None,
            "submitted": submissions.get(unit.pk),
            "submitted_now": counts[unit.pk, Status.SUBMITTED],
            "approved_now": counts[unit.pk, Status.APPROVED],
            "reopen_form": ReopenForm(initial={"unit": unit.code}, auto_id=f"reopen-{unit.code}-%s"),
            "publish_form": PublishForm(initial={"unit": unit.code}, auto_id=f"publish-{unit.code}-%s"),
        })
    pending = Publication.objects.filter(group=group, period=period_obj, released_at__isnull=True).select_related(
        "unit", "created_by") if period_obj else []
    return render(request, "observations/workflow_board.html", {
        "group": group, "period_code": period_code, "rows": rows, "statuses": [s.label for s in STATUSES],
        "has_set": bool(variables), "pending": pending,
        "publish_form": PublishForm(auto_id="publish-all-%s"),
    })


def _back(group, period_code):
    return redirect("group-status", group.code, period_code)


def _move_unit(request, code, period, move, done: str):
    """Approve or reopen one member's figures from the board: the same scope, refusal and
    message handling for both; `move(unit, period_code)` is the workflow step."""
    group, period_code = _board_scope(request, code, period)
    access.require(access.inside_group(request.user, group))
    unit = _member(group, period_code, request.POST.get("unit", ""))
    try:
        result = move(unit, period_code)
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, done % {"count": result.rows, "unit": unit.label})
    return _back(group, period_code)


@login_required
@require_POST
def approve(request, code, period):
    return _move_unit(request, code, period, lambda unit, when: workflow.approve(request.user, unit, when),
                      _("Approved %(count)s figures of %(unit)s."))


@login_required
@require_POST
def reopen(request, code, period):
    reason = ReopenForm(request.POST).data.get("reason", "")
    return _move_unit(request, code, period, lambda unit, when: workflow.reopen(request.user, unit, when, reason),
                      _("Reopened %(count)s figures of %(unit)s."))


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
        publication = workflow.publish(request.user, group, period_code, unit=unit,
                                       publish_after=form.cleaned_data["publish_after"])
    except workflow.WorkflowError as error:
        messages.error(request, str(error))
    else:
        if publication.released_at:
            messages.success(request, _("Published."))
        else:
            messages.success(request, _("Will be published on %(date)s.")
                             % {"date": publication.publish_after.isoformat()})
    return _back(group, period_code)
