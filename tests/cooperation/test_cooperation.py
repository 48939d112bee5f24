"""Agreements, obligations, documents and shared facilities as their people use them: the
lifecycle, who sees what (404 to outsiders), located refusals that change nothing, the cost
split by every method with the core check, drivers read from observations, the daily job's
reminders, files and the API."""

import datetime as dt
import io

import pytest
from django.test import Client
from django.utils import translation

from municipium.audit.models import AuditEvent
from municipium.cooperation import services, sharing
from municipium.cooperation.models import Agreement, Document, Facility, Obligation, Participant
from municipium.cooperation.services import CooperationError
from tests import factories as f

from .world import build

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def test_the_lifecycle_allows_only_its_steps_and_audits_each():
    w = build()
    w.agreement.status = "draft"
    with pytest.raises(CooperationError) as caught:
        services.save_agreement(w.coordinator, w.agreement)
    assert caught.value.field == "status" and "Signed" in caught.value.message
    w.agreement.refresh_from_db()
    w.agreement.status = "in_force"
    with pytest.raises(CooperationError) as caught:
        services.save_agreement(w.coordinator, w.agreement)
    assert caught.value.field == "in_force"
    w.agreement.in_force = dt.date(2019, 7, 1)
    services.save_agreement(w.coordinator, w.agreement)
    assert AuditEvent.objects.filter(model="cooperation.agreement", object_id=str(w.agreement.pk)).count() == 2


def test_an_unpublished_agreement_is_404_to_outsiders_and_public_once_published():
    w = build()
    url = f"/en/cooperation/agreements/{w.agreement.code}/"
    assert _client().get(url).status_code == 404
    assert _client(w.outsider).get(url).status_code == 404
    assert _client(w.brus_officer).get(url).status_code == 200
    w.agreement.published = True
    w.agreement.save()
    assert "Build the wastewater plant design" in _client().get(url).content.decode()
    assert _client().get("/api/cooperation/agreements/celije").json()["obligations"][0]["state"] == "overdue"


def test_a_party_reports_its_own_obligation_with_evidence_and_not_others():
    w = build()
    brus = _client(w.brus_officer)
    url = f"/en/cooperation/obligations/{w.obligation.pk}/report/"
    brus.post(url, {"status": "done", "evidence": ""})
    w.obligation.refresh_from_db()
    assert w.obligation.status == "open"  # no evidence: refused
    brus.post(url, {"status": "done", "evidence": "Design approved, decision 06-12/2020"})
    w.obligation.refresh_from_db()
    assert w.obligation.status == "done" and w.obligation.done_on is not None
    blace_duty = services.save_obligation(
        w.coordinator,
        Obligation(
            agreement=w.agreement,
            party=w.agreement.parties.get(unit__code="RS-70262"),
            text="Map the intake",
            due=dt.date(2021, 1, 1),
        ),
    )
    assert (
        brus.post(
            f"/en/cooperation/obligations/{blace_duty.pk}/report/", {"status": "done", "evidence": "x"}
        ).status_code
        == 404
    )


def test_documents_are_checked_by_content_and_served_only_as_downloads():
    w = build()
    client = _client(w.coordinator)
    url = f"/en/cooperation/agreements/{w.agreement.code}/"
    exe = io.BytesIO(b"MZ\x90\x00 program")
    exe.name = "memorandum.pdf"
    response = client.post(url, {"action": "document", "document-file": exe})
    assert "is not a PDF or an office document" in response.content.decode()
    assert not Document.objects.exists()
    pdf = io.BytesIO(b"%PDF-1.4 memorandum")
    pdf.name = "memorandum.pdf"
    assert client.post(url, {"action": "document", "document-file": pdf}).status_code == 302
    doc = Document.objects.get()
    got = client.get(f"/en/cooperation/documents/{doc.pk}/")
    assert got.content == b"%PDF-1.4 memorandum"
    assert got["Content-Disposition"].startswith("attachment") and "sandbox" in got["Content-Security-Policy"]
    assert _client(w.outsider).get(f"/en/cooperation/documents/{doc.pk}/").status_code == 404


def test_the_split_by_every_method_with_stand_alone_costs_and_the_core():
    w = build()
    result = sharing.allocate(w.plant)
    by = {m.code: m for m in result.methods}
    assert set(by) == {"equal", "proportional", "two_part", "shapley", "scrb", "nucleolus"}
    total = result.annual_total
    for code in ("equal", "proportional", "two_part"):
        assert sum(s.cost for s in by[code].shares) == pytest.approx(total)
    joint = result.joint_cost
    assert joint == pytest.approx(40_000 + 60 * 15000**0.7)
    for code in ("shapley", "scrb", "nucleolus"):
        assert sum(s.cost for s in by[code].shares) == pytest.approx(joint)
        assert by[code].in_core and all(s.rational for s in by[code].shares)
        assert all(s.saving > 0 for s in by[code].shares)
    assert result.core_empty is False
    # Participants in code order: Blace (6,000 PE), then Brus (9,000 PE).
    assert [s.cost for s in by["proportional"].shares] == pytest.approx([total * 0.4, total * 0.6])


def test_typed_coalition_costs_with_an_empty_core_name_the_objecting_group():
    w = build()
    aleksandrovac = w.units["RS-70017"]
    services.save_participant(w.coordinator, Participant(facility=w.plant, unit=aleksandrovac, drivers={"pe": 3000}))
    codes = ["RS-70343", "RS-70262", "RS-70017"]
    costs = {c: 1.0 for c in codes}
    costs.update({"+".join(sorted(p)): 1.0 for p in [(codes[0], codes[1]), (codes[0], codes[2]), (codes[1], codes[2])]})
    costs["+".join(sorted(codes))] = 2.0
    w.plant.coalition_costs = costs
    w.plant.save()
    result = sharing.allocate(w.plant)
    assert result.core_empty is True
    shapley = next(m for m in result.methods if m.code == "shapley")
    assert shapley.in_core is False and len(shapley.objecting) == 2
    w.plant.coalition_costs = {"RS-70343": 1.0, "RS-70262": 1.0}
    w.plant.save()
    result = sharing.allocate(w.plant)
    assert "coalition costs are missing" in result.problem
    with translation.override("fa"):  # the count in Persian digits (issue 19, item 4)
        assert sharing.allocate(w.plant).problem.startswith("هزینه ۵ ائتلاف وارد نشده است")


def test_drivers_come_from_the_observations_unless_typed():
    w = build()
    population = f.variable("population", area="population")
    f.observe(w.units["RS-70343"], population, 2023, 14000)
    f.observe(w.units["RS-70262"], population, 2023, 10000)
    w.plant.fixed_driver = "population"
    w.plant.save()
    result = sharing.allocate(w.plant)
    brus = next(p for p in result.participants if p.unit.code == "RS-70343")
    assert result.drivers[brus.pk]["population"] == (14000.0, "observed")
    assert result.drivers[brus.pk]["pe"] == (9000.0, "typed")
    proportional = next(m for m in result.methods if m.code == "proportional")
    share = next(s for s in proportional.shares if s.participant.pk == brus.pk)
    assert share.cost == pytest.approx(result.annual_total * 14 / 24)


def test_the_true_up_settles_planned_against_actual_volumes():
    w = build()
    brus = w.plant.participants.get(unit__code="RS-70343")
    blace = w.plant.participants.get(unit__code="RS-70262")
    brus.actual = {"pe": 10000}
    services.save_participant(w.coordinator, brus)
    rows = {t.participant.unit.code: t for t in sharing.true_up(w.plant)}
    assert rows["RS-70343"].difference > 0 and rows["RS-70262"].difference < 0
    assert sum(t.difference for t in rows.values()) == pytest.approx(0, abs=1e-6)
    assert blace.unit.code == "RS-70262"


def test_bad_figures_are_refused_and_nothing_changes():
    w = build()
    before = Facility.objects.values().get(pk=w.plant.pk)
    w.plant.interest_rate = 4  # percent instead of a fraction
    with pytest.raises(CooperationError) as caught:
        services.save_facility(w.coordinator, w.plant)
    assert caught.value.field == "interest_rate"
    assert Facility.objects.values().get(pk=w.plant.pk) == before
    participant = w.plant.participants.first()
    participant.drivers = {"pe": "many"}
    with pytest.raises(CooperationError):
        services.save_participant(w.coordinator, participant)
    response = _client(w.coordinator).post(
        f"/en/cooperation/facilities/{w.plant.code}/edit/",
        {
            "name": "x",
            "kind": "plant",
            "group": w.group.pk,
            "year": 2023,
            "capital_cost": 1,
            "interest_rate": 0,
            "lifetime": 10,
            "fixed_opex": 0,
            "variable_opex": 0,
            "fixed_driver": "pe",
            "variable_driver": "pe",
            "scale_driver": "pe",
            "scale_fixed": 0,
            "scale_unit": 1,
            "scale_exponent": 0.7,
            "coalition_text": "RS-70343 costs a lot",
        },
    )
    assert "is not “codes = cost”" in response.content.decode()


def test_facility_pages_are_for_the_cooperation_and_the_package_prints():
    w = build()
    url = f"/en/cooperation/facilities/{w.plant.code}/"
    assert _client(w.outsider).get(url).status_code == 404
    page = _client(w.brus_officer).get(url).content.decode()
    assert 'data-method="nucleolus"' in page and "In the core" in page
    assert _client(w.coordinator).get(url + "package/?format=pdf").content.startswith(b"%PDF")
    xlsx = _client(w.coordinator).get(url + "package/?format=xlsx")
    assert xlsx.content[:2] == b"PK"
    api = _client(w.coordinator).get(f"/api/cooperation/facilities/{w.plant.code}").json()
    assert {m["method"] for m in api["methods"]} >= {"shapley", "nucleolus"}
    assert _client(w.outsider).get(f"/api/cooperation/facilities/{w.plant.code}").status_code == 404
    # A party's officer enters its own figures, not another's.
    brus = w.plant.participants.get(unit__code="RS-70343")
    blace = w.plant.participants.get(unit__code="RS-70262")
    officer = _client(w.brus_officer)
    officer.post(url, {"action": "drivers", "participant": brus.pk, f"p{brus.pk}-pe": "9500"})
    brus.refresh_from_db()
    assert brus.drivers["pe"] == 9500
    assert officer.post(url, {"action": "drivers", "participant": blace.pk, f"p{blace.pk}-pe": "1"}).status_code == 404


def test_overdue_obligations_are_reminded_once_by_the_daily_job(mailoutbox):
    from municipium.cli import main

    build()
    assert main(["daily", "--today", "2020-07-01"]) == 0
    assert main(["daily", "--today", "2020-07-02"]) == 0
    messages = [m for m in mailoutbox if "Overdue obligation" in m.subject]
    assert len(messages) == 1 and messages[0].to == ["brus@example.org"]


def test_a_reminder_the_mail_server_refuses_is_tried_again_the_next_day(mailoutbox, monkeypatch):
    """lib.reminders.send_once: a failed send rolls the claim back, is counted and logged,
    and the next run sends it (once)."""
    import smtplib

    from django.core import mail

    w = build()
    real = mail.send_mail

    def refuse(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("the mail server went away")

    monkeypatch.setattr(mail, "send_mail", refuse)
    assert services.send_overdue_reminders(dt.date(2020, 7, 1)) == (0, 1)
    w.obligation.refresh_from_db()
    assert w.obligation.overdue_reminded is None
    assert not AuditEvent.objects.filter(action="remind").exists()
    monkeypatch.setattr(mail, "send_mail", real)
    assert services.send_overdue_reminders(dt.date(2020, 7, 2)) == (1, 0)
    assert services.send_overdue_reminders(dt.date(2020, 7, 3)) == (0, 0)
    assert len(mailoutbox) == 1 and AuditEvent.objects.filter(action="remind").count() == 1


def test_the_agreement_links_from_a_meeting_agenda():
    from municipium.meetings import links
    from municipium.meetings.models import Body

    w = build()
    body = Body.objects.create(code="celije-board", name="Ćelije board", kind="consultative", group=w.group)
    options = [v for _h, group in links.grouped_choices(body) for v, _l in group]
    assert f"cooperation.agreement:{w.agreement.pk}" in options
    assert Agreement.objects.count() == 1


def test_scenarios_are_split_side_by_side_and_refused_when_bad():
    """A coordinator adds what-ifs on the page; each is split by every method beside the
    facility as it stands; bad figures are refused on the field and nothing is stored."""
    from municipium.cooperation.models import Scenario
    from municipium.lib.allocation import annualised

    w = build()
    url = f"/en/cooperation/facilities/{w.plant.code}/"
    coordinator = _client(w.coordinator)
    response = coordinator.post(
        url, {"action": "scenario", "scenario-name": "Grant 50 %", "scenario-capital_cost": "2000000"}
    )
    assert response.status_code == 302
    coordinator.post(url, {"action": "scenario", "scenario-name": "Dear loan", "scenario-interest_rate": "0.08"})
    grant, loan = Scenario.objects.filter(facility=w.plant).order_by("pk")
    assert grant.changes() == {"capital_cost": 2_000_000} and loan.changes() == {"interest_rate": 0.08}
    assert AuditEvent.objects.filter(model="cooperation.scenario", action="create").count() == 2

    comparison = sharing.compare(w.plant, "two_part")
    assert [v.scenario for v in comparison.variants] == [None, grant, loan]
    totals = [v.allocation.annual_total for v in comparison.variants]
    opex = 120_000 + 80_000
    assert totals == pytest.approx(
        [annualised(4e6, 0.04, 25) + opex, annualised(2e6, 0.04, 25) + opex, annualised(4e6, 0.08, 25) + opex]
    )
    # Both costs are shared by population equivalent: Blace 6,000, Brus 9,000 (code order).
    for (_participant, costs), weight in zip(comparison.rows(), (0.4, 0.6), strict=True):
        assert costs == pytest.approx([t * weight for t in totals])
    # The cost game does not depend on the financing, so the game methods agree across them.
    shapley = sharing.compare(w.plant, "shapley").rows()
    assert all(c[0] == pytest.approx(c[1]) == pytest.approx(c[2]) for _p, c in shapley)

    page = coordinator.get(url).content.decode()
    assert "Grant 50 %" in page and 'class="table table-sm scenarios"' in page
    api = coordinator.get(f"/api/cooperation/facilities/{w.plant.code}").json()
    assert [s["name"] for s in api["scenarios"]] == ["Grant 50 %", "Dear loan"]
    assert api["scenarios"][0]["annual_total"] == pytest.approx(totals[1])
    package = coordinator.get(url + "package/").content.decode()
    assert "Dear loan" in package

    before = list(Scenario.objects.values())
    for data, field in (
        ({"scenario-name": "Bad", "scenario-capital_cost": "-5"}, "capital_cost"),
        ({"scenario-name": "Percent", "scenario-interest_rate": "7"}, "interest_rate"),
        ({"scenario-name": "Nothing"}, "capital_cost"),
        ({"scenario-name": "Grant 50 %", "scenario-lifetime": "40"}, "name"),
    ):
        page = coordinator.post(url, {"action": "scenario", **data}).content.decode()
        assert f'id="id_scenario-{field}-error"' in page, data
    assert list(Scenario.objects.values()) == before
    # Only those who manage the facility add or remove scenarios.
    officer = _client(w.brus_officer)
    assert (
        officer.post(url, {"action": "scenario", "scenario-name": "Mine", "scenario-lifetime": "5"}).status_code == 404
    )
    assert officer.post(url, {"action": "scenario-delete", "scenario": grant.pk}).status_code == 404
    coordinator.post(url, {"action": "scenario-delete", "scenario": grant.pk})
    assert list(Scenario.objects.filter(facility=w.plant)) == [loan]
    assert AuditEvent.objects.filter(model="cooperation.scenario", action="delete").count() == 1
