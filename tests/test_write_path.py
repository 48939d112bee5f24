"""The one write path for observations: upsert, revisions, audit, counts."""

import pytest

from municipium.audit.models import AuditEvent
from municipium.catalog.models import ServiceArea, Variable
from municipium.observations import history
from municipium.observations.models import ImportBatch, Observation, Period, Revision
from municipium.observations.services import Row, write_observations
from municipium.places.models import Unit
from tests.factories import versions

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


def test_new_rows_are_created_as_their_own_first_revision_with_one_audit_event(keys):
    variable, units, period = keys
    result = write_observations(
        [Row(u.pk, variable.pk, period.pk, value=10.0 * i) for i, u in enumerate(units)], batch=batch()
    )
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert sorted(Observation.objects.values_list("value", flat=True)) == [0.0, 10.0, 20.0]
    # Nothing stored besides the rows: each is its figure's first version, through the
    # batch's channel, and the batch keeps the write's time stamp that finds them.
    assert not Revision.objects.exists()
    assert [(v[1], v[2], v[8], v[9]) for v in versions()] == [
        (1, 10.0 * i, "import", result.batch.pk) for i in range(3)
    ]
    result.batch.refresh_from_db()
    assert set(Observation.objects.values_list("updated_at", flat=True)) == {result.batch.written_at}
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
    assert Revision.objects.count() == 2  # the changed figure's two versions; the others are their rows


def test_the_first_change_stores_the_first_version_exactly_as_the_row_stood_for_it(keys, django_user_model):
    variable, units, period = keys
    officer = django_user_model.objects.create_user("officer")
    first = write_observations(
        [Row(units[0].pk, variable.pk, period.pk, value=1.0, source="census", comment="estimate")],
        batch=ImportBatch(file_name="form", format="form", via="form"),
        actor=officer,
    )
    row = Observation.objects.get()
    implied = history.first_version(row)
    assert [(r.version, r.value, r.via) for r in history.versions(row)] == [(1, 1.0, "form")]
    write_observations([Row(units[0].pk, variable.pk, period.pk, value=2.0)], batch=batch("second.csv"))
    stored = Revision.objects.get(version=1)
    fields = ("observation_id", "value", "missing", "status", "source", "comment", "changed_at", "changed_by_id")
    assert [getattr(stored, f) for f in fields] == [getattr(implied, f) for f in fields]
    assert (stored.via, stored.batch_id, stored.changed_by_id) == ("form", first.batch.pk, officer.pk)
    row.refresh_from_db()
    assert [(r.version, r.value, r.via) for r in history.versions(row)] == [(2, 2.0, "import"), (1, 1.0, "form")]


def test_a_batch_records_one_write(keys):
    variable, units, period = keys
    once = write_observations([Row(units[0].pk, variable.pk, period.pk, value=1.0)], batch=batch()).batch
    with pytest.raises(ValueError, match="a write takes a batch of its own"):
        write_observations([Row(units[1].pk, variable.pk, period.pk, value=1.0)], batch=once)
    assert Observation.objects.count() == 1


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
