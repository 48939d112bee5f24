"""Siting in a real browser, a full run: the coordinator of the Qom cooperation uploads a
layer, reads the experts' AHP weights with the consistency warning, computes the
suitability and the candidate sites, sees them on the map (the server's PNG overlay, the
excluded zones and the sites as vectors, no other origin, no CSP violation) and in the table
with their stability; the Persian page is right to left with the legend in Persian."""

import pytest
from playwright.sync_api import expect

from municipium.demo import siting as demo
from tests.siting.world import build

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_full_siting_run(watched, login, tmp_path):
    w = build()
    page = login(w.coordinator)
    page.goto(f"/en/siting/{w.project.code}/")
    expect(page.locator(".alert-warning")).to_contain_text("synthetic")
    # Upload the airport again as a file, through the form.
    path = tmp_path / "airport.geojson"
    path.write_bytes(demo.geojson(demo.vectors()["airports"]))
    page.locator("#id_layer-topic").select_option("airports")
    page.locator("#id_layer-file").set_input_files(str(path))
    page.get_by_role("button", name="Upload the layer").click()
    expect(page.locator(".alert-success")).to_contain_text("The layer is kept")
    assert watched.axe() == []

    page.goto(f"/en/siting/{w.project.code}/ahp/")
    expect(page.locator(".cr-warning").first).to_contain_text("Expert A")
    expect(page.locator("table.ahp-weights tbody tr")).to_have_count(7)  # six factors and the CR
    assert watched.axe() == []

    page.goto(f"/en/siting/{w.project.code}/")
    page.get_by_role("button", name="Compute the suitability and the candidate sites").click()
    expect(page).to_have_url(f"{watched.origin}/en/siting/{w.project.code}/runs/2/")
    site_map = page.locator("#siting-map")
    expect(site_map).to_have_attribute("data-ready", str(len(w.project.runs.get(number=2).results["candidates"])))
    expect(site_map.locator("img.leaflet-image-layer")).to_have_count(1)
    expect(page.locator("table.candidates tbody tr").first).to_contain_text("1")
    expect(page.locator("table.sensitivity tbody tr")).to_have_count(12)
    assert watched.axe() == []

    page.goto(f"/fa/siting/{w.project.code}/runs/2/")
    expect(page.locator("html")).to_have_attribute("dir", "rtl")
    expect(page.locator(".legend")).to_contain_text("تناسب")
    expect(page.locator("#siting-map")).to_have_attribute(
        "data-ready", str(len(w.project.runs.get(number=2).results["candidates"]))
    )
    assert watched.foreign == [] and watched.violations() == [] and watched.errors == []
