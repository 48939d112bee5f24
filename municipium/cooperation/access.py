"""Who may read and change agreements and facilities.

- A published agreement is public; before, it is read by the coordinators of its
  cooperation group, by those inside the group, and by those who answer for a party's data.
- The coordinators of the cooperation group edit agreements and facilities; an agreement
  without a group is edited by those who answer for one of its parties.
- A party's officers report on their own obligations and enter their own drivers.
- A facility's costs are read inside its cooperation group only. Everything else is 404.
"""

from municipium.accounts import access

from .models import Agreement, Facility, Obligation, Participant


def can_coordinate(user, agreement: Agreement) -> bool:
    if not user.is_authenticated:
        return False
    if access.is_admin(user):
        return True
    if agreement.group_id is not None:
        return access.can_coordinate(user, agreement.group)
    return any(access.may_enter_or_approve(user, p.unit) for p in agreement.parties.select_related("unit"))


def is_party_insider(user, agreement: Agreement) -> bool:
    if not user.is_authenticated:
        return False
    if agreement.group_id is not None and access.inside_group(user, agreement.group):
        return True
    return any(access.may_enter_or_approve(user, p.unit) for p in agreement.parties.select_related("unit"))


def can_read(user, agreement: Agreement) -> bool:
    return agreement.published or can_coordinate(user, agreement) or is_party_insider(user, agreement)


def can_report(user, obligation: Obligation) -> bool:
    """Mark an obligation done or add evidence: the party itself or the coordinators."""
    return can_coordinate(user, obligation.agreement) or access.may_enter_or_approve(user, obligation.party.unit)


def can_read_facility(user, facility: Facility) -> bool:
    return access.is_admin(user) or access.inside_group(user, facility.group)


def can_manage_facility(user, facility: Facility) -> bool:
    return access.is_admin(user) or access.can_coordinate(user, facility.group)


def can_enter_drivers(user, participant: Participant) -> bool:
    return can_manage_facility(user, participant.facility) or access.can_enter(user, participant.unit)
