"""Each write records the units whose figures it changed (`BatchUnit`), the same set its
versions name (stored revisions and the first versions its new rows stand for): the audit trail and the import history show a batch to the people of those
units from it, without reading the batch's revisions (issue 18)."""

import pytest

from municipium.observations.imports import commit
from municipium.observations.models import BatchUnit, ImportBatch, Observation
from tests import factories as f
from tests import migrating
from tests.test_import_first_load import VARIABLES, lines, write

pytestmark = pytest.mark.django_db


def recorded(batch) -> set[str]:
    return set(BatchUnit.objects.filter(batch=batch).values_list("unit__code", flat=True))


def from_revisions(batch) -> set[str]:
    observations = {v[0] for v in f.versions() if v[9] == batch.pk}
    return set(Observation.objects.filter(pk__in=observations).values_list("unit__code", flat=True))


@pytest.fixture
def units():
    for code in VARIABLES:
        f.variable(code, min_value=0)
    return [f.unit(code, {"en": code}) for code in ("U1", "U2", "U3", "U4", "U5")]


def test_a_first_load_and_a_later_file_record_the_units_they_changed(units, tmp_path, settings):
    settings.IMPORT_BATCH_BYTES = 100  # a first load written piece by piece (services.NewRows)
    assert commit(write(tmp_path, lines())).committed
    first = ImportBatch.objects.get()
    assert recorded(first) == from_revisions(first) == {"U1", "U2", "U3", "U4", "U5"}
    # The same file again with only U2's figures changed: through the stage, one unit.
    changed = [line.replace(",5\n", ",7\n") if line.startswith("U2;") else line for line in lines()]
    assert commit(write(tmp_path, changed, "again.csv")).committed
    second = ImportBatch.objects.exclude(pk=first.pk).get()
    assert recorded(second) == from_revisions(second) == {"U2"}
    # Nothing changed: no revision, no unit.
    assert commit(write(tmp_path, changed, "same.csv")).committed
    third = ImportBatch.objects.exclude(pk__in=[first.pk, second.pk]).get()
    assert recorded(third) == from_revisions(third) == set()


def test_a_form_save_records_its_unit_and_a_write_that_fails_records_nothing(units):
    produced = f.variable("produced")
    result = f.write([f.row(units[0], produced, "2024", 1), f.row(units[2], produced, "2024", 2)])
    assert recorded(result.batch) == from_revisions(result.batch) == {"U1", "U3"}
    before = BatchUnit.objects.count()
    with pytest.raises(Exception):  # noqa: B017 - the database refuses a period that does not exist
        f.write([f.row(units[1], produced, "2024", 1), (units[3].pk, produced.pk, 10**9, "", 1.0)])
    assert BatchUnit.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_the_migration_records_the_units_of_every_earlier_batch_from_its_revisions():
    apps = migrating.migrate(("observations", "0007_observation_batch_not_indexed"))
    try:
        w = migrating.world(apps)
        Batch, Observation, Revision = w.Batch, w.Observation, w.Revision
        a, b, variable, period = w.a, w.b, w.variable, w.period
        first, second = (Batch.objects.create(file_name=n, sha256="0" * 64, format="csv") for n in ("1", "2"))
        for unit, batches in ((a, [first]), (b, [first, second])):
            observation = Observation.objects.create(
                unit=unit,
                variable=variable,
                period=period,
                value=1,
                status="draft",
                version=len(batches),
                updated_at="2031-01-01T00:00:00Z",
                batch=batches[-1],
            )
            for version, batch in enumerate(batches, 1):
                Revision.objects.create(
                    observation=observation,
                    version=version,
                    value=1,
                    status="draft",
                    changed_at="2031-01-01T00:00:00Z",
                    via="import",
                    batch=batch,
                )
        apps = migrating.migrate(("observations", "0008_batch_units"))
        Written = apps.get_model("observations", "BatchUnit")
        assert set(Written.objects.values_list("batch__file_name", "unit__code")) == {
            ("1", "MA"),
            ("1", "MB"),
            ("2", "MB"),
        }
    finally:
        migrating.latest()
