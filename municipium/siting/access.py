"""Who may read and change a siting project.

- The coordinators of the project's group and the officers of its member municipalities
  edit: the area, the layers, the criteria, the judgements, the runs, the hand-off.
- Everyone else inside the group reads. Everything else is 404.
"""

from municipium.accounts import access

from .models import Project


def can_edit(user, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    if access.is_admin(user) or access.can_coordinate(user, project.group):
        return True
    return any(access.can_enter(user, m.unit) for m in project.members.select_related("unit"))


def can_read(user, project: Project) -> bool:
    if not user.is_authenticated:
        return False
    return access.inside_group(user, project.group) or can_edit(user, project)


def readable(user):
    """The projects the user may read."""
    if not user.is_authenticated:
        return Project.objects.none()
    if access.is_admin(user):
        return Project.objects.all()
    groups = access.reached_groups(user)
    units = access.reached_units(user, access.WRITE_KINDS)
    return (
        Project.objects.filter(group_id__in=groups).distinct()
        | Project.objects.filter(members__unit_id__in=units).distinct()
    )
