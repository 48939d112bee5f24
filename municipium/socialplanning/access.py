"""Who may read and change social-service planning.

- A municipality's supply and its proposal are read and changed by those who answer for its
  data (`accounts.access.may_enter_or_approve`: its officers and approvers, the coordinators
  of its groups, administrators).
- A round is read by the district group's coordinators and by those who answer for one of its
  member municipalities; its coordinators (and administrators) create it and add the services
  shared across municipalities. Everyone else gets 404.
"""

from municipium.accounts import access
from municipium.places.models import Membership

from .models import Round


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
