"""A council report on figures not yet published: its own world, with the last year
submitted (so it cannot share test_report.py's module world)."""

import pytest
from django.utils import timezone

from municipium.observations.models import Period
from municipium.reports.models import Report
from tests.factories import person
from tests.pages.test_report import UNIT, indicators_with_values
from tests.world import build_world

pytestmark = pytest.mark.django_db


def test_a_report_on_unpublished_figures_is_not_found_by_outsiders():
    world = build_world(years=(2023, 2024), groups=("rasina",), last_year_status="submitted", sharing=("rasina",))
    kru, period = world.unit(UNIT), Period.objects.get(code="2024")
    report = Report.objects.create(
        unit=kru, title="Draft figures", period=period, group=world.group("rasina"), published_at=timezone.now()
    )
    report.entries.create(indicator=indicators_with_values(kru, period, 1)[0], order=1)
    from django.test import Client

    outsider = Client()
    assert outsider.get(f"/en/reports/{UNIT}/{report.pk}/").status_code == 404
    assert outsider.get(f"/en/reports/{UNIT}/{report.pk}/report.pdf").status_code == 404
    assert "Draft figures" not in outsider.get(f"/en/reports/{UNIT}/").content.decode()
    insider = Client()
    insider.force_login(person("neighbour", "viewer", world.unit("RS-70343")))  # in the Rasina group
    assert insider.get(f"/en/reports/{UNIT}/{report.pk}/").status_code == 200
