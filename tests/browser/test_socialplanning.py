"""A social-service planning round in a real browser: Alpha's officer proposes places and
opens the 30-day consultation, the district's coordinator shares a day centre across Alpha
and Beta with quotas in proportion to need, and the accessibility map draws the settlements
from the page's own data."""

import re

import pytest
from playwright.sync_api import expect

from municipium.socialplanning.models import Proposal, SharedService
from tests.socialplanning.world import build

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_planning_round_from_proposal_to_shared_service_and_map(watched, login):
    w = build()
    page = login(w.alpha_officer)
    page.goto(f"/en/social/rounds/{w.round.code}/BG-T01/")
    page.locator("summary", has_text="Propose places").click()
    page.locator("#id_line-service_type").select_option(label="Day care for older people")
    page.get_by_label("Places").fill("15")
    page.locator("#id_line-funding").select_option("state")
    page.locator("form.line-form button").click()
    expect(page.locator("table.lines tbody")).to_contain_text("Day care for older people")
    page.get_by_label("Open for comment from").fill("2023-02-06")
    page.get_by_role("button", name="Open the 30-day public consultation").click()
    expect(page.locator("p.consultation")).to_contain_text("2023-02-06 – 2023-03-07")
    assert Proposal.objects.get(round=w.round, unit__code="BG-T01").consultation is not None
    assert watched.axe() == []
    page.get_by_role("button", name=re.compile("Log out")).click()

    page = login(w.coordinator)
    page.goto(f"/en/social/rounds/{w.round.code}/")
    expect(page.locator('table.board tr[data-unit="BG-T01"]')).to_have_attribute(
        "data-stage", re.compile("open|closed")
    )
    page.locator("summary", has_text="Share a service across municipalities").click()
    page.locator("#id_shared-service_type").select_option(label="Day care for older people")
    page.locator("#id_shared-host").select_option(label="Alpha")
    page.get_by_label("Places").fill("20")
    page.locator("#id_shared-parties").select_option(label=["Alpha", "Beta"])
    page.locator("form.shared-form button").click()
    expect(page.locator(".alert-success")).to_contain_text("draft agreement")
    quotas = page.locator("section.shared table.quotas")
    expect(quotas.locator('tr[data-unit="BG-T01"] td.places')).to_have_text("14")
    expect(quotas.locator('tr[data-unit="BG-T02"] td.places')).to_have_text("6")
    assert SharedService.objects.filter(round=w.round).count() == 1
    assert watched.axe() == []

    page.get_by_role("link", name="Accessibility map").click()
    page.locator("#id_service_type").select_option(label="Day care for older people")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("[data-access-map]")).to_have_attribute("data-ready", "4")  # 3 settlements, 1 centre
    expect(page.locator("table.access tbody tr")).to_have_count(3)
    assert watched.axe() == []

    # The round's norms, edited on their page: a negative norm is named in its row.
    page.goto(f"/en/social/rounds/{w.round.code}/")
    page.get_by_role("link", name="Edit the norms table").click()
    page.locator("#id_norms-0-places").fill("-2")
    page.get_by_role("button", name="Save").click()
    expect(page.locator('tr[data-row="1"] .invalid-feedback')).to_contain_text(
        "Row 1: A norm's places cannot be negative."
    )
    assert watched.axe() == []
