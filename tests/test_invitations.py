"""Inviting people by e-mail: who may offer which role where, the mail and its link, and
what the link does when followed once, twice, late, withdrawn or forged."""

import datetime as dt
import hashlib
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.utils import timezone

from municipium.accounts import invitations
from municipium.accounts.models import Invitation, Role
from municipium.audit.models import AuditEvent
from tests import factories as f

pytestmark = pytest.mark.django_db

PASSWORD = "a long and quite unusual sentence"


@pytest.fixture
def world():
    a, b, c = f.unit("A", {"en": "Alpha"}), f.unit("B", {"en": "Beta"}), f.unit("C", {"en": "Gamma"})
    peers = f.group("peers", [a, b])
    others = f.group("others", [c])
    users = {}
    for name, kind, scope in (
        ("coordinator", "coordinator", {"group": peers}),
        ("other_coordinator", "coordinator", {"group": others}),
        ("officer", "officer", {"unit": a}),
    ):
        users[name] = get_user_model().objects.create_user(name, f"{name}@example.org")
        Role.objects.create(user=users[name], kind=kind, **scope)
    users["admin"] = get_user_model().objects.create_superuser("admin", "admin@example.org", "x")
    return {"a": a, "b": b, "c": c, "peers": peers, "others": others, **users}


def token_in(message) -> str:
    return re.search(r"/invitations/accept/([^/\s]+)/", message.body)[1]


def invite(client, who, **data):
    client.force_login(who)
    return client.post("/en/invitations/", {"email": "new@example.org", "kind": "officer", **data})


def test_a_coordinator_invites_an_officer_of_a_member_unit_by_e_mail(client, world):
    response = invite(client, world["coordinator"], group="peers", unit="A")
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert (invitation.email, invitation.kind, invitation.unit, invitation.group) == (
        "new@example.org",
        "officer",
        world["a"],
        None,
    )
    assert invitation.invited_by == world["coordinator"] and invitation.state() == "pending"
    assert invitation.expires > timezone.now() + dt.timedelta(days=13)
    [message] = mail.outbox
    assert message.to == ["new@example.org"]
    assert "Data officer" in message.subject and "Alpha" in message.subject
    token = token_in(message)
    assert "http://testserver/en/invitations/accept/" in message.body
    # Only the hash is kept: the raw token is nowhere in the database row.
    assert invitation.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())
    event = AuditEvent.objects.get(action="invite")
    assert event.actor == world["coordinator"] and "token_hash" not in event.after


def test_the_link_is_under_the_inviters_language(client, world):
    client.force_login(world["coordinator"])
    client.post("/pl/invitations/", {"email": "new@example.org", "kind": "viewer", "group": "peers"})
    assert "http://testserver/pl/invitations/accept/" in mail.outbox[0].body


@pytest.mark.parametrize(
    "data, why",
    [
        ({"kind": "admin"}, "admin"),
        ({"kind": "officer", "unit": "C"}, "a unit outside the group"),
        ({"kind": "officer", "group": "others"}, "another group"),
        ({"kind": "officer", "group": "peers", "unit": "C"}, "a unit that is not a member"),
        ({"kind": "officer"}, "no scope"),
        ({"kind": "officer", "group": "peers", "email": "not an address"}, "a bad address"),
    ],
)
def test_a_coordinator_cannot_invite_outside_their_group_nor_an_administrator(client, world, data, why):
    response = invite(client, world["coordinator"], **data)
    assert response.status_code == 400, why
    assert not Invitation.objects.exists() and not mail.outbox
    assert not AuditEvent.objects.filter(action="invite").exists()


def test_the_service_refuses_what_the_form_would_not_offer(world):
    with pytest.raises(invitations.InvitationError):
        invitations.invite(world["coordinator"], "x@example.org", "officer", unit=world["c"], link=str)
    with pytest.raises(invitations.InvitationError):
        invitations.invite(world["officer"], "x@example.org", "officer", unit=world["a"], link=str)
    assert not Invitation.objects.exists() and not mail.outbox


def test_an_administrator_may_invite_an_administrator(client, world):
    assert invite(client, world["admin"], kind="admin").status_code == 302
    assert Invitation.objects.get().kind == "admin"


def test_people_without_a_coordinator_role_do_not_find_the_invitation_page(client, world):
    client.force_login(world["officer"])
    assert client.get("/en/invitations/").status_code == 404
    client.logout()
    assert client.get("/en/invitations/").status_code == 302  # to the log-in page


def test_a_new_person_chooses_a_name_and_password_and_gets_the_role(client, world):
    invite(client, world["coordinator"], group="peers", unit="A")
    client.logout()
    url = f"/en/invitations/accept/{token_in(mail.outbox[0])}/"
    assert client.get(url).status_code == 200
    response = client.post(url, {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/en/entry/"
    user = get_user_model().objects.get(username="newbie")
    assert user.email == "new@example.org" and user.check_password(PASSWORD)
    assert list(user.roles.values_list("kind", "unit__code")) == [("officer", "A")]
    invitation = Invitation.objects.get()
    assert invitation.accepted_by == user and invitation.state() == "accepted"
    assert client.get("/en/entry/").status_code == 200  # signed in
    assert set(AuditEvent.objects.filter(actor=user).values_list("action", "model")) == {
        ("create", "auth.user"),
        ("create", "accounts.role"),
        ("accept", "accounts.invitation"),
    }


@pytest.mark.parametrize(
    "data, field",
    [
        ({"username": "newbie", "password1": "12345678", "password2": "12345678"}, "password1"),
        ({"username": "newbie", "password1": PASSWORD, "password2": PASSWORD + "!"}, "password2"),
        ({"username": "officer", "password1": PASSWORD, "password2": PASSWORD}, "username"),
        ({"username": "bad name!", "password1": PASSWORD, "password2": PASSWORD}, "username"),
    ],
)
def test_a_refused_account_leaves_everything_as_it_was(client, world, data, field):
    invite(client, world["coordinator"], group="peers", unit="A")
    client.logout()
    users, roles = get_user_model().objects.count(), Role.objects.count()
    response = client.post(f"/en/invitations/accept/{token_in(mail.outbox[0])}/", data)
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert (get_user_model().objects.count(), Role.objects.count()) == (users, roles)
    assert Invitation.objects.get().state() == "pending"


def test_a_signed_in_person_accepts_with_their_own_account(client, world):
    invite(client, world["coordinator"], kind="approver", group="peers", unit="B")
    token = token_in(mail.outbox[0])
    client.force_login(world["officer"])
    response = client.post(f"/en/invitations/accept/{token}/")
    assert response.status_code == 302 and response["Location"] == "/en/units/B/"
    assert set(world["officer"].roles.values_list("kind", "unit__code")) == {("officer", "A"), ("approver", "B")}


def test_a_used_link_cannot_be_used_again(client, world):
    invite(client, world["coordinator"], group="peers", unit="A")
    token = token_in(mail.outbox[0])
    client.logout()
    client.post(f"/en/invitations/accept/{token}/", {"username": "first", "password1": PASSWORD, "password2": PASSWORD})
    client.logout()
    roles = Role.objects.count()
    response = client.post(
        f"/en/invitations/accept/{token}/", {"username": "second", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 404
    assert "already been used" in response.content.decode()
    assert Role.objects.count() == roles and not get_user_model().objects.filter(username="second").exists()
    with pytest.raises(invitations.InvitationError):
        invitations.accept(token, world["officer"])


def test_an_expired_a_withdrawn_and_a_forged_link_say_so_and_change_nothing(client, world):
    invite(client, world["coordinator"], group="peers", unit="A")
    invite(client, world["coordinator"], group="peers", unit="B", email="late@example.org")
    first, second = (token_in(m) for m in mail.outbox)
    Invitation.objects.filter(email="late@example.org").update(expires=timezone.now() - dt.timedelta(minutes=1))
    invitations.revoke(world["coordinator"], Invitation.objects.get(email="new@example.org"))
    client.logout()
    roles = Role.objects.count()
    for token, words in ((first, "withdrawn"), (second, "expired"), ("made-up-token", "not valid")):
        response = client.post(
            f"/en/invitations/accept/{token}/", {"username": "x", "password1": PASSWORD, "password2": PASSWORD}
        )
        assert response.status_code == 404 and words in response.content.decode(), words
    assert Role.objects.count() == roles and not get_user_model().objects.filter(username="x").exists()


def test_the_list_shows_each_state_and_a_coordinator_withdraws_a_pending_invitation(client, world):
    invite(client, world["coordinator"], group="peers", unit="A")
    invite(client, world["coordinator"], group="peers", unit="B", email="late@example.org")
    invite(client, world["coordinator"], kind="viewer", group="peers", email="third@example.org")
    Invitation.objects.filter(email="late@example.org").update(expires=timezone.now() - dt.timedelta(days=1))
    invitations.accept(token_in(mail.outbox[2]), world["officer"])
    page = client.get("/en/invitations/").content.decode()
    for state in ('data-state="pending"', 'data-state="expired"', 'data-state="accepted"'):
        assert state in page
    pending = Invitation.objects.get(email="new@example.org")
    client.post(f"/en/invitations/{pending.pk}/revoke/")
    assert Invitation.objects.get(pk=pending.pk).state() == "revoked"
    assert AuditEvent.objects.filter(action="revoke", actor=world["coordinator"]).count() == 1
    # A second withdrawal, or one of an accepted invitation, is refused with a message.
    client.post(f"/en/invitations/{pending.pk}/revoke/")
    assert AuditEvent.objects.filter(action="revoke").count() == 1


def test_another_groups_coordinator_neither_sees_nor_withdraws_the_invitation(client, world):
    invite(client, world["coordinator"], group="peers", unit="A")
    pending = Invitation.objects.get()
    client.force_login(world["other_coordinator"])
    assert "<td>new@example.org</td>" not in client.get("/en/invitations/").content.decode()
    assert client.post(f"/en/invitations/{pending.pk}/revoke/").status_code == 404
    assert Invitation.objects.get().state() == "pending"


def test_the_administration_lists_invitations_but_neither_makes_nor_changes_them(client, world):
    invite(client, world["coordinator"], group="peers", unit="A")
    client.force_login(world["admin"])
    listing = client.get("/admin/accounts/invitation/")
    assert listing.status_code == 200 and "new@example.org" in listing.content.decode()
    assert client.get("/admin/accounts/invitation/add/").status_code == 403
