"""The catalogue: areas, variables and indicators; editing an indicator with its live formula
preview on real data; and what a bad formula or an outsider gets."""

from html import unescape

import pytest

from municipium.audit.models import AuditEvent
from municipium.catalog.models import Indicator
from municipium.observations.models import Period
from tests import derived
from tests import factories as f
from tests.factories import person
from tests.world import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world(years=(2023, 2024), groups=("rasina",))


@pytest.fixture
def small():
    a, b = f.unit("U-A"), f.unit("U-B")
    group = f.group("peers", [a, b], kind="exchange")
    f.variable("produced", unit_of_measure={"en": "m³"})
    f.variable("billed")
    loss = f.indicator("loss", "100 * (produced - billed) / produced", polarity="lower_is_better", dimension="quality")
    f.indicator("peers__loss", loss.formula)
    return {"group": group, "loss": loss}


def test_the_catalogue_lists_service_areas_with_links(client, small):
    html = client.get("/en/catalogue/").content.decode()
    assert 'href="/en/catalogue/areas/water/"' in html


def test_an_area_shows_its_variables_with_units_and_indicators_with_dimension_polarity_and_formula(client, small):
    page = client.get("/en/catalogue/areas/water/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "m³" in html and "produced" in html
    assert "Quality" in html and "Lower is better" in html
    assert "100 × (produced − billed) ÷ produced" in html or "100 * (produced - billed) / produced" in html
    assert "/edit/" not in html  # no editing for the public


def test_an_unknown_area_or_indicator_is_not_found(client, small):
    assert client.get("/en/catalogue/areas/nothing/").status_code == 404
    client.force_login(person("admin", "admin"))
    assert client.get("/en/catalogue/indicators/nothing/edit/").status_code == 404


@pytest.mark.parametrize("who", ["anonymous", "officer", "coordinator of the starter indicator"])
def test_who_may_not_edit_gets_not_found_and_nothing_changes(client, small, who):
    if who == "officer":
        client.force_login(person("officer", "officer", unit=small["group"].units.first()))
    elif who != "anonymous":
        client.force_login(person("coord", "coordinator", small["group"]))
    assert client.get("/en/catalogue/indicators/loss/edit/").status_code == 404
    assert (
        client.post(
            "/en/catalogue/indicators/loss/edit/",
            {"formula": "1", "decimals": 1, "polarity": "neutral", "name_en": "x"},
        ).status_code
        == 404
    )
    assert client.post("/en/catalogue/indicators/loss/preview/", {"formula": "1"}).status_code == 404
    assert Indicator.objects.get(code="loss").formula == small["loss"].formula
    assert not AuditEvent.objects.exists()


def test_a_coordinator_edits_the_groups_adapted_indicator_but_not_another_groups(client, small):
    client.force_login(person("coord", "coordinator", small["group"]))
    assert client.get("/en/catalogue/indicators/peers__loss/edit/").status_code == 200
    f.group("others", [])
    f.indicator("others__loss", "1")
    assert client.get("/en/catalogue/indicators/others__loss/edit/").status_code == 404


def form_data(indicator, **changes):
    data = {
        "formula": indicator.formula,
        "decimals": indicator.decimals,
        "polarity": indicator.polarity,
        "target": "",
        "threshold_good": "",
        "threshold_poor": "",
        "name_en": indicator.name.get("en", ""),
    }
    return data | changes


def test_saving_changes_the_indicator_audits_it_and_schedules_a_recompute(
    client, small, django_capture_on_commit_callbacks
):
    client.force_login(person("admin", "admin"))
    data = form_data(
        small["loss"],
        formula="100 * billed / produced",
        name_pl="Straty",
        target="15",
        threshold_good="10",
        threshold_poor="30",
        decimals="2",
    )
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/en/catalogue/indicators/loss/edit/", data)
    assert response.status_code == 302
    saved = Indicator.objects.get(code="loss")
    assert saved.formula == "100 * billed / produced" and saved.name == {"en": "loss", "pl": "Straty"}
    assert saved.target == 15 and saved.thresholds == {"good": 10, "poor": 30} and saved.decimals == 2
    event = AuditEvent.objects.get(model="catalog.indicator")
    assert event.before["formula"] != event.after["formula"] and event.via == "form"
    assert callbacks


@pytest.mark.parametrize(
    "formula, message",
    [
        ("100 * (produced - ", "column 18: unexpected end of formula"),
        ("100 * produced / bileld", "unknown name 'bileld'"),
        ("produced $ 2", "column 10: unexpected character '$'"),
    ],
)
def test_a_formula_that_cannot_be_computed_is_refused_with_where_and_why(client, small, formula, message):
    client.force_login(person("admin", "admin"))
    response = client.post("/en/catalogue/indicators/loss/edit/", form_data(small["loss"], formula=formula))
    assert response.status_code == 200
    assert message in unescape(response.content.decode())
    assert Indicator.objects.get(code="loss").formula == small["loss"].formula
    assert not AuditEvent.objects.exists()


def test_a_formula_that_makes_a_circle_of_indicators_is_refused(client, small):
    f.indicator("ratio", "loss / 2")
    client.force_login(person("admin", "admin"))
    response = client.post("/en/catalogue/indicators/loss/edit/", form_data(small["loss"], formula="ratio * 2"))
    assert "in a circle: loss → ratio → loss" in response.content.decode()
    assert Indicator.objects.get(code="loss").formula == small["loss"].formula


def preview_values(html):
    import re

    return {
        code: value
        for code, value in re.findall(r'data-unit="([^"]+)".*?class="number preview-value">([^<]*)<', html, flags=re.S)
    }


def test_the_live_preview_of_an_unchanged_formula_equals_the_stored_values(client, world):
    client.force_login(person("admin", "admin"))
    indicator = Indicator.objects.get(code="water_nrw")
    response = client.post(
        f"/en/catalogue/indicators/{indicator.code}/preview/", {"formula": indicator.formula, "group": "rasina"}
    )
    html = response.content.decode()
    shown = preview_values(html)
    assert shown, html
    period = Period.objects.get(code="2024")
    stored = {row.unit_code: row.value for row in derived.rows(indicator=indicator, period=period, basis="all")}
    from municipium.lib.numbers import format_number

    assert shown == {code: format_number(stored.get(code), indicator.decimals, "en") for code in shown}
    assert any(value != "–" for value in shown.values())
    assert "differs" not in html


def test_the_live_preview_computes_a_changed_formula_with_the_engine(client, world):
    client.force_login(person("admin", "admin"))
    indicator = Indicator.objects.get(code="water_nrw")
    html = client.post(
        f"/en/catalogue/indicators/{indicator.code}/preview/",
        {"formula": f"2 * ({indicator.formula})", "group": "rasina"},
    ).content.decode()
    assert "differs" in html


def test_the_live_preview_of_a_broken_formula_says_where_and_what(client, world):
    client.force_login(person("admin", "admin"))
    html = client.post(
        "/en/catalogue/indicators/water_nrw/preview/", {"formula": "100 * water_lost / ", "group": "rasina"}
    ).content.decode()
    assert "column 19: unexpected end of formula" in html and "preview-table" not in html
    html = client.post(
        "/en/catalogue/indicators/water_nrw/preview/", {"formula": "100 * water_lots", "group": "rasina"}
    ).content.decode()
    assert "column 7: unknown name 'water_lots'" in unescape(html)


def test_the_edit_page_shows_the_preview_on_the_coordinators_group(client, world):
    group = world.group("rasina")
    client.force_login(person("coord", "coordinator", group))
    client.post("/en/groups/rasina/adopt/", {"indicator": "water_nrw"})
    response = client.post("/en/groups/rasina/adapt/", {"indicator": "water_nrw"})
    assert response.url == "/en/catalogue/indicators/rasina__water_nrw/edit/"
    html = client.get(response.url).content.decode()
    assert "preview-table" in html and "Kruševac" in html


HOSTILE = {
    "lag(water_produced, 1000000000000000000)": "column 21: lag() may reach at most 100 periods back",
    "min(" + ", ".join(["water_produced"] * 10_000) + ")": "column 2001: the formula is too long",
    "min(" + ", ".join(["water_produced"] * 120) + ")": "column 1: min() takes at most 100 arguments, not 120",
    "abs(" * 300 + "water_produced" + ")" * 300: "column 801: the formula is nested too deeply",
}


@pytest.mark.parametrize("formula", HOSTILE)
def test_the_live_preview_refuses_a_formula_beyond_the_bounds_with_where_and_what(client, world, formula):
    client.force_login(person("admin", "admin"))
    response = client.post("/en/catalogue/indicators/water_nrw/preview/", {"formula": formula, "group": "rasina"})
    html = unescape(response.content.decode())
    assert response.status_code == 200
    assert HOSTILE[formula] in html and "preview-table" not in html
    html = unescape(
        client.post(
            "/pl/catalogue/indicators/water_nrw/preview/", {"formula": formula, "group": "rasina"}
        ).content.decode()
    )
    assert "pozycja" in html and HOSTILE[formula] not in html


def test_a_formula_beyond_the_bounds_is_not_saved(client, small):
    client.force_login(person("admin", "admin"))
    formula = "lag(produced, 1000000000000000000)"
    response = client.post("/en/catalogue/indicators/loss/edit/", form_data(small["loss"], formula=formula))
    assert "column 15: lag() may reach at most 100 periods back" in unescape(response.content.decode())
    assert Indicator.objects.get(code="loss").formula == small["loss"].formula
