"""The one write path for observations: upsert, revisions, audit, counts."""

import pytest

from municipium.audit.models import AuditEvent
from municipium.catalog.models import ServiceArea, Variable
from municipium.observations.models import ImportBatch, Observation, Period, Revision
from municipium.observations.services import Row, write_observations
from municipium.places.models import Unit

pytestmark = pytest.mark.django_db


@pytest.fixture
def keys():
    area = ServiceArea.objects.create(code="water", name={"en": "Water"})
    variable = Variable.objects.create(code="water_billed", service_area=area, name={"en": "Billed"})
    units = [Unit.objects.create(code=f"U{i}", name={"en": f"Unit {i}"}) for i in range(3)]
    period = Period.objects.for_code("2024")
    return variable, units, period


def batch(name="file.csv"):
    return ImportBatch(file_name=name, sha256="0" * 64, format="csv")


def test_new_rows_are_created_with_a_first_revision_and_one_audit_event(keys):
    variable, units, period = keys
    result = write_observations(
        [Row(u.pk, variable.pk, period.pk, value=10.0 * i) for i, u in enumerate(units)], batch=batch()
    )
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert sorted(Observation.objects.values_list("value", flat=True)) == [0.0, 10.0, 20.0]
    assert Revision.objects.filter(version=1, via="import").count() == 3
    event = AuditEvent.objects.get(model="observations.importbatch")
    assert event.after == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0}


def test_a_changed_row_gets_a_new_version_and_an_identical_row_leaves_no_trace(keys):
    variable, units, period = keys
    write_observations([Row(u.pk, variable.pk, period.pk, value=1.0) for u in units], batch=batch())
    result = write_observations(
        [Row(units[0].pk, variable.pk, period.pk, value=2.0), Row(units[1].pk, variable.pk, period.pk, value=1.0)],
        batch=batch("second.csv"),
    )
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    changed = Observation.objects.get(unit=units[0])
    assert (changed.value, changed.version) == (2.0, 2)
    assert list(changed.revisions.values_list("version", "value")) == [(1, 1.0), (2, 2.0)]
    assert Observation.objects.get(unit=units[1]).version == 1
    assert Revision.objects.count() == 4


def test_missing_replaces_a_value_and_keeps_the_value_in_history(keys):
    variable, units, period = keys
    write_observations([Row(units[0].pk, variable.pk, period.pk, value=5.0)], batch=batch())
    write_observations([Row(units[0].pk, variable.pk, period.pk, missing="confidential")], batch=batch())
    observation = Observation.objects.get()
    assert (observation.value, observation.missing) == (None, "confidential")
    assert list(observation.revisions.values_list("value", "missing")) == [(5.0, ""), (None, "confidential")]


def test_a_failing_write_leaves_stored_data_exactly_as_it_was(keys):
    from django.db import IntegrityError, transaction

    variable, units, period = keys
    write_observations([Row(units[0].pk, variable.pk, period.pk, value=5.0)], batch=batch())
    before = list(Observation.objects.values_list("unit", "value", "version")), Revision.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic():
        # value and missing together violate the table's check constraint
        write_observations(
            [
                Row(units[0].pk, variable.pk, period.pk, value=6.0),
                Row(units[1].pk, variable.pk, period.pk, value=1.0, missing="confidential"),
            ],
            batch=batch(),
        )
    assert (list(Observation.objects.values_list("unit", "value", "version")), Revision.objects.count()) == before


def test_period_codes_are_read_in_the_forms_people_write_them():
    from municipium.observations.models import PeriodCodeError, parse_period

    assert parse_period("2024")[:3] == ("2024", "year", 2024)
    assert parse_period("2024.0")[0] == "2024"
    assert parse_period("2024-q3")[:3] == ("2024Q3", "quarter", 2024 * 4 + 2)
    assert parse_period("2024Q4")[4].isoformat() == "2024-12-31"
    assert parse_period("2024-02")[4].isoformat() == "2024-02-29"
    with pytest.raises(PeriodCodeError, match="'24/25' is not a period"):
        parse_period("24/25")


@pytest.mark.parametrize("missing", ["unit", "variable", "period"])
def test_a_row_naming_a_unit_variable_or_period_that_does_not_exist_is_refused_whole(keys, missing):
    # The observation table has no foreign-key constraints (PostgreSQL checked them row by
    # row); the write path checks each distinct reference once instead.
    from django.db import IntegrityError, transaction

    variable, units, period = keys
    write_observations([Row(units[0].pk, variable.pk, period.pk, value=5.0)], batch=batch())
    before = list(Observation.objects.values_list("unit", "value", "version")), Revision.objects.count()
    ghost = {"unit": Unit, "variable": Variable, "period": Period}[missing].objects.order_by("-pk").first().pk + 1
    ids = {"unit": units[1].pk, "variable": variable.pk, "period": period.pk} | {missing: ghost}
    with pytest.raises(IntegrityError, match=f"{missing}_id"), transaction.atomic():
        write_observations(
            [
                Row(units[0].pk, variable.pk, period.pk, value=6.0),
                Row(ids["unit"], ids["variable"], ids["period"], value=1.0),
            ],
            batch=batch(),
        )
    assert (list(Observation.objects.values_list("unit", "value", "version")), Revision.objects.count()) == before
