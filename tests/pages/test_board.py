"""The status board tells a coordinator, member by member, what is missing and which stored
figures fail the entry page's checks (with a link there); the menus lead people with roles
to their boards, the audit log and the invitations."""

import pytest
from django.contrib.auth import get_user_model

from municipium.accounts.models import Role
from municipium.catalog.models import IndicatorSet, SetIndicator, Variable
from municipium.observations.models import Status, ValidationRule
from municipium.places.models import Unit
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


def test_the_latest_period_is_the_latest_with_a_members_figure_not_anyones(client, world):
    produced = Variable.objects.get(code="water_produced")
    b, c = (Unit.objects.get(code=code) for code in ("B", "C"))
    f.write([f.row(b, produced, "2022", 400), f.row(c, produced, "2026", 7)])  # C is no member
    client.force_login(world["coordinator"])
    assert client.get("/en/groups/peers/status/")["Location"] == "/en/groups/peers/status/2024/"
    f.write([f.row(b, produced, "2025", 450)])
    assert client.get("/en/groups/peers/status/")["Location"] == "/en/groups/peers/status/2025/"


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


# ----------------------------------------------------------------------------------------
# The board checks every member's stored figures with the entry page's EntrySheet, read for
# all members at once: the same findings as each member's own sheet, and a number of queries
# that does not grow with the members (one sheet per member and area was 8 or more queries
# each, 12-20 s for 500 members).


def crowd_world():
    """Two service areas, a breakdown, rules of every kind (a group's and everyone's, one
    reading a figure of another area) and the default checks (ten-fold jump, part no larger
    than its whole); `add_members` gives the group members whose figures pass or fail them."""
    water, people = f.service_area("water", order=1), f.service_area("people", order=2)
    produced = f.variable("water_produced", area=water, max_value=1_000_000)
    billed = f.variable("water_billed", area=water)
    losses = f.variable("water_losses", area=water, breakdown=f.breakdown("cause", ["pipes", "meters"]))
    population = f.variable("population", area=people)
    crowd, other = f.group("crowd"), f.group("other")
    the_set = IndicatorSet.objects.create(code="crowd-set", name={"en": "Crowd"}, group=crowd)
    SetIndicator.objects.create(
        indicator_set=the_set, indicator=f.indicator("nrw", "water_produced - water_billed", area=water)
    )
    ValidationRule.objects.create(  # reads population, of another area
        variable=produced,
        kind="consistency",
        expression="water_produced <= 1000 * population",
        severity="warning",
        message={"en": "More water than a thousand per inhabitant."},
    )
    ValidationRule.objects.create(
        variable=population, kind="range", minimum=10, maximum=1_000_000, severity="warning", group=crowd
    )
    ValidationRule.objects.create(variable=losses, kind="range", maximum=50, severity="error", group=other)
    ValidationRule.objects.create(variable=billed, kind="change", threshold=50, severity="warning", group=other)
    user = get_user_model().objects.create_user("crowd-coordinator")
    Role.objects.create(user=user, kind="coordinator", group=crowd)
    return {"produced": produced, "billed": billed, "losses": losses, "population": population}, crowd, other, user


def add_members(world, crowd, other, start, count):
    """Members whose figures for 2024 (and 2023, for the jumps and change rules) pass every
    check, break the part-whole default, jump ten-fold, break the variable's hard limit, the
    rule across areas, another group's range and change rules or the group's population
    range; some are submitted (locked), the first six not in the other group."""
    v = world
    rows = []
    for i in range(start, start + count):
        unit = f.unit(f"M{i:02d}", {"en": f"Member {i}"})
        f.membership(crowd, unit)
        kind = i % 6
        if i >= 6:
            f.membership(other, unit)
        status = Status.SUBMITTED if i % 3 == 0 else Status.DRAFT
        produced, billed = 1000.0 + i, 900.0 + i
        pop = 50.0 + i
        if kind == 1:
            billed = 1.6 * produced  # part larger than its whole; 60 % up on 2023 (the other group's rule)
        elif kind == 2:
            produced = 20_000.0 + i  # ten-fold jump from 2023, and more than 1000 per inhabitant
        elif kind == 3:
            produced = 2_000_000.0  # beyond the variable's hard limit
        elif kind == 4:
            pop = 0.5  # outside the group's range, and 1000 per inhabitant too few for the water
        for year, values in (("2023", (1000.0 + i, 900.0 + i, 50.0 + i)), ("2024", (produced, billed, pop))):
            rows += [
                f.row(unit, variable, year, value, status=status)
                for variable, value in zip((v["produced"], v["billed"], v["population"]), values, strict=True)
            ]
        losses = 80.0 if kind == 5 else 10.0  # beyond the other group's range: M11's, not M05's
        rows += [
            f.row(unit, v["losses"], "2024", losses, breakdown="pipes", status=status),
            f.row(unit, v["losses"], "2024", 5.0, breakdown="meters", status=status),
        ]
    f.write(rows)


def sheet_findings(slots) -> list:
    return [
        (slot.variable.code, slot.category.code if slot.category else "", [x.message for x in slot.findings])
        for slot in slots
    ]


def test_the_board_lists_exactly_what_each_members_entry_sheet_finds(client):
    from municipium.catalog.models import ServiceArea
    from municipium.observations.forms import EntrySheet

    world, crowd, other, user = crowd_world()
    add_members(world, crowd, other, 0, 12)
    client.force_login(user)
    response = client.get("/en/groups/crowd/status/2024/")
    page = response.content.decode()
    on_board = {
        row["unit"].code: {area["area"].code: sheet_findings(area["slots"]) for area in row["failures"]}
        for row in response.context["rows"]
    }
    expected = {}
    for unit in Unit.objects.filter(code__startswith="M").order_by("code"):
        expected[unit.code] = {}
        for area in ServiceArea.objects.order_by("order", "code"):
            found = sheet_findings(EntrySheet(unit, "2024", area, "en").check_stored())
            if found:
                expected[unit.code][area.code] = found
    assert on_board == expected
    # Some members pass everything, the others fail in every way the rules can.
    assert {code for code, areas in expected.items() if not areas} == {"M00", "M05", "M06"}
    messages = {m for areas in expected.values() for found in areas.values() for _c, _k, ms in found for m in ms}
    assert any("cannot be larger than" in m for m in messages)  # the default part-whole check
    assert "More water than a thousand per inhabitant." in messages  # across areas
    assert len(messages) >= 6
    assert [(v, c) for v, c, _m in expected["M11"]["water"]] == [("water_losses", "pipes")]
    assert len(expected["M07"]["water"][0][2]) == 2 and len(expected["M01"]["water"][0][2]) == 1  # change rule
    # And the page shows them in the member's row.
    for code, areas in expected.items():
        row = member_row(page, code).split('class="board-failures"')[1]
        for found in areas.values():
            for _variable, _category, texts in found:
                for text in texts:
                    assert text.replace("'", "&#x27;") in row


def board_queries(client, code) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"/en/groups/{code}/status/2024/").status_code == 200
    return len(queries)


def test_the_boards_queries_do_not_grow_with_its_members(client):
    world, crowd, other, user = crowd_world()
    add_members(world, crowd, other, 0, 3)
    client.force_login(user)
    board_queries(client, "crowd")  # the session, translations and the like read once
    three = board_queries(client, "crowd")
    add_members(world, crowd, other, 3, 9)
    twelve = board_queries(client, "crowd")
    assert three == twelve


def test_one_tally_gives_each_members_counts_by_status_and_the_variables_it_has_figures_of():
    # The board's progress, what each member still owes and which areas' checks to run come
    # from one pass over the members' figures (`workflow.Tally`); each agrees with the
    # member's own figures, a member without any has zeros and no variable.
    from municipium.observations import workflow
    from municipium.observations.models import Observation, Period

    world, crowd, other, _user = crowd_world()
    add_members(world, crowd, other, 0, 7)
    idle = f.unit("M99", {"en": "Idle"})
    f.membership(crowd, idle)
    period = Period.objects.get(code="2024")
    units = workflow.members(crowd, period)
    tally = workflow.Tally(units, period)
    assert set(tally.counts) == set(tally.variables) == {unit.pk for unit in units}
    for unit in units:
        mine = Observation.objects.filter(unit=unit, period=period)
        assert tally.counts[unit.pk] == {status: mine.filter(status=status).count() for status in Status.values}
        assert tally.variables[unit.pk] == set(mine.values_list("variable_id", flat=True))
    assert sum(tally.counts[idle.pk].values()) == 0 and tally.variables[idle.pk] == set()
    # Figures with categories count one each; a submitted member's are all submitted.
    assert tally.counts[Unit.objects.get(code="M03").pk][Status.SUBMITTED] == 5
    assert workflow.progress(units, period) == tally.counts


def test_a_sheet_refuses_shared_data_read_in_another_language(world):
    """The shared sheet data hold the checks' names and messages in their own language: a
    sheet asked for in another one from them is a caller's mistake, said at once, not a form
    in the data's language under another language's page."""
    from municipium.catalog.models import ServiceArea
    from municipium.observations.forms import EntrySheet, SheetData
    from municipium.places.models import Unit

    unit, area = Unit.objects.get(code="A"), ServiceArea.objects.get(code="water")
    data = SheetData([unit], "2024", area, "en")
    with pytest.raises(ValueError, match="'pl'"):
        EntrySheet(unit, "2024", area, "pl", data=data)
    assert EntrySheet(unit, "2024", area, "en", data=data).language == "en"
    assert EntrySheet(unit, "2024", area, data=data).language == "en"
