"""Unpublished figures are shared only inside groups that agreed to share them (issue 20,
item 9): a role on a unit shows the drafts of the members of its exchange groups and
cooperations (`Group.shares_unpublished`), not of every group the unit is in. An officer in
Kozienice sees nothing unpublished of a Serbian member of a peer group. The rule is
accounts/access.py's; the API, pages and exports read it from there."""

import importlib
import re

import pytest
from django.apps import apps

from municipium.accounts import access
from municipium.benchmarks import engine
from municipium.places.models import Group
from tests import factories as f
from tests.api.conftest import Api, token_for
from tests.factories import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    produced = f.variable("produced", min_value=0)
    f.indicator("double", "2 * produced")
    kozienice, radom, nis = f.unit("PL-KOZ"), f.unit("PL-RAD"), f.unit("RS-NIS")
    exchange = f.group("mazovia-water", [kozienice, radom], kind=Group.Kind.EXCHANGE)
    peers = f.group("small-towns", [kozienice, nis], kind=Group.Kind.PEER)
    region = f.group("balkans-and-more", [kozienice, nis], kind=Group.Kind.REGION)
    f.write(
        [f.row(u, produced, 2024, 10 + i) for i, u in enumerate((kozienice, radom, nis))]
        + [f.row(u, produced, 2025, 20 + i, status="draft") for i, u in enumerate((kozienice, radom, nis))]
    )
    engine.recompute_all()
    officer = person("officer_koz", "officer", unit=kozienice)
    return {
        "kozienice": kozienice,
        "radom": radom,
        "nis": nis,
        "exchange": exchange,
        "peers": peers,
        "region": region,
        "officer": officer,
    }


def test_groups_share_unpublished_figures_by_kind_unless_set_otherwise():
    kinds = {kind: f.group(f"g-{kind}", kind=kind).shares_unpublished for kind in Group.Kind.values}
    assert kinds == {"exchange": True, "cooperation": True, "peer": False, "region": False}
    closed = Group.objects.create(code="closed", kind=Group.Kind.EXCHANGE, shares_unpublished=False)
    closed.refresh_from_db()
    assert closed.shares_unpublished is False


def test_the_migration_sets_existing_groups_by_kind():
    Group.objects.bulk_create(
        [Group(code=f"old-{kind}", kind=kind, shares_unpublished=False) for kind in Group.Kind.values]
    )
    migration = importlib.import_module("municipium.places.migrations.0003_group_shares_unpublished")
    migration.default_by_kind(apps, None)
    shared = set(Group.objects.filter(shares_unpublished=True).values_list("code", flat=True))
    assert shared == {"old-exchange", "old-cooperation"}


def test_a_unit_role_sees_drafts_of_exchange_partners_but_not_of_peer_group_or_region_members(world):
    officer = world["officer"]
    assert access.sees_unpublished(officer, unit=world["kozienice"])  # its own unit
    assert access.sees_unpublished(officer, unit=world["radom"])  # exchange partner
    assert not access.sees_unpublished(officer, unit=world["nis"])  # only a peer and region fellow
    assert access.sees_unpublished(officer, group=world["exchange"])
    assert not access.sees_unpublished(officer, group=world["peers"])
    assert not access.sees_unpublished(officer, group=world["region"])
    # Its own unit set against a group that shares nothing: the group's side stays published.
    assert not access.sees_unpublished(officer, unit=world["kozienice"], group=world["peers"])
    assert access.insider_units(officer) == {world["kozienice"].pk, world["radom"].pk}


def test_the_api_shows_no_draft_of_a_peer_group_member(world):
    api = Api(token_for(world["officer"], scopes=("read",)))
    items = api.get("/observations", {"period_from": "2025"}).json()["items"]
    assert {item["unit"] for item in items} == {"PL-KOZ", "PL-RAD"}
    values = api.get("/indicator-values", {"period_from": "2025", "unit": "RS-NIS"}).json()["items"]
    assert values == []


def test_the_profile_page_of_a_peer_group_member_shows_its_published_figures_only(world, client):
    client.force_login(world["officer"])
    page = client.get("/en/units/RS-NIS/", {"period": "2025"})
    assert page.status_code == 200
    # The value cells, not the whole page: a CSRF token may carry "44" by chance.
    values = re.findall(r'data-label="Value">([^<]*)<', page.content.decode())
    assert values == ["24.0 "]  # 2 × its published 2024 figure (12), not 2 × its 2025 draft (22)


def test_a_group_that_agrees_to_share_shows_its_members_drafts(world):
    world["peers"].shares_unpublished = True
    world["peers"].save()
    officer = person("officer_koz2", "officer", unit=world["kozienice"])
    assert access.sees_unpublished(officer, unit=world["nis"])
    assert access.sees_unpublished(officer, group=world["peers"])


def test_a_role_on_the_group_itself_still_sees_its_members_drafts(world):
    coordinator = person("coord_peers", "coordinator", group=world["peers"])
    assert access.sees_unpublished(coordinator, unit=world["nis"])
    assert access.sees_unpublished(coordinator, group=world["peers"])


def test_the_units_file_sets_whether_a_group_shares_and_the_export_keeps_it(tmp_path):
    from municipium.places.files import dump_units, load_units

    text = (
        "units:\n  - {code: A, kind: municipality, name: A}\n  - {code: B, kind: municipality, name: B}\n"
        "groups:\n"
        "  - {code: towns, kind: peer, name: Towns, shares_unpublished: true, members: [A, B]}\n"
        "  - {code: water, kind: exchange, name: Water, members: [A, B]}\n"
        "  - {code: closed, kind: exchange, name: Closed, shares_unpublished: false, members: [A]}\n"
    )
    path = tmp_path / "units.yaml"
    path.write_text(text, encoding="utf-8")
    report = load_units(path)
    assert report.ok, [str(p) for p in report.problems]
    stored = dict(Group.objects.values_list("code", "shares_unpublished"))
    assert stored == {"towns": True, "water": True, "closed": False}
    dumped = dump_units()
    assert dumped.count("shares_unpublished") == 2  # written only where it differs from the kind's
    bad = tmp_path / "bad.yaml"
    bad.write_text(text.replace("shares_unpublished: true", "shares_unpublished: maybe"), encoding="utf-8")
    problems = [str(p) for p in load_units(bad).problems]
    assert problems == [
        "bad.yaml: groups[0].shares_unpublished: 'maybe' is not true or false "
        "(expected: true (members see each other's unpublished figures) or false)"
    ]
