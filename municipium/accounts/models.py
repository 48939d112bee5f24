"""Roles scoped to units and groups.

A person holds any number of roles; each says what they may do and where. A role on a unit
reaches the units below it (a region's municipalities); a role on a group reaches the
group's member units. Administrators need no scope. The checks live in `access`.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from municipium.lib.numbers import separator

# A scoped role names exactly one unit or one group; an administrator none.
SCOPE_RULE = Q(kind="admin", unit__isnull=True, group__isnull=True) | (
    ~Q(kind="admin") & (Q(unit__isnull=False, group__isnull=True) | Q(unit__isnull=True, group__isnull=False))
)


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
            models.CheckConstraint(
                condition=SCOPE_RULE,
                name="role_scope",
            ),
            # One row per role and scope (conditional constraints: SQLite cannot treat NULLs as equal).
            models.UniqueConstraint(
                fields=["user", "kind", "unit"], condition=Q(unit__isnull=False), name="role_unique_unit"
            ),
            models.UniqueConstraint(
                fields=["user", "kind", "group"], condition=Q(group__isnull=False), name="role_unique_group"
            ),
            models.UniqueConstraint(fields=["user"], condition=Q(kind="admin"), name="role_unique_admin"),
        ]

    def __str__(self) -> str:
        scope = self.unit or self.group or ""
        return f"{self.user}{separator()}{self.get_kind_display()} {scope}".strip()


class LoginAttempt(models.Model):
    """One failed login, kept for the throttle in `accounts.views`. Stored in the database
    rather than a per-process cache so that the limit holds across several app servers."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True, blank=True, db_index=True)
    at = models.DateTimeField(auto_now_add=True, db_index=True)


class Invitation(models.Model):
    """An offer of a role, sent by e-mail to a person who may not have an account yet.

    Only the SHA-256 of the link's token is stored: someone who reads the database (a backup,
    an administrator's query) cannot accept an invitation meant for another person. The token
    works once, until `expires`, and not after the invitation is revoked."""

    VALID_DAYS = 14

    email = models.EmailField()
    kind = models.CharField(max_length=16, choices=Role.Kind.choices)
    unit = models.ForeignKey("places.Unit", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    group = models.ForeignKey("places.Group", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created = models.DateTimeField(auto_now_add=True)
    expires = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        constraints = [
            # The same scope rule as Role's, so that accepting can always create the role.
            models.CheckConstraint(
                condition=SCOPE_RULE,
                name="invitation_scope",
            ),
        ]

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        ACCEPTED = "accepted", _("Accepted")
        EXPIRED = "expired", _("Expired")
        REVOKED = "revoked", _("Revoked")

    def __str__(self) -> str:
        scope = self.unit or self.group or ""
        return f"{self.email}{separator()}{self.get_kind_display()} {scope}".strip()

    def state(self, now=None) -> str:
        from django.utils import timezone

        if self.accepted_at:
            return self.State.ACCEPTED
        if self.revoked_at:
            return self.State.REVOKED
        if self.expires <= (now or timezone.now()):
            return self.State.EXPIRED
        return self.State.PENDING

    @property
    def state_label(self) -> str:
        return self.State(self.state()).label


class SecondFactor(models.Model):
    """A person's authenticator app (TOTP, `lib/totp.py`): optional, offered to coordinators
    and administrators. The setup key is shown once, while the person sets it up, and never
    again; it stays in the database (it must, to check codes), readable only by whoever can
    read the database. Recovery codes are kept only as digests (`lib/tokens.digest`)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="second_factor")
    secret = models.CharField(max_length=64)
    confirmed = models.DateTimeField(null=True, blank=True)  # on once a first code was right
    last_step = models.BigIntegerField(default=0)  # the last time step used: a code works once
    recovery = models.JSONField(default=list, blank=True)  # digests of the unused recovery codes
    created = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.user)
