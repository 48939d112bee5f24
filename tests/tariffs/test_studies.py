"""The tariffs app as its users work it: a utility officer builds a study and scenarios, a
coordinator of the unit's group reads them, outsiders get 404; bad input is refused naming
the field or line and changes nothing; adoption writes the unit's figure through the write
path; the package prints in the reader's language; the API gives the same figures.

One world for the module (the demo's units and groups, figures for 2022–2024); the demo's
tariff studies are loaded into it once (municipium.demo.tariffs, labelled synthetic)."""

import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from municipium.accounts.models import Role
from municipium.audit.models import AuditEvent
from municipium.lib import numbers
from municipium.observations.models import Observation
from municipium.tariffs import services
from municipium.tariffs.models import Scenario, Study
from tests.factories import person
from tests.world import module_world


def _prepare(world):
    from municipium.demo.tariffs import load_tariffs

    load_tariffs()


world = module_world(groups=("rasina", "rasina-water", "qom"), prepare=_prepare)
pytestmark = pytest.mark.django_db


@pytest.fixture
def officer(world):
    return person("tariff-officer", Role.Kind.OFFICER, world.unit("RS-70670-VOD"))


@pytest.fixture
def approver(world):
    return person("tariff-approver", Role.Kind.APPROVER, world.unit("RS-70670-VOD"))


def _krusevac():
    return Study.objects.get(code="water-rs-70670-vod")


def test_the_base_year_figures_are_the_librarys_on_the_stored_inputs(world):
    study = _krusevac()
    base = services.figures(study)
    assert not base.problems
    operating = 420e6 + 280e6 + 190e6 + 120e6 + 60e6
    assert base.operating_total == pytest.approx(operating)
    assert base.revenue_requirement == pytest.approx(operating + 220e6 + 95e6 - 40e6)
    billed = 5_600_000 * 110 + 46_000 * 2_400 + 1_300_000 * 210 + 3_100 * 9_600 + 420_000 * 180 + 260 * 12_000
    assert base.billed == pytest.approx(billed)
    assert base.ratios.full_cost_recovery == pytest.approx((billed + 40e6) / (operating + 220e6 + 95e6))
    assert base.ratios.collection_efficiency == pytest.approx(0.91)
    # The class split adds up to the total, and the cross-subsidies to revenue − cost.
    assert sum(c.revenue for c in base.classes) == pytest.approx(billed)
    assert sum(c.cross_subsidy for c in base.classes) == pytest.approx(billed - base.revenue_requirement)
    # Blocks: 72 m³ at 95, 48 m³ at 130, plus the fixed charge.
    assert base.reference_bill == pytest.approx(2_400 + 72 * 95 + 48 * 130)
    assert base.erosion == pytest.approx(1 - 1 / (1.119 * 1.121 * 1.046))


def test_the_phase_in_reaches_the_target_by_its_year_and_the_classes_add_up(world):
    study = _krusevac()
    phased = study.scenarios.get(name="Full cost recovery by 2028")
    result = services.scenario_figures(phased)
    assert result.path.reached
    by_year = {y.year: y for y in result.path.years}
    assert by_year[2028].recovery == pytest.approx(1.0, abs=1e-9)
    assert 0 < result.path.increase <= 0.08
    # Every year's totals are the sum of the classes' (one model, not two).
    for year, row in zip(result.path.years, result.classes, strict=True):
        assert year.revenue == pytest.approx(sum(c.revenue for c in row))
        assert year.cost == pytest.approx(sum(c.cost for c in row))
    base = services.figures(study)
    assert result.bill_first == pytest.approx(base.reference_bill * 1.04 * (1 + result.path.increase))
    # Incomes rise with inflation: the share of income moves with the real increase only.
    first_share = result.affordability.shares[0][1]
    assert first_share == pytest.approx(base.affordability.shares[0][1] * (1 + result.path.increase))


def test_a_target_out_of_reach_under_the_cap_is_said_with_the_closest_path(world, officer):
    study = _krusevac()
    scenario = services.save_scenario(
        officer,
        Scenario(
            study=study, name="Too fast", years=5, inflation=0.04, collection=0.9, target=1.5, by_year=2026, cap=0.02
        ),
    )
    result = services.scenario_figures(scenario)
    assert not result.path.reached
    assert result.path.increase == pytest.approx(0.02)
    assert "No path under the cap" in result.problem and "2026" in result.problem


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("blocks_text", "100; 60\n50; 80\n-; 120", "overlap"),
        ("blocks_text", "-; 60\n100; 80", "Only the last block"),
        ("incomes_text", "decile 1; 100; 0", "line 1"),
        ("incomes_text", "decile 1; many; 500", "not a number"),
        ("ref_m3", "-5", ""),
        ("collection", "1.5", "collection rate"),
    ],
)
def test_bad_study_input_is_refused_naming_the_field_and_nothing_changes(world, client, officer, field, value, words):
    study = _krusevac()
    before = (Study.objects.filter(pk=study.pk).values().get(), AuditEvent.objects.count())
    client.force_login(officer)
    data = _form_data(client, study)
    data[field] = value
    response = client.post(reverse("tariffs:study-edit", args=[study.code]), data)
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors, "the form must be refused"
    text = " ".join(str(e) for e in errors.values())
    assert words in text
    assert (Study.objects.filter(pk=study.pk).values().get(), AuditEvent.objects.count()) == before


def _form_data(client, study) -> dict:
    form = client.get(reverse("tariffs:study-edit", args=[study.code])).context["form"]
    data = {}
    for name, bound in form.fields.items():
        if name in ("consultation", "income_file"):
            continue
        initial = form.initial.get(name, bound.initial)
        data[name] = "" if initial is None else initial
    return data


def test_the_income_table_uploaded_as_excel_replaces_the_typed_one(world, client, officer):
    import xlsxwriter

    study = _krusevac()
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("incomes")
    sheet.write_row(0, 0, ["group", "households", "income"])
    for row, (label, households, income) in enumerate([("decile 1", 4600, 380000), ("decile 2", 4600, 530000.5)], 1):
        sheet.write_row(row, 0, [label, households, income])
    book.close()
    client.force_login(officer)
    data = _form_data(client, study)
    upload = SimpleUploadedFile("incomes.xlsx", buffer.getvalue())
    response = client.post(reverse("tariffs:study-edit", args=[study.code]), {**data, "income_file": upload})
    assert response.status_code == 302
    study.refresh_from_db()
    assert study.incomes == [
        {"label": "decile 1", "households": 4600.0, "income": 380000.0},
        {"label": "decile 2", "households": 4600.0, "income": 530000.5},
    ]


def test_a_file_that_is_not_a_workbook_is_refused_naming_it_and_nothing_changes(world, client, officer):
    study = _krusevac()
    before = (Study.objects.filter(pk=study.pk).values().get(), AuditEvent.objects.count())
    client.force_login(officer)
    data = _form_data(client, study)
    upload = SimpleUploadedFile("incomes.xlsx", b"PK\x03\x04 not really a zip")
    response = client.post(reverse("tariffs:study-edit", args=[study.code]), {**data, "income_file": upload})
    assert response.status_code == 200
    assert "incomes.xlsx" in " ".join(response.context["form"].errors.get("income_file", []))
    assert (Study.objects.filter(pk=study.pk).values().get(), AuditEvent.objects.count()) == before


def test_an_officer_builds_a_study_with_classes_and_a_scenario_through_the_pages(world, client, officer):
    client.force_login(officer)
    unit = world.unit("RS-70670-VOD")
    response = client.post(
        reverse("tariffs:study-new"),
        {
            "code": "sewage-krusevac",
            "name": "Sewage tariff",
            "unit": unit.pk,
            "service": "sewage",
            "currency": "RSD",
            "base_year": 2024,
            "status": "draft",
            "collection": "0.9",
            "variable_share": "0.2",
            "cost_staff": "200000000",
            "cost_energy": "80000000",
            "investment": "1000000000",
            "rate": "0.05",
            "lifetime": "30",
            "debt_service": "0",
            "non_tariff_revenue": "0",
            "fixed": "1200",
            "per_person": "0",
            "per_m2": "0",
            "per_bin_litre": "0",
            "per_kg": "0",
            "per_m3": "40",
            "ref_persons": "3",
            "ref_m2": "0",
            "ref_bin_litres": "0",
            "ref_kg": "0",
            "ref_m3": "120",
            "threshold": "0.03",
            "threshold_source": "UNDP HDR 2006",
            "incomes_text": "group; households; income\nquintile 1; 9200; 420000\nquintile 2; 9200; 720 000",
        },
    )
    assert response.status_code == 302, response.context["form"].errors if response.context else response
    study = Study.objects.get(code="sewage-krusevac")
    assert study.incomes[1] == {"label": "quintile 2", "households": 9200.0, "income": 720000.0}
    assert study.operating == {"staff": 200000000.0, "energy": 80000000.0}
    response = client.post(
        reverse("tariffs:class-new", args=[study.code]),
        {
            "class-name": "households",
            "class-customers": "46000",
            "class-demand": "5000000",
            "class-price": "40",
            "class-fixed_charge": "1200",
            "class-fixed_share": "1",
            "class-elasticity": "-0.1",
            "class-growth": "0",
        },
    )
    assert response.status_code == 302
    response = client.post(
        reverse("tariffs:scenario-new", args=[study.code]),
        {
            "scenario-name": "Phase-in",
            "scenario-years": "10",
            "scenario-inflation": "0.04",
            "scenario-growth": "0",
            "scenario-collection": "0.92",
            "scenario-target": "1.0",
            "scenario-by_year": "2029",
            "scenario-cap": "0.15",
        },
    )
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Real increase a year" in page
    assert AuditEvent.objects.filter(model__icontains="scenario", action="create").exists()


def test_a_coordinator_of_the_units_group_reads_and_outsiders_get_404(world, client):
    study = _krusevac()
    coordinator = person("water-coordinator", Role.Kind.COORDINATOR, world.group("rasina-water"))
    outsider = person("someone-in-qom", Role.Kind.OFFICER, world.unit("IR-QOM-02"))
    client.force_login(coordinator)
    assert client.get(reverse("tariffs:study", args=[study.code])).status_code == 200
    assert client.get(reverse("tariffs:study-edit", args=[study.code])).status_code == 404
    client.force_login(outsider)
    for name in ("tariffs:study", "tariffs:package"):
        assert client.get(reverse(name, args=[study.code])).status_code == 404
    assert study.code not in client.get(reverse("tariffs:studies")).content.decode()
    client.logout()
    assert client.get(reverse("tariffs:study", args=[study.code])).status_code in (302, 404)


def test_the_peers_place_the_proposed_tariff_in_the_groups_distribution(world, officer):
    study = _krusevac()
    base = services.figures(study)
    chosen = services.scenario_figures(study.scenarios.get(name="Full cost recovery by 2028"), base)
    found = services.peers(study, officer, chosen, base)
    tariff = [p for p in found if p.indicator.code == "water_avg_tariff"]
    assert tariff, "the utility's group has average tariffs"
    peer = tariff[0]
    assert peer.proposed == pytest.approx(chosen.first.tariff)
    assert peer.below == sum(1 for v in peer.values if v < peer.proposed)
    assert peer.n == len(peer.values)


def test_adopting_writes_the_reference_bill_as_the_units_observation(world, approver, officer):
    study = _krusevac()
    phased = study.scenarios.get(name="Full cost recovery by 2028")
    with pytest.raises(services.StudyError):
        services.adopt(officer, phased)  # an officer may not
    done = services.adopt(approver, phased)
    assert done["year"] == 2025
    stored = Observation.objects.get(unit=study.unit, variable__code="tariff_water_reference_bill", period__code="2025")
    assert stored.value == pytest.approx(services.scenario_figures(phased).bill_first, rel=1e-9)
    assert stored.status == "approved"
    study.refresh_from_db()
    assert study.status == Study.Status.ADOPTED
    assert AuditEvent.objects.filter(action="adopt").exists()


def test_the_qom_demo_is_waste_fees_frozen_since_2019_with_an_adopted_phase_in(world, client):
    study = Study.objects.get(code="waste-ir-qom-01")
    assert study.synthetic and study.unchanged_since == 2019 and study.currency == "IRR"
    base = services.figures(study)
    assert base.erosion > 0.8  # six years of 32–46 % inflation
    results = services.all_scenarios(study, base)
    adopted = [r for r in results if r.scenario.adopted]
    assert adopted and adopted[0].path.reached
    assert study.consultation is not None and study.consultation.council_number


def test_the_package_page_and_pdf_in_persian(world, client):
    admin = person("tariff-admin", Role.Kind.ADMIN)
    client.force_login(admin)
    study = Study.objects.get(code="waste-ir-qom-01")
    page = client.get(f"/fa/tariffs/{study.code}/package/").content.decode()
    assert 'dir="rtl"' in page
    assert "ریال" in page  # the rial, written as Persian writes it
    assert "۲۰۱۹" in page or "۲۰۲۴" in page
    response = client.get(f"/fa/tariffs/{study.code}/package/?format=pdf")
    assert response["Content-Type"] == "application/pdf"
    assert response.content[:5] == b"%PDF-" and len(response.content) > 20_000  # text, tables and the chart


def test_the_persian_package_pdf_separates_its_heading_with_the_persian_comma(world, client, monkeypatch):
    """A middle dot beside Persian digits reads as a zero (issue 19, item 4)."""
    from municipium.lib import pdf

    printed = []
    monkeypatch.setattr(pdf, "pdf_bytes", lambda html: printed.append(html) or b"%PDF-")
    client.force_login(person("tariff-admin", Role.Kind.ADMIN))
    study = Study.objects.get(code="waste-ir-qom-01")
    client.get(f"/fa/tariffs/{study.code}/package/?format=pdf")
    kicker = re.search(r'<p class="kicker">(.*?)</p>', printed[0], re.S).group(1)
    assert "·" not in kicker and "، " + numbers.localise_digits(str(study.base_year), "fa") in kicker


def test_the_api_gives_the_pages_figures(world, client):
    admin = person("tariff-api-admin", Role.Kind.ADMIN)
    client.force_login(admin)
    study = _krusevac()
    listing = client.get("/api/tariffs/studies").json()
    assert study.code in listing
    body = client.get(f"/api/tariffs/studies/{study.code}").json()
    base = services.figures(study)
    assert body["revenue_requirement"] == pytest.approx(base.revenue_requirement)
    assert body["reference_bill"] == pytest.approx(base.reference_bill)
    scenario = body["scenarios"][-1]
    result = services.scenario_figures(study.scenarios.get(name=scenario["name"]), base)
    assert scenario["increase"] == pytest.approx(result.path.increase)
    assert [y["recovery"] for y in scenario["years"]] == pytest.approx([y.recovery for y in result.path.years])
    placed = client.get(f"/api/tariffs/studies/{study.code}/peers", {"scenario": scenario["name"]}).json()
    tariff = next(p for p in placed if p["indicator"] == "water_avg_tariff")
    assert tariff["proposed"] == pytest.approx(result.first.tariff)
    outsider = person("api-outsider", Role.Kind.OFFICER, world.unit("IR-QOM-02"))
    client.force_login(outsider)
    assert client.get(f"/api/tariffs/studies/{study.code}").status_code == 404
    assert client.get(f"/api/tariffs/studies/{study.code}/peers").status_code == 404


def test_the_catalogues_figures_stand_beside_the_study_and_fill_what_it_lacks(world, client, officer):
    from municipium.catalog.models import Variable
    from tests import factories

    unit = factories.unit("RS-TEST-VOD", {"en": "Test water utility"})
    for code, value in [("water_opex", 900e6), ("water_revenue_billed", 1_000e6), ("water_revenue_collected", 880e6)]:
        factories.observe(unit, Variable.objects.get(code=code), 2024, value, status="approved")
    study = services.save_study(
        officer,
        Study(code="water-test-vod", name="Water (test)", unit=unit, service="water", currency="RSD", base_year=2024),
    )
    found = {f.role: f for f in services.catalogue_figures(study)}
    assert (found["operating"].value, found["billed"].value, found["collected"].value) == (900e6, 1_000e6, 880e6)
    assert found["billed"].status_label == "Approved" and "volume" not in found
    admin = person("fill-admin", Role.Kind.ADMIN)
    assert services.fill_from_catalogue(admin, study) == ["operating", "collection"]
    study.refresh_from_db()
    assert study.operating == {"other": 900e6}
    assert study.collection == pytest.approx(0.88)
    # A second fill takes nothing: the study has its own figures now.
    assert services.fill_from_catalogue(admin, study) == []


def test_a_study_hands_its_costs_to_a_shared_facility_as_a_scenario(world, client):
    from municipium.cooperation import services as cooperation
    from municipium.cooperation.models import Facility
    from municipium.places.models import Group
    from tests import factories

    qom = world.unit("IR-QOM-01")
    group = factories.group("qom-landfill-group", [qom, world.unit("IR-QOM-03")], kind=Group.Kind.COOPERATION)
    coordinator = person("landfill-coordinator", Role.Kind.COORDINATOR, group)
    facility = cooperation.save_facility(
        None,
        Facility(code="qom-landfill", name="Qom landfill", kind=Facility.Kind.LANDFILL, group=group, year=2024),
    )
    study = Study.objects.get(code="waste-ir-qom-01")
    client.force_login(coordinator)
    page = client.get(reverse("tariffs:study", args=[study.code])).content.decode()
    assert "Hand the study&#x27;s costs" in page or "Hand the study's costs" in page
    response = client.post(reverse("tariffs:hand-off", args=[study.code]), {"facility": facility.pk})
    assert response.status_code == 302 and response["Location"].endswith(f"/cooperation/facilities/{facility.code}/")
    handed = facility.scenarios.get()
    base = services.figures(study)
    assert handed.fixed_opex + handed.variable_opex == pytest.approx(base.operating_total)
    assert handed.variable_opex == pytest.approx(base.operating_total * study.variable_share)
    assert handed.capital_cost == pytest.approx(study.investment) and handed.lifetime == study.lifetime
    # Handing again updates the same scenario; a facility of another group is 404.
    client.post(reverse("tariffs:hand-off", args=[study.code]), {"facility": facility.pk})
    assert facility.scenarios.count() == 1
    other = factories.group("elsewhere", [world.unit("RS-70343")], kind=Group.Kind.COOPERATION)
    stranger = cooperation.save_facility(
        None, Facility(code="elsewhere-plant", name="Elsewhere", kind=Facility.Kind.LANDFILL, group=other, year=2024)
    )
    assert client.post(reverse("tariffs:hand-off", args=[study.code]), {"facility": stranger.pk}).status_code == 404


def test_bad_class_figures_and_an_unreachable_target_are_said_on_the_pages(world, client, officer):
    study = _krusevac()
    client.force_login(officer)
    count = study.classes.count()
    response = client.post(
        reverse("tariffs:class-new", args=[study.code]),
        {
            "class-name": "industry",
            "class-customers": "10",
            "class-demand": "-5",
            "class-price": "100",
            "class-fixed_charge": "0",
            "class-fixed_share": "0",
            "class-elasticity": "0",
            "class-growth": "0",
        },
    )
    assert response.status_code == 200
    assert "cannot be negative" in str(response.context["form"].errors["demand"])
    assert study.classes.count() == count
    response = client.post(
        reverse("tariffs:scenario-new", args=[study.code]),
        {
            "scenario-name": "Out of reach",
            "scenario-years": "5",
            "scenario-inflation": "0.04",
            "scenario-growth": "0",
            "scenario-collection": "0.9",
            "scenario-target": "2.0",
            "scenario-by_year": "2026",
            "scenario-cap": "0.01",
        },
    )
    page = client.get(response["Location"]).content.decode()
    assert "No path under the cap reaches" in page
    assert 'class="btn btn-success adopt"' not in page  # what is not reached cannot be adopted


def test_persian_tariff_pages_separate_their_parts_without_a_middle_dot(world, client):
    """The study, a scenario, the decision package and the class and scenario forms: no
    middle dot in Persian (read there as a zero), the Persian comma instead; English keeps
    the dot."""
    from tests.marks import middle_dots

    client.force_login(person("tariff-admin", Role.Kind.ADMIN))
    study = _krusevac()
    scenario = study.scenarios.get(name="Full cost recovery by 2028")
    base = f"/tariffs/{study.code}/"
    for path in (
        base,
        f"{base}scenarios/{scenario.pk}/",
        f"{base}package/",
        f"{base}classes/new/",
        f"{base}scenarios/new/",
    ):
        response = client.get(f"/fa{path}")
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not middle_dots(page), (path, middle_dots(page))
        assert "، " in page, path
    assert middle_dots(client.get(f"/en{base}").content.decode())
