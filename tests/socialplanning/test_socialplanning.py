"""Social-service planning as its people use it: needs against capacity per municipality and
for the district, who sees what (404 to outsiders), the supply form and workbook with
located refusals that change nothing, the planning round's proposals, consultations,
council decisions and shared services with quotas, the accessibility map, the exports."""

import datetime as dt
import io

import pytest
import xlsxwriter
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from municipium.audit.models import AuditEvent
from municipium.cooperation.models import Agreement
from municipium.meetings.services import record_council_decision
from municipium.socialplanning import planning, services
from municipium.socialplanning.models import Proposal, ProposalLine, Service, Settlement, SharedService
from municipium.socialplanning.services import PlanningError

pytestmark = pytest.mark.django_db

GROWTH = (2800 / 2500) ** (1 / 5)  # Alpha's 65+ from 2017 to 2022, a year


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _state():
    return (
        Service.objects.count(),
        Settlement.objects.count(),
        Proposal.objects.count(),
        ProposalLine.objects.count(),
        SharedService.objects.count(),
        Agreement.objects.count(),
    )


def _workbook(settlements, services_rows):
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    for name, rows in (("settlements", settlements), ("services", services_rows)):
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


SERVICE_HEADER = services.SERVICE_COLUMNS


def test_need_projected_to_the_planning_year_against_capacity_and_rolled_up(world):
    table = {s.service_type.code: s for s in planning.needs_table(world.round)}
    day = table["day-care-older"]
    rows = {r.unit.code: r for r in day.rows}
    alpha = rows["BG-T01"]
    assert alpha.target == pytest.approx(2800 * GROWTH**3)
    assert alpha.line.need == pytest.approx(2800 * GROWTH**3 * 5 / 1000)
    assert alpha.line.capacity == 10 and alpha.line.users == 10 and alpha.line.waiting == 3
    assert alpha.line.gap == pytest.approx(alpha.line.need - 10)
    assert alpha.flags == ["under", "waiting"]
    assert rows["BG-T02"].line.need == pytest.approx(1200 * 5 / 1000)  # no growth
    assert rows["BG-T03"].line is None and [u.code for u in day.missing] == ["BG-T03"]
    # Both known needs are under the 15 places of a viable day centre, the district's is not.
    assert day.roll_up.too_small == ["BG-T01", "BG-T02"]
    assert day.roll_up.recommendation == "shared"
    assert day.roll_up.total.need == pytest.approx(alpha.line.need + 6)
    residential = table["residential-older"]
    assert residential.roll_up.recommendation == "district"  # a district-level type
    assert {r.unit.code: r.line.need for r in residential.rows} == pytest.approx(
        {"BG-T01": 800 * (800 / 700) ** (3 / 5) * 0.03, "BG-T02": 9.0, "BG-T03": 3.0}
    )


def test_outsiders_get_404_and_officers_edit_only_their_own(world):
    round_url = f"/en/social/rounds/{world.round.code}/"
    assert _client(world.outsider).get(round_url).status_code == 404
    assert _client().get(round_url).status_code == 404
    assert _client(world.outsider).get("/en/social/supply/BG-T01/").status_code == 404
    assert _client(world.beta_officer).get(round_url).status_code == 200
    assert _client(world.beta_officer).get("/en/social/supply/BG-T01/").status_code == 404
    before = _state()
    response = _client(world.beta_officer).post(f"{round_url}BG-T01/", {"action": "line"})
    assert response.status_code == 404
    assert _state() == before
    page = _client(world.coordinator).get(round_url)
    assert page.status_code == 200
    assert b"Alpha day centre" not in page.content and b'data-recommendation="shared"' in page.content
    assert _client(world.alpha_officer).get("/en/social/supply/BG-T01/").status_code == 200


def test_a_service_entered_in_the_form_is_saved_and_audited(world):
    client = _client(world.alpha_officer)
    response = client.post(
        "/en/social/supply/BG-T01/",
        {
            "action": "service",
            "service-provider": "Caritas Alpha",
            "service-provider_kind": "ngo",
            "service-service_type": world.day_care.pk,
            "service-name": "Caritas day club",
            "service-year": 2022,
            "service-capacity": 12,
            "service-users": 9,
            "service-funding": "project",
            "service-settlements": [Settlement.objects.get(code="A2").pk],
        },
    )
    assert response.status_code == 302
    saved = Service.objects.get(name="Caritas day club")
    assert saved.provider.kind == "ngo" and saved.occupancy == pytest.approx(0.75)
    assert AuditEvent.objects.filter(model="socialplanning.service", object_id=str(saved.pk)).exists()
    before = _state()
    response = client.post(
        "/en/social/supply/BG-T01/",
        {
            "action": "service",
            "service-provider": "Caritas Alpha",
            "service-provider_kind": "ngo",
            "service-service_type": world.day_care.pk,
            "service-name": "Nowhere club",
            "service-year": 2022,
            "service-capacity": -3,
            "service-funding": "project",
            "service-lon": 24.3,
        },
    )
    assert response.status_code == 200 and _state() == before
    assert b"Give both the longitude and the latitude" in response.content or b"cannot be negative" in response.content


def test_the_supply_workbook_loads_all_or_nothing_with_located_problems(world):
    good = _workbook(
        [["unit", "code", "name", "lon", "lat", "population"], ["BG-T01", "A3", "Alpha hamlet", 24.5, 42.3, 120]],
        [
            SERVICE_HEADER,
            [
                "BG-T01",
                "Alpha social services",
                "public",
                "L-1",
                "home-care",
                "Home care Alpha",
                2022,
                "",
                "",
                40,
                38,
                5,
                12,
                "municipal",
                "A1;A3",
            ],
        ],
    )
    loaded = services.import_supply(world.alpha_officer, good, "supply.xlsx", [world.units["BG-T01"]])
    assert loaded == (1, 1)
    home = Service.objects.get(name="Home care Alpha")
    assert sorted(s.code for s in home.settlements.all()) == ["A1", "A3"]
    bad = _workbook(
        [["unit", "code", "name", "lon", "lat", "population"], ["BG-T01", "A4", "Alpha farm", 240, 42.3, 50]],
        [
            SERVICE_HEADER,
            ["BG-T01", "P", "public", "", "no-such-type", "S1", 2022, "", "", 10, "", "", "", "municipal", ""],
            ["BG-T02", "P", "public", "", "home-care", "S2", 2022, "", "", 10, "", "", "", "municipal", ""],
            ["BG-T01", "P", "charity", "", "home-care", "S3", 2022, "", "", "ten", "", "", "", "budget", "Z9"],
            ["BG-T01", "P", "public", "", "home-care", "S4", 2022, "", "", -1, "", "", "", "state", ""],
        ],
    )
    before = _state()
    with pytest.raises(PlanningError) as caught:
        services.import_supply(world.alpha_officer, bad, "supply.xlsx", [world.units["BG-T01"]])
    message = caught.value.message
    assert "sheet settlements, row 2, column lon: the point is outside the Earth" in message
    assert "sheet services, row 2, column service_type: no-such-type is not a service type" in message
    assert "sheet services, row 3, column unit: BG-T02 is not a municipality you may enter" in message
    assert "sheet services, row 4, column provider_kind: charity is not one of public, private, ngo" in message
    assert "row 4, column capacity: ten is not a number" in message
    assert "row 4, column settlements: Z9 is not a settlement of BG-T01" in message
    assert "sheet services, row 5, column capacity: -1 is below zero" in message
    assert _state() == before
    for data, name in ((b"\x00\x01 not a workbook", "supply.xlsx"), (b"PK\x03\x04broken", "x.xlsx"), (b"x", "a.exe")):
        with pytest.raises(PlanningError):
            services.import_supply(world.alpha_officer, data, name, [world.units["BG-T01"]])
    assert _state() == before
    response = _client(world.alpha_officer).post(
        "/en/social/supply/BG-T01/",
        {"action": "upload", "upload-file": SimpleUploadedFile("supply.xlsx", bad)},
    )
    assert response.status_code == 200  # the form again, with the problems; never a 500
    assert b"row 5, column capacity: -1 is below zero" in response.content and _state() == before
    template = _client(world.alpha_officer).get("/en/social/supply/BG-T01/?format=template")
    assert template["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_proposal_goes_through_consultation_council_and_agency(world):
    alpha = world.units["BG-T01"]
    proposal = services.proposal_for(world.alpha_officer, world.round, alpha)
    with pytest.raises(PlanningError, match="at least one service"):
        services.open_consultation(world.alpha_officer, proposal, dt.date(2023, 2, 6))
    services.save_line(
        world.alpha_officer, ProposalLine(proposal=proposal, service_type=world.day_care, places=15, funding="state")
    )
    with pytest.raises(PlanningError, match="negative"):
        services.save_line(
            world.alpha_officer,
            ProposalLine(proposal=proposal, service_type=world.day_care, places=-1, funding="state"),
        )
    consultation = services.open_consultation(world.alpha_officer, proposal, dt.date(2023, 2, 6))
    assert (consultation.closes - consultation.opens).days + 1 == 30
    assert consultation.unit == alpha and consultation.published
    board = {b["unit"].code: b for b in planning.board(world.round, today=dt.date(2023, 2, 10))}
    assert board["BG-T01"]["stage"] == "open" and board["BG-T01"]["places"] == 15
    assert board["BG-T02"]["stage"] == "none"
    with pytest.raises(PlanningError, match="council has approved"):
        services.mark_sent(world.alpha_officer, proposal, dt.date(2023, 3, 10))
    record_council_decision(
        world.alpha_officer, consultation, number="123/2023", date=dt.date(2023, 3, 9), today=dt.date(2023, 3, 9)
    )
    proposal.refresh_from_db()
    with pytest.raises(PlanningError, match="no longer change"):
        services.save_line(
            world.alpha_officer,
            ProposalLine(proposal=proposal, service_type=world.day_care, places=20, funding="state"),
        )
    services.mark_sent(world.alpha_officer, proposal, dt.date(2023, 3, 20))
    board = {b["unit"].code: b for b in planning.board(world.round, today=dt.date(2023, 4, 2))}
    assert board["BG-T01"]["stage"] == "sent" and not board["BG-T01"]["late"]
    assert board["BG-T02"]["late"]
    page = _client(world.coordinator).get(f"/en/social/rounds/{world.round.code}/BG-T01/")
    assert b"123/2023" in page.content


def test_a_shared_service_is_an_agreement_with_quotas_in_proportion_to_need(world):
    alpha, beta = world.units["BG-T01"], world.units["BG-T02"]
    before = _state()
    with pytest.raises(PlanningError, match="at least two"):
        services.add_shared(world.coordinator, world.round, world.day_care, alpha, 20, [])
    assert _state() == before
    shared = services.add_shared(world.coordinator, world.round, world.day_care, alpha, 20, [beta])
    assert sorted(shared.agreement.parties.values_list("unit__code", flat=True)) == ["BG-T01", "BG-T02"]
    quotas = {q["unit"].code: q for q in planning.shared_quotas(shared)}
    need_alpha = 2800 * GROWTH**3 * 5 / 1000  # 14.985, against Beta's 6.0
    assert quotas["BG-T01"]["need"] == pytest.approx(need_alpha)
    # 20 × 14.985 / 20.985 = 14.28 and 5.72: whole parts 14 and 5, the last place to Beta's .72.
    assert (quotas["BG-T01"]["places"], quotas["BG-T02"]["places"]) == (14, 6)
    for bad in ({"BG-T01": 10}, {"BG-T01": 10, "BG-T02": 9}, {"BG-T01": 21, "BG-T02": -1}):
        with pytest.raises(PlanningError):
            services.set_quotas(world.coordinator, shared, bad)
    shared.refresh_from_db()
    assert shared.quotas == {}
    services.set_quotas(world.coordinator, shared, {"BG-T01": 12, "BG-T02": 8})
    assert [q["places"] for q in planning.shared_quotas(shared)] == [12, 8]
    with pytest.raises(PlanningError, match="already shared"):
        services.add_shared(world.coordinator, world.round, world.day_care, alpha, 20, [beta])
    response = _client(world.beta_officer).post(
        f"/en/social/rounds/{world.round.code}/shared/{shared.pk}/quotas/", {"q-BG-T01": "0", "q-BG-T02": "20"}
    )
    assert response.status_code == 404


def test_accessibility_by_2sfca_on_the_page_and_from_a_matrix(world):
    result = planning.accessibility(world.round, world.day_care, "none", 30)
    by_code = {s.code: a for s, a in zip(result.settlements, result.access, strict=True)}
    # Demand: population × the municipality's 65+ share (Alpha 2,800 / 9,800); the centre's
    # 10 places reach Alpha town and village (≈ 11 km) but not Beta town (≈ 21 km: in reach).
    share_alpha, share_beta = 2800 / 9800, 1200 / 4700
    demand = 8000 * share_alpha + 1800 * share_alpha + 4700 * share_beta
    assert by_code["A1"] == pytest.approx(10 / demand * 1000)
    assert by_code["B1"] == pytest.approx(10 / demand * 1000)
    short = planning.accessibility(world.round, world.day_care, "none", 15)
    assert {s.code: a for s, a in zip(short.settlements, short.access, strict=True)}["B1"] == 0
    client = _client(world.alpha_officer)
    url = f"/en/social/rounds/{world.round.code}/accessibility/?service_type={world.day_care.pk}&method=step&size=30"
    assert client.get(url).status_code == 200
    geo = client.get(url + "&format=geojson").json()
    assert {f["properties"]["kind"] for f in geo["features"]} == {"settlement", "service"}
    assert "straight lines in km" in client.get(url).content.decode()
    assert _client(world.outsider).get(url).status_code == 404


def test_a_stored_travel_time_matrix_is_used_instead_of_straight_lines(world):
    """The round's coordinator uploads a CSV of settlement, service point and minutes; it is
    checked with located refusals that store nothing, stored (audited), used by the
    accessibility on the page, the map and the API instead of straight lines, and the page
    says which was used; others may not upload."""
    from municipium.socialplanning.models import TravelMatrix, TravelTime

    share_alpha = 2800 / 9800
    centre = world.centre.pk
    url = f"/en/social/rounds/{world.round.code}/accessibility/?service_type={world.day_care.pk}&method=none&size=30"
    client = _client(world.coordinator)
    events = AuditEvent.objects.count()
    bad = b"unit,settlement,service,minutes\nBG-T01,ZZ,1,5\nBG-T01,A1,999999,5\nBG-T01,A2,Alpha day centre,x\n"
    page = client.post(url, {"action": "upload", "matrix-matrix": SimpleUploadedFile("times.csv", bad)})
    text = page.content.decode()
    assert page.status_code == 200
    assert "sheet matrix, row 2, column settlement: ZZ is not a settlement of the district" in text
    assert "row 3, column service: 999999 is not a service point of this type" in text
    assert "row 4, column minutes: x is not a number" in text
    twice = f"settlement,service,minutes\nA1,{centre},5\nA1,{centre},6\n".encode()
    page = client.post(url, {"action": "upload", "matrix-matrix": SimpleUploadedFile("t.csv", twice)})
    assert "row 3: the same settlement and service point as row 2" in page.content.decode()
    negative = f"settlement,service,minutes\nA1,{centre},-5\n".encode()
    page = client.post(url, {"action": "upload", "matrix-matrix": SimpleUploadedFile("t.csv", negative)})
    assert "column minutes: -5 is below zero" in page.content.decode()
    assert not TravelMatrix.objects.exists() and AuditEvent.objects.count() == events
    # Officers read the map but may not upload.
    good = f"settlement,service,minutes\nA1,{centre},5\nA2,Alpha day centre,25\nB1,{centre},45\n".encode()
    officer = _client(world.alpha_officer)
    assert (
        officer.post(url, {"action": "upload", "matrix-matrix": SimpleUploadedFile("t.csv", good)}).status_code == 404
    )
    assert "matrix-form" not in officer.get(url).content.decode()
    response = client.post(url, {"action": "upload", "matrix-matrix": SimpleUploadedFile("times.csv", good)})
    assert response.status_code == 302
    matrix = TravelMatrix.objects.get(round=world.round, service_type=world.day_care)
    assert TravelTime.objects.filter(matrix=matrix).count() == 3 and matrix.file_name == "times.csv"
    event = AuditEvent.objects.get(model="socialplanning.travelmatrix", action="create")
    assert "3 travel times" in event.note
    # Beta town is 45 minutes away: outside a 30-minute catchment, though 21 km in a line.
    page = officer.get(url)
    values = {s.code: v for s, v in page.context["rows"]}
    assert values["B1"] == 0 and values["A1"] == pytest.approx(10 / (9800 * share_alpha) * 1000)
    assert "travel times in minutes from the stored matrix times.csv (3 travel times" in page.content.decode()
    assert page.context["result"].basis == "minutes"
    geo = officer.get(url + "&format=geojson").json()
    assert {f["properties"]["label"]: f["properties"]["value"] for f in geo["features"]}["Beta town"] == 0
    api = officer.get(f"/api/socialplanning/rounds/{world.round.code}/accessibility?service_type=day-care-older")
    assert api.status_code == 200 and api.json()["basis"] == "minutes"
    # Another service type keeps straight lines.
    other = planning.accessibility(world.round, world.residential, "none", 30)
    assert other.basis == "km" and other.matrix is None
    # A new upload replaces the matrix; removing it goes back to straight lines.
    shorter = f"settlement,service,minutes\nA1,{centre},5\nB1,{centre},20\n".encode()
    client.post(url, {"action": "upload", "matrix-matrix": SimpleUploadedFile("v2.csv", shorter)})
    assert TravelTime.objects.filter(matrix__round=world.round).count() == 2
    assert {s.code: v for s, v in officer.get(url).context["rows"]}["B1"] > 0
    assert client.post(url, {"action": "remove"}).status_code == 302
    assert not TravelMatrix.objects.exists()
    assert AuditEvent.objects.filter(model="socialplanning.travelmatrix").count() == 3
    assert officer.get(url).context["result"].basis == "km"


def test_the_proposal_exports_as_xlsx_and_pdf(world):
    client = _client(world.coordinator)
    xlsx = client.get(f"/en/social/rounds/{world.round.code}/?format=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_filelike(io.BytesIO(xlsx.content))
    assert book.sheet_names == ["needs", "proposal", "check", "shared"]
    rows = book.get_sheet_by_name("needs").to_python()
    assert rows[0][:5] == ["service_type", "unit", "name", "target_population", "need"]
    pdf = client.get(f"/en/social/rounds/{world.round.code}/BG-T01/?format=pdf")
    assert pdf.status_code == 200 and pdf.content[:4] == b"%PDF"
    assert client.get(f"/fa/social/rounds/{world.round.code}/").status_code == 200


def test_coverage_and_occupancy_show_as_percentages(world):
    page = _client(world.coordinator).get(f"/en/social/rounds/{world.round.code}/").content.decode()
    alpha = next(r for r in planning.needs_table(world.round)[0].rows if r.unit.code == "BG-T01")
    assert alpha.coverage_percent == pytest.approx(100 * 10 / alpha.line.need)  # 67 % of 14.985 places
    assert f"{alpha.coverage_percent:.0f}%" in page
    supply = _client(world.alpha_officer).get("/en/social/supply/BG-T01/").content.decode()
    assert "100%" in supply  # the day centre: 10 users in 10 places


COHORT = {
    "survival": {"0-14": 0.999, "15-64": 0.997, "65-79": 0.97, "80+": 0.85},
    "migration": {"15-64": -0.01},
    "births_per_person": 0.012,
    "mothers": ["15-64"],
}


def test_a_round_may_project_by_cohort_component_with_stated_assumptions(world):
    from municipium.lib.socialneed import projection
    from municipium.socialplanning.models import Round

    cohort = services.save_round(
        world.coordinator,
        Round(
            code="paz-cohort",
            title="Cohort round",
            group=world.group,
            year=2022,
            horizon=2025,
            norms=world.table,
            projection="cohort",
            assumptions=COHORT,
            opens=dt.date(2023, 2, 1),
            agreement_deadline=dt.date(2023, 3, 15),
            agency_deadline=dt.date(2023, 3, 31),
        ),
    )
    rows = projection.cohort_component(
        [500, 3000, 900, 300], [15, 50, 15, None], [0.999, 0.997, 0.97, 0.85], 0.012, [1], [0, -0.01, 0, 0], 3
    )
    day = next(s for s in planning.needs_table(cohort) if s.service_type.code == "day-care-older")
    beta = next(r for r in day.rows if r.unit.code == "BG-T02")
    assert beta.target == pytest.approx(rows[-1][2] + rows[-1][3])
    assert beta.line.need == pytest.approx((rows[-1][2] + rows[-1][3]) * 5 / 1000)
    assert next(r for r in day.rows if r.unit.code == "BG-T03").line is None  # Gamma lacks 65-79
    page = _client(world.coordinator).get("/en/social/rounds/paz-cohort/").content.decode()
    assert "cohort-component" in page and "births_per_person" in page
    before = _state(), Round.objects.count()
    for bad in ({}, {"survival": {"0-14": 1.2}}, {**COHORT, "mothers": ["20-40"]}, {**COHORT, "births_per_person": -1}):
        with pytest.raises(PlanningError) as caught:
            services.save_round(
                world.coordinator,
                Round(
                    code="paz-bad",
                    title="Bad",
                    group=world.group,
                    year=2022,
                    horizon=2025,
                    norms=world.table,
                    projection="cohort",
                    assumptions=bad,
                    opens=dt.date(2023, 2, 1),
                    agreement_deadline=dt.date(2023, 3, 15),
                    agency_deadline=dt.date(2023, 3, 31),
                ),
            )
        assert caught.value.field == "assumptions"
    assert (_state(), Round.objects.count()) == before


def test_a_coordinator_starts_a_round_in_the_form_and_bad_input_changes_nothing(world):
    from municipium.socialplanning.models import Round

    client = _client(world.coordinator)
    data = {
        "code": "paz-form",
        "title": "Round from the form",
        "group": world.group.pk,
        "year": 2022,
        "horizon": 2021,
        "norms": world.table.pk,
        "projection": "constant",
        "assumptions": "",
        "opens": "2023-02-01",
        "agreement_deadline": "2023-03-15",
        "agency_deadline": "2023-03-31",
    }
    count = Round.objects.count()
    page = client.post("/en/social/rounds/new/", data)
    assert page.status_code == 200 and b"cannot come before the year of the figures" in page.content
    page = client.post(
        "/en/social/rounds/new/", {**data, "horizon": 2025, "projection": "cohort", "assumptions": "{oops"}
    )
    assert page.status_code == 200 and Round.objects.count() == count
    assert client.post("/en/social/rounds/new/", {**data, "horizon": 2025}).status_code == 302
    assert Round.objects.get(code="paz-form").assumptions == {}
    assert _client(world.alpha_officer).get("/en/social/rounds/new/").status_code == 404


def test_a_service_type_without_service_points_reaches_no_one_and_an_agenda_may_link_the_round(world):
    result = planning.accessibility(world.round, world.residential, "gaussian", 20)
    assert len(result.access) == 3 and not any(result.access) and result.services == []
    from municipium.meetings import links

    kind = links.KINDS["socialplanning.round"]
    assert kind.url(world.round) == f"/en/social/rounds/{world.round.code}/"
    assert kind.visible(world.beta_officer, world.round) and not kind.visible(world.outsider, world.round)


def test_a_proposal_is_checked_against_the_identified_need(world):
    beta = world.units["BG-T02"]
    proposal = services.proposal_for(world.beta_officer, world.round, beta)
    services.save_line(
        world.beta_officer, ProposalLine(proposal=proposal, service_type=world.day_care, places=4, funding="municipal")
    )
    services.save_line(
        world.beta_officer, ProposalLine(proposal=proposal, service_type=world.residential, places=9, funding="state")
    )
    check = {c["service_type"].code: c for c in planning.proposal_check(world.round, beta)}
    assert check["day-care-older"]["need"] == pytest.approx(6.0)  # 1,200 aged 65+ × 5 / 1,000
    assert check["day-care-older"]["difference"] == pytest.approx(-2.0)
    assert check["day-care-older"]["flags"] == ["Under-supplied"]  # 4 of 6 places: 67 %
    assert check["residential-older"]["difference"] == pytest.approx(0) and check["residential-older"]["flags"] == []
    page = _client(world.beta_officer).get(f"/en/social/rounds/{world.round.code}/BG-T02/").content.decode()
    assert 'class="table table-sm check"' in page and "Under-supplied" in page


def test_a_target_group_may_be_a_sex_from_the_catalogue_breakdowns(world):
    from municipium.socialplanning.models import Norm, NormTable, Round
    from tests import factories as f

    by_sex = f.variable("population_by_sex", area="population", breakdown=f.breakdown("sex", ["F", "M"]))
    for code, women in (("BG-T01", 5100), ("BG-T02", 2400)):
        for year in (2017, 2022):
            f.observe(world.units[code], by_sex, year, women, breakdown="F")
    table = NormTable.objects.create(
        code="women-example",
        title="Example: shelter places per 10,000 women",
        jurisdiction="example",
        source="hand-made for the tests",
        effective=dt.date(2022, 1, 1),
        status="example",
    )
    services.save_norm(
        world.coordinator,
        Norm(table=table, service_type=world.day_care, variable=by_sex, categories=["F"], places=1, per=10_000),
    )
    with pytest.raises(PlanningError, match="no category X"):
        services.save_norm(
            world.coordinator,
            Norm(table=table, service_type=world.day_care, variable=by_sex, categories=["X"], places=1),
        )
    round_ = services.save_round(
        world.coordinator,
        Round(
            code="paz-women",
            title="Women",
            group=world.group,
            year=2022,
            horizon=2022,
            norms=table,
            opens=dt.date(2023, 2, 1),
            agreement_deadline=dt.date(2023, 3, 15),
            agency_deadline=dt.date(2023, 3, 31),
        ),
    )
    rows = {r.unit.code: r for r in planning.needs_table(round_)[0].rows}
    assert rows["BG-T01"].line.need == pytest.approx(0.51) and rows["BG-T02"].line.need == pytest.approx(0.24)
    assert rows["BG-T03"].line is None


AGE_SEX = {
    # unit: {year: {band: (women, men)}}
    "BG-T01": {
        2017: {"0-14": (540, 560), "15-64": (3050, 3150), "65-79": (1000, 800), "80+": (450, 250)},
        2022: {"0-14": (490, 510), "15-64": (2950, 3050), "65-79": (1100, 900), "80+": (520, 280)},
    },
    "BG-T02": {
        2017: {"0-14": (270, 280), "15-64": (1500, 1600), "65-79": (500, 400), "80+": (200, 100)},
        2022: {"0-14": (250, 250), "15-64": (1450, 1550), "65-79": (500, 400), "80+": (200, 100)},
    },
}


def _round(world, code, table, **fields):
    from municipium.socialplanning.models import Round

    data = {
        "code": code,
        "title": code,
        "group": world.group,
        "year": 2022,
        "horizon": 2025,
        "norms": table,
        "opens": dt.date(2023, 2, 1),
        "agreement_deadline": dt.date(2023, 3, 15),
        "agency_deadline": dt.date(2023, 3, 31),
    }
    data.update(fields)
    return Round(**data)


def test_a_target_group_may_be_an_age_band_and_a_sex_projected_by_sex(world):
    """Population by age band and sex (a cross breakdown "<band> <sex>" of the catalogue):
    a norm for women aged 80+, projected at constant rates or by cohort-component with each
    sex's survival; births by sex need their stated shares."""
    from municipium.lib.socialneed import projection
    from municipium.socialplanning.models import Norm, NormTable, Round
    from tests import factories as f

    codes = [f"{band} {sex}" for sex in ("F", "M") for band in ("0-14", "15-64", "65-79", "80+")]
    variable = f.variable("population_by_age_sex", area="population", breakdown=f.breakdown("age_sex", codes))
    for code, years in AGE_SEX.items():
        for year, bands in years.items():
            for band, (women, men) in bands.items():
                f.observe(world.units[code], variable, year, women, breakdown=f"{band} F")
                f.observe(world.units[code], variable, year, men, breakdown=f"{band} M")
    table = NormTable.objects.create(
        code="women-80",
        title="Example: home care per 1,000 women aged 80+",
        jurisdiction="example",
        source="hand-made for the tests",
        effective=dt.date(2022, 1, 1),
        status="example",
    )
    services.save_norm(
        world.coordinator,
        Norm(table=table, service_type=world.residential, variable=variable, categories=["80+ F"], places=40),
    )
    with pytest.raises(PlanningError, match="no category 80\\+ X; its categories are 0-14 F"):
        services.save_norm(
            world.coordinator,
            Norm(table=table, service_type=world.residential, variable=variable, categories=["80+ X"], places=1),
        )
    constant = services.save_round(world.coordinator, _round(world, "paz-women-80", table))
    rows = {r.unit.code: r for r in planning.needs_table(constant)[0].rows}
    assert rows["BG-T01"].target == pytest.approx(520 * (520 / 450) ** (3 / 5))
    assert rows["BG-T02"].line.need == pytest.approx(200 * 40 / 1000)
    assert rows["BG-T03"].line is None  # no figures by age and sex

    survival = {"0-14": 0.999, "15-64": 0.996, "65-79": 0.97, "80+ F": 0.88, "80+ M": 0.84}
    assumptions = {"survival": survival, "migration": {"15-64 M": -0.01}, "mothers": ["15-64"], "mothers_sex": "F"}
    cohort = services.save_round(
        world.coordinator, _round(world, "paz-women-cohort", table, projection="cohort", assumptions=assumptions)
    )
    expected = projection.cohort_component_by_sex(
        {sex: [AGE_SEX["BG-T02"][2022][b][i] for b in ("0-14", "15-64", "65-79", "80+")] for i, sex in enumerate("FM")},
        [15, 50, 15, None],
        {"F": [0.999, 0.996, 0.97, 0.88], "M": [0.999, 0.996, 0.97, 0.84]},
        0,
        [1],
        "F",
        {"F": 0.5, "M": 0.5},
        {"F": [0, 0, 0, 0], "M": [0, -0.01, 0, 0]},
        years=3,
    )
    beta = next(r for r in planning.needs_table(cohort)[0].rows if r.unit.code == "BG-T02")
    assert beta.target == pytest.approx(expected[-1]["F"][3])
    assert beta.line.need == pytest.approx(expected[-1]["F"][3] * 40 / 1000)
    before = Round.objects.count()
    for bad, words in (
        ({**assumptions, "births_per_person": 0.04}, "shares of births by sex"),
        ({**assumptions, "births_per_person": 0.04, "birth_shares": {"M": 0.6, "F": 0.6}}, "shares of births"),
        ({**assumptions, "mothers_sex": "X"}, "mothers' sex"),
        ({**assumptions, "survival": {**survival, "80+ F": 1.3}}, "80\\+ F"),
        ({"survival": {"0-14": 1}}, "15-64 F"),
    ):
        with pytest.raises(PlanningError, match=words) as caught:
            services.save_round(
                world.coordinator, _round(world, "paz-bad-sex", table, projection="cohort", assumptions=bad)
            )
        assert caught.value.field == "assumptions"
    assert Round.objects.count() == before
    with_births = {**assumptions, "births_per_person": 0.04, "birth_shares": {"M": 0.512, "F": 0.488}}
    services.save_round(
        world.coordinator, _round(world, "paz-births", table, projection="cohort", assumptions=with_births)
    )


def test_persian_planning_pages_separate_their_parts_without_a_middle_dot(world):
    """The rounds, a round with a shared service, a proposal in consultation, the service
    types and norms, the supply, the accessibility map and the norms table's form: no middle
    dot in Persian (read there as a zero), the Persian comma instead; English keeps the dot."""
    from tests.marks import middle_dots

    alpha, beta = world.units["BG-T01"], world.units["BG-T02"]
    services.add_shared(world.coordinator, world.round, world.day_care, alpha, 20, [beta])
    proposal = services.proposal_for(world.alpha_officer, world.round, alpha)
    services.save_line(
        world.alpha_officer, ProposalLine(proposal=proposal, service_type=world.day_care, places=15, funding="state")
    )
    services.open_consultation(world.alpha_officer, proposal, dt.date(2023, 2, 6))
    round_ = f"/social/rounds/{world.round.code}/"
    for path in (
        "/social/",
        round_,
        f"{round_}BG-T01/",
        f"{round_}accessibility/",
        "/social/types/",
        "/social/supply/BG-T01/",
        f"/social/norms/{world.table.pk}/",
    ):
        response = _client(world.coordinator).get(f"/fa{path}")
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not middle_dots(page), (path, middle_dots(page))
        assert "، " in page, path
    assert middle_dots(_client(world.coordinator).get(f"/en{round_}").content.decode())
