"""Who may read and change a tariff study.

- The unit's utility and finance officers (its data officers and approvers) edit the
  unit's studies and scenarios.
- A group's coordinators, and everyone inside one of the unit's groups that shares
  unpublished figures, read them. Everything else is 404: a tariff under study is not public
  until the council adopts it.
- Recording the adopted tariff writes the unit's figures: the unit's approver's act.
"""

from municipium.accounts import access
from municipium.accounts.models import Role
from municipium.places.models import Membership, Unit

from .models import Study

EDIT_KINDS = {Role.Kind.OFFICER, Role.Kind.APPROVER}


def _answers_for(user, unit: Unit, kinds) -> bool:
    if not user.is_authenticated:
        return False
    return access.is_admin(user) or unit.pk in access.reached_units(user, kinds)


def can_edit(user, study: Study) -> bool:
    return _answers_for(user, study.unit, EDIT_KINDS)


def may_adopt(user, study: Study) -> bool:
    return _answers_for(user, study.unit, {Role.Kind.APPROVER})


def can_read(user, study: Study) -> bool:
    if not user.is_authenticated:
        return False
    if access.is_admin(user) or study.unit_id in access.reached_units(user):
        return True
    groups = access.reached_groups(user)
    return Membership.objects.filter(unit=study.unit, group_id__in=groups).exists()


def readable(user):
    """The studies the user may read."""
    if not user.is_authenticated:
        return Study.objects.none()
    if access.is_admin(user):
        return Study.objects.all()
    units = access.reached_units(user) | set(
        Membership.objects.filter(group_id__in=access.reached_groups(user)).values_list("unit_id", flat=True)
    )
    return Study.objects.filter(unit_id__in=units)


def founding_units(user):
    """The units the user may start a study for."""
    if not user.is_authenticated:
        return Unit.objects.none()
    if access.is_admin(user):
        return Unit.objects.all()
    return Unit.objects.filter(pk__in=access.reached_units(user, EDIT_KINDS))
