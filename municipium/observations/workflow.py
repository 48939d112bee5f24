"""How a unit's data for a period move: draft → submitted → approved → published.

Each transition checks the actor's right (`municipium.accounts.access`), then rewrites the
affected observations with their new status through the one write path
(`services.write_observations`, via "workflow"), so that every move leaves a revision per
observation, one audit event (with the reason, for a reopening) and a recompute.

A refusal raises WorkflowError with a message the person can act on; pages show it, and
turn "you may not see this at all" into 404 before they get here.
"""

import datetime as dt

from django.db import transaction
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from municipium.accounts import access
from municipium.places.models import Group, Membership, Unit

from .models import ImportBatch, Observation, Period, Publication, Status, Via
from .services import Row, WriteResult, write_observations


class WorkflowError(Exception):
    pass


def _period(period) -> Period:
    if isinstance(period, Period):
        return period
    found = Period.objects.filter(code=str(period)).first()
    if found is None:
        raise WorkflowError(_("There are no figures for %(period)s.") % {"period": period})
    return found


def _move(actor, unit: Unit, period: Period, area, sources: set[str], target: str, *, action: str,
          note: str = "", nothing: str) -> WriteResult:
    """Rewrite the unit's observations in one of `sources` statuses with status `target`."""
    with transaction.atomic():
        rows = Observation.objects.select_for_update().filter(unit=unit, period=period, status__in=sources)
        if area is not None:
            rows = rows.filter(variable__service_area=area)
        rows = [Row(o.unit_id, o.variable_id, o.period_id, o.breakdown, o.value, o.missing, target, o.source,
                    o.comment) for o in rows.order_by("pk")]
        if not rows:
            raise WorkflowError(nothing)
        label = f"{unit.code} {period.code}{' ' + area.code if area is not None else ''} {action}"
        batch = ImportBatch(file_name=label[:255], format="workflow", via=Via.WORKFLOW,
                            created_by=actor if getattr(actor, "is_authenticated", False) else None)
        return write_observations(rows, batch=batch, actor=actor, via=Via.WORKFLOW,
                                  note=f"{action}: {note}" if note else action)


def submit(actor, unit: Unit, period, area=None) -> WriteResult:
    """The officer hands the draft in; from now on it is locked for them."""
    if not access.can_enter(actor, unit):
        raise WorkflowError(_("You may not submit the figures of %(unit)s.") % {"unit": unit.label})
    return _move(actor, unit, _period(period), area, {Status.DRAFT}, Status.SUBMITTED, action="submit",
                 nothing=_("There are no draft figures to submit."))


def approve(actor, unit: Unit, period, area=None) -> WriteResult:
    if not access.can_approve(actor, unit):
        raise WorkflowError(_("You may not approve the figures of %(unit)s.") % {"unit": unit.label})
    return _move(actor, unit, _period(period), area, {Status.SUBMITTED}, Status.APPROVED, action="approve",
                 nothing=_("There are no submitted figures to approve."))


def reopen(actor, unit: Unit, period, reason: str, area=None) -> WriteResult:
    """Back to draft, so that the officer can correct; the reason goes into the audit trail."""
    if not access.can_approve(actor, unit):
        raise WorkflowError(_("You may not reopen the figures of %(unit)s.") % {"unit": unit.label})
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_("Say why the figures are reopened: the officer and the audit trail need the reason."))
    return _move(actor, unit, _period(period), area, {Status.SUBMITTED, Status.APPROVED}, Status.DRAFT,
                 action="reopen", note=reason, nothing=_("There are no submitted or approved figures to reopen."))


def members(group: Group, period: Period) -> list[Unit]:
    """Units that are members of the group at some time in the period."""
    rows = (Membership.objects.filter(group=group).exclude(valid_from__gt=period.end)
            .exclude(valid_to__lt=period.start).select_related("unit").order_by("unit__code"))
    seen = {}
    for membership in rows:
        seen.setdefault(membership.unit_id, membership.unit)
    return list(seen.values())


def _publish_now(actor, units, period, area=None) -> int:
    published = 0
    for unit in units:
        try:
            result = _move(actor, unit, period, area, {Status.APPROVED}, Status.PUBLISHED, action="publish",
                           nothing="")
        except WorkflowError:
            continue  # nothing approved for this member: nothing to publish
        published += result.rows
    return published


def publish(actor, group: Group, period, *, unit: Unit | None = None, publish_after: dt.date | None = None,
            today: dt.date | None = None) -> Publication:
    """Publish the approved figures of the group's members (or of one member) for the period,
    now or, with `publish_after`, once that day has come (release_due_publications)."""
    if not access.can_coordinate(actor, group):
        raise WorkflowError(_("Only a coordinator of %(group)s may publish its data.") % {"group": group.label})
    period = _period(period)
    units = members(group, period)
    if unit is not None:
        if unit.pk not in {u.pk for u in units}:
            raise WorkflowError(_("%(unit)s is not a member of %(group)s in %(period)s.")
                                % {"unit": unit.label, "group": group.label, "period": period.code})
        units = [unit]
    today = today or timezone.localdate()
    with transaction.atomic():
        approved = Observation.objects.filter(unit__in=units, period=period, status=Status.APPROVED).exists()
        if not approved:
            raise WorkflowError(_("There are no approved figures to publish."))
        publication = Publication.objects.create(group=group, period=period, unit=unit, publish_after=publish_after,
                                                 created_by=actor if actor.is_authenticated else None)
        if publish_after is None or publish_after <= today:
            _publish_now(actor, units, period)
            publication.released_at = timezone.now()
            publication.save(update_fields=["released_at"])
    return publication


def release_due_publications(today: dt.date | None = None) -> int:
    """Publish what waited for an embargo that has now passed; returns how many figures.

    Only data approved at release time go out: figures reopened meanwhile stay in draft."""
    today = today or timezone.localdate()
    released = 0
    due = Publication.objects.filter(released_at__isnull=True, publish_after__lte=today).select_related(
        "group", "period", "unit", "created_by")
    for publication in due:
        with transaction.atomic():
            units = [publication.unit] if publication.unit else members(publication.group, publication.period)
            released += _publish_now(publication.created_by, units, publication.period)
            publication.released_at = timezone.now()
            publication.save(update_fields=["released_at"])
    return released


@task
def release_publications() -> int:
    """Daily: release the publications whose embargo date has come."""
    return release_due_publications()


class Conflict(WorkflowError):
    """The observation changed after the person looked at it; nothing was written."""


def may_restore(actor, observation: Observation) -> bool:
    """Officers restore while the figure is a draft; once submitted it is locked for them and
    only an approver (or administrator) may change it."""
    unit = observation.unit
    return access.can_approve(actor, unit) or (access.can_enter(actor, unit) and observation.status == Status.DRAFT)


def restore(actor, observation: Observation, revision, *, expected_version: int | None = None) -> WriteResult:
    """Put a revision's value (or missing code), source and comment back; the status stays
    what it is now, so a restore never moves data through the workflow by the back door."""
    if revision.observation_id != observation.pk:
        raise WorkflowError(_("That revision belongs to another figure."))
    with transaction.atomic():
        current = Observation.objects.select_for_update().select_related("unit", "period").get(pk=observation.pk)
        if not may_restore(actor, current):
            raise WorkflowError(_("These figures are submitted and locked; ask an approver to reopen them."))
        if expected_version is not None and current.version != expected_version:
            raise Conflict(_("Someone changed this figure meanwhile (now version %(version)s); look at the "
                             "history again before restoring.") % {"version": current.version})
        row = Row(current.unit_id, current.variable_id, current.period_id, current.breakdown, revision.value,
                  revision.missing, current.status, revision.source, revision.comment)
        batch = ImportBatch(file_name=f"{current.unit.code} {current.period.code} restore v{revision.version}"[:255],
                            format="restore", via=Via.RESTORE,
                            created_by=actor if getattr(actor, "is_authenticated", False) else None)
        return write_observations([row], batch=batch, actor=actor, via=Via.RESTORE,
                                  note=f"restore: observation {current.pk} to version {revision.version}")
