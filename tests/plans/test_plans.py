"""Plans as their people use them: the rules of the tree and the targets (refused with a
located message, nothing changed), progress beside the peers, versions through consultation
and adoption, files in and out, who sees what, and the API."""

import datetime as dt
import io

import pytest
import yaml
from django.test import Client
from django.utils import timezone

from municipium.audit.models import AuditEvent
from municipium.plans import files, progress, services
from municipium.plans.models import Item, Plan, Target, Version
from municipium.plans.services import PlanError

from .world import build

pytestmark = pytest.mark.django_db


def _client(user=None):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def _state():
    return (
        list(Item.objects.order_by("pk").values_list("pk", "code", "parent_id", "level")),
        list(Target.objects.order_by("pk").values_list("pk", "baseline", "target")),
        AuditEvent.objects.count(),
    )


def test_progress_uses_the_engines_values_and_shows_the_peers():
    w = build()
    [goal] = progress.compute(w.plan, public=True)
    [measure] = goal.children
    [t] = measure.targets
    assert (t.year, t.actual) == (2024, 24.0)
    assert t.achieved == pytest.approx((24 - 30) / (15 - 30) * 100)  # 40 %
    assert t.expected == pytest.approx(30 - 15 * 4 / 10)  # 24.0 on the straight line
    assert t.status == "on_track"
    assert (t.rank, t.rank_of) == (2, 3)  # 18 (LT-03) < 24 (Alytus) < 27 (LT-07)
    assert t.median == 24.0
    assert t.milestone == (2025, 22.5)
    assert goal.progress == pytest.approx(40.0) and goal.status == "on_track"
    # The report of 2022 sees the values up to 2022 only.
    [old] = progress.compute(w.plan, public=True, until=2022)
    assert old.children[0].targets[0].actual == 27.0


def test_a_cycle_is_refused_and_nothing_changes():
    w = build()
    before = _state()
    w.goal.parent = w.measure
    with pytest.raises(PlanError) as caught:
        services.save_item(w.coordinator, w.goal)
    assert caught.value.field == "parent" and "cycle" in caught.value.message
    assert _state() == before


def test_levels_limit_the_depth():
    w = build()
    w.plan.levels = ["priority", "goal"]
    w.plan.save()
    with pytest.raises(PlanError) as caught:
        services.save_item(w.coordinator, Item(plan=w.plan, parent=w.measure, code="1.1.1", title="Too deep"))
    assert "priority, goal" in caught.value.message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"baseline_year": None}, "baseline_year"),
        ({"target_year": 2019}, "target_year"),
        ({"target": 40}, "target"),  # worse than the baseline on a lower-is-better indicator
        ({"milestones": {"2035": 10}}, "milestones"),
    ],
)
def test_bad_targets_are_refused_beside_their_field(change, field):
    w = build()
    before = _state()
    target = Target(item=w.measure, indicator=w.indicator, baseline=30, baseline_year=2020, target=15, target_year=2030)
    for name, value in change.items():
        setattr(target, name, value)
    with pytest.raises(PlanError) as caught:
        services.save_target(w.coordinator, target)
    assert caught.value.field == field
    assert _state() == before


def test_a_target_in_the_wrong_unit_of_measure_is_refused():
    w = build()
    target = Target(item=w.measure, indicator=w.indicator, baseline=30, baseline_year=2020, target=15, target_year=2030)
    with pytest.raises(PlanError) as caught:
        services.save_target(w.coordinator, target, unit_of_measure="m³")
    assert "water_losses is measured in %" in caught.value.message


def test_weights_must_sum_to_one_under_a_weighted_rollup():
    w = build()
    w.plan.rollup = Plan.Rollup.WEIGHTED
    w.plan.save()
    second = services.save_item(w.coordinator, Item(plan=w.plan, parent=w.goal, code="1.2", title="Reuse"))
    w.measure.weight, second.weight = 0.5, 0.4
    services.save_item(w.coordinator, w.measure)
    services.save_item(w.coordinator, second)
    assert any("sum to" in p for p in services.weight_problems(w.plan))
    with pytest.raises(PlanError):
        services.adopt(w.coordinator, w.plan, number="T-1", date=dt.date(2021, 3, 1))
    assert not Version.objects.exists()


def test_consultation_adoption_and_amendment_keep_comparable_versions():
    w = build()
    today = timezone.localdate()
    services.send_to_consultation(
        w.coordinator, w.plan, opens=today - dt.timedelta(days=40), closes=today - dt.timedelta(days=10)
    )
    w.plan.refresh_from_db()
    assert w.plan.state == "consultation" and w.plan.consultation.unit == w.alytus
    with pytest.raises(PlanError):  # a plan in consultation is not edited
        services.save_item(w.coordinator, Item(plan=w.plan, code="2", title="Late"))
    with pytest.raises(PlanError):
        services.adopt(w.coordinator, w.plan, number="T-45", date=today - dt.timedelta(days=20))  # before it closed
    services.adopt(w.coordinator, w.plan, number="T-45", date=today)
    services.amend(w.coordinator, w.plan)
    services.save_item(w.coordinator, Item(plan=w.plan, code="2", title="Smart city"))
    w.measure.title = "Cut water losses by half"
    services.save_item(w.coordinator, w.measure)
    v3 = services.adopt(w.coordinator, w.plan, number="T-99", date=today)
    assert [v.kind for v in w.plan.versions.all()] == ["consultation", "adopted", "amended"]
    changes = services.differences(Version.objects.get(number=2).snapshot, v3.snapshot)
    assert {(c["code"], c["change"]) for c in changes} == {("1.1", "changed"), ("2", "added")}
    page = _client().get("/en/plans/alytus-2030/versions/?a=2&b=3").content.decode()
    assert "Smart city" in page and 'data-change="added"' in page


def test_yaml_and_xlsx_round_trip_and_bad_files_change_nothing():
    w = build()
    document = yaml.safe_load(files.to_yaml(w.plan))
    assert document["items"][1]["targets"][0]["indicator"] == "water_losses"
    workbook = files.to_workbook(w.plan)
    again = files.read(workbook, "plan.xlsx")
    assert [i["code"] for i in again["items"]] == ["1", "1.1"]
    files.load(w.coordinator, again, may_coordinate=lambda user, unit: True)
    assert yaml.safe_load(files.to_yaml(Plan.objects.get(code="alytus-2030")))["items"] == document["items"]

    before = _state()
    broken = {**document, "items": [{**document["items"][0], "parent": "1.1"}, document["items"][1]]}
    with pytest.raises(PlanError) as caught:
        files.load(w.coordinator, broken, may_coordinate=lambda user, unit: True)
    assert "items[1] (1)" in caught.value.message and "cycle" in caught.value.message
    with pytest.raises(PlanError) as caught:
        files.read(b"items: [unclosed", "plan.yaml")
    with pytest.raises(PlanError):
        files.read(b"MZ", "plan.exe")
    no_year = {**document}
    no_year["items"] = [
        document["items"][0],
        {**document["items"][1], "targets": [{**document["items"][1]["targets"][0], "baseline_year": None}]},
    ]
    with pytest.raises(PlanError) as caught:
        files.load(w.coordinator, no_year, may_coordinate=lambda user, unit: True)
    assert "baseline_year is missing" in caught.value.message and "(1.1)" in caught.value.message
    assert len(_state()[0]) == len(before[0])


def test_drafts_are_for_drafters_and_adopted_plans_for_everyone():
    w = build()
    url = "/en/plans/alytus-2030/"
    assert _client().get(url).status_code == 404
    assert _client(w.outsider).get(url).status_code == 404
    assert _client(w.drafter).get(url).status_code == 200  # a member of a drafting working group
    assert "alytus-2030" not in _client().get("/api/plans/").content.decode()
    assert _client().get("/api/plans/alytus-2030").status_code == 404
    services.adopt(w.coordinator, w.plan, number="T-1", date=dt.date(2021, 3, 1))
    page = _client().get(url).content.decode()
    assert "Cut water losses" in page and 'data-status="on_track"' in page and "2 of 3" in page
    api = _client().get("/api/plans/alytus-2030").json()
    [measure] = [i for i in api["items"] if i["code"] == "1.1"]
    assert measure["targets"][0]["rank"] == 2 and measure["targets"][0]["status"] == "on_track"
    csv = _client().get("/en/plans/alytus-2030/plan.csv").content.decode("utf-8-sig")
    assert "water_losses" in csv and "on_track" in csv
    assert _client().get("/en/plans/alytus-2030/report/?year=2023&format=pdf").content.startswith(b"%PDF")
    assert _client().get("/en/plans/alytus-2030/plan.exe").status_code == 404


def test_working_group_members_draft_their_part_only():
    w = build()
    other = services.save_item(w.coordinator, Item(plan=w.plan, code="2", title="Economy"))
    drafter = _client(w.drafter)
    ok = drafter.post(
        f"/en/plans/alytus-2030/items/new/?parent={w.goal.pk}",
        {"parent": w.goal.pk, "code": "1.2", "title": "Green areas"},
    )
    assert ok.status_code == 302 and Item.objects.filter(code="1.2").exists()
    refused = drafter.post(f"/en/plans/alytus-2030/items/{other.pk}/", {"code": "2", "title": "Hijacked"})
    assert refused.status_code == 404
    other.refresh_from_db()
    assert other.title == "Economy"


def test_the_target_form_refuses_a_missing_baseline_year_beside_the_field():
    w = build()
    response = _client(w.coordinator).post(
        f"/en/plans/alytus-2030/items/{w.measure.pk}/targets/new/",
        {
            "indicator": w.indicator.pk,
            "baseline": "30",
            "baseline_year": "",
            "target": "15",
            "target_year": "2030",
            "higher_is_better": "",
        },
    )
    assert response.status_code == 200
    assert "Give the year of the baseline." in response.content.decode()
    assert Target.objects.count() == 1


def test_an_uploaded_workbook_loads_the_plan_and_a_broken_one_says_where():
    w = build()
    workbook = files.to_workbook(w.plan)
    upload = io.BytesIO(workbook)
    upload.name = "plan.xlsx"
    response = _client(w.coordinator).post("/en/plans/upload/", {"file": upload})
    assert response.status_code == 302
    bad = io.BytesIO(b"code: x\nunit: NOPE\nitems: []\n")
    bad.name = "plan.yaml"
    response = _client(w.coordinator).post("/en/plans/upload/", {"file": bad})
    assert "Unknown unit: NOPE" in response.content.decode()


def test_persian_plan_page_is_right_to_left_with_persian_digits():
    w = build()
    services.adopt(w.coordinator, w.plan, number="T-1", date=dt.date(2021, 3, 1))
    page = _client().get("/fa/plans/alytus-2030/").content.decode()
    assert 'dir="rtl"' in page and "۲۰۲۱–۲۰۳۰" in page


def test_a_meeting_agenda_can_link_a_plan_item_the_reader_may_see():
    from municipium.meetings import links

    w = build()
    options = [value for _heading, group in links.grouped_choices(w.body) for value, _label in group]
    assert f"plans.item:{w.measure.pk}" in options
    found = links.resolve(f"plans.item:{w.measure.pk}", w.body)
    assert found == w.measure


def test_persian_plan_pages_separate_their_parts_without_a_middle_dot():
    """The plan with its tree (responsible and drafting body, the editor's links), the
    monitoring report, the versions and the target form's indicator list: no middle dot in
    Persian (read there as a zero), the Persian comma instead; English keeps the dot."""
    from tests.marks import middle_dots

    w = build()
    Item.objects.filter(pk=w.goal.pk).update(responsible="Utilities department")
    services.adopt(w.coordinator, w.plan, number="T-1", date=dt.date(2021, 3, 1))
    plan = f"/plans/{w.plan.code}/"
    for path in (plan, f"{plan}report/", f"{plan}versions/", f"{plan}items/{w.measure.pk}/targets/new/"):
        response = _client(w.coordinator).get(f"/fa{path}")
        assert response.status_code == 200, path
        page = response.content.decode()
        assert not middle_dots(page), (path, middle_dots(page))
        assert "، " in page, path
    assert middle_dots(_client(w.coordinator).get(f"/en{plan}").content.decode())
