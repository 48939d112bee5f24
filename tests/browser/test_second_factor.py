"""A coordinator turns on a second factor in a real browser (scans nothing: types the
setup key into a stand-in authenticator, lib/totp), then logs in again with the password
and the app's code."""

import re
import time

import pytest
from playwright.sync_api import expect

from municipium.accounts.models import Role, SecondFactor
from municipium.lib import totp
from tests import factories as f

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_coordinator_sets_up_a_second_factor_and_logs_in_with_its_code(watched, login):
    coordinator = f.person("koordinator", Role.Kind.COORDINATOR, f.group("rasina"))
    page = login(coordinator)
    page.get_by_role("link", name="Second factor").click()
    page.get_by_role("button", name="Set up a second factor").click()
    expect(page.locator("img.second-factor-qr")).to_be_visible()
    # The QR code loaded (not a broken image). Polled from Python: a string given to
    # wait_for_function would be eval'd in the page, which the CSP rightly forbids.
    image = page.locator("img.second-factor-qr")
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0
    assert watched.axe() == []
    secret = page.locator("code.setup-key").inner_text()
    page.get_by_label("Code").fill(totp.code_at(secret, time.time()))
    page.get_by_role("button", name="Turn it on").click()
    expect(page.locator(".recovery-codes li")).to_have_count(10)
    expect(page.locator(".second-factor-on")).to_be_visible()

    page.get_by_role("button", name="Log out koordinator").click()
    page.goto("/en/login/")
    page.fill("#id_username", "koordinator")
    page.fill("#id_password", "correct horse battery staple")
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/en/login/code/$"))
    assert watched.axe() == []
    used = SecondFactor.objects.get(user=coordinator).last_step
    page.get_by_label("Code").fill(totp.code_of_step(secret, used + 1))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out koordinator")).to_be_visible()
