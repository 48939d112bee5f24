"""Who may run a survey and who may see what it found, in terms of the product's roles.

A survey is run by the people who already answer for its unit's data: its data officers
(who also interview and key in paper questionnaires), approvers and administrators. Results
follow the rule for every other figure: public once published, before that only inside the
groups that share the unit's data. Everything asks here, and refusals are 404 as elsewhere.
"""

from municipium.accounts import access


def can_run(user, unit) -> bool:
    return access.may_enter_or_approve(user, unit)


def can_see_results(user, survey) -> bool:
    from .models import Survey

    return (
        survey.step == Survey.Step.PUBLISHED
        or can_run(user, survey.unit)
        or access.sees_unpublished(user, unit=survey.unit)
    )


def runnable_units(user):
    """Units whose surveys this user may run (for the survey list and the 'new survey' form):
    the same people as `can_run`, coordinators included."""
    return access.review_units(user).order_by("code")
