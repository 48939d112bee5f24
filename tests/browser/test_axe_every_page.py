"""axe-core on every page a reader or a municipality's people can reach, in English and in
Persian (right to left), at every impact (issue 19's target "axe-core clean on every page in
en and fa").

One world for the whole module, built once: the test world's Rasina figures plus the demo's
own meetings, cooperation, siting, social-planning, tariff and plan data (the product's demo
loaders, on the demo units the world already holds), a report, a weighted survey and a
questionnaire link. One server thread and two browser contexts serve every (page, language):
an administrator's, logged in once through the real form, and a visitor's. pytest-django's
`live_server` would flush the database after every test, so the module runs its own server
thread on the module's world and empties the database itself when the module is done.
"""

import threading
import time
from dataclasses import dataclass, field

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from pytest_django.live_server_helper import LiveServer

from municipium.accounts.models import SecondFactor
from municipium.catalog.models import Indicator, IndicatorSet
from municipium.cooperation.models import Agreement, Facility
from municipium.lib import totp
from municipium.meetings.models import Body, Consultation, Decision, Meeting
from municipium.observations.models import Observation, Period
from municipium.plans.models import Item, Plan, Target
from municipium.reports.models import Report, ReportIndicator
from municipium.siting.models import Project
from municipium.socialplanning.models import Round
from municipium.surveys import links, weighting
from municipium.tariffs.models import Study
from tests.browser.conftest import WATCH, Watched
from tests.pages.test_report import indicators_with_values
from tests.surveys import fieldwork, responses
from tests.world import build_world

# The module's own server thread reads the world committed by the module fixture; the mark
# only has the test database set up (and wraps each test in a transaction it never uses).
pytestmark = pytest.mark.django_db

KRUSEVAC = "RS-70670"
LANGUAGES = ("en", "fa")
PASSWORD = "correct horse battery staple"
# Everything a page draws after loading: charts, maps, the siting and accessibility maps.
DRAWING = (
    "[data-chart]:not([data-ready]), [data-map]:not([data-ready]), "
    "[data-access-map]:not([data-ready]), #siting-map:not([data-ready])"
)

# (name, who opens it): "admin" is the administrator's logged-in context, "visitor" a
# context without an account, "pending" one whose log-in waits for a second factor's code.
PAGES = [
    ("start", "visitor"),
    ("search", "visitor"),
    ("catalogue", "visitor"),
    ("catalogue-area", "visitor"),
    ("definition", "admin"),
    ("group", "admin"),
    ("unit", "visitor"),
    ("indicator", "visitor"),
    ("compare", "visitor"),
    ("status-board", "admin"),
    ("entry-start", "admin"),
    ("entry-form", "admin"),
    ("import", "admin"),
    ("audit", "admin"),
    ("audit-observation", "admin"),
    ("reports", "admin"),
    ("report", "admin"),
    ("surveys", "admin"),
    ("survey-plan", "admin"),
    ("survey-analysis", "admin"),
    ("survey-report", "admin"),
    ("survey-new", "admin"),
    ("survey-sample", "admin"),
    ("survey-fieldwork", "admin"),
    ("survey-clean", "admin"),
    ("survey-weight", "admin"),
    ("questionnaire", "visitor"),
    ("bodies", "admin"),
    ("body", "admin"),
    ("meeting", "admin"),
    ("decisions", "admin"),
    ("body-decisions", "visitor"),
    ("body-edit", "admin"),
    ("meeting-new", "admin"),
    ("consultation-new", "admin"),
    ("consultations", "visitor"),
    ("consultation", "visitor"),
    ("consultation-manage", "admin"),
    ("consultation-report", "admin"),
    ("plans", "admin"),
    ("plan", "admin"),
    ("goal", "admin"),
    ("plan-report", "visitor"),
    ("plan-versions", "admin"),
    ("target", "admin"),
    ("plan-new", "admin"),
    ("social", "admin"),
    ("social-round", "admin"),
    ("social-proposal", "admin"),
    ("social-accessibility", "admin"),
    ("social-types", "admin"),
    ("social-norms", "admin"),
    ("social-supply", "admin"),
    ("social-round-new", "admin"),
    ("agreements", "admin"),
    ("agreement", "admin"),
    ("facility", "admin"),
    ("inventory", "admin"),
    ("obligations", "admin"),
    ("facility-package", "admin"),
    ("facility-edit", "admin"),
    ("agreement-edit", "admin"),
    ("tariffs", "admin"),
    ("tariff-study", "admin"),
    ("tariff-scenario", "admin"),
    ("tariff-package", "admin"),
    ("tariff-study-edit", "admin"),
    ("tariff-scenario-new", "admin"),
    ("tariff-class", "admin"),
    ("siting", "admin"),
    ("siting-project", "admin"),
    ("siting-ahp", "admin"),
    ("siting-run", "admin"),
    ("siting-edit", "admin"),
    ("siting-criterion", "admin"),
    ("login", "visitor"),
    ("second-factor", "admin"),
    ("login-code", "pending"),
    ("invitations", "admin"),
    ("not-found", "visitor"),
]


@dataclass
class Site:
    server: LiveServer
    paths: dict
    contexts: dict = field(default_factory=dict)


def _build() -> dict:
    from municipium.demo.cooperation import load_cooperation
    from municipium.demo.load import adopt_demo_sets
    from municipium.demo.meetings import load_meetings
    from municipium.demo.plans import load_plans
    from municipium.demo.siting import load_siting
    from municipium.demo.socialplanning import load_socialplanning
    from municipium.demo.tariffs import load_tariffs

    world = build_world(years=(2022, 2023, 2024), groups=("rasina", "pazardzhik"))
    IndicatorSet.objects.filter(code="water_core").update(group=world.group("rasina"))
    adopt_demo_sets()
    load_meetings()
    load_cooperation()
    load_siting(cell=1500.0)
    load_socialplanning()
    load_tariffs()
    load_plans()

    kru = world.unit(KRUSEVAC)
    period = Period.objects.get(code="2024")
    report = Report.objects.create(unit=kru, title="Communal services 2024", period=period, group=world.group("rasina"))
    for order, indicator in enumerate(indicators_with_values(kru, period)):
        ReportIndicator.objects.create(report=report, indicator=indicator, order=order, commentary="Losses fell.")

    analysed = responses.questionnaire(kru, code="users-2024", year=2024)
    responses.respond(analysed, 120, seed=6)
    weighting.save_settings(analysed, responses.MARGINS, {"upper": 3})
    weighting.compute(analysed)
    asked = fieldwork.questionnaire(kru)
    fieldwork.sampled_frame(asked, {"north": ["a@example.org"]})
    token = links.issue(asked, None)[0].token

    body = Body.objects.filter(meetings__isnull=False).order_by("pk").first()
    meeting = Meeting.objects.filter(body=body).order_by("pk").first()
    assert Decision.objects.exists()
    consultation = Consultation.objects.order_by("pk").first()
    plan = Plan.objects.get(code="alytus-2030")
    goal = Item.objects.filter(plan=plan, parent=None).order_by("pk").first()
    target = Target.objects.filter(item__plan=plan).order_by("pk").first()
    social = Round.objects.get()
    proposal_unit = social.group.memberships.order_by("unit__code").first().unit.code
    agreement = Agreement.objects.order_by("pk").first()
    facility = Facility.objects.order_by("pk").first()
    study = Study.objects.filter(scenarios__isnull=False).order_by("pk").first()
    project = Project.objects.get(code="qom-landfill")
    observation = Observation.objects.filter(unit=kru).order_by("pk").first()
    nrw = Indicator.objects.get(code="water_nrw")
    return {
        "start": "/",
        "search": "/search/?q=kru",
        "catalogue": "/catalogue/",
        "catalogue-area": "/catalogue/areas/water/",
        "definition": f"/catalogue/indicators/{nrw.code}/edit/",
        "group": "/groups/rasina/",
        "unit": f"/units/{KRUSEVAC}/",
        "indicator": "/indicators/water_nrw/?group=rasina&period=2024",
        "compare": f"/compare/?units={KRUSEVAC},RS-71170,RS-70343&set=water_core&group=rasina",
        "status-board": "/groups/rasina/status/2024/",
        "entry-start": "/entry/",
        "entry-form": f"/entry/{KRUSEVAC}/2025/water/",
        "import": "/import/",
        "audit": "/audit/",
        "audit-observation": f"/audit/observations/{observation.pk}/",
        "reports": f"/reports/{KRUSEVAC}/",
        "report": f"/reports/{KRUSEVAC}/{report.pk}/",
        "surveys": "/surveys/",
        "survey-plan": f"/surveys/{analysed.pk}/",
        "survey-analysis": f"/surveys/{analysed.pk}/analysis/",
        "survey-report": f"/surveys/{analysed.pk}/report/",
        "survey-new": "/surveys/new/",
        "survey-sample": f"/surveys/{asked.pk}/sample/",
        "survey-fieldwork": f"/surveys/{asked.pk}/fieldwork/",
        "survey-clean": f"/surveys/{analysed.pk}/clean/",
        "survey-weight": f"/surveys/{analysed.pk}/weight/",
        "questionnaire": f"/s/{token}/",
        "bodies": "/meetings/",
        "body": f"/meetings/bodies/{body.code}/",
        "meeting": f"/meetings/bodies/{body.code}/meetings/{meeting.pk}/",
        "decisions": "/meetings/decisions/",
        "body-decisions": f"/meetings/bodies/{body.code}/decisions/",
        "body-edit": f"/meetings/bodies/{body.code}/edit/",
        "meeting-new": f"/meetings/bodies/{body.code}/meetings/new/",
        "consultation-new": "/meetings/consultations/new/",
        "consultations": "/meetings/consultations/",
        "consultation": f"/meetings/consultations/{consultation.code}/",
        "consultation-manage": f"/meetings/consultations/{consultation.code}/manage/",
        "consultation-report": f"/meetings/consultations/{consultation.code}/report/",
        "plans": "/plans/",
        "plan": f"/plans/{plan.code}/",
        "goal": f"/plans/{plan.code}/items/{goal.pk}/",
        "plan-report": f"/plans/{plan.code}/report/",
        "plan-versions": f"/plans/{plan.code}/versions/",
        "target": f"/plans/{plan.code}/items/{target.item_id}/targets/{target.pk}/",
        "plan-new": "/plans/new/",
        "social": "/social/",
        "social-round": f"/social/rounds/{social.code}/",
        "social-proposal": f"/social/rounds/{social.code}/{social.group.memberships.order_by('unit__code').first().unit.code}/",
        "social-accessibility": f"/social/rounds/{social.code}/accessibility/",
        "social-types": "/social/types/",
        "social-norms": f"/social/norms/{social.norms_id}/",
        "social-supply": f"/social/supply/{proposal_unit}/",
        "social-round-new": "/social/rounds/new/",
        "agreements": "/cooperation/",
        "agreement": f"/cooperation/agreements/{agreement.code}/",
        "facility": f"/cooperation/facilities/{facility.code}/",
        "inventory": f"/cooperation/groups/{agreement.group.code}/inventory/",
        "obligations": "/cooperation/obligations/",
        "facility-package": f"/cooperation/facilities/{facility.code}/package/",
        "facility-edit": f"/cooperation/facilities/{facility.code}/edit/",
        "agreement-edit": f"/cooperation/agreements/{agreement.code}/edit/",
        "tariffs": "/tariffs/",
        "tariff-study": f"/tariffs/{study.code}/",
        "tariff-scenario": f"/tariffs/{study.code}/scenarios/{study.scenarios.order_by('pk').first().pk}/",
        "tariff-package": f"/tariffs/{study.code}/package/",
        "tariff-study-edit": f"/tariffs/{study.code}/edit/",
        "tariff-scenario-new": f"/tariffs/{study.code}/scenarios/new/",
        "tariff-class": f"/tariffs/{study.code}/classes/{study.classes.order_by('pk').first().pk}/",
        "siting": "/siting/",
        "siting-project": f"/siting/{project.code}/",
        "siting-ahp": f"/siting/{project.code}/ahp/",
        "siting-run": f"/siting/{project.code}/runs/{project.runs.order_by('number').first().number}/",
        "siting-edit": f"/siting/{project.code}/edit/",
        "siting-criterion": f"/siting/{project.code}/criteria/{project.criteria_set.criteria.order_by('pk').first().pk}/",
        "login": "/login/",
        "second-factor": "/account/second-factor/",
        "login-code": "/login/code/",
        "invitations": "/invitations/",
        "not-found": "/no-such-page/",
    }


def _requests_done(seconds: float = 5.0) -> None:
    """Wait for the server's request threads to end: a browser's kept-alive connection
    ends its thread only once the browser has closed it, and that thread still holds its
    database connection (PostgreSQL would refuse to drop the test database)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(
        t.name.endswith("(process_request_thread)") for t in threading.enumerate()
    ):
        time.sleep(0.05)


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, browser):
    with (
        django_db_blocker.unblock(),
        override_settings(
            TASKS={"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend", "QUEUES": []}}
        ),
    ):
        try:
            paths = _build()
            admin = get_user_model().objects.create_superuser("axe-admin", "axe@example.org", PASSWORD)
            # Someone whose log-in waits for their second factor's code.
            guarded = get_user_model().objects.create_superuser("axe-guarded", "guarded@example.org", PASSWORD)
            SecondFactor.objects.create(user=guarded, secret=totp.new_secret(), confirmed=timezone.now())
            server = LiveServer("localhost")
            server._live_server_modified_settings.enable()
            built = Site(server, paths)
            try:
                for who in ("admin", "visitor", "pending"):
                    context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900})
                    context.add_init_script(WATCH)
                    page = context.new_page()
                    page.set_default_timeout(15_000)
                    built.contexts[who] = Watched(page, server.url)
                for who, user in (("admin", admin), ("pending", guarded)):
                    page = built.contexts[who].page
                    page.goto("/en/login/")
                    page.fill("#id_username", user.get_username())
                    page.fill("#id_password", PASSWORD)
                    page.click("button[type=submit]")
                    page.wait_for_load_state()
                yield built
            finally:
                for watched in built.contexts.values():
                    watched.page.context.close()
                _requests_done()
                server._live_server_modified_settings.disable()
                server.stop()
        finally:
            # What the module built was committed for the server thread to read: empty the
            # database as a transactional test does, so that the next module starts clean.
            call_command("flush", interactive=False, verbosity=0)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize(("name", "who"), PAGES)
def test_the_page_has_no_accessibility_violation_of_any_impact(site, name, who, language):
    watched = site.contexts[who]
    watched.foreign.clear()
    watched.errors.clear()
    page = watched.page
    path = f"/{language}{site.paths[name]}"
    response = page.goto(path)
    expected = 404 if name == "not-found" else 200
    assert response is not None and response.status == expected, (name, language, response and response.status)
    # The page itself, not a log-in form it sent the browser to.
    assert page.url == site.server.url + path, (name, language, page.url)
    assert page.get_attribute("html", "lang") == language
    assert page.get_attribute("html", "dir") == ("rtl" if language == "fa" else "ltr")
    page.locator(DRAWING).first.wait_for(state="detached")
    found = watched.axe(impacts=None)
    assert found == [], (name, language, found)
    assert not watched.foreign, f"requests outside the server's origin: {watched.foreign}"
    assert not watched.violations(), f"Content-Security-Policy violations: {watched.violations()}"
    # The not-found page's own status is logged as a failed load; nothing else may be.
    errors = [e for e in watched.errors if not (name == "not-found" and "status of 404" in e)]
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_setting_up_a_second_factor_has_no_accessibility_violation(site, language):
    watched = site.contexts["admin"]
    watched.errors.clear()
    page = watched.page
    page.goto(f"/{language}/account/second-factor/")
    start = page.locator("form:has(input[name=action][value=start]) button")
    if start.count():  # set up in the first language already: the page shows the pending setup
        start.click()
    page.locator("img.second-factor-qr").wait_for()
    found = watched.axe(impacts=None)
    assert found == [], (language, found)
    assert not watched.violations() and not watched.errors


def test_the_api_documentation_has_no_accessibility_violation(site):
    # Outside the language prefixes (an API address names no language); the description is
    # written in English.
    watched = site.contexts["visitor"]
    watched.foreign.clear()
    watched.errors.clear()
    page = watched.page
    response = page.goto("/api/docs")
    assert response is not None and response.status == 200
    page.locator("#swagger-ui .opblock").first.wait_for()
    # Swagger UI draws each operation's summary as a button holding the operation's link
    # and copy button (its React markup, vendored with django-ninja; nothing we serve can
    # change it): only those summaries are let off the nested-interactive rule.
    ignore = {"nested-interactive": ".opblock-summary-control"}
    found = watched.axe(impacts=None, ignore=ignore)
    assert found == [], found
    # One operation opened: its parameters, responses and schemas.
    page.locator("#swagger-ui .opblock-summary-control").nth(1).click()
    page.locator("#swagger-ui .opblock-body .responses-table").first.wait_for()
    found = watched.axe(impacts=None, ignore=ignore)
    assert found == [], found
    assert not watched.foreign, f"requests outside the server's origin: {watched.foreign}"
    assert not watched.violations(), f"Content-Security-Policy violations: {watched.violations()}"
    assert not watched.errors, f"JavaScript errors: {watched.errors}"
