"""Roles scoped to units and groups.

A person holds any number of roles; each says what they may do and where. A role on a unit
reaches the units below it (a region's municipalities); a role on a group reaches the
group's member units. Administrators need no scope. The checks live in `access`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Role(models.Model):
    class Kind(models.TextChoices):
        VIEWER = "viewer", _("Viewer")
        OFFICER = "officer", _("Data officer")
        APPROVER = "approver", _("Approver")
        COORDINATOR = "coordinator", _("Group coordinator")
        ADMIN = "admin", _("Administrator")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="roles")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    unit = models.ForeignKey("places.Unit", null=True, blank=True, on_delete=models.CASCADE, related_name="roles")
    group = models.ForeignKey("places.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="roles")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # A scoped role names exactly one unit or one group; an administrator none.
            models.CheckConstraint(
                condition=(Q(kind="admin", unit__isnull=True, group__isnull=True)
                           | (~Q(kind="admin") & (Q(unit__isnull=False, group__isnull=True)
                                                  | Q(unit__isnull=True, group__isnull=False)))),
                name="role_scope",
            ),
            # One row per role and scope (conditional constraints: SQLite cannot treat NULLs as equal).
            models.UniqueConstraint(fields=["user", "kind", "unit"], condition=Q(unit__isnull=False),
                                    name="role_unique_unit"),
            models.UniqueConstraint(fields=["user", "kind", "group"], condition=Q(group__isnull=False),
                                    name="role_unique_group"),
            models.UniqueConstraint(fields=["user"], condition=Q(kind="admin"), name="role_unique_admin"),
        ]

    def __str__(self) -> str:
        scope = self.unit or self.group or ""
        return f"{self.user} · {self.get_kind_display()} {scope}".strip()


class LoginAttempt(models.Model):
    """One failed login, kept for the throttle in `accounts.views`. Stored in the database
    rather than a per-process cache so that the limit holds across several app servers."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)
