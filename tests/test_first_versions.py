"""Migration 0010: a figure's first version is its observation row until a write changes it
(models.Revision). The stored first revisions of unchanged figures go, each batch keeps its
write's time stamp, and going back stores them again from the rows."""

import pytest

from tests.migrating import latest, migrate, world

BEFORE = ("observations", "0009_revision_submitted")
AFTER = ("observations", "0010_first_revision_implicit")
FIRST, SECOND = "2031-01-01T00:00:00Z", "2031-02-01T00:00:00Z"


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_only_the_first_versions_of_changed_figures_and_going_back_restores_them():
    apps = migrate(BEFORE)
    try:
        w = world(apps)
        Batch, Observation, Revision = w.Batch, w.Observation, w.Revision
        a, b, variable, period = w.a, w.b, w.variable, w.period
        first = Batch.objects.create(file_name="1", sha256="0" * 64, format="csv", via="import")
        second = Batch.objects.create(file_name="2", sha256="0" * 64, format="form", via="form")
        Batch.objects.create(file_name="3", sha256="0" * 64, format="csv")  # wrote nothing
        # MA written once by the first batch; MB by the first, then changed by the second.
        for unit, writes in ((a, [(first, FIRST, 1.0)]), (b, [(first, FIRST, 1.0), (second, SECOND, 2.0)])):
            batch, at, value = writes[-1]
            observation = Observation.objects.create(
                unit=unit,
                variable=variable,
                period=period,
                value=value,
                version=len(writes),
                updated_at=at,
                batch=batch,
            )
            for version, (batch, at, value) in enumerate(writes, 1):
                Revision.objects.create(
                    observation=observation,
                    version=version,
                    value=value,
                    status="draft",
                    changed_at=at,
                    via=batch.via,
                    batch=batch,
                )
        Observation.objects.filter(unit=a).update(updated_at=FIRST)  # auto_now set it to now
        Observation.objects.filter(unit=b).update(updated_at=SECOND)
        stored = sorted(Revision.objects.values_list("observation__unit__code", "version", "value", "via", "batch_id"))

        apps = migrate(AFTER)
        Revision, Batch = apps.get_model("observations", "Revision"), apps.get_model("observations", "ImportBatch")
        assert sorted(Revision.objects.values_list("observation__unit__code", "version")) == [("MB", 1), ("MB", 2)]
        written = {batch.file_name: batch.written_at for batch in Batch.objects.all()}
        assert [written[name] and written[name].isoformat() for name in ("1", "2", "3")] == [
            "2031-01-01T00:00:00+00:00",
            "2031-02-01T00:00:00+00:00",
            None,
        ]

        apps = migrate(BEFORE)
        Revision = apps.get_model("observations", "Revision")
        assert sorted(
            Revision.objects.values_list("observation__unit__code", "version", "value", "via", "batch_id")
        ) == (stored)
        assert Revision.objects.get(observation__unit__code="MA").changed_at.isoformat() == "2031-01-01T00:00:00+00:00"
    finally:
        latest()
