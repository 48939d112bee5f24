"""How a unit's data for a period move: draft → submitted → approved → published.

Each transition checks the actor's right (`municipium.accounts.access`), then rewrites the
affected observations with their new status through the one write path
(`services.write_observations`, via "workflow"), so that every move leaves a revision per
observation, one audit event (with the reason, for a reopening) and a recompute.

A refusal raises WorkflowError with a message the person can act on; pages show it, and
turn "you may not see this at all" into 404 before they get here.
"""

import datetime as dt
import logging
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from municipium.accounts import access
from municipium.accounts.models import Role
from municipium.places.models import Group, Unit

from . import history
from .models import ImportBatch, Observation, Period, Publication, Status, Via
from .services import Row, WriteResult, write_observations

log = logging.getLogger(__name__)


class WorkflowError(Exception):
    pass


def _period(period) -> Period:
    if isinstance(period, Period):
        return period
    found = Period.objects.filter(code=str(period)).first()
    if found is None:
        raise WorkflowError(_("There are no figures for %(period)s.") % {"period": period})
    return found


def _move(
    actor,
    unit: Unit,
    period: Period,
    area,
    sources: set[str],
    target: str,
    *,
    action: str,
    note: str = "",
    nothing: str,
) -> WriteResult:
    """Rewrite the unit's observations in one of `sources` statuses with status `target`."""
    with transaction.atomic():
        rows = Observation.objects.select_for_update().filter(unit=unit, period=period, status__in=sources)
        if area is not None:
            rows = rows.filter(variable__service_area=area)
        rows = [
            Row(o.unit_id, o.variable_id, o.period_id, o.breakdown, o.value, o.missing, target, o.source, o.comment)
            for o in rows.order_by("pk")
        ]
        if not rows:
            raise WorkflowError(nothing)
        label = f"{unit.code} {period.code}{' ' + area.code if area is not None else ''} {action}"
        batch = ImportBatch(
            file_name=label[:255],
            format="workflow",
            via=Via.WORKFLOW,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        return write_observations(rows, batch=batch, actor=actor, note=f"{action}: {note}" if note else action)


def submit(actor, unit: Unit, period, area=None) -> WriteResult:
    """The officer hands the draft in; from now on it is locked for them."""
    if not access.can_enter(actor, unit):
        raise WorkflowError(_("You may not submit the figures of %(unit)s.") % {"unit": unit.label})
    return _move(
        actor,
        unit,
        _period(period),
        area,
        {Status.DRAFT},
        Status.SUBMITTED,
        action="submit",
        nothing=_("There are no draft figures to submit."),
    )


def approve(actor, unit: Unit, period, area=None) -> WriteResult:
    if not access.can_approve(actor, unit):
        raise WorkflowError(_("You may not approve the figures of %(unit)s.") % {"unit": unit.label})
    return _move(
        actor,
        unit,
        _period(period),
        area,
        {Status.SUBMITTED},
        Status.APPROVED,
        action="approve",
        nothing=_("There are no submitted figures to approve."),
    )


def reopen(actor, unit: Unit, period, reason: str, area=None) -> WriteResult:
    """Back to draft, so that the officer can correct; the reason goes into the audit trail."""
    if not access.can_approve(actor, unit):
        raise WorkflowError(_("You may not reopen the figures of %(unit)s.") % {"unit": unit.label})
    reason = (reason or "").strip()
    if not reason:
        raise WorkflowError(_("Say why the figures are reopened: the officer and the audit trail need the reason."))
    return _move(
        actor,
        unit,
        _period(period),
        area,
        {Status.SUBMITTED, Status.APPROVED},
        Status.DRAFT,
        action="reopen",
        note=reason,
        nothing=_("There are no submitted or approved figures to reopen."),
    )


def members(group: Group, period: Period) -> list[Unit]:
    """Units that are members of the group at some time in the period, and exist in it (a
    unit dissolved before the period is not chased for figures)."""
    return list(group.members_in(period))


def _publish_now(actor, units, period, area=None) -> int:
    published = 0
    for unit in units:
        try:
            result = _move(actor, unit, period, area, {Status.APPROVED}, Status.PUBLISHED, action="publish", nothing="")
        except WorkflowError:
            continue  # nothing approved for this member: nothing to publish
        published += result.rows
    return published


def publish(
    actor,
    group: Group,
    period,
    *,
    unit: Unit | None = None,
    publish_after: dt.date | None = None,
    today: dt.date | None = None,
) -> Publication:
    """Publish the approved figures of the group's members (or of one member) for the period,
    now or, with `publish_after`, once that day has come (release_due_publications)."""
    if not access.can_coordinate(actor, group):
        raise WorkflowError(_("Only a coordinator of %(group)s may publish its data.") % {"group": group.label})
    period = _period(period)
    units = members(group, period)
    if unit is not None:
        if unit.pk not in {u.pk for u in units}:
            raise WorkflowError(
                _("%(unit)s is not a member of %(group)s in %(period)s.")
                % {"unit": unit.label, "group": group.label, "period": period.code}
            )
        units = [unit]
    today = today or timezone.localdate()
    with transaction.atomic():
        approved = Observation.objects.filter(unit__in=units, period=period, status=Status.APPROVED).exists()
        if not approved:
            raise WorkflowError(_("There are no approved figures to publish."))
        publication = Publication.objects.create(
            group=group,
            period=period,
            unit=unit,
            publish_after=publish_after,
            created_by=actor if actor.is_authenticated else None,
        )
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
        "group", "period", "unit", "created_by"
    )
    for publication in due:
        with transaction.atomic():
            # Claim first: of several servers running this at once, only the one whose
            # UPDATE changed the row publishes (the others wait on its row lock, then find
            # it released); a failure below rolls the claim back for the next run.
            claimed = Publication.objects.filter(pk=publication.pk, released_at__isnull=True).update(
                released_at=timezone.now()
            )
            if not claimed:
                continue
            units = [publication.unit] if publication.unit else members(publication.group, publication.period)
            released += _publish_now(publication.created_by, units, publication.period)
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
            raise Conflict(
                _(
                    "Someone changed this figure meanwhile (now version %(version)s); look at the "
                    "history again before restoring."
                )
                % {"version": current.version}
            )
        row = Row(
            current.unit_id,
            current.variable_id,
            current.period_id,
            current.breakdown,
            revision.value,
            revision.missing,
            current.status,
            revision.source,
            revision.comment,
        )
        batch = ImportBatch(
            file_name=f"{current.unit.code} {current.period.code} restore v{revision.version}"[:255],
            format="restore",
            via=Via.RESTORE,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
        )
        return write_observations(
            [row],
            batch=batch,
            actor=actor,
            note=f"restore: observation {current.pk} to version {revision.version}",
        )


# -- deadlines and reminders ---------------------------------------------------------------

# The automatic reminder goes out this many days before a deadline (`municipium daily
# --days-before` overrides it), and another the day after a deadline has passed.
REMIND_DAYS_BEFORE = 7


def set_deadline(actor, group: Group, period, due: dt.date):
    """Set or move the group's deadline for the period (audited, before and after)."""
    from municipium.audit.models import record, snapshot

    from .models import Deadline

    if not access.can_coordinate(actor, group):
        raise WorkflowError(_("Only a coordinator of %(group)s may set its deadlines.") % {"group": group.label})
    if not isinstance(due, dt.date):
        raise WorkflowError(_("The deadline must be a date, like 2025-03-31."))
    with transaction.atomic():
        period = period if isinstance(period, Period) else Period.objects.for_code(str(period))
        deadline = Deadline.objects.select_for_update().filter(group=group, period=period).first()
        before = snapshot(deadline) if deadline else None
        if deadline is None:
            deadline = Deadline(group=group, period=period)
        elif deadline.due == due:
            return deadline
        deadline.due, deadline.set_by = due, actor if actor.is_authenticated else None
        deadline.reminded_before = deadline.reminded_after = None  # a new date, new reminders
        deadline.save()
        record(
            "update" if before else "create",
            deadline,
            actor=actor,
            before=before,
            after=snapshot(deadline),
            via="form",
            object_repr=f"{group.code} {period.code} {due.isoformat()}",
        )
    return deadline


class Submission(NamedTuple):
    """When a member last submitted figures of the period, and who (None: a deleted user)."""

    changed_by: object
    changed_at: object


def last_submissions(units, period) -> dict[int, Submission]:
    """Each member's last submission of the period's figures: {unit id: Submission}.

    Read as the distinct (unit, time, user) of the submitted versions (a submission writes
    one time for all its figures), not as the revisions: a group's 500 members submitting 100
    figures each are 50,000 revisions, which the board built as objects with their
    observations to keep 500 of them. The revisions' partial index of submitted ones
    (`revision_submitted`) keeps the read to those: without it PostgreSQL scanned every
    revision of the history for them (0.15 s behind a country's 5 million, issue 18). Figures
    written as submitted and unchanged since are their own submitted version
    (`history.submissions` reads both)."""
    if period is None or not units:
        return {}
    latest: dict[int, tuple] = {}
    for unit_id, at, user_id in history.submissions(units, period):
        if unit_id not in latest or at > latest[unit_id][0]:
            latest[unit_id] = (at, user_id)
    users = get_user_model().objects.in_bulk({user_id for _at, user_id in latest.values() if user_id is not None})
    return {unit_id: Submission(users.get(user_id), at) for unit_id, (at, user_id) in latest.items()}


class Tally:
    """The units' figures for a period counted in one pass over them: how many of each
    unit's are in each status (`counts`, the board's and the reminders' progress) and which
    variables each unit has a figure of (`variables`: what it still owes, and which service
    areas' checks to run). The status board asked the database three times over the same
    50,000 figures of 500 members for these (0.2-0.5 s each at a country's scale, issue 18)."""

    def __init__(self, units, period):
        self.counts: dict[int, dict[str, int]] = {unit.pk: dict.fromkeys(Status.values, 0) for unit in units}
        self.variables: dict[int, set[int]] = {unit.pk: set() for unit in units}
        if period is None or not units:
            return
        rows = (
            Observation.objects.filter(unit__in=units, period=period)
            .values_list("unit_id", "variable_id", "status")
            .annotate(n=Count("id"))
            .order_by()
        )
        for unit_id, variable_id, status, n in rows:
            self.counts[unit_id][status] += n
            self.variables[unit_id].add(variable_id)


def progress(units, period) -> dict[int, dict[str, int]]:
    """How many of each unit's figures for the period are in each status."""
    return Tally(units, period).counts


def not_submitted(counts: dict[str, int]) -> bool:
    """A member still owes its figures: none at all, or drafts left."""
    return counts[Status.DRAFT] > 0 or not any(counts.values())


def awaiting_approval(counts: dict[str, int]) -> bool:
    return counts[Status.SUBMITTED] > 0


def people(unit: Unit, kind: str, group: Group | None = None):
    """Users holding a role of `kind` on the unit, on a unit above it, or on the group."""
    from django.contrib.auth import get_user_model
    from django.db.models import Q

    above, current = [], unit
    while current is not None and current.pk not in above:
        above.append(current.pk)
        current = current.parent
    scope = Q(roles__unit_id__in=above)
    if group is not None:
        scope |= Q(roles__group=group)
    return (
        get_user_model()
        .objects.filter(scope, roles__kind=kind, is_active=True)
        .exclude(email="")
        .distinct()
        .order_by("pk")
    )


def _remind_audit_repr(group: Group, period: Period) -> str:
    return f"{group.code} {period.code}"


def last_reminder(group: Group, period: Period):
    """The audit event of the last reminder sent for the group's period, by hand or automatic."""
    from municipium.audit.models import AuditEvent

    return (
        AuditEvent.objects.filter(
            action="remind",
            model="places.group",
            object_id=str(group.pk),
            object_repr=_remind_audit_repr(group, period),
        )
        .select_related("actor")
        .first()
    )


def remind(actor, group: Group, period, *, step: str = "manual", site: str = "", via: str = "form") -> int:
    """E-mail the data officers of the members that have not submitted, and the approvers of
    those whose figures wait for approval; returns how many messages went out. Each person
    gets one message listing their own units. Written in the active language."""
    from django.conf import settings
    from django.core.mail import send_mass_mail
    from django.urls import reverse

    from municipium.audit.models import record

    from .models import Deadline

    if actor is not None and not access.can_coordinate(actor, group):  # None: the daily job
        raise WorkflowError(_("Only a coordinator of %(group)s may send reminders.") % {"group": group.label})
    period = _period(period)
    units = members(group, period)
    counts = progress(units, period)
    deadline = Deadline.objects.filter(group=group, period=period).first()
    owed: dict[int, tuple] = {}  # user id -> (user, units to enter, units to approve)
    for unit in units:
        for kind, duty, wanted in (
            (Role.Kind.OFFICER, 1, not_submitted(counts[unit.pk])),
            (Role.Kind.APPROVER, 2, awaiting_approval(counts[unit.pk])),
        ):
            if not wanted:
                continue
            for user in people(unit, kind, group):
                entry = owed.setdefault(user.pk, (user, [], []))
                entry[duty].append(unit.label)
    if not owed:
        raise WorkflowError(
            _(
                "Nobody to remind: every member has submitted, or the members without their "
                "figures have no data officer with an e-mail address."
            )
        )
    site = site or settings.SITE_URL
    due = (_("The deadline is %(date)s.") % {"date": deadline.due.isoformat()}) if deadline else ""
    subject = _("Municipium: figures for %(period)s, %(group)s") % {"period": period.code, "group": group.label}
    messages = []
    for user, to_enter, to_approve in owed.values():
        parts = [_("Hello %(name)s,") % {"name": user.get_full_name() or user.get_username()}, ""]
        if to_enter:
            parts.append(
                _("These figures for %(period)s are not submitted yet: %(units)s. %(due)s")
                % {"period": period.code, "units": ", ".join(to_enter), "due": due}
            )
            parts.append(
                _("Enter and submit them here: %(link)s") % {"link": site.rstrip("/") + reverse("entry-start")}
            )
        if to_approve:
            parts.append(
                _("These submitted figures for %(period)s wait for your approval: %(units)s.")
                % {"period": period.code, "units": ", ".join(to_approve)}
            )
        messages.append((subject, "\n".join(parts).strip() + "\n", None, [user.email]))
    with transaction.atomic():
        record(
            "remind",
            group,
            actor=actor,
            via=via,
            object_repr=_remind_audit_repr(group, period),
            after={
                "period": period.code,
                "step": step,
                "recipients": sorted(u.get_username() for u, _e, _a in owed.values()),
            },
        )
        send_mass_mail(messages)
    return len(messages)


def send_due_reminders(today: dt.date | None = None, days_before: int = REMIND_DAYS_BEFORE) -> tuple[int, int]:
    """Daily: the reminder `days_before` days before each deadline and the one after it
    passed, each once per deadline even when several servers run this at the same time
    (`lib.reminders.send_once`: claimed by a conditional UPDATE, rolled back when the send
    fails, so the next run tries again).

    Returns (messages sent, steps that failed to send)."""
    from municipium.lib.reminders import send_once

    from .models import Deadline

    today = today or timezone.localdate()
    sent = failed = 0
    steps = (
        ("before", "reminded_before", lambda d: d.due - dt.timedelta(days=days_before) <= today <= d.due),
        ("after", "reminded_after", lambda d: today > d.due),
    )
    for deadline in Deadline.objects.select_related("group", "period").order_by("pk"):
        for step, column, due_now in steps:
            if getattr(deadline, column) is not None or not due_now(deadline):
                continue

            def send(deadline=deadline, step=step) -> int:
                try:
                    return remind(None, deadline.group, deadline.period, step=step, via="command")
                except WorkflowError:
                    return 0  # everyone has submitted: the step is done without a message

            # The row must still have the due date seen here: a deadline moved meanwhile is
            # left for the next run.
            done, fail = send_once(
                Deadline.objects.filter(pk=deadline.pk, due=deadline.due),
                column,
                send,
                f"reminder for deadline {deadline.pk} ({step})",
            )
            sent, failed = sent + done, failed + fail
    return sent, failed
