"""Who may read, draft and adopt a plan.

- Everyone reads a plan in consultation or adopted (the public page).
- A draft is read by those who draft it: whoever answers for the unit's data
  (`access.may_enter_or_approve`), the plan's coordinating body (its members and managers)
  and the members of the working groups that draft its items.
- Working-group members draft their part: the items their body drafts, and what lies below.
- Coordinators adopt: whoever answers for the unit, the coordinating body's managers, and
  administrators. Anyone else gets 404.
"""

from municipium.accounts import access
from municipium.meetings import access as meetings_access

from .models import Item, Plan


def can_coordinate(user, plan: Plan) -> bool:
    if not user.is_authenticated:
        return False
    if access.is_admin(user) or access.may_enter_or_approve(user, plan.unit):
        return True
    return plan.body is not None and meetings_access.can_manage(user, plan.body)


def _drafting_bodies(user, plan: Plan) -> set[int]:
    if not user.is_authenticated:
        return set()
    ids = {b for b in plan.items.exclude(body=None).values_list("body_id", flat=True)}
    if plan.body_id:
        ids.add(plan.body_id)
    from municipium.meetings.models import Body

    return {
        b.pk
        for b in Body.objects.filter(pk__in=ids).prefetch_related("members")
        if meetings_access.can_read_internal(user, b)
    }


def can_draft_any(user, plan: Plan) -> bool:
    return can_coordinate(user, plan) or bool(_drafting_bodies(user, plan))


def can_read(user, plan: Plan) -> bool:
    return plan.state != Plan.State.DRAFT or can_draft_any(user, plan)


def public_figures(user, plan: Plan) -> bool:
    """Whether the plan's progress is read on published figures for this user: its targets
    set the unit against the group it compares with, so both must share their unpublished
    figures with the user (`accounts.access.sees_unpublished`)."""
    return not access.sees_unpublished(user, unit=plan.unit, group=plan.compare_with)


def can_edit_item(user, item: Item) -> bool:
    """Coordinators edit every item; a working group's members the items their body drafts
    and everything below them."""
    plan = item.plan
    if can_coordinate(user, plan):
        return True
    bodies = _drafting_bodies(user, plan)
    node = item
    seen = set()
    while node is not None and node.pk not in seen:
        seen.add(node.pk)
        if node.body_id in bodies:
            return True
        node = node.parent
    return False


def plans_for(user):
    """Plans the user may read, for the list."""
    return [p for p in Plan.objects.select_related("unit", "body") if can_read(user, p)]
