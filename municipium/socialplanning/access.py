"""Who may read and change social-service planning.

- A municipality's supply and its proposal are read and changed by those who answer for its
  data (`accounts.access.may_enter_or_approve`: its officers and approvers, the coordinators
  of its groups, administrators).
- A round is read by the district group's coordinators and by those who answer for one of its
  member municipalities; its coordinators (and administrators) create it and add the services
  shared across municipalities. Everyone else gets 404.
- Service types are reference data of the catalogue: those who edit the catalogue
  (`accounts.access.can_edit_catalogue`: coordinators and administrators) add and edit them.
- A norms table kept by a district is edited by that district's coordinators; a shared one
  (no district: the starter's) by those who edit the catalogue, as long as no round of a
  district they do not coordinate uses it (they make a new version instead).
"""

from municipium.accounts import access
from municipium.places.models import Membership

from .models import NormTable, Round


def can_edit_unit(user, unit) -> bool:
    return user.is_authenticated and access.may_enter_or_approve(user, unit)


def can_read_unit(user, unit) -> bool:
    if can_edit_unit(user, unit):
        return True
    if not user.is_authenticated:
        return False
    groups = access.coordinated_groups(user)
    return bool(groups) and Membership.objects.filter(unit=unit, group_id__in=groups).exists()


def can_coordinate(user, round_: Round) -> bool:
    return user.is_authenticated and access.can_coordinate(user, round_.group)


def can_read(user, round_: Round) -> bool:
    if can_coordinate(user, round_):
        return True
    if not user.is_authenticated:
        return False
    members = Membership.objects.filter(group=round_.group).select_related("unit")
    return any(access.may_enter_or_approve(user, m.unit) for m in members)


def readable_rounds(user):
    return [r for r in Round.objects.select_related("group") if can_read(user, r)]


def can_edit_types(user) -> bool:
    return user.is_authenticated and access.can_edit_catalogue(user)


def can_edit_norms(user, table: NormTable) -> bool:
    if not user.is_authenticated:
        return False
    if access.is_admin(user):
        return True
    if table.group_id is not None:
        return access.can_coordinate(user, table.group)
    if not access.can_edit_catalogue(user):
        return False
    return not table.rounds.exclude(group_id__in=access.coordinated_groups(user)).exists()


def norm_groups(user):
    """The districts for which the user may keep a norms table."""
    from municipium.places.models import Group

    if access.is_admin(user):
        return Group.objects.all().order_by("code")
    return Group.objects.filter(pk__in=access.coordinated_groups(user)).order_by("code")
