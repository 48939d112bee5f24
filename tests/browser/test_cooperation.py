"""Cooperation in a real browser: the coordinator records an obligation under the Ćelije
memorandum, Brus's officer reports it done with its evidence, and reads how the shared
plant's cost is split, every method with its stand-alone cost and the core check."""

import re

import pytest
from playwright.sync_api import expect

from municipium.cooperation.models import Obligation
from tests.cooperation.world import build

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_obligation_is_recorded_reported_and_the_plant_cost_is_split(watched, login):
    w = build()
    page = login(w.coordinator)
    page.goto(f"/en/cooperation/agreements/{w.agreement.code}/")
    page.locator("summary", has_text="Record an obligation").click()
    page.locator("#id_obligation-party").select_option(label="Brus")
    page.get_by_label("What must be done").fill("Publish the reservoir's monitoring data")
    page.get_by_label("Due by").fill("2030-12-31")
    page.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("The obligation was recorded")
    assert watched.axe() == []
    page.get_by_role("button", name=re.compile("Log out")).click()

    page = login(w.brus_officer)
    page.goto(f"/en/cooperation/agreements/{w.agreement.code}/")
    new = Obligation.objects.get(text__startswith="Publish")
    page.locator(f"#ob-status-{new.pk}").select_option("done")
    page.locator(f"#ob-evidence-{new.pk}").fill("https://example.org/celije-data")
    page.locator(f"tr:has(#ob-status-{new.pk}) button").click()
    expect(page.locator(".alert-success")).to_contain_text("The obligation was updated")
    new.refresh_from_db()
    assert new.status == "done"

    page.goto(f"/en/cooperation/facilities/{w.plant.code}/")
    nucleolus = page.locator('section[data-method="nucleolus"]')
    expect(nucleolus).to_contain_text("In the core")
    expect(nucleolus.locator("table.shares tbody tr")).to_have_count(2)
    assert watched.axe() == []
