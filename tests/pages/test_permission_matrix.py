"""The page permission matrix: every caller × every page × own unit, other unit of the same
group, unit of another group — generated from the one table below.

The world (built once for the module) is Rasina (group G: units A and B) and the Polish
exchange group (unit C); 2023 is published, 2024 still a
draft, so 2024's figures are seen only inside the groups that share them. Roles sit on A
(viewer, officer, approver), on G (coordinator) and on the Polish group (the stranger).

A page an outsider may open must not contain the target's unpublished 2024 value; on the
pages that show figures (marked `figures`), an insider sees it — which proves the probe
value is the one the page would show.
"""

import re
from dataclasses import dataclass

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.utils import timezone

from municipium.accounts.models import Role
from municipium.benchmarks.models import Basis
from municipium.catalog.models import Indicator
from municipium.lib import numbers
from municipium.observations.models import Observation, Period
from municipium.places.models import Group, Unit
from municipium.reports.models import Report, ReportIndicator
from tests import derived
from tests.world import build_world

pytestmark = pytest.mark.django_db

UNITS = {"own": "RS-70670", "same group": "RS-70343", "other group": "PL-1002011"}
GROUP_OF = {"own": "rasina", "same group": "rasina", "other group": "pl-exchange"}
ALL = frozenset(UNITS)
G = frozenset({"own", "same group"})
OWN = frozenset({"own"})
FOREIGN = frozenset({"other group"})
NONE = frozenset()

# Who calls: (role kind, "unit" A | "group" G | "other group", or None for the public).
CALLERS = {
    "anonymous": (None, None),
    "viewer": ("viewer", "unit"),
    "officer": ("officer", "unit"),
    "approver": ("approver", "unit"),
    "coordinator": ("coordinator", "group"),
    "admin": ("admin", None),
    "stranger": ("coordinator", "other group"),
}

OK, LOGIN, NOT_FOUND = 200, "login", 404


@dataclass(frozen=True)
class Page:
    path: str  # formatted with unit, group, area, indicator, observation, report
    anonymous: object  # what the public gets: OK, LOGIN or NOT_FOUND, for every target
    allowed: dict  # caller → the targets answered 200; the others get 404
    figures: bool = False  # shows the target's figures: an insider must see the probe value


def everyone(targets=ALL):
    return {caller: targets for caller in CALLERS if caller != "anonymous"}


WRITERS = {"officer": OWN, "coordinator": G, "admin": ALL, "stranger": FOREIGN}
INSIDERS = {"viewer": G, "officer": G, "approver": G, "coordinator": G, "admin": ALL, "stranger": FOREIGN}

# THE TABLE: page → who gets it for which target.
PAGES = {
    "unit profile": Page("/en/units/{unit}/?period=2024", OK, everyone(), figures=True),
    "indicator page": Page("/en/indicators/{indicator}/?group={group}&period=2024", OK, everyone(), figures=True),
    # The world's groups have no indicator set, so compare shows no figure to look for.
    "compare": Page("/en/compare/?units={unit}&group={group}&period=2024", OK, everyone()),
    "entry start": Page("/en/entry/", LOGIN, everyone()),
    # Raw figures, not indicators: their writers, and the unit's approver who reviews them there.
    "entry form": Page("/en/entry/{unit}/2024/{area}/", LOGIN, {**WRITERS, "approver": OWN}),
    "import": Page("/en/import/", LOGIN, {"officer": ALL, "coordinator": ALL, "admin": ALL, "stranger": ALL}),
    "group workspace": Page("/en/groups/{group}/", OK, everyone()),
    "status board": Page(
        "/en/groups/{group}/status/2024/", LOGIN, {"coordinator": G, "admin": ALL, "stranger": FOREIGN}
    ),
    "audit log": Page("/en/audit/", LOGIN, {"coordinator": ALL, "admin": ALL, "stranger": ALL}),
    "observation history": Page(
        "/en/audit/observations/{observation}/",
        LOGIN,
        {"officer": OWN, "approver": OWN, "coordinator": G, "admin": ALL, "stranger": FOREIGN},
    ),
    "catalogue": Page("/en/catalogue/", OK, everyone()),
    "indicator edit": Page("/en/catalogue/indicators/{indicator}/edit/", NOT_FOUND, {"admin": ALL}),
    "reports list": Page("/en/reports/{unit}/", OK, everyone()),
    "report": Page("/en/reports/{unit}/{report}/", NOT_FOUND, INSIDERS, figures=True),
    "report PDF": Page("/en/reports/{unit}/{report}/report.pdf", NOT_FOUND, INSIDERS),
    "login": Page("/en/login/", OK, everyone()),
}


def expected(page: Page, caller: str, target: str):
    if caller == "anonymous":
        return page.anonymous
    return OK if target in page.allowed.get(caller, NONE) else NOT_FOUND


# ----------------------------------------------------------------------------------------


@dataclass
class Target:
    unit: object
    group: str
    observation: int
    report: int
    probe: str  # the unit's unpublished 2024 value of the indicator, as pages write it


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        # Rasina's municipalities agreed to share their drafts (a region does not by default:
        # tests/test_sharing_groups.py); the matrix is about who is inside such a group.
        build_world(years=(2023, 2024), groups=("rasina", "pl-exchange"), last_year_status="draft", sharing=("rasina",))
        yield _setting()
        transaction.set_rollback(True)


def _formatted(value, decimals) -> str:
    return numbers.format_number(value, decimals, "en")


def _probe_indicator() -> Indicator:
    """An indicator whose 2024 values for the three target units are written in a way no
    published figure is, so that finding one on a page can only mean an unpublished leak."""
    decimals = dict(Indicator.objects.values_list("pk", "decimals"))
    published = {
        _formatted(r.value, decimals[r.indicator_id])
        for r in derived.rows(basis=Basis.PUBLISHED, breakdown=derived.ANY)
        if r.value is not None
    }
    published |= {
        _formatted(r.value, decimals[r.indicator_id])
        for r in derived.rows(basis=Basis.ALL, period="2023", breakdown=derived.ANY)
        if r.value is not None
    }
    period = Period.objects.get(code="2024")
    targets = list(Unit.objects.filter(code__in=UNITS.values()))
    for indicator in Indicator.objects.order_by("service_area__order", "order", "code"):
        values = {
            r.unit_code: r.value
            for r in derived.rows(
                indicator=indicator, period=period, basis=Basis.ALL, breakdown="", unit=targets, valued=True
            )
        }
        texts = [_formatted(values[code], indicator.decimals) for code in UNITS.values() if code in values]
        if len(texts) == 3 and all(len(t) >= 5 and t not in published for t in texts) and len(set(texts)) == 3:
            return indicator
    raise AssertionError("no indicator gives distinctive unpublished values")


def _setting() -> dict:
    indicator = _probe_indicator()
    area = indicator.service_area
    period = Period.objects.get(code="2024")
    targets = {}
    for name, code in UNITS.items():
        unit = Unit.objects.get(code=code)
        value = derived.one(indicator=indicator, unit=unit, period=period, basis=Basis.ALL, breakdown="").value
        observation = Observation.objects.filter(unit=unit, period=period, variable__service_area=area).first()
        report = Report.objects.create(
            unit=unit,
            title=f"Services of {code}",
            period=period,
            group=Group.objects.get(code=GROUP_OF[name]),
            language="en",
            # Published: the table is about who reads a published report; a draft is the
            # unit's people's alone (tests/pages/test_report.py).
            published_at=timezone.now(),
        )
        ReportIndicator.objects.create(report=report, indicator=indicator)
        targets[name] = Target(unit, GROUP_OF[name], observation.pk, report.pk, _formatted(value, indicator.decimals))
    users = {}
    scopes = {
        "unit": {"unit": targets["own"].unit},
        "group": {"group": Group.objects.get(code="rasina")},
        "other group": {"group": Group.objects.get(code="pl-exchange")},
        None: {},
    }
    for caller, (kind, scope) in CALLERS.items():
        if kind is None:
            continue
        user = get_user_model().objects.create_user(caller)
        Role.objects.create(user=user, kind=kind, **scopes[scope])
        users[caller] = user
    return {"indicator": indicator, "area": area, "targets": targets, "users": users}


def _contains(html: str, number: str) -> bool:
    return re.search(rf"(?<![\d.,]){re.escape(number)}(?![\d])", html) is not None


@pytest.mark.parametrize("page_name", PAGES)
@pytest.mark.parametrize("caller", CALLERS)
def test_page_permission_matrix(world, caller, page_name):
    page = PAGES[page_name]
    client = Client()
    if caller != "anonymous":
        client.force_login(world["users"][caller])
    for target_name, target in world["targets"].items():
        url = page.path.format(
            unit=target.unit.code,
            group=target.group,
            area=world["area"].code,
            indicator=world["indicator"].code,
            observation=target.observation,
            report=target.report,
        )
        response = client.get(url)
        want = expected(page, caller, target_name)
        where = f"{caller} → {page_name} of {target_name} ({url})"
        if want == LOGIN:
            assert response.status_code == 302 and "/login/" in response["Location"], where
            continue
        assert response.status_code == want, f"{where}: {response.status_code}, expected {want}"
        if want != OK or response["Content-Type"].startswith("application/pdf"):
            continue
        html = response.content.decode()
        insider = target_name in INSIDERS.get(caller, NONE)
        if not insider:
            assert not _contains(html, target.probe), f"{where}: shows the unpublished value {target.probe}"
        elif page.figures:
            assert _contains(html, target.probe), f"{where}: does not show {target.probe} to an insider"
