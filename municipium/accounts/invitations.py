"""Inviting a person to a role by e-mail, and what happens when they follow the link.

The link carries a random token; only its SHA-256 is stored, so the link is the only key.
Accepting creates the Role and spends the invitation in one transaction (the invitation row
is locked), so a link opened twice at once still gives one role. Every step is audited.
"""

import datetime as dt
import secrets

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from municipium.audit.models import record, snapshot
from municipium.lib.tokens import digest

from . import access
from .models import Invitation, Role


class InvitationError(Exception):
    """The link cannot be used; str() says why, in words the invitee can act on."""


def invite(actor, email: str, kind: str, *, unit=None, group=None, link) -> Invitation:
    """Create the invitation and send it. `link(token)` turns the raw token into the absolute
    address of the acceptance page (under the inviter's language prefix)."""
    if not access.can_invite(actor, kind, unit=unit, group=group):
        raise InvitationError(_("You may not offer this role there."))
    if kind == Role.Kind.ADMIN:
        unit = group = None
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            email=email.strip(),
            kind=kind,
            unit=unit,
            group=group,
            token_hash=digest(token),
            invited_by=actor,
            expires=timezone.now() + dt.timedelta(days=Invitation.VALID_DAYS),
        )
        after = snapshot(invitation)
        after.pop("token_hash")  # the hash is no secret, but it has no business in the trail
        record("invite", invitation, actor=actor, after=after, via="form")
        scope = (unit or group).label if (unit or group) else ""
        # Written in the inviter's language, which is the one active in their request.
        subject = _("Invitation to Municipium: %(role)s %(scope)s") % {
            "role": invitation.get_kind_display(),
            "scope": scope,
        }
        body = _(
            "%(inviter)s invites you to work in Municipium as %(role)s %(scope)s.\n\n"
            "Open this link to choose a user name and password, or to add the role to your account:\n"
            "%(link)s\n\nThe link works once, until %(expires)s. If you did not expect this message, "
            "ignore it."
        ) % {
            "inviter": actor.get_full_name() or actor.get_username(),
            "role": invitation.get_kind_display(),
            "scope": scope,
            "link": link(token),
            "expires": invitation.expires.strftime("%Y-%m-%d %H:%M UTC"),
        }
        # Inside the transaction: if the mail server refuses, no invitation is left behind
        # that nobody received.
        send_mail(subject.strip(), body, None, [invitation.email])
    return invitation


def find(token: str) -> Invitation:
    """The usable invitation behind a link's token, or InvitationError saying why not."""
    invitation = Invitation.objects.filter(token_hash=digest(token or "")).select_related("unit", "group").first()
    if invitation is None:
        raise InvitationError(_("This invitation link is not valid. Check that you copied the whole link."))
    state = invitation.state()
    if state == Invitation.State.ACCEPTED:
        raise InvitationError(_("This invitation has already been used. Log in with the account it created."))
    if state == Invitation.State.REVOKED:
        raise InvitationError(_("This invitation was withdrawn. Ask the person who invited you for a new one."))
    if state == Invitation.State.EXPIRED:
        raise InvitationError(
            _("This invitation expired on %(date)s. Ask the person who invited you for a new one.")
            % {"date": invitation.expires.strftime("%Y-%m-%d")}
        )
    return invitation


def accept(token: str, user, *, new_account: dict | None = None) -> Role:
    """Spend the invitation for `user`, or, with `new_account` (username, password), for a
    user created here. Checks the token again under a row lock, so a link used twice at the
    same moment gives one role and one error."""
    with transaction.atomic():
        invitation = find(token)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state() != Invitation.State.PENDING:
            find(token)  # raises with the reason
        if new_account is not None:
            user = get_user_model().objects.create_user(
                new_account["username"], invitation.email, new_account["password"]
            )
            record(
                "create",
                user,
                actor=user,
                after={"username": user.get_username(), "email": user.email},
                via="form",
                note=f"invitation {invitation.pk}",
            )
        role, created = Role.objects.get_or_create(
            user=user, kind=invitation.kind, unit=invitation.unit, group=invitation.group
        )
        if created:
            record("create", role, actor=user, after=snapshot(role), via="form", note=f"invitation {invitation.pk}")
        invitation.accepted_at = timezone.now()
        invitation.accepted_by = user
        invitation.save(update_fields=["accepted_at", "accepted_by"])
        record("accept", invitation, actor=user, after={"accepted_by": user.pk}, via="form")
    return role


def revoke(actor, invitation: Invitation) -> None:
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.state() != Invitation.State.PENDING:
            raise InvitationError(
                _("Only a pending invitation can be withdrawn; this one is %(state)s.")
                % {"state": str(invitation.state_label).lower()}
            )
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record(
            "revoke",
            invitation,
            actor=actor,
            before={"revoked_at": None},
            after={"revoked_at": invitation.revoked_at.isoformat()},
            via="form",
        )


def visible(user):
    """The invitations a person may list and withdraw: an administrator's all, a
    coordinator's those on their groups and their groups' members."""
    from django.db.models import Q

    from municipium.places.models import Membership

    if access.is_admin(user):
        return Invitation.objects.all()
    groups = access.coordinated_groups(user)
    units = Membership.objects.filter(group_id__in=groups).values("unit_id")
    return Invitation.objects.filter(Q(group_id__in=groups) | Q(unit_id__in=units))
