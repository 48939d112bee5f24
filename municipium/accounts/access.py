"""Who may see and change what: the one place pages, exports, reports and the API ask.

Rules (DESIGN principle 7):
- published figures are public; units, groups and the catalogue are public;
- unpublished figures are seen only inside the groups that share them: by anyone with a role
  on the group, or with a role on one of its member units when the group shares unpublished
  figures (`Group.shares_unpublished`: exchange groups and cooperations by default, not peer
  groups or regions, which are compared on published figures only); a role on a unit always
  shows that unit's own figures;
- a data officer writes the observations of the units their role reaches, an approver
  approves them, a coordinator manages their group; an administrator may do everything.
Callers turn a refusal into 404 ("not found"), never a hint that something exists.
"""

from django.http import Http404

from municipium.places.models import Group, Membership, Unit

from .models import Role

WRITE_KINDS = {Role.Kind.OFFICER, Role.Kind.APPROVER, Role.Kind.COORDINATOR}


def is_admin(user) -> bool:
    if not user.is_authenticated:
        return False
    return user.is_superuser or _roles(user).get("admin", False)


def _roles(user) -> dict:
    """The user's roles, read once per request (cached on the user object)."""
    cached = getattr(user, "_municipium_roles", None)
    if cached is None:
        rows = list(Role.objects.filter(user=user).values_list("kind", "unit_id", "group_id"))
        cached = {"admin": any(kind == Role.Kind.ADMIN for kind, _u, _g in rows), "rows": rows}
        user._municipium_roles = cached
    return cached


def _descendants(unit_ids: set[int]) -> set[int]:
    found, frontier = set(unit_ids), set(unit_ids)
    while frontier:
        frontier = set(Unit.objects.filter(parent_id__in=frontier).values_list("pk", flat=True)) - found
        found |= frontier
    return found


def reached_units(user, kinds=None) -> set[int]:
    """Ids of the units the user's roles (of the given kinds) reach."""
    if not user.is_authenticated:
        return set()
    rows = [r for r in _roles(user)["rows"] if kinds is None or r[0] in kinds]
    direct = {unit for _k, unit, _g in rows if unit}
    groups = {group for _k, _u, group in rows if group}
    if groups:
        direct |= set(Membership.objects.filter(group_id__in=groups).values_list("unit_id", flat=True))
    return _descendants(direct) if direct else set()


def reached_groups(user, kinds=None) -> set[int]:
    """Ids of the groups the user is inside, whose members' unpublished figures they see: a
    role on the group, or a role on one of its members when the group shares unpublished
    figures. Being a member of a peer group or a region shares nothing before publication."""
    if not user.is_authenticated:
        return set()
    rows = [r for r in _roles(user)["rows"] if kinds is None or r[0] in kinds]
    groups = {group for _k, _u, group in rows if group}
    units = {unit for _k, unit, _g in rows if unit}
    if units:
        groups |= set(
            Membership.objects.filter(unit_id__in=_descendants(units), group__shares_unpublished=True).values_list(
                "group_id", flat=True
            )
        )
    return groups


def insider_units(user) -> set[int]:
    """Ids of the units whose unpublished figures the user sees (`sees_unpublished` for many
    units at once): the units their roles reach and the members of the groups they are
    inside. Not meaningful for administrators, who see everything (ask `is_admin`)."""
    if not user.is_authenticated:
        return set()
    units = reached_units(user)
    groups = reached_groups(user)
    if groups:
        units |= set(Membership.objects.filter(group_id__in=groups).values_list("unit_id", flat=True))
    return units


def inside_group(user, group: Group) -> bool:
    return is_admin(user) or group.pk in reached_groups(user)


def sees_unpublished(user, unit: Unit | None = None, group: Group | None = None) -> bool:
    """May the user read unpublished figures of this unit (their roles reach it, or it is a
    member of a group they are inside) and of this group (its statistics and ranks)? Given
    both, as a page that sets a unit against a group does, both must hold: statistics of a
    group that shares nothing are read on published figures even beside one's own unit."""
    if is_admin(user):
        return True
    if not user.is_authenticated or (unit is None and group is None):
        return False
    inside = reached_groups(user)
    if group is not None and group.pk not in inside:
        return False
    if unit is not None:
        unit_groups = set(Membership.objects.filter(unit=unit).values_list("group_id", flat=True))
        return bool(unit_groups & inside) or unit.pk in reached_units(user)
    return True


def can_enter(user, unit: Unit) -> bool:
    """Write (draft, submit) the unit's observations."""
    return is_admin(user) or unit.pk in reached_units(user, {Role.Kind.OFFICER, Role.Kind.COORDINATOR})


def can_approve(user, unit: Unit) -> bool:
    return is_admin(user) or unit.pk in reached_units(user, {Role.Kind.APPROVER, Role.Kind.COORDINATOR})


def may_enter_or_approve(user, unit: Unit) -> bool:
    """Answers for the unit's data: enters or approves its figures (an officer, an approver,
    a coordinator of one of its groups, an administrator). Who may run its surveys and write
    its council reports, and who may open its entry page; `review_units` lists these units."""
    return can_enter(user, unit) or can_approve(user, unit)


def can_coordinate(user, group: Group) -> bool:
    if is_admin(user):
        return True
    if not user.is_authenticated:
        return False
    return any(kind == Role.Kind.COORDINATOR and g == group.pk for kind, _u, g in _roles(user)["rows"])


def coordinated_groups(user) -> set[int]:
    """Ids of the groups the user holds a coordinator role on (not those an administrator
    may manage by being one: callers ask `is_admin` for that)."""
    if not user.is_authenticated:
        return set()
    return {g for kind, _u, g in _roles(user)["rows"] if kind == Role.Kind.COORDINATOR and g}


def can_read_audit(user) -> bool:
    """Administrators read the whole trail, coordinators their groups' part (audit.views)."""
    return is_admin(user) or bool(coordinated_groups(user))


def can_invite(user, kind: str, unit: Unit | None = None, group: Group | None = None) -> bool:
    """Offer someone a role: an administrator any role; a coordinator any role but
    administrator, on their own group or on one of its member units, nowhere else."""
    if is_admin(user):
        return True
    if kind == Role.Kind.ADMIN or (unit is None) == (group is None):
        return False
    groups = coordinated_groups(user)
    if group is not None:
        return group.pk in groups
    return Membership.objects.filter(group_id__in=groups, unit=unit).exists()


def can_edit_catalogue(user) -> bool:
    """Coordinators adapt definitions for their groups; administrators own the catalogue."""
    if is_admin(user):
        return True
    return user.is_authenticated and any(kind == Role.Kind.COORDINATOR for kind, _u, _g in _roles(user)["rows"])


def entry_units(user):
    """Units whose data the user may enter, for menus."""
    if is_admin(user):
        return Unit.objects.all()
    return Unit.objects.filter(pk__in=reached_units(user, {Role.Kind.OFFICER, Role.Kind.COORDINATOR}))


def review_units(user):
    """Units the user answers for (`may_enter_or_approve`): whose entry pages they may open,
    to write or to approve, whose surveys they run and whose reports they write."""
    if is_admin(user):
        return Unit.objects.all()
    return Unit.objects.filter(
        pk__in=reached_units(user, {Role.Kind.OFFICER, Role.Kind.APPROVER, Role.Kind.COORDINATOR})
    )


def require(allowed: bool) -> None:
    """Refuse with 404: an outsider learns nothing, not even that the thing exists."""
    if not allowed:
        raise Http404()
