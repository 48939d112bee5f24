"""A plan drafted in a real browser: the coordinator adds a goal, links a catalogue
indicator with a baseline and a target (a missing baseline year is refused beside the
field), and reads the progress beside the peers; the public reads the adopted plan."""

import datetime as dt

import pytest
from playwright.sync_api import expect

from municipium.plans import services
from municipium.plans.models import Target
from tests.plans.world import build

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_coordinator_drafts_a_goal_sets_a_target_and_reads_the_progress(watched, login):
    w = build()
    page = login(w.coordinator)
    page.goto("/en/plans/alytus-2030/")
    page.get_by_role("link", name="Add a priority").click()
    page.get_by_label("Number").fill("2")
    page.get_by_label("Title").fill("Smart public sector")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("Item 2 was saved")

    page.get_by_role("link", name="Add an indicator and target 2").click()
    page.get_by_label("Catalogue indicator").select_option(label="water_losses · water_losses")
    page.get_by_label("Baseline value").fill("30")
    page.get_by_label("Final target").fill("20")
    page.get_by_label("Target year").fill("2030")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".invalid-feedback")).to_contain_text("Give the year of the baseline.")
    assert watched.axe() == []
    page.get_by_label("Baseline year").fill("2020")
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".alert-success")).to_contain_text("The target was saved")

    row = page.locator("#item-{} table.targets tbody tr".format(Target.objects.latest("pk").item_id))
    expect(row).to_contain_text("24")  # Alytus 2024
    expect(row).to_contain_text("2 of 3")  # beside the peers
    # 6 points down by 2024 where a straight line to 20 in 2030 expects 4: ahead of the path.
    expect(row.locator(".plan-status")).to_have_attribute("data-status", "on_track")
    assert watched.axe() == []

    services.adopt(w.coordinator, w.plan, number="T-12", date=dt.date(2021, 2, 25))
    page.get_by_role("button", name="Log out").click()
    page.goto("/en/plans/alytus-2030/report/?year=2023")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Monitoring report 2023")
    expect(page.locator(f"section#item-{w.measure.pk} table.targets")).to_contain_text("25")
