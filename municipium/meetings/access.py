"""Who may do what with bodies, meetings and consultations, in terms of the product's roles.

- Anyone reads a body (mandate, act, members), its meetings' dates, places and agendas, its
  published minutes and decisions, and published consultations from their opening day.
- A body's members who have an account read its internal minutes, attendance and decisions
  before publication.
- A body is managed (meetings, agenda, minutes, decisions, members) by its secretaries and
  chairs with an account, and by those who answer for its scope: for a unit's body whoever
  answers for the unit's data (`access.may_enter_or_approve`), for a group's body the
  group's coordinators; administrators everywhere.
- A consultation is run (comments moderated and answered, the council decision recorded) by
  whoever manages its responsible body, or answers for its unit.
Everything else is 404, as everywhere (`access.require`).
"""

from municipium.accounts import access

from .models import Body, Consultation, Meeting, Member


def may_found(user, unit=None, group=None) -> bool:
    """Set up a body (or a consultation) for this unit or group."""
    if access.is_admin(user):
        return True
    if unit is not None:
        return access.may_enter_or_approve(user, unit)
    if group is not None:
        return access.can_coordinate(user, group)
    return False


def foundable(user):
    """(units, groups) the user may set up bodies and consultations for: `may_found` as
    querysets, for the forms' lists."""
    from municipium.places.models import Group

    if access.is_admin(user):
        return access.review_units(user), Group.objects.all()
    return access.review_units(user), Group.objects.filter(pk__in=access.coordinated_groups(user))


def _member(user, body: Body) -> Member | None:
    if not user.is_authenticated:
        return None
    return next((m for m in body.members.all() if m.user_id == user.pk), None)


def can_manage(user, body: Body) -> bool:
    if not user.is_authenticated:
        return False
    member = _member(user, body)
    if member is not None and member.role in (Member.Role.SECRETARY, Member.Role.CHAIR):
        return True
    return may_found(user, unit=body.unit, group=body.group)


def can_read_internal(user, body: Body) -> bool:
    """Minutes, attendance and decisions before the secretary publishes them."""
    return can_manage(user, body) or _member(user, body) is not None


def sees_minutes(user, meeting: Meeting) -> bool:
    return meeting.published is not None or can_read_internal(user, meeting.body)


def can_run_consultation(user, consultation: Consultation) -> bool:
    if consultation.body is not None and can_manage(user, consultation.body):
        return True
    return may_found(user, unit=consultation.unit)


def sees_consultation(user, consultation: Consultation) -> bool:
    from .models import Consultation as C

    return consultation.phase() not in (C.Phase.DRAFT, C.Phase.SCHEDULED) or can_run_consultation(user, consultation)


def managed_bodies(user):
    """Bodies the user manages, for menus and forms (evaluated in Python: a handful per person)."""
    if not user.is_authenticated:
        return []
    bodies = Body.objects.select_related("unit", "group").prefetch_related("members")
    return [b for b in bodies if can_manage(user, b)]


def readable_body_ids(user) -> set[int]:
    """Bodies whose internal decisions the user reads (members, managers)."""
    if not user.is_authenticated:
        return set()
    if access.is_admin(user):
        return set(Body.objects.values_list("pk", flat=True))
    bodies = Body.objects.select_related("unit", "group").prefetch_related("members")
    return {b.pk for b in bodies if can_read_internal(user, b)}
