"""The invitation pages: a coordinator's (or administrator's) list with the form to invite
and withdraw, and the page the e-mailed link opens. The rules and the writing are
`invitations`'; these views read forms and turn refusals into messages or 404."""

import logging
import smtplib

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from . import access, invitations
from .forms import InvitationForm, NewAccountForm
from .models import Invitation, Role

log = logging.getLogger(__name__)


def _may_manage(user) -> bool:
    return access.is_admin(user) or bool(access.coordinated_groups(user))


@login_required
def invitation_list(request):
    access.require(_may_manage(request.user))
    form = InvitationForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            invitation = invitations.invite(
                request.user,
                data["email"],
                data["kind"],
                unit=data["unit"],
                group=data["group"],
                link=lambda token: request.build_absolute_uri(reverse("invitation-accept", args=[token])),
            )
        except invitations.InvitationError as error:
            form.add_error(None, str(error))
        except (smtplib.SMTPException, OSError):
            log.exception("invitation mail could not be sent")
            form.add_error(
                None,
                _(
                    "The e-mail could not be sent, so nobody was invited. Try again later or tell "
                    "the administrator that the mail server refused it."
                ),
            )
        else:
            messages.success(request, _("An invitation was sent to %(email)s.") % {"email": invitation.email})
            return redirect("invitations")
    now = timezone.now()
    rows = invitations.visible(request.user).select_related("unit", "group", "invited_by", "accepted_by")[:200]
    listed = [{"invitation": i, "state": i.state(now), "label": Invitation.State(i.state(now)).label} for i in rows]
    return render(
        request,
        "accounts/invitations.html",
        {"form": form, "rows": listed},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
@require_POST
def invitation_revoke(request, pk):
    invitation = get_object_or_404(invitations.visible(request.user), pk=pk)
    try:
        invitations.revoke(request.user, invitation)
    except invitations.InvitationError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("The invitation to %(email)s was withdrawn.") % {"email": invitation.email})
    return redirect("invitations")


def landing(role: Role) -> str:
    """Where the new role's work starts: data entry for an officer, the status board for a
    coordinator, the unit's or group's page otherwise."""
    if role.kind == Role.Kind.OFFICER:
        return reverse("entry-start")
    if role.kind == Role.Kind.COORDINATOR and role.group_id:
        return reverse("group-status-latest", args=[role.group.code])
    if role.unit_id:
        return reverse("unit", args=[role.unit.code])
    if role.group_id:
        return reverse("group", args=[role.group.code])
    return reverse("start")


def invitation_accept(request, token):
    try:
        invitation = invitations.find(token)
    except invitations.InvitationError as error:
        return render(request, "accounts/invitation_invalid.html", {"reason": str(error)}, status=404)
    form = None
    if not request.user.is_authenticated:
        form = NewAccountForm(request.POST or None, email=invitation.email)
    if request.method == "POST":
        try:
            if form is None:
                role = invitations.accept(token, request.user)
            elif form.is_valid():
                try:
                    role = invitations.accept(
                        token,
                        None,
                        new_account={
                            "username": form.cleaned_data["username"],
                            "password": form.cleaned_data["password1"],
                        },
                    )
                except IntegrityError:  # someone took the name since the form's check
                    form.add_error(
                        "username",
                        _("The user name %(name)s is taken; choose another.") % {"name": form.cleaned_data["username"]},
                    )
                    role = None
                else:
                    login(request, role.user, backend=settings.AUTHENTICATION_BACKENDS[0])
            else:
                role = None
        except invitations.InvitationError as error:
            return render(request, "accounts/invitation_invalid.html", {"reason": str(error)}, status=409)
        if role is not None:
            messages.success(
                request,
                _("Welcome. You now work in Municipium as %(role)s %(scope)s.")
                % {
                    "role": role.get_kind_display(),
                    "scope": (role.unit or role.group).label if (role.unit or role.group) else "",
                },
            )
            return redirect(landing(role))
    return render(
        request,
        "accounts/invitation_accept.html",
        {"invitation": invitation, "form": form},
        status=400 if form is not None and form.is_bound and form.errors else 200,
    )
