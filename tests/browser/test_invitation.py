"""An invitation end to end in a real browser: a coordinator invites a data officer for a
member unit, the invitee follows the e-mailed link, chooses a password and lands on the
data-entry page of their unit."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from playwright.sync_api import expect

from municipium.accounts.models import Role
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_coordinator_invites_an_officer_who_sets_a_password_and_lands_on_data_entry(watched, login):
    f.variable("water_produced", area=f.service_area("water"))
    kutno = f.unit("PL-1002011", {"en": "Kutno"})
    group = f.group("pl-exchange", [kutno, f.unit("PL-0461011", {"en": "Bydgoszcz"})])
    coordinator = get_user_model().objects.create_user("coordinator", "coordinator@example.org")
    Role.objects.create(user=coordinator, kind=Role.Kind.COORDINATOR, group=group)

    page = login(coordinator)
    page.get_by_role("button", name="My work").click()
    page.get_by_role("link", name="Invitations").click()
    expect(page.get_by_role("heading", name="Invitations", level=1)).to_be_visible()
    assert watched.axe() == []
    page.get_by_label("E-mail address").fill("anna@example.org")
    page.get_by_label("Role", exact=True).select_option("officer")
    page.get_by_label("Group", exact=True).select_option("pl-exchange")
    page.get_by_label(re.compile("^Unit")).select_option("PL-1002011")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator(".alert-success")).to_contain_text("anna@example.org")
    expect(page.locator('tr[data-state="pending"]')).to_contain_text("anna@example.org")

    [message] = mail.outbox
    link = re.search(r"https?://\S+/invitations/accept/\S+/", message.body)[0]
    page.get_by_role("button", name=re.compile("Log out")).click()

    page.goto(link)
    expect(page.get_by_role("heading", name="Accept the invitation")).to_be_visible()
    assert watched.axe() == []
    page.get_by_label("User name").fill("anna")
    page.get_by_label("Password", exact=True).fill("a long and quite unusual sentence")
    page.get_by_label("Password again").fill("a long and quite unusual sentence")
    page.get_by_role("button", name="Create my account and accept").click()

    expect(page).to_have_url(re.compile(r"/en/entry/$"))
    expect(page.locator(".alert-success")).to_contain_text("Data officer")
    expect(page.locator("#id_unit")).to_have_value("PL-1002011")
    assert get_user_model().objects.get(username="anna").roles.get().unit == kutno
