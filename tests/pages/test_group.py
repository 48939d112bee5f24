"""The group workspace: members, the indicator set a coordinator adopts and adapts, the data
availability matrix and completeness, and who may see and change what."""

import pytest

from municipium.audit.models import AuditEvent
from municipium.catalog.models import IndicatorSet, SetIndicator
from municipium.observations.models import Status
from municipium.places.models import Availability
from tests import factories as f
from tests.factories import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def small():
    """Two members, two variables, one indicator in the group's set, data for 2024."""
    a, b = f.unit("U-A", {"en": "Alpha"}), f.unit("U-B", {"en": "Beta"})
    group = f.group("peers", [a, b], kind="exchange")
    produced = f.variable("produced", unit_of_measure={"en": "m³"})
    billed = f.variable("billed")
    loss = f.indicator("loss", "100 * (produced - billed) / produced")
    spare = f.indicator("spare", "billed")
    the_set = IndicatorSet.objects.create(code="peers-set", name={"en": "Peers"}, group=group)
    SetIndicator.objects.create(indicator_set=the_set, indicator=loss, order=1)
    f.observe(a, produced, "2024", 100)
    a_produced = a.observations.get(variable=produced)
    a_produced.source = "Water register"
    a_produced.save()
    f.observe(a, billed, "2024", missing="not_collected")
    f.observe(b, produced, "2024", missing="not_shared")
    return {
        "a": a,
        "b": b,
        "group": group,
        "produced": produced,
        "billed": billed,
        "loss": loss,
        "spare": spare,
        "set": the_set,
    }


def cells(response, variable):
    """The text of the variable's matrix row, unit by unit."""
    from html.parser import HTMLParser

    class Rows(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.current, self.cell, self.depth = {}, None, None, 0

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "tr" and "data-variable" in attrs:
                self.current = self.rows.setdefault(attrs["data-variable"], [])
            elif tag == "td" and self.current is not None:
                self.cell = []

        def handle_endtag(self, tag):
            if tag == "td" and self.cell is not None:
                self.current.append(" ".join(" ".join(self.cell).split()))
                self.cell = None
            elif tag == "tr":
                self.current = None

        def handle_data(self, data):
            if self.cell is not None:
                self.cell.append(data)

    parser = Rows()
    parser.feed(response.content.decode())
    return parser.rows[variable]


def test_the_workspace_lists_members_with_links_and_the_set_to_everyone(client, small):
    page = client.get("/en/groups/peers/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'href="/en/units/U-A/"' in html and "Beta" in html
    assert "loss" in html
    assert "Adopt an indicator" not in html  # only coordinators change the set


def test_an_unknown_group_is_not_found(client):
    assert client.get("/en/groups/nowhere/").status_code == 404


def test_a_coordinator_adopts_an_indicator_and_the_change_is_audited(client, small, django_capture_on_commit_callbacks):
    client.force_login(person("coord", "coordinator", small["group"]))
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/en/groups/peers/adopt/", {"indicator": "spare"})
    assert response.status_code == 302
    assert set(small["set"].indicators.values_list("code", flat=True)) == {"loss", "spare"}
    event = AuditEvent.objects.get(model="catalog.setindicator", action="create")
    assert event.actor.username == "coord" and event.via == "form" and event.after["indicator_id"] == small["spare"].pk
    assert callbacks, "a recompute is scheduled for after the commit"


def test_adopting_into_a_group_without_a_set_creates_the_groups_set(client, small):
    other = f.group("pl-x", [small["a"]], kind="exchange")
    client.force_login(person("coord", "coordinator", other))
    client.post("/en/groups/pl-x/adopt/", {"indicator": "loss"})
    created = IndicatorSet.objects.get(group=other)
    assert created.code == "pl-x-set"
    assert list(created.indicators.values_list("code", flat=True)) == ["loss"]
    assert AuditEvent.objects.filter(model="catalog.indicatorset", action="create").exists()


@pytest.mark.parametrize("who", ["anonymous", "officer", "other coordinator", "viewer"])
def test_a_forged_post_by_a_non_coordinator_is_not_found_and_changes_nothing(client, small, who):
    if who == "officer":
        client.force_login(person("officer", "officer", unit=small["a"]))
    elif who == "viewer":
        client.force_login(person("viewer", "viewer", small["group"]))
    elif who == "other coordinator":
        client.force_login(person("coord", "coordinator", f.group("elsewhere", [])))
    before = list(SetIndicator.objects.values_list("indicator_set_id", "indicator_id"))
    for url, data in [
        ("adopt", {"indicator": "spare"}),
        ("remove", {"indicator": "loss"}),
        ("adapt", {"indicator": "loss"}),
        ("availability", {"unit": "U-B", "variable": "billed", "status": "available"}),
    ]:
        assert client.post(f"/en/groups/peers/{url}/", data).status_code == 404, url
    assert list(SetIndicator.objects.values_list("indicator_set_id", "indicator_id")) == before
    assert not Availability.objects.exists()
    assert not AuditEvent.objects.exists()
    assert not small["loss"].__class__.objects.filter(code__contains="__").exists()


def test_a_coordinator_removes_an_indicator_from_the_set(client, small):
    client.force_login(person("coord", "coordinator", small["group"]))
    client.post("/en/groups/peers/remove/", {"indicator": "loss"})
    assert not small["set"].entries.exists()
    assert AuditEvent.objects.filter(model="catalog.setindicator", action="delete").exists()


def test_adapting_copies_the_indicator_for_the_group_and_opens_it_for_editing(client, small):
    client.force_login(person("coord", "coordinator", small["group"]))
    response = client.post("/en/groups/peers/adapt/", {"indicator": "loss"})
    copy = small["loss"].__class__.objects.get(code="peers__loss")
    assert response.status_code == 302 and response.url == "/en/catalogue/indicators/peers__loss/edit/"
    assert copy.formula == small["loss"].formula and copy.name == small["loss"].name
    assert list(small["set"].indicators.values_list("code", flat=True)) == ["peers__loss"]
    assert AuditEvent.objects.filter(model="catalog.indicator", action="create", object_id=str(copy.pk)).exists()
    assert client.get(response.url).status_code == 200


def test_the_matrix_shows_available_with_the_source_and_the_missing_codes(client, small):
    client.force_login(person("coord", "coordinator", small["group"]))
    page = client.get("/en/groups/peers/?period=2024")
    assert cells(page, "produced") == ["Available Source: Water register", "Not shared"]
    assert cells(page, "billed") == ["Not collected", "No information"]


def test_a_declaration_fills_a_cell_without_data_until_observations_come(client, small):
    client.force_login(person("coord", "coordinator", small["group"]))
    response = client.post(
        "/en/groups/peers/availability/",
        {"unit": "U-B", "variable": "billed", "status": "available", "source": "Utility annual report", "note": ""},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(model="places.availability", action="create").exists()
    assert (
        cells(client.get("/en/groups/peers/?period=2024"), "billed")[1]
        == "Available · declared Source: Utility annual report"
    )
    f.observe(small["b"], small["billed"], "2024", missing="not_collected")
    assert cells(client.get("/en/groups/peers/?period=2024"), "billed")[1] == "Not collected"


def test_completeness_counts_values_and_explicit_missing_codes(client, small):
    client.force_login(person("coord", "coordinator", small["group"]))
    html = client.get("/en/groups/peers/?period=2024").content.decode()
    # Alpha: produced has a value, billed a missing code → 2 of 2; Beta: only produced (not shared).
    alpha = html.split('data-unit="U-A"')[1].split("</tr>")[0]
    beta = html.split('data-unit="U-B"')[1].split("</tr>")[0]
    assert "100%" in alpha and "2 / 2" in alpha and "Nothing" in alpha
    assert "50%" in beta and "1 / 2" in beta and "<code>billed</code>" in beta


def test_outsiders_see_availability_of_published_data_only(client, small):
    produced = small["a"].observations.get(variable=small["produced"])
    produced.status = Status.DRAFT
    produced.save()
    Availability.objects.create(
        group=small["group"], unit=small["b"], variable=small["billed"], status="available", source="Secret plan"
    )
    outsider = client.get("/en/groups/peers/?period=2024")
    assert cells(outsider, "produced")[0] == "No information"
    assert "Secret plan" not in outsider.content.decode()
    client.force_login(person("officer", "officer", unit=small["a"]))
    insider = client.get("/en/groups/peers/?period=2024")
    assert cells(insider, "produced")[0] == "Available Source: Water register"
    assert "Secret plan" in insider.content.decode()


def test_the_workspace_of_the_world_renders_for_a_coordinator(client):
    from tests.world import build_world

    world = build_world(years=(2023, 2024), groups=("rasina",))
    group = world.group("rasina")
    client.force_login(person("coord", "coordinator", group))
    client.post("/en/groups/rasina/adopt/", {"indicator": "water_nrw"})
    page = client.get("/en/groups/rasina/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "water_nrw" in html and "Kruševac" in html
    assert "Available" in html


def test_the_matrix_shows_a_page_of_members_and_each_variable_says_how_many_of_all_reported_it(
    client, small, monkeypatch
):
    """A group of hundreds of members is read a page of them at a time (a country's 500 in
    one table were 6.5 MB of HTML); each variable still says how many of all the members
    have a figure of it (a value or an explicit missing code). Here a page holds one member."""
    from municipium.places import views

    monkeypatch.setattr(views, "MATRIX_MEMBERS", 1)
    client.force_login(person("coord", "coordinator", small["group"]))
    first = client.get("/en/groups/peers/?period=2024")
    assert cells(first, "produced") == ["Available Source: Water register"]
    html = first.content.decode()
    assert 'data-unit="U-A"' in html and 'data-unit="U-B"' not in html  # the completeness too
    # Both members reported produced (B as "not shared"), only A billed (as "not collected").
    assert "reported by 2 of 2 members" in html.split('data-variable="produced"')[1].split("</th>")[0]
    assert "reported by 1 of 2 members" in html.split('data-variable="billed"')[1].split("</th>")[0]
    assert "Page 1 of 2" in html and 'rel="next" href="?period=2024&amp;members=2#data-heading"' in html

    second = client.get("/en/groups/peers/?period=2024&members=2")
    assert cells(second, "produced") == ["Not shared"] and cells(second, "billed") == ["No information"]
    assert 'data-unit="U-B"' in second.content.decode() and 'rel="prev"' in second.content.decode()
    # A page that is not one opens the first or the last, never an error.
    assert cells(client.get("/en/groups/peers/?period=2024&members=x"), "produced") == [
        "Available Source: Water register"
    ]
    assert cells(client.get("/en/groups/peers/?period=2024&members=99"), "produced") == ["Not shared"]


def test_a_group_that_fits_one_page_shows_no_pages(client, small):
    html = client.get("/en/groups/peers/?period=2024").content.decode()
    assert "Pages of members" not in html and 'data-unit="U-A"' in html and 'data-unit="U-B"' in html
