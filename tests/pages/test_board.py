"""The status board tells a coordinator, member by member, what is missing and which stored
figures fail the entry page's checks (with a link there); the menus lead people with roles
to their boards, the audit log and the invitations."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.catalog.models import IndicatorSet, SetIndicator, Variable
from municipium.observations.models import Status, ValidationRule
from tests import factories as f

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    area = f.service_area("water")
    produced = f.variable("water_produced", area=area, max_value=1_000_000)
    billed = f.variable("water_billed", area=area)
    nrw = f.indicator("nrw", "100 * (water_produced - water_billed) / water_produced", area=area)
    a, b, c = f.unit("A", {"en": "Alpha"}), f.unit("B", {"en": "Beta"}), f.unit("C", {"en": "Gamma"})
    peers = f.group("peers", [a, b])
    f.group("others", [c])
    the_set = IndicatorSet.objects.create(code="peers-set", name={"en": "Peers"}, group=peers)
    SetIndicator.objects.create(indicator_set=the_set, indicator=nrw)
    # A's figures are submitted (locked for the officer) and break a group rule; B lacks billed water.
    f.write(
        [
            f.row(a, produced, "2024", 1000, status=Status.SUBMITTED),
            f.row(a, billed, "2024", 1200, status=Status.SUBMITTED),
            f.row(b, produced, "2024", 500, status=Status.DRAFT),
        ]
    )
    ValidationRule.objects.create(
        variable=billed,
        kind="consistency",
        expression="water_billed <= water_produced",
        severity="error",
        group=peers,
        message={"en": "Billed water cannot exceed the water produced."},
    )
    ValidationRule.objects.create(
        variable=produced, kind="range", maximum=100, severity="warning", group=f.group("unrelated", [c])
    )  # another group's rule: does not apply to A or B
    users = {}
    for name, kind, scope in (("coordinator", "coordinator", {"group": peers}), ("officer", "officer", {"unit": a})):
        users[name] = get_user_model().objects.create_user(name)
        Role.objects.create(user=users[name], kind=kind, **scope)
    users["admin"] = get_user_model().objects.create_superuser("admin", "admin@example.org", "x")
    return users


def member_row(page: str, code: str) -> str:
    start = page.index(f'<tr id="unit-{code}">')
    return page[start : page.index("</tr>", start)]


def test_the_board_lists_failed_checks_with_a_link_to_the_entry_page_and_what_is_missing(client, world):
    client.force_login(world["coordinator"])
    page = client.get("/en/groups/peers/status/2024/").content.decode()
    alpha, beta = member_row(page, "A"), member_row(page, "B")
    assert "Billed water cannot exceed the water produced." in alpha
    assert 'href="/en/entry/A/2024/water/"' in alpha
    assert "outside the usual range" not in page  # the unrelated group's rule is not applied
    assert "<li>water_billed</li>" in beta.split('class="board-missing"')[1].split("</td>")[0]
    assert "None" in beta.split('class="board-failures"')[1]


def test_a_failed_check_names_its_figure_in_words_not_by_its_code(client, world):
    Variable.objects.filter(code="water_billed").update(name={"en": "Water billed to customers"})
    client.force_login(world["coordinator"])
    alpha = member_row(client.get("/en/groups/peers/status/2024/").content.decode(), "A")
    failures = alpha.split('class="board-failures"')[1]
    assert "Water billed to customers: Billed water cannot exceed the water produced." in failures
    assert "water_billed" not in failures


def test_a_figure_fixed_to_pass_leaves_the_list(client, world):
    from municipium.observations.models import Observation

    Observation.objects.filter(unit__code="A", variable__code="water_billed").update(value=900)
    client.force_login(world["coordinator"])
    page = client.get("/en/groups/peers/status/2024/").content.decode()
    assert "Billed water cannot exceed" not in page


def test_the_board_without_a_period_opens_on_the_latest_one(client, world):
    client.force_login(world["coordinator"])
    response = client.get("/en/groups/peers/status/")
    assert response.status_code == 302 and response["Location"] == "/en/groups/peers/status/2024/"
    client.force_login(world["officer"])
    assert client.get("/en/groups/peers/status/").status_code == 404


def test_a_coordinators_menu_leads_to_the_board_the_invitations_and_the_audit_log(client, world):
    client.force_login(world["coordinator"])
    page = client.get("/en/").content.decode()
    for link in ('href="/en/groups/peers/status/"', 'href="/en/invitations/"', 'href="/en/audit/"'):
        assert link in page
    group_page = client.get("/en/groups/peers/").content.decode()
    assert 'href="/en/groups/peers/status/2024/"' in group_page


def test_an_officers_menu_has_none_of_them(client, world):
    client.force_login(world["officer"])
    page = client.get("/en/").content.decode()
    for link in ("/status/", 'href="/en/invitations/"', 'href="/en/audit/"'):
        assert link not in page
    assert "/status/" not in client.get("/en/groups/peers/").content.decode()


def test_an_administrators_menu_has_the_invitations_and_the_audit_log(client, world):
    client.force_login(world["admin"])
    page = client.get("/en/").content.decode()
    assert 'href="/en/invitations/"' in page and 'href="/en/audit/"' in page


def test_the_board_reads_right_to_left_in_persian_with_persian_digits(client, world):
    client.force_login(world["coordinator"])
    page = client.get("/fa/groups/peers/status/2024/").content.decode()
    assert 'dir="rtl"' in page and "۲۰۲۴" in page
    assert 'href="/fa/entry/A/2024/water/"' in page
