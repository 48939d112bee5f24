"""The demo loads through the real loaders and importer, and the real Swedish figures
check the formula engine against the publisher's own ratios."""

import pytest

from municipium.benchmarks.models import GroupStatistic
from municipium.catalog.models import Indicator
from municipium.cooperation import sharing
from municipium.cooperation.models import Agreement, Facility, Obligation
from municipium.demo.load import load_demo
from municipium.meetings.models import Body, Comment, Consultation, Decision, Meeting
from municipium.observations.models import ImportBatch, Observation, Revision
from municipium.places.models import Unit
from municipium.plans import progress
from municipium.plans.models import Item, Plan, Target
from municipium.socialplanning import planning
from municipium.socialplanning.models import Proposal, Round
from municipium.socialplanning.models import Service as SocialService
from municipium.surveys import analysis
from municipium.surveys.models import Response, Survey
from tests import derived
from tests.world import rolled_back

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo loaded once for the module's tests (a load is 12–18 s; loaded for each test
    it was a minute and a half of each suite), in a transaction rolled back after the last;
    each test runs in a savepoint inside it. What load_demo queues to run on commit (it
    recomputes everything itself) never runs: that transaction never commits."""
    with rolled_back(django_db_blocker):
        load_demo()
        yield


def stored(indicator_code):
    return derived.values("all", indicator=indicator_code)


def published(variable_code):
    return {
        (o.unit.code, o.period.code): o.value
        for o in Observation.objects.filter(variable__code=variable_code, value__isnull=False).select_related(
            "unit", "period"
        )
    }


# (our formula, the publisher's published ratio, tolerance): share of inhabitants 80+ and
# 65-79 (%), metres of road per inhabitant (published rounded).
KOLADA_RATIOS = [("n01813_calc", "n01813", 1e-6), ("n01812_calc", "n01812", 1e-6), ("n07805_calc", "n07805", 5e-4)]


def test_the_demo_loads_real_and_synthetic_data_and_derives_every_indicator(demo):
    # One load serves several checks: loading the demo is the slowest thing in the suite.
    for calculated, publisher, tolerance in KOLADA_RATIOS:
        ours, theirs = stored(calculated), published(publisher)
        common = ours.keys() & theirs.keys()
        assert len(common) > 800, calculated  # every municipality and region over the shipped years
        assert max(abs(ours[k] - theirs[k]) for k in common) <= tolerance, calculated

    starter = Indicator.objects.exclude(service_area__code__in=["general"]).exclude(code__regex=r"^[nu]\d")
    empty = [i.code for i in starter if not derived.exists(indicator=i, valued=True, breakdown=derived.ANY)]
    assert starter.count() > 60
    assert empty == []
    # Exchange groups get their statistics, standing on a stated number of members.
    stat = GroupStatistic.objects.filter(group__code="pl-exchange", indicator__code="water_nrw", basis="all").first()
    assert stat is not None and 1 <= stat.n <= stat.members == 6

    synthetic = Observation.objects.filter(unit__code__startswith="RS-")
    assert synthetic.exists()
    sources = set(synthetic.values_list("source", flat=True))
    surveyed = {s for s in sources if s.startswith("survey ")}  # the demo surveys' published results
    assert sources - surveyed == {"Synthetic demo data — not real figures"}
    assert surveyed and all("synthetic" in s for s in surveyed)
    assert Observation.objects.filter(missing="not_collected").exists()  # gaps are explicit


def test_the_demo_surveys_are_published_and_their_results_appear_in_profiles(demo, client):
    surveys = Survey.objects.filter(step=Survey.Step.PUBLISHED).select_related("unit", "previous")
    assert len({s.unit.code for s in surveys}) >= 2 and len(surveys) >= 3
    for survey in surveys:
        assert survey.responses.filter(excluded=True).exclude(decision_reason="").exists()  # cleaning had work
        assert survey.weighting["report"]["n"] == survey.responses.filter(excluded=False).count()
    latest = max(s.year for s in surveys)
    compared = next(s for s in surveys if s.previous_id)
    kinds = {c.kind for c in analysis.comparisons(compared)}
    assert kinds == {"previous", "peer"}  # with the previous survey and the group's other members
    share = Observation.objects.get(
        variable__code="survey_water_supply_satisfied_share", unit=compared.unit, period__code=str(latest)
    )
    assert share.status == "published" and 0 < share.value < 100
    indicator = Indicator.objects.get(code="survey_water_supply_share_satisfied")
    assert derived.exists(indicator=indicator, unit=compared.unit, valued=True)
    page = client.get(f"/en/units/{compared.unit.code}/").content.decode()
    assert indicator.name["en"] in page


def test_loading_the_demo_twice_changes_nothing(demo, django_capture_on_commit_callbacks):
    def counts():
        return (
            Unit.objects.count(),
            Observation.objects.count(),
            Revision.objects.count(),
            derived.count(breakdown=derived.ANY),
            Survey.objects.count(),
            Response.objects.count(),
            Body.objects.count(),
            Meeting.objects.count(),
            Decision.objects.count(),
            Comment.objects.count(),
            Item.objects.count(),
            Target.objects.count(),
            Agreement.objects.count(),
            Obligation.objects.count(),
            SocialService.objects.count(),
            Proposal.objects.count(),
        )

    before = counts()
    with django_capture_on_commit_callbacks(execute=False):  # load_demo recomputes everything itself
        load_demo()
    assert counts() == before
    assert ImportBatch.objects.order_by("-pk").first().unchanged > 0


def test_the_demo_meetings_follow_the_seed_stories(demo, client):
    """Kutno's two-day meeting, Qom's rotating forum with a decision carried over, Pazardzhik's
    consultations with the council deadline, Alytus's five working groups by order M-18."""
    kutno = Meeting.objects.get(body__code="pl-water-exchange")
    assert (kutno.day.isoformat(), kutno.host.code) == ("2018-02-06", "PL-1002011")
    assert kutno.agenda.filter(link_id__isnull=False).exists()  # the water indicator set

    qom = list(Meeting.objects.filter(body__code="qom-mayors").order_by("starts"))
    assert [m.host.code for m in qom] == ["IR-QOM-01", "IR-QOM-03", "IR-QOM-02"]
    assert [m.next_host.code for m in qom[:2]] == [m.host.code for m in qom[1:]]  # chosen at the last meeting
    carried = qom[1].agenda.filter(review_of__isnull=False)
    assert carried.exists() and qom[2].agenda.filter(review_of__in=[i.review_of for i in carried]).exists()

    consultations = Consultation.objects.filter(body__code="pazardzhik-planning")
    assert {c.council_deadline.isoformat() for c in consultations} == {"2023-03-30"}
    assert {c.phase() for c in consultations} == {"decided", "closed"}

    alytus = Body.objects.filter(unit__code="LT-02", act_number="M-18")
    assert alytus.count() == 5 and all(b.members.count() == 5 for b in alytus)
    assert all("[Demo:" in b.mandate for b in Body.objects.all())
    assert client.get("/fa/meetings/bodies/qom-mayors/").status_code == 200


def test_the_demo_plan_of_alytus_shows_progress_beside_the_county(demo, client):
    plan = Plan.objects.get(code="alytus-2030")
    assert plan.state == "adopted" and plan.compare_with.code == "alytus"
    assert {i.body.code for i in plan.items.exclude(body=None)} == {
        "alytus-water",
        "alytus-waste",
        "alytus-roads",
        "alytus-social",
        "alytus-geodesy",
    }
    rows = progress.flatten(progress.compute(plan, public=True))
    measured = [t for _d, n in rows for t in n.targets if t.target.indicator_id]
    assert len(measured) >= 5
    assert all(t.year and t.year >= 2021 for t in measured)
    assert any(t.rank for t in measured)  # beside the county's other municipalities
    assert client.get("/lt/plans/alytus-2030/").status_code == 200


def test_the_demo_cooperation_follows_the_seed_stories(demo, client):
    celije = Agreement.objects.get(code="celije-memorandum")
    assert sorted(p.unit.code for p in celije.parties.all()) == ["RS-70017", "RS-70262", "RS-70343", "RS-70670"]
    assert {o.state for o in celije.obligations.all()} >= {"done", "overdue"}
    assert "[Demo:" in celije.subject
    split = sharing.allocate(Facility.objects.get(code="brus-blace-wwtp"))
    nucleolus = next(m for m in split.methods if m.code == "nucleolus")
    assert nucleolus.in_core and all(s.saving > 0 for s in nucleolus.shares)
    assert Agreement.objects.filter(code="qom-memorandum", parties__unit__code="IR-QOM-01").exists()
    assert (
        celije.zones.count() == 3
        and "map-zone-III" in client.get("/en/cooperation/agreements/celije-memorandum/").content.decode()
    )
    assert client.get("/sr/cooperation/agreements/celije-memorandum/").status_code == 200
    # The Pazardzhik social-services round: eleven municipalities at every stage, and the home
    # for older people shared by five of them as an agreement with quotas by need.
    round_ = Round.objects.get(code="pazardzhik-2023")
    stages = [b["stage"] for b in planning.board(round_)]
    assert len(stages) == 11 and {"sent", "decided", "closed", "drafted"} <= set(stages)
    shared = round_.shared.get()
    quotas = planning.shared_quotas(shared)
    assert len(quotas) == 5 and sum(q["places"] for q in quotas) == shared.places == 40
    assert {s.service_type.code: s.roll_up.recommendation for s in planning.needs_table(round_)}[
        "residential-older"
    ] == "district"
