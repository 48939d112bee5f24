"""A new account's user name that normalises to an existing one (NFKC and case folding, as
the log-in throttle counts names) is a form error on the user name, not a server error
(issue 20, item 10): "ｏｆｆｉｃｅｒ" and "oﬃcer" are saved by Django as "officer", which the
unique index refused with a 500; "straße" would log in as a look-alike of "strasse"."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from municipium.accounts.models import Invitation, Role
from tests import factories as f

pytestmark = pytest.mark.django_db

PASSWORD = "a long and quite unusual sentence"


@pytest.fixture
def link(client):
    a = f.unit("A")
    peers = f.group("peers", [a], kind="exchange")
    coordinator = get_user_model().objects.create_user("coordinator", "coordinator@example.org")
    Role.objects.create(user=coordinator, kind="coordinator", group=peers)
    get_user_model().objects.create_user("officer", "officer@example.org")
    get_user_model().objects.create_user("strasse", "strasse@example.org")
    client.force_login(coordinator)
    client.post("/en/invitations/", {"email": "new@example.org", "kind": "officer", "group": "peers", "unit": "A"})
    client.logout()
    token = re.search(r"/invitations/accept/([^/\s]+)/", mail.outbox[0].body)[1]
    return f"/en/invitations/accept/{token}/"


@pytest.mark.parametrize("name", ["ｏｆｆｉｃｅｒ", "oﬃcer", "ＯＦＦＩＣＥＲ", "straße", "STRASSE"])
def test_a_user_name_that_reads_as_an_existing_one_is_refused_on_its_field(client, link, name):
    users = get_user_model().objects.count()

    response = client.post(link, {"username": name, "password1": PASSWORD, "password2": PASSWORD})

    assert response.status_code == 400
    [error] = response.context["form"].errors["username"]
    assert error.startswith(f"The user name {name} ")
    assert get_user_model().objects.count() == users
    assert Invitation.objects.get().state() == "pending"


def test_a_name_of_its_own_is_still_accepted(client, link):
    response = client.post(link, {"username": "newcomer", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 302
    assert get_user_model().objects.filter(username="newcomer").exists()
