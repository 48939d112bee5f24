"""Service types and norms tables edited on pages by the district's coordinator, outside the
Django admin: a refused row is named beside its field and changes nothing, every change is
audited, a new version copies a table, and everyone else gets 404."""

import pytest
from django.test import Client

from municipium.audit.models import AuditEvent
from municipium.places.models import Group
from municipium.socialplanning.models import Norm, NormTable, ServiceType
from tests import factories as f

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _type_post(**changes):
    data = {
        "code": "shelter-women",
        "kind": "residential",
        "level": "district",
        "country": "BG",
        "minimum_places": "8",
        "order": "20",
        "name_en": "Shelter for women",
        "name_bg": "Кризисен център за жени",
    }
    data.update(changes)
    return data


def _table_post(world, rows, **changes):
    data = {
        "code": "paz-norms",
        "version": "1",
        "title": "Pazardzhik planning norms",
        "jurisdiction": "BG-PAZ",
        "status": "example",
        "effective": "2023-01-01",
        "source": "Working group of the district, example figures",
        "group": str(world.group.pk),
        "norms-TOTAL_FORMS": str(len(rows)),
        "norms-INITIAL_FORMS": "0",
        "norms-MIN_NUM_FORMS": "0",
        "norms-MAX_NUM_FORMS": "1000",
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"norms-{i}-{key}"] = value
    data.update(changes)
    return data


def _row(world, categories="65-79, 80+", places="6", per="1000", type_=None):
    from municipium.catalog.models import Variable

    return {
        "service_type": str((type_ or world.day_care).pk),
        "variable": str(Variable.objects.get(code="population_by_age").pk),
        "categories": categories,
        "places": places,
        "per": per,
        "note": "",
    }


def test_the_coordinator_adds_and_edits_a_service_type_with_located_refusals(world):
    client = _client(world.coordinator)
    assert client.get("/en/social/types/new/").status_code == 200
    events = AuditEvent.objects.count()
    page = client.post("/en/social/types/new/", _type_post(minimum_places="-3"))
    assert page.status_code == 200
    assert "cannot be negative" in page.context["form"].errors["minimum_places"][0]
    page = client.post("/en/social/types/new/", _type_post(code="day-care-older"))
    assert "already exists" in page.context["form"].errors["code"][0]
    assert not ServiceType.objects.filter(code="shelter-women").exists() and AuditEvent.objects.count() == events
    assert client.post("/en/social/types/new/", _type_post()).status_code == 302
    item = ServiceType.objects.get(code="shelter-women")
    assert item.name == {"en": "Shelter for women", "bg": "Кризисен център за жени"} and item.minimum_places == 8
    edit = client.post("/en/social/types/shelter-women/", _type_post(code="changed", name_en="Women's shelter"))
    assert edit.status_code == 302
    item.refresh_from_db()
    assert item.code == "shelter-women" and item.name["en"] == "Women's shelter"  # the code stays
    assert AuditEvent.objects.filter(model="socialplanning.servicetype", object_id=str(item.pk)).count() == 2
    types_page = client.get("/bg/social/types/").content.decode()
    assert "Кризисен център за жени" in types_page and "/bg/social/types/shelter-women/" in types_page
    for user in (None, world.alpha_officer, world.outsider):
        assert _client(user).get("/en/social/types/shelter-women/").status_code in (302, 404)
        assert _client(user).post("/en/social/types/new/", _type_post(code="x")).status_code in (302, 404)
    assert _client(world.alpha_officer).get("/en/social/types/new/").status_code == 404
    assert not ServiceType.objects.filter(code="x").exists()
    assert "/en/social/types/new/" not in _client(world.alpha_officer).get("/en/social/types/").content.decode()


def test_the_coordinator_writes_a_norms_table_and_a_bad_row_is_named_and_changes_nothing(world):
    client = _client(world.coordinator)
    assert client.get("/en/social/norms/new/").status_code == 200
    events, norms = AuditEvent.objects.count(), Norm.objects.count()
    bad = _table_post(world, [_row(world), _row(world, categories="90+", type_=world.residential)])
    page = client.post("/en/social/norms/new/", bad)
    assert page.status_code == 200
    message = page.context["rows"].forms[1].errors["categories"][0]
    assert "population_by_age has no category 90+; its categories are 0-14, 15-64, 65-79, 80+" in message
    assert 'data-row="2" data-invalid="1"' in page.content.decode() and "Row 2: " in page.content.decode()
    negative = _table_post(world, [_row(world, places="-1")])
    page = client.post("/en/social/norms/new/", negative)
    assert "cannot be negative" in page.context["rows"].forms[0].errors["places"][0]
    twice = client.post("/en/social/norms/new/", _table_post(world, [_row(world), _row(world, places="2")]))
    assert "already has a norm" in twice.context["rows"].forms[1].errors["categories"][0]
    no_source = client.post("/en/social/norms/new/", _table_post(world, [_row(world)], source=""))
    assert "source" in no_source.context["form"].errors
    taken = client.post("/en/social/norms/new/", _table_post(world, [_row(world)], code="test-norms"))
    assert "already exists" in str(taken.context["form"].errors)
    assert not NormTable.objects.filter(code="paz-norms").exists()
    assert (AuditEvent.objects.count(), Norm.objects.count()) == (events, norms)

    good = _table_post(world, [_row(world), _row(world, categories="80+", places="25", type_=world.residential)])
    assert client.post("/en/social/norms/new/", good).status_code == 302
    table = NormTable.objects.get(code="paz-norms")
    assert table.group == world.group
    assert sorted((n.service_type.code, n.categories, n.places) for n in table.norms.all()) == [
        ("day-care-older", ["65-79", "80+"], 6.0),
        ("residential-older", ["80+"], 25.0),
    ]
    assert AuditEvent.objects.count() == events + 3  # the table and its two norms
    # Editing: change a row's places, delete the other, keep the rest.
    page = client.get(f"/en/social/norms/{table.pk}/")
    assert page.status_code == 200 and len(page.context["rows"].initial) == 2
    day, home = table.norms.get(service_type=world.day_care), table.norms.get(service_type=world.residential)
    edit = _table_post(
        world,
        [
            {**_row(world, places="7"), "id": str(day.pk)},
            {**_row(world, categories="80+", type_=world.residential), "id": str(home.pk), "DELETE": "on"},
        ],
        **{"norms-INITIAL_FORMS": "2"},
    )
    assert client.post(f"/en/social/norms/{table.pk}/", edit).status_code == 302
    assert [(n.pk, n.places) for n in table.norms.all()] == [(day.pk, 7.0)]
    assert AuditEvent.objects.filter(model="socialplanning.norm", action="delete", object_id=str(home.pk)).exists()


def test_norms_tables_are_kept_by_their_district_and_a_new_version_copies_one(world):
    other = f.group("other-district", [], kind=Group.Kind.REGION)
    from municipium.accounts.models import Role

    stranger = f.person("sp-other-coordinator", Role.Kind.COORDINATOR, other)
    # The round's coordinator may edit the round's table; its page links to it.
    round_page = _client(world.coordinator).get(f"/en/social/rounds/{world.round.code}/").content.decode()
    assert f"/en/social/norms/{world.table.pk}/" in round_page
    # Another district's coordinator may not edit a table a round of this district uses.
    assert _client(stranger).get(f"/en/social/norms/{world.table.pk}/").status_code == 404
    for user in (None, world.alpha_officer, world.outsider):
        assert _client(user).get(f"/en/social/norms/{world.table.pk}/").status_code in (302, 404)
        assert _client(user).post(f"/en/social/norms/{world.table.pk}/version/").status_code in (302, 404)
    assert not NormTable.objects.filter(code="test-norms", version=2).exists()
    # ... but makes a new version of it for their own district, with its norms copied.
    response = _client(stranger).post(f"/en/social/norms/{world.table.pk}/version/", {"group": str(other.pk)})
    copy = NormTable.objects.get(code="test-norms", version=2)
    assert response.status_code == 302 and response.url == f"/en/social/norms/{copy.pk}/"
    assert copy.group == other
    assert sorted((n.service_type.code, n.categories, n.places) for n in copy.norms.all()) == sorted(
        (n.service_type.code, n.categories, n.places) for n in world.table.norms.all()
    )
    assert _client(stranger).get(f"/en/social/norms/{copy.pk}/").status_code == 200
    assert _client(world.coordinator).get(f"/en/social/norms/{copy.pk}/").status_code == 404
    # A group they do not coordinate is refused.
    assert _client(stranger).post(
        f"/en/social/norms/{copy.pk}/version/", {"group": str(world.group.pk)}
    ).status_code in (302, 404)
    assert copy.rounds.count() == 0 and world.round.norms_id == world.table.pk
