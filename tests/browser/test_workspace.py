"""The group workspace and the catalogue in a real browser: a coordinator adopts and adapts an
indicator and watches the formula preview follow their typing; no serious accessibility
violation on the way."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from municipium.accounts.models import Role
from tests.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)


def coordinator(group):
    user = get_user_model().objects.create_user("coordinator")
    Role.objects.create(user=user, kind="coordinator", group=group)
    return user


def test_a_coordinator_adopts_an_indicator_and_sees_the_formula_preview_follow_their_typing(watched, login, settings):
    # The recompute each change schedules runs in a worker in production; inline here it would
    # hold the page for longer than the browser waits, and it is tested elsewhere.
    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend", "QUEUES": []}}
    world = build_world(years=(2023, 2024), groups=("rasina",))
    page = login(coordinator(world.group("rasina")))

    page.goto("/en/groups/rasina/")
    page.select_option("#adopt-indicator", "water_nrw")
    page.click(".adopt-form button[type=submit]")
    page.wait_for_selector("#entry-water_nrw")
    assert "water_nrw" in page.inner_text(".set-table")
    assert page.locator(".availability-matrix tbody tr").count() > 0
    assert watched.axe() == []

    page.click("#entry-water_nrw form[action$='/adapt/'] button")
    page.wait_for_url("**/catalogue/indicators/rasina__water_nrw/edit/")
    page.wait_for_selector("#formula-preview .preview-table")
    values = page.locator("#formula-preview .preview-value")
    before = values.all_inner_texts()
    shown = next(i for i, value in enumerate(before) if value != "–")

    formula = page.locator("#id_formula")
    formula.click()
    page.keyboard.press("End")
    formula.press_sequentially(" * 2", delay=40)
    expect(values.nth(shown)).not_to_have_text(before[shown])
    after = values.all_inner_texts()
    assert after != before

    formula.press_sequentially(" / wter_lost", delay=40)
    page.wait_for_selector("#formula-preview .formula-error")
    assert "unknown name 'wter_lost'" in page.inner_text("#formula-preview")
    assert watched.axe() == []


@pytest.mark.parametrize("path", ["/en/catalogue/", "/en/catalogue/areas/water/", "/en/groups/rasina/"])
def test_catalogue_and_workspace_pages_have_no_serious_accessibility_violation(watched, path):
    build_world(years=(2024,), groups=("rasina",))
    watched.page.goto(path)
    assert watched.axe() == []
